"""The ledger: which migrations are applied (``migrations``), every step attempt
(``journal``) and every outcome (``history``), in the ledger schema (default ``atomig``).

DDL and queries are constants composed with :class:`psycopg.sql.Identifier` for the
configurable schema name; values are always parameters. The ledger upgrades itself: each
entry of ``_LEDGER_MIGRATIONS`` runs once, recorded in ``ledger_version.applied``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from atomig.errors import ConfigError

Conn = psycopg.Connection[Any]

_LEDGER_MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE IF NOT EXISTS {schema}.migrations (
            version text PRIMARY KEY,
            order_key bigint NOT NULL UNIQUE,
            slug text NOT NULL,
            up_checksum text NOT NULL,
            down_checksum text NOT NULL,
            status text NOT NULL CHECK (status IN ('applied', 'partial')),
            applied_at timestamptz NOT NULL DEFAULT now(),
            duration_ms bigint,
            applied_by text NOT NULL,
            application_name text NOT NULL,
            server_version integer NOT NULL,
            step_count integer NOT NULL,
            steps_done integer NOT NULL,
            run_id text NOT NULL,
            up_sql text NOT NULL,
            down_sql text NOT NULL,
            details jsonb NOT NULL DEFAULT '{{}}'
        );
        CREATE TABLE IF NOT EXISTS {schema}.journal (
            id bigserial PRIMARY KEY,
            run_id text NOT NULL,
            version text NOT NULL,
            direction text NOT NULL,
            step_index integer NOT NULL,
            step_kind text NOT NULL,
            statement_hash text NOT NULL,
            attempt integer NOT NULL,
            started_at timestamptz NOT NULL,
            finished_at timestamptz,
            outcome text NOT NULL,
            sqlstate text,
            message text,
            backend_pid integer,
            details jsonb NOT NULL DEFAULT '{{}}'
        );
        CREATE INDEX IF NOT EXISTS journal_version_idx ON {schema}.journal (version, id);
        CREATE TABLE IF NOT EXISTS {schema}.history (
            id bigserial PRIMARY KEY,
            run_id text NOT NULL,
            version text NOT NULL,
            slug text NOT NULL,
            event text NOT NULL,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor text NOT NULL,
            duration_ms bigint,
            details jsonb NOT NULL DEFAULT '{{}}'
        );
        CREATE INDEX IF NOT EXISTS history_version_idx ON {schema}.history (version, id);
        """,
    ),
    (
        # The step engine: a migration of several steps is recorded before its first step
        # runs ("running", with its owner, failure policy and the schema fingerprint taken
        # before it), advances steps_done with each step, and ends "applied", deleted
        # (rolled back, cause in history) or "partial" (stopped at steps_done, with the
        # cause in failure). "rolling_back" marks a rollback in progress.
        2,
        """
        ALTER TABLE {schema}.migrations DROP CONSTRAINT IF EXISTS migrations_status_check;
        ALTER TABLE {schema}.migrations ADD CONSTRAINT migrations_status_check
            CHECK (status IN ('applied', 'partial', 'running', 'rolling_back'));
        ALTER TABLE {schema}.migrations
            ADD COLUMN IF NOT EXISTS direction text NOT NULL DEFAULT 'up'
                CHECK (direction IN ('up', 'down')),
            ADD COLUMN IF NOT EXISTS on_failure text,
            ADD COLUMN IF NOT EXISTS failure jsonb,
            ADD COLUMN IF NOT EXISTS owner jsonb,
            ADD COLUMN IF NOT EXISTS fingerprint jsonb;
        CREATE INDEX IF NOT EXISTS journal_run_idx ON {schema}.journal (run_id, id);
        """,
    ),
    (
        3,
        # Backfill checkpoints (atomig.batched.checkpoint): one row per backfill, advanced in
        # the same transaction as each batch it counts.
        """
        CREATE TABLE IF NOT EXISTS {schema}.backfills (
            id text PRIMARY KEY,
            relation text NOT NULL,
            key_columns text[] NOT NULL,
            statement_hash text NOT NULL,
            statement text NOT NULL,
            status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
            last_key text[],
            batches bigint NOT NULL DEFAULT 0,
            rows_affected bigint NOT NULL DEFAULT 0,
            rows_scanned bigint NOT NULL DEFAULT 0,
            retries bigint NOT NULL DEFAULT 0,
            busy_ms bigint NOT NULL DEFAULT 0,
            runs integer NOT NULL DEFAULT 1,
            run_id text NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            error text,
            details jsonb NOT NULL DEFAULT '{{}}'
        );
        """,
    ),
    (
        # The safety net: every preflight and post-deploy check result of a run (passes,
        # warnings, failures, and skips with the reason given).
        4,
        """
        CREATE TABLE IF NOT EXISTS {schema}.checks (
            id bigserial PRIMARY KEY,
            run_id text NOT NULL,
            phase text NOT NULL,
            name text NOT NULL,
            outcome text NOT NULL CHECK (outcome IN ('pass', 'warn', 'fail', 'skipped')),
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor text NOT NULL,
            message text NOT NULL,
            details jsonb NOT NULL DEFAULT '{{}}'
        );
        CREATE INDEX IF NOT EXISTS checks_run_idx ON {schema}.checks (run_id, id);
        """,
    ),
)
LEDGER_VERSION = max(number for number, _ in _LEDGER_MIGRATIONS)


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """A row of the ``migrations`` table (without the stored SQL texts)."""

    version: str
    order_key: int
    slug: str
    up_checksum: str
    down_checksum: str
    status: str
    applied_at: datetime
    duration_ms: int | None
    applied_by: str
    application_name: str
    step_count: int
    steps_done: int
    run_id: str
    details: dict[str, Any]
    direction: str = "up"
    on_failure: str | None = None
    failure: dict[str, Any] | None = None
    owner: dict[str, Any] | None = None
    fingerprint: dict[str, Any] | None = None

    @property
    def in_progress(self) -> bool:
        """A multi-step run (or its rollback) started and has not ended."""
        return self.status in ("running", "rolling_back")


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """A row of the ``history`` table: an outcome (applied, reverted, rolled_back …)."""

    version: str
    event: str
    at: datetime
    actor: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LedgerState:
    """What the ledger says: applied (or partial) migrations by order key, and the last
    failure of migrations that are not applied."""

    exists: bool
    applied: dict[int, AppliedMigration]
    last_failures: dict[str, HistoryEvent]


