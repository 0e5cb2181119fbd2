"""Lock traces: what each statement of a migration really locks and rewrites, and for how long.

On a scratch database, each step runs as the runner runs it — a transaction step in one
transaction under its envelope, an autocommit step alone — but one statement at a time, so
that between two statements atomig can read:

* ``pg_locks`` of its own backend: every relation lock the statement took (mode, granted),
  which stays held until the step commits — so the trace also says how long each lock is
  held (from the start of the statement that took it to the end of the step's COMMIT);
* ``pg_class.relfilenode`` of every table and index: a new one means the statement wrote
  the relation anew (a table rewrite, an index rebuild, a TRUNCATE).

An autocommit statement releases its locks when it ends, so a second connection watches
``pg_locks`` of the worker while it runs; for a ``CONCURRENTLY`` statement it also holds a
snapshot open for a moment, which makes the build wait (as it waits in production for old
transactions) so that its locks are seen even on a tiny scratch table.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from atomig.plan.model import Plan, Step, StepKind
from atomig.run.context import RunContext
from atomig.run.executor import apply_envelope
from atomig.sql.classify import statement_facts
from atomig.sql.facts import QualifiedName
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement

Conn = psycopg.Connection[Any]

# Relation locks of our own backend in this database, outside the system schemas and the
# ledger (the probe queries themselves lock catalogs). A relation dropped by the statement
# has no pg_class row any more: its oid stands in for the name.
_OWN_LOCKS = """
    SELECT l.relation::bigint, l.mode, l.granted FROM pg_locks l
    WHERE l.pid = %s AND l.locktype = 'relation'
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
# Every user relation with its storage (relfilenode; 0 for those without storage). The
# system schemas and the ledger are left out: the probes themselves lock catalogs.
_STORAGE = """
    SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text, c.relfilenode::bigint
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind NOT IN ('t', 'c')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', %s)
      AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
"""
_WORKER_LOCKS = """
    SELECT l.relation::bigint, l.mode, l.granted FROM pg_locks l
    WHERE l.pid = %s AND (l.locktype = 'relation' OR NOT l.granted)
"""
_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "m": "materialized view",
    "i": "index",
}
_HOLD_SNAPSHOT_MAX_S = 2.0
_POLL_S = 0.002


@dataclass(frozen=True, slots=True)
class LockTaken:
    """A relation lock a statement took; ``held_ms`` until its step committed (or, for an
    autocommit statement, until it ended)."""

    relation: str
    kind: str
    mode: LockMode
    granted: bool
    held_ms: int | None = None
    created: bool = False
    since_line: int | None = None

    @property
    def blocks(self) -> str:
        """What waits behind it (nothing for a relation created by the same step)."""
        if self.created:
            return "blocks nobody: created by this step"
        return self.mode.impact

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "relation": self.relation,
            "kind": self.kind,
            "mode": self.mode.label,
            "pg_mode": self.mode.pg_name,
            "granted": self.granted,
            "held_ms": self.held_ms,
            "created_by_step": self.created,
            "held_since_line": self.since_line,
            "blocks": self.blocks,
        }


@dataclass(frozen=True, slots=True)
class StatementTrace:
    """One statement: its locks, the relations it wrote anew, how long it ran."""

    step: int
    step_kind: str
    path: str
    line: int
    column: int
    text: str
    duration_ms: int
    locks: tuple[LockTaken, ...] = ()
    rewrites: tuple[str, ...] = ()
    predicted: tuple[str, ...] = ()
    error: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "step": self.step,
            "step_kind": self.step_kind,
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "statement": self.text,
            "duration_ms": self.duration_ms,
            "locks": [lock.to_dict() for lock in self.locks],
            "rewrites": list(self.rewrites),
            "predicted_locks": list(self.predicted),
            "error": self.error,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class MigrationTrace:
    """The trace of one migration (one direction)."""

    version: str
    slug: str
    direction: str
    steps: int
    statements: tuple[StatementTrace, ...]
    duration_ms: int
    error: str | None = None

    @property
    def name(self) -> str:
        """``<version>_<slug>``."""
        return f"{self.version}_{self.slug}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": self.version,
            "slug": self.slug,
            "direction": self.direction,
            "steps": self.steps,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "statements": [s.to_dict() for s in self.statements],
        }


