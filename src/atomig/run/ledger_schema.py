"""The ledger's own schema: its tables, created and upgraded in place, and the checks
that the connected role may use them.

DDL is a module constant composed with :class:`psycopg.sql.Identifier` for the configurable
schema name. The ledger upgrades itself: each entry of ``_LEDGER_MIGRATIONS`` runs once,
recorded in ``ledger_version.applied``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from atomig.errors import ConfigError
from atomig.run.ledger_compose import ledger_sql

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
        ledger_sql("SELECT to_jsonb(v) FROM {schema}.ledger_version v", schema)
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
            ledger_sql(
                "CREATE TABLE IF NOT EXISTS {schema}.ledger_version ("
                " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
                " version integer NOT NULL)",
                schema,
            )
        )
        applied = set(applied_ledger_changes(conn, schema))
        for number, ddl in _LEDGER_MIGRATIONS:
            if number not in applied:
                conn.execute(ledger_sql(ddl, schema))
                applied.add(number)
        conn.execute(
            ledger_sql(
                "ALTER TABLE {schema}.ledger_version"
                " ADD COLUMN IF NOT EXISTS applied integer[]",
                schema,
            )
        )
        conn.execute(
            ledger_sql(
                "INSERT INTO {schema}.ledger_version (version, applied) VALUES (%s, %s)"
                " ON CONFLICT (singleton) DO UPDATE"
                " SET version = EXCLUDED.version, applied = EXCLUDED.applied",
                schema,
            ),
            (max(applied), sorted(applied)),
        )