@lru_cache(maxsize=256)  # a run writes the same few queries once per migration
def _compose(template: str, schema: str) -> sql.Composed:
    # The templates are module constants (never user input); only the schema name varies
    # and it goes through sql.Identifier. The journal's column and value lists are shared
    # fragments, spliced in as sql.SQL constants too.
    return sql.SQL(template).format(
        schema=sql.Identifier(schema),
        journal_columns=sql.SQL(_JOURNAL_COLUMNS),
        journal_values=sql.SQL(_JOURNAL_VALUES),
    )


def ledger_sql(template: str, schema: str) -> sql.Composed:
    """A ledger query template (a module constant) composed for ``schema``: ``{schema}``,
    ``{journal_columns}`` and ``{journal_values}`` are filled in."""
    return _compose(template, schema)


def ledger_exists(conn: Conn, schema: str) -> bool:
    """True when the ledger's tables exist."""
    row = conn.execute(
        "SELECT to_regclass(format('%%I.migrations', %s::text)) IS NOT NULL", (schema,)
    ).fetchone()
    return bool(row and row[0])


def applied_ledger_changes(conn: Conn, schema: str) -> frozenset[int]:
    """The numbers of ``_LEDGER_MIGRATIONS`` entries applied in this database. Reads only.

    Entries are tracked as a set, not a high-water mark: engineers land numbered entries in
    parallel, and an entry that reaches a database after a higher-numbered one must still
    run. Ledgers from before the set existed recorded only the highest number; every entry
    up to it was applied then.
    """
    row = conn.execute(
        "SELECT to_regclass(format('%%I.ledger_version', %s::text)) IS NOT NULL",
        (schema,),
    ).fetchone()
    if not (row and row[0]):
        return frozenset()
    found = conn.execute(
        _compose("SELECT to_jsonb(v) FROM {schema}.ledger_version v", schema)
    ).fetchone()
    if not found or not found[0]:
        return frozenset()
    record = found[0]
    if record.get("applied") is not None:
        return frozenset(int(n) for n in record["applied"])
    legacy = int(record.get("version") or 0)
    return frozenset(n for n, _ in _LEDGER_MIGRATIONS if n <= legacy)