@dataclass(frozen=True, slots=True)
class _Relation:
    schema: str
    name: str
    kind: str
    node: int

    @property
    def qualified(self) -> str:
        return str(QualifiedName(self.schema, self.name))


def _relations(conn: Conn, ledger_schema: str) -> dict[int, _Relation]:
    rows = conn.execute(_STORAGE, (ledger_schema,)).fetchall()
    return {
        int(r[0]): _Relation(str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows
    }


def _rewrites(
    before: dict[int, _Relation], after: dict[int, _Relation]
) -> tuple[str, ...]:
    out = []
    by_name = {(r.qualified, r.kind): oid for oid, r in after.items()}
    for oid, old in sorted(before.items(), key=lambda item: item[1].qualified):
        new = after.get(oid)
        if new is None:
            # Dropped and created again under the same name (an index rebuilt by an
            # ALTER COLUMN … TYPE gets a new oid).
            again = by_name.get((old.qualified, old.kind))
            if again is None or not old.node:
                continue
        elif not old.node or new.node == old.node:
            continue
        verb = "rebuilt" if old.kind == "i" else "rewrote"
        out.append(f"{verb} {_KINDS.get(old.kind, old.kind)} {old.qualified}")
    return tuple(out)


def _predicted(ctx: RunContext, statement: Statement) -> tuple[Any, ...]:
    return statement_facts(statement, ctx.server_version).locks


def _touches(predicted: tuple[Any, ...], relation: _Relation) -> bool:
    return any(
        lock.relation.name == relation.name
        and lock.relation.schema in (None, relation.schema)
        for lock in predicted
    )


def _statement_trace(
    step: Step, plan: Plan, statement: Statement, duration_ms: int, **extra: Any
) -> StatementTrace:
    return StatementTrace(
        step=step.index + 1,
        step_kind=step.kind.value,
        path=plan.path,
        line=statement.span.line,
        column=statement.span.column,
        text=statement.text,
        duration_ms=duration_ms,
        **extra,
    )


class StatementFailedInTrace(Exception):
    """A statement failed on the scratch database (the trace stops there); ``traced``:
    the statements of its step that ran, then the failing one."""

    def __init__(self, traced: list[StatementTrace]) -> None:
        super().__init__(traced[-1].error)
        self.traced = traced


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass(slots=True)
class _Taken:
    """A lock first seen after the statement at ``line`` (started at ``at``)."""

    relation: _Relation
    mode: LockMode
    granted: bool
    at: float
    line: int
    new: bool


def _lock(taken: _Taken, held_ms: int, since: int | None = None) -> LockTaken:
    kind = _KINDS.get(taken.relation.kind, "relation")
    return LockTaken(
        taken.relation.qualified,
        kind,
        taken.mode,
        taken.granted,
        held_ms,
        created=taken.new,
        since_line=since,
    )


def trace_transaction_step(
    ctx: RunContext, plan: Plan, step: Step
) -> list[StatementTrace]:
    """Run a transaction (or backfill) step statement by statement, in one transaction,
    reading our backend's locks and the relations' storage between statements."""
    conn, schema = ctx.conn, ctx.schema
    pid = conn.info.backend_pid
    taken: dict[tuple[int, LockMode], _Taken] = {}
    per_statement: list[
        tuple[Statement, int, list[_Taken], list[_Taken], tuple[str, ...]]
    ]
    per_statement = []
    note = (
        "a backfill: in production it runs in key-window batches, each holding these "
        "locks for its own short transaction"
        if step.kind is StepKind.BACKFILL
        else None
    )
    conn.execute(b"BEGIN")
    try:
        apply_envelope(conn, step.envelope, local=True)
        at_start = _relations(conn, schema)
        known = dict(at_start)
        for statement in step.statements:
            predicted = _predicted(ctx, statement)
            before = _relations(conn, schema)
            known.update(before)
            started = time.monotonic()
            try:
                conn.execute(statement.text.encode("utf-8"))
            except psycopg.Error as exc:
                failed = _statement_trace(
                    step,
                    plan,
                    statement,
                    _ms(time.monotonic() - started),
                    error=str(exc).strip().splitlines()[0],
                    predicted=_labels(predicted),
                )
                ran = _results(ctx, step, plan, per_statement, time.monotonic(), None)
                raise StatementFailedInTrace([*ran, failed]) from None
            took = _ms(time.monotonic() - started)
            after = _relations(conn, schema)
            known.update(after)
            fresh = []
            for oid, mode, granted in conn.execute(_OWN_LOCKS, (pid,)):
                relation = known.get(int(oid))
                if relation is None:
                    continue  # a transient relation of a rewrite, already gone
                key = (int(oid), LockMode.from_pg_name(mode))
                if key not in taken:
                    taken[key] = _Taken(
                        relation,
                        key[1],
                        bool(granted),
                        started,
                        statement.span.line,
                        int(oid) not in at_start,
                    )
                    fresh.append(taken[key])
            strongest: dict[str, _Taken] = {}
            for t in taken.values():
                name = t.relation.qualified
                if t in fresh or t.new or not _touches(predicted, t.relation):
                    continue
                if name not in strongest or t.mode > strongest[name].mode:
                    strongest[name] = t
            earlier = [
                t
                for t in strongest.values()
                if not any(f.relation.qualified == t.relation.qualified for f in fresh)
                or t.mode
                > max(
                    f.mode
                    for f in fresh
                    if f.relation.qualified == t.relation.qualified
                )
            ]
            fresh = _unique(fresh)
            per_statement.append(
                (statement, took, fresh, earlier, _rewrites(before, after))
            )
        conn.execute(b"COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute(b"ROLLBACK")
        raise
    finally:
        if not conn.closed and any(
            s.kind == "VariableSetStmt" for s in step.statements
        ):
            ctx.reset_session()  # a plain SET outlives its transaction
    return _results(ctx, step, plan, per_statement, time.monotonic(), note)


_Ran = tuple[Statement, int, list[_Taken], list[_Taken], tuple[str, ...]]


def _results(
    ctx: RunContext,
    step: Step,
    plan: Plan,
    per_statement: list[_Ran],
    ended: float,
    note: str | None,
) -> list[StatementTrace]:
    """Traces of the statements that ran; locks are held until ``ended`` (the step's
    COMMIT, or the failure that rolled it back)."""
    out = []
    for statement, took, fresh, earlier, rewrites in per_statement:
        locks = [_lock(t, _ms(ended - t.at)) for t in fresh]
        locks += [_lock(t, _ms(ended - t.at), t.line) for t in earlier]
        locks.sort(
            key=lambda lock: (lock.since_line is not None, -lock.mode, lock.relation)
        )
        out.append(
            _statement_trace(
                step,
                plan,
                statement,
                took,
                locks=tuple(locks),
                rewrites=rewrites,
                predicted=_labels(_predicted(ctx, statement)),
                note=note,
            )
        )
    return out


def _unique(fresh: list[_Taken]) -> list[_Taken]:
    """One lock per (name, mode): an index dropped and rebuilt under the same name shows
    once, as the existing relation it was."""
    out: dict[tuple[str, LockMode], _Taken] = {}
    for t in fresh:
        key = (t.relation.qualified, t.mode)
        if key not in out or out[key].new:
            out[key] = t
    return list(out.values())


def _labels(predicted: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(f"{lock.mode.label} on {lock.relation}" for lock in predicted)


class _Watcher(threading.Thread):
    """Reads the worker's locks from a second connection while its statement runs."""

    def __init__(self, monitor: Conn, pid: int, hold_snapshot: bool) -> None:
        super().__init__(daemon=True)
        self.monitor, self.pid, self.hold = monitor, pid, hold_snapshot
        self.stop = threading.Event()
        self.locks: dict[tuple[int, str], bool] = {}
        self.error: BaseException | None = None
        self.holding = threading.Event()

    def run(self) -> None:
        try:
            self._watch()
        except BaseException as exc:  # reported by the caller
            self.error = exc

    def _watch(self) -> None:
        monitor = self.monitor
        holding = False
        if self.hold:
            # An open snapshot older than the build: CREATE INDEX CONCURRENTLY (and its
            # kin) wait for it, with their locks held, where we can see them.
            monitor.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ")
            monitor.execute(b"SELECT 1")
            holding = True
        self.holding.set()
        started = time.monotonic()
        try:
            while not self.stop.is_set():
                waiting = False
                for oid, mode, granted in monitor.execute(
                    _WORKER_LOCKS, (self.pid,)
                ).fetchall():
                    if oid is None:
                        waiting = waiting or not granted
                        continue
                    key = (int(oid), str(mode))
                    self.locks[key] = self.locks.get(key, False) or bool(granted)
                if holding and (
                    waiting or time.monotonic() - started > _HOLD_SNAPSHOT_MAX_S
                ):
                    monitor.execute(b"COMMIT")
                    holding = False
                time.sleep(_POLL_S)
        finally:
            if holding:
                monitor.execute(b"COMMIT")


def trace_autocommit_step(
    ctx: RunContext, plan: Plan, step: Step, monitor: Conn
) -> list[StatementTrace]:
    """Run an autocommit step's statement alone while a second connection watches it."""
    conn, schema = ctx.conn, ctx.schema
    [statement] = step.statements
    apply_envelope(conn, step.envelope, local=False)
    before = _relations(conn, schema)
    watcher = _Watcher(monitor, conn.info.backend_pid, step.concurrent)
    watcher.start()
    watcher.holding.wait(5)
    started = time.monotonic()
    error = None
    try:
        conn.execute(statement.text.encode("utf-8"))
    except psycopg.Error as exc:
        error = str(exc).strip().splitlines()[0]
    finally:
        took = _ms(time.monotonic() - started)
        watcher.stop.set()
        watcher.join()
        ctx.reset_session()
    if watcher.error is not None:
        raise watcher.error
    after = _relations(conn, schema)
    known = {**before, **after}
    locks = sorted(
        (
            _lock(
                _Taken(
                    known[oid],
                    LockMode.from_pg_name(mode),
                    granted,
                    0,
                    0,
                    oid not in before,
                ),
                took,
            )
            for (oid, mode), granted in watcher.locks.items()
            if oid in known
        ),
        key=lambda lock: (-lock.mode, lock.relation),
    )
    traced = _statement_trace(
        step,
        plan,
        statement,
        took,
        locks=tuple(locks),
        rewrites=_rewrites(before, after),
        predicted=_labels(_predicted(ctx, statement)),
        error=error,
        note=None
        if locks or error
        else "too quick to see its locks from another connection",
    )
    if error is not None:
        raise StatementFailedInTrace([traced])
    return [traced]


def trace_plan(ctx: RunContext, plan: Plan, monitor: Conn) -> MigrationTrace:
    """Trace every step of ``plan`` on the scratch database of ``ctx`` (committing each
    step there, so that the next migration can be traced after it)."""
    started = time.monotonic()
    traced: list[StatementTrace] = []
    error = None
    for step in plan.steps:
        try:
            if step.kind is StepKind.AUTOCOMMIT:
                traced += trace_autocommit_step(ctx, plan, step, monitor)
            else:
                traced += trace_transaction_step(ctx, plan, step)
        except StatementFailedInTrace as failed:
            traced += failed.traced
            last = failed.traced[-1]
            error = f"{last.path}:{last.line}:{last.column}: {last.error}"
            break
    return MigrationTrace(
        plan.migration.version,
        plan.migration.slug,
        plan.direction,
        len(plan.steps),
        tuple(traced),
        _ms(time.monotonic() - started),
        error,
    )