def ledger_version(conn: Conn, schema: str) -> int:
    """The highest ledger change applied in the database (0: no ledger yet). Reads only."""
    return max(applied_ledger_changes(conn, schema), default=0)


def ledger_up_to_date(conn: Conn, schema: str) -> bool:
    """True when every ledger change this atomig knows is applied (no upgrade needed)."""
    known = {n for n, _ in _LEDGER_MIGRATIONS}
    return known <= applied_ledger_changes(conn, schema)


def ensure_ledger(conn: Conn, schema: str) -> None:
    """Create or upgrade the ledger. Call with the runner lock held.

    Raises:
        ConfigError: when the role may not create it (no CREATE on the database or the
            schema, a read-only database), or may not use its existing schema (no USAGE):
            nothing was created.
    """
    with _permission_errors(conn, schema):
        if ledger_up_to_date(conn, schema):
            # The common case: three reads, no DDL (and no lock on ledger_version).
            check_ledger_writable(conn, schema)
            return
        _create_or_upgrade(conn, schema)


def ledger_ready(conn: Conn, schema: str) -> bool:
    """True when the ledger needs no upgrade and the role may write it (no lock needed);
    False when :func:`ensure_ledger` must run (under the runner lock).

    Raises:
        ConfigError: as :func:`ensure_ledger`.
    """
    with _permission_errors(conn, schema):
        if not ledger_up_to_date(conn, schema):
            return False
        check_ledger_writable(conn, schema)
        return True


_SCHEMA_ACCESS = """
    SELECT has_schema_privilege(n.oid, 'USAGE'), pg_get_userbyid(n.nspowner)
    FROM pg_namespace n WHERE n.nspname = %s
"""


@contextmanager
def _permission_errors(conn: Conn, schema: str) -> Iterator[None]:
    """Permission and read-only errors of the ledger's set-up as ConfigErrors that say
    which privilege is missing and the GRANT that gives it."""
    try:
        yield
    except (
        psycopg.errors.InsufficientPrivilege,
        psycopg.errors.ReadOnlySqlTransaction,
    ) as exc:
        role, database = conn.info.user, conn.info.dbname
        r, d, s = (_ident(name) for name in (role, database, schema))
        access = (
            conn.execute(_SCHEMA_ACCESS, (schema,)).fetchone()
            if isinstance(exc, psycopg.errors.InsufficientPrivilege)
            and conn.info.transaction_status == TransactionStatus.IDLE
            else None
        )
        if access is not None and not access[0]:
            # The schema exists (another role created it) but is closed to this role:
            # CREATE on the database would change nothing.
            owner = str(access[1])
            raise ConfigError(
                f"role {role} may not use atomig's ledger schema {schema}: it exists "
                f"(owner {owner}) but the role lacks USAGE on it",
                hint=f"GRANT USAGE ON SCHEMA {s} TO {r} (as {_ident(owner)} or a "
                "superuser); the ledger's tables need SELECT, INSERT, UPDATE, DELETE "
                "too — or run atomig as the role that owns the ledger",
                details={
                    "sqlstate": exc.sqlstate,
                    "role": role,
                    "database": database,
                    "schema_owner": owner,
                },
            ) from exc
        raise ConfigError(
            f"cannot create atomig's ledger (schema {schema}) as role {role} in "
            f"database {database}: {exc.diag.message_primary or exc}",
            hint=(
                f"GRANT CREATE ON DATABASE {d} TO {r} (once, as its owner), or "
                f"create the schema for it: CREATE SCHEMA {s} AUTHORIZATION {r}; "
                "or set ledger_schema to a schema the role owns"
                if isinstance(exc, psycopg.errors.InsufficientPrivilege)
                else "point atomig at the primary, writable database "
                "(default_transaction_read_only is on here)"
            ),
            details={"sqlstate": exc.sqlstate, "role": role, "database": database},
        ) from exc


# A privilege list in has_table_privilege is "any of", so each one is asked for apart.
_UNWRITABLE = """
    SELECT coalesce(string_agg(c.relname, ', ' ORDER BY c.relname), '')
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND (
        (c.relkind IN ('r', 'p') AND NOT (
            has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT')
            AND has_table_privilege(c.oid, 'UPDATE')
            AND has_table_privilege(c.oid, 'DELETE')))
        OR (c.relkind = 'S' AND NOT has_sequence_privilege(c.oid, 'USAGE')))
"""


def check_ledger_writable(conn: Conn, schema: str) -> None:
    """Refuse, before anything runs, a role that may read the ledger but not write it (a
    ledger created by another role): otherwise the first ledger write fails half-way.

    Raises:
        ConfigError: naming the tables and the GRANT that fixes it.
    """
    row = conn.execute(_UNWRITABLE, (schema,)).fetchone()
    if not row or not row[0]:
        return
    role = conn.info.user
    r, s = _ident(role), _ident(schema)
    raise ConfigError(
        f"role {role} may not write atomig's ledger (schema {schema}): it lacks "
        f"privileges on {row[0]}",
        hint=f"run atomig as the role that owns the ledger, or GRANT SELECT, INSERT, "
        f"UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}; GRANT USAGE ON ALL "
        f"SEQUENCES IN SCHEMA {s} TO {r}",
        details={"role": role, "tables": row[0].split(", ")},
    )


def _ident(name: str) -> str:
    """``name`` as SQL in a hint the user will paste (quoted when PostgreSQL needs it)."""
    # Imported here: the parser's keyword list is only needed on this error path.
    from atomig.sql.quote import quote_ident

    return quote_ident(name)


def _create_or_upgrade(conn: Conn, schema: str) -> None:
    with conn.transaction():
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        )
        conn.execute(
            _compose(
                "CREATE TABLE IF NOT EXISTS {schema}.ledger_version ("
                " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
                " version integer NOT NULL)",
                schema,
            )
        )
        applied = set(applied_ledger_changes(conn, schema))
        for number, ddl in _LEDGER_MIGRATIONS:
            if number not in applied:
                conn.execute(_compose(ddl, schema))
                applied.add(number)
        conn.execute(
            _compose(
                "ALTER TABLE {schema}.ledger_version"
                " ADD COLUMN IF NOT EXISTS applied integer[]",
                schema,
            )
        )
        conn.execute(
            _compose(
                "INSERT INTO {schema}.ledger_version (version, applied) VALUES (%s, %s)"
                " ON CONFLICT (singleton) DO UPDATE"
                " SET version = EXCLUDED.version, applied = EXCLUDED.applied",
                schema,
            ),
            (max(applied), sorted(applied)),
        )


# The step engine's columns are read through to_jsonb so that a ledger not upgraded yet
# (status never upgrades it) reads as well.
_SELECT_APPLIED = """
    SELECT version, order_key, slug, up_checksum, down_checksum, status, applied_at,
           duration_ms, applied_by, application_name, step_count, steps_done, run_id, details,
           coalesce(to_jsonb(m) ->> 'direction', 'up') AS direction,
           to_jsonb(m) ->> 'on_failure' AS on_failure,
           to_jsonb(m) -> 'failure' AS failure, to_jsonb(m) -> 'owner' AS owner,
           CASE WHEN m.status <> 'applied' THEN to_jsonb(m) -> 'fingerprint' END
               AS fingerprint
    FROM {schema}.migrations m ORDER BY order_key
"""
_SELECT_LAST_FAILURES = """
    SELECT DISTINCT ON (h.version) h.version, h.event, h.at, h.actor, h.details
    FROM {schema}.history h
    WHERE NOT EXISTS (SELECT 1 FROM {schema}.migrations m WHERE m.version = h.version)
    ORDER BY h.version, h.id DESC
"""


def read_ledger(conn: Conn, schema: str) -> LedgerState:
    """The ledger's current state (empty when it does not exist yet; never creates it)."""
    if not ledger_exists(conn, schema):
        return LedgerState(exists=False, applied={}, last_failures={})
    with conn.cursor(row_factory=dict_row) as cur:
        applied = {
            row["order_key"]: AppliedMigration(**row)
            for row in cur.execute(_compose(_SELECT_APPLIED, schema))
        }
        failures = {}
        for row in cur.execute(_compose(_SELECT_LAST_FAILURES, schema)):
            if row["event"] in ("failed", "rolled_back"):
                failures[row["version"]] = HistoryEvent(**row)
    return LedgerState(exists=True, applied=applied, last_failures=failures)


def applied_texts(conn: Conn, schema: str, version: str) -> tuple[str, str] | None:
    """The up and down SQL as they were when ``version`` was applied."""
    row = conn.execute(
        _compose(
            "SELECT up_sql, down_sql FROM {schema}.migrations WHERE version = %s",
            schema,
        ),
        (version,),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One step attempt, as written to the journal."""

    run_id: str
    version: str
    direction: str
    step_index: int
    step_kind: str
    statement_hash: str
    attempt: int
    started_at: datetime | None
    outcome: str
    sqlstate: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None

    def params(self) -> tuple[Any, ...]:
        """Parameters in the column order of the journal inserts below."""
        return (
            self.run_id,
            self.version,
            self.direction,
            self.step_index,
            self.step_kind,
            self.statement_hash,
            self.attempt,
            self.started_at,
            self.outcome,
            self.sqlstate,
            self.message,
            Jsonb(self.details or {}),
        )


_JOURNAL_COLUMNS = (
    "run_id, version, direction, step_index, step_kind, statement_hash, attempt, started_at,"
    " outcome, sqlstate, message, details, finished_at, backend_pid"
)
# A NULL started_at means "when this transaction started" (now()), for rows written in the
# same transaction as the step they journal.
_JOURNAL_VALUES = (
    "%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s, %s,"
    " clock_timestamp(), pg_backend_pid()"
)


def insert_journal(
    conn: Conn, schema: str, entry: JournalEntry, *, finished: bool = True
) -> int:
    """Write one journal row (in whatever transaction ``conn`` is in); returns its id."""
    query = _compose(
        "INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})"
        " RETURNING id",
        schema,
    )
    row = conn.execute(query, entry.params()).fetchone()
    journal_id = int(row[0]) if row else 0
    if not finished:
        conn.execute(
            _compose(
                "UPDATE {schema}.journal SET finished_at = NULL WHERE id = %s", schema
            ),
            (journal_id,),
        )
    return journal_id


def finish_journal(
    conn: Conn,
    schema: str,
    journal_id: int,
    outcome: str,
    sqlstate: str | None = None,
    message: str | None = None,
) -> None:
    """Mark a journal row (of an autocommit step) finished with its outcome."""
    conn.execute(
        _compose(
            "UPDATE {schema}.journal SET outcome = %s, sqlstate = %s, message = %s,"
            " finished_at = clock_timestamp() WHERE id = %s",
            schema,
        ),
        (outcome, sqlstate, message, journal_id),
    )


@dataclass(frozen=True, slots=True)
class AppliedRecord:
    """Everything written when a migration is recorded as applied (or partial)."""

    version: str
    order_key: int
    slug: str
    up_checksum: str
    down_checksum: str
    status: str
    duration_ms: int | None
    applied_by: str
    application_name: str
    server_version: int
    step_count: int
    steps_done: int
    run_id: str
    up_sql: str
    down_sql: str


# One statement writes the migration row, its journal row and its history event, so that
# recording a single-transaction migration costs one round trip inside its transaction.
# A NULL duration means "since this transaction started", measured by the server.
_RECORD_APPLIED = """
    WITH d AS (
        SELECT coalesce(%s, (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint) AS ms
    ), m AS (
        INSERT INTO {schema}.migrations (
            version, order_key, slug, up_checksum, down_checksum, status, duration_ms,
            applied_by, application_name, server_version, step_count, steps_done, run_id,
            up_sql, down_sql)
        SELECT %s, %s, %s, %s, %s, %s, d.ms, %s, %s, %s, %s, %s, %s, %s, %s FROM d
        ON CONFLICT (version) DO UPDATE SET
            status = EXCLUDED.status, duration_ms = EXCLUDED.duration_ms,
            steps_done = EXCLUDED.steps_done, applied_at = now(), run_id = EXCLUDED.run_id
    ), j AS (
        INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    SELECT %s, %s, %s, %s, %s, d.ms, %s FROM d
"""


def record_applied_query(schema: str) -> sql.Composed:
    """The statement :func:`record_applied_params` fills."""
    return _compose(_RECORD_APPLIED, schema)


def record_applied_params(
    record: AppliedRecord, journal: JournalEntry
) -> tuple[Any, ...]:
    """Parameters of :func:`record_applied_query`."""
    event = "applied" if record.status == "applied" else "partial"
    return (
        record.duration_ms,
        record.version,
        record.order_key,
        record.slug,
        record.up_checksum,
        record.down_checksum,
        record.status,
        record.applied_by,
        record.application_name,
        record.server_version,
        record.step_count,
        record.steps_done,
        record.run_id,
        record.up_sql,
        record.down_sql,
        *journal.params(),
        record.run_id,
        record.version,
        record.slug,
        event,
        record.applied_by,
        Jsonb({}),
    )


_RECORD_REVERTED = """
    WITH d AS (
        SELECT coalesce(%s, (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint) AS ms
    ), m AS (
        DELETE FROM {schema}.migrations WHERE version = %s
    ), j AS (
        INSERT INTO {schema}.journal ({journal_columns}) VALUES ({journal_values})
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, duration_ms, details)
    SELECT %s, %s, %s, %s, %s, d.ms, %s FROM d
"""


def record_reverted_query(schema: str) -> sql.Composed:
    """Delete a migration's row, journal the step and log the event, in one statement."""
    return _compose(_RECORD_REVERTED, schema)


def record_reverted_params(
    version: str,
    slug: str,
    event: str,
    actor: str,
    duration_ms: int | None,
    journal: JournalEntry,
    details: dict[str, Any],
) -> tuple[Any, ...]:
    """Parameters of :func:`record_reverted_query` (``duration_ms`` None: measured by the
    server since the transaction started)."""
    return (
        duration_ms,
        version,
        *journal.params(),
        journal.run_id,
        version,
        slug,
        event,
        actor,
        Jsonb(details),
    )


def record_event(
    conn: Conn,
    schema: str,
    *,
    run_id: str,
    version: str,
    slug: str,
    event: str,
    actor: str,
    duration_ms: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append a history event (failed, rolled_back, accepted_edit …)."""
    conn.execute(
        _compose(
            "INSERT INTO {schema}.history"
            " (run_id, version, slug, event, actor, duration_ms, details)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            schema,
        ),
        (run_id, version, slug, event, actor, duration_ms, Jsonb(details or {})),
    )


def update_checksums(
    conn: Conn,
    schema: str,
    version: str,
    up_checksum: str,
    down_checksum: str,
    up_sql: str,
    down_sql: str,
) -> None:
    """Accept edited files of an applied migration: store their new checksums and text."""
    conn.execute(
        _compose(
            "UPDATE {schema}.migrations SET up_checksum = %s, down_checksum = %s,"
            " up_sql = %s, down_sql = %s WHERE version = %s",
            schema,
        ),
        (up_checksum, down_checksum, up_sql, down_sql, version),
    )


def journal_rows(
    conn: Conn, schema: str, version: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Recent journal rows, newest last (for status, recovery and tests)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _compose(
                "SELECT * FROM (SELECT * FROM {schema}.journal"
                " WHERE %s::text IS NULL OR version = %s ORDER BY id DESC LIMIT %s) j ORDER BY id",
                schema,
            ),
            (version, version, limit),
        ).fetchall()
    return rows
