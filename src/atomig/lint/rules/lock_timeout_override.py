"""A statement turns off or lengthens the lock_timeout that protects live traffic.

## Why
While an ALTER TABLE waits for its lock, every query on the table queues behind it; a short
`lock_timeout` and a retry keep that wait from becoming an outage. atomig runs a step that
can stall other sessions in short attempts (50 ms, doubling up to `lock_timeout`, 2s by
default). A `SET lock_timeout` of more than 5s at the top of the file becomes their ceiling;
`RESET lock_timeout`, `RESET ALL`, `SET [LOCAL] lock_timeout = 0` (or more than 5s) or
`SELECT set_config('lock_timeout', …)` further down replaces the attempt's timeout for the
rest of its step (the server's default is none). pg_dump headers and copied scripts bring
these lines along. `SET lock_timeout = 0` at the top is not reported: atomig then keeps
every attempt at 50 ms. With `--for-runner=other`, a lock_timeout of more than 5s is
reported (`missing-lock-timeout` reports one that is off).

## Instead
Remove the line: atomig sets `lock_timeout` and retries lock failures with backoff and
jitter. A step that needs another value says so with `-- atomig: lock_timeout=3s` at the
top of the file (or `[session]` in atomig.toml), which atomig takes as deliberate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import excerpt, known_locks
from atomig.lint.rule import Example
from atomig.sql.facts import RelationLock
from atomig.sql.parse import Statement
from atomig.sql.settings import ALL_SETTINGS, setting_change
from atomig.units import format_duration_ms, parse_duration_ms

ID = "lock-timeout-override"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    ("lock_timeout", "runtime-config-client.html#GUC-LOCK-TIMEOUT"),
    ("Lock conflicts", "explicit-locking.html#TABLE-LOCK-COMPATIBILITY"),
)
TARGETS = ("VariableSetStmt", "SelectStmt")
LONG_MS = 5_000  # waits longer than this hold the queue past what a client retries
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, status text);"
BAD = (
    Example(
        "SET lock_timeout = '1min';\nALTER TABLE orders ADD COLUMN note text;",
        before=_BEFORE,
    ),
    Example(
        "RESET lock_timeout;\nALTER TABLE orders ADD COLUMN note text;", before=_BEFORE
    ),
    Example(
        "SELECT set_config('lock_timeout', '0', true);\n"
        "ALTER TABLE orders ADD COLUMN note text;",
        before=_BEFORE,
    ),
    Example(
        "SET lock_timeout = '30s';\nALTER TABLE orders ADD COLUMN note text;",
        before=_BEFORE,
        runner="other",
    ),
)
GOOD = (
    Example(
        "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;",
        before=_BEFORE,
    ),
    Example(
        "ALTER TABLE orders ADD COLUMN note text;\nRESET lock_timeout;", before=_BEFORE
    ),
    Example(
        "SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN note text;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    change = setting_change(stmt)
    if change is None or change.name not in ("lock_timeout", ALL_SETTINGS):
        return
    try:
        ms = None if change.value is None else parse_duration_ms(change.value)
    except ValueError:
        return  # PostgreSQL rejects the value: the statement fails, the step with it
    atomig = ctx.options.runner == "atomig"
    leading = atomig and _leading(stmt, ctx)
    off = ms is None or ms == 0
    if (off and (leading or not atomig)) or (
        not off and ms is not None and ms <= LONG_MS
    ):
        return
    found = _first_blocked(stmt, ctx, leading=leading, atomig=atomig)
    if found is None:
        return
    later, lock = found
    wait = "without limit" if off else f"up to {format_duration_ms(ms or 0)}"
    who = "query" if lock.mode.blocks_reads else "write"
    said = excerpt(stmt.text)
    what = (
        f"{said} becomes the ceiling of atomig's lock attempts: a retry of line"
        if leading
        else f"{said} replaces atomig's short lock attempts for the rest of its step: line"
        if atomig
        else f"{said}: line"
    )
    yield Hit(
        f"{what} {later.span.line} may wait {wait} for its {lock.mode.label} lock on "
        f"{lock.relation} while every {who} on {lock.relation} queues behind it",
        "remove it: atomig sets lock_timeout and retries lock failures with backoff; "
        "to change it deliberately, put -- atomig: lock_timeout=3s at the top of the file"
        if atomig
        else "keep lock_timeout at a few seconds (SET lock_timeout = '2s') and retry on "
        "failure",
        relation=lock.relation,
    )


def _leading(stmt: Statement, ctx: LintContext) -> bool:
    """``stmt`` is one of the SETs opening the file: the envelope of every step."""
    return all(
        s.kind == "VariableSetStmt" and s.body.get("kind") == "VAR_SET_VALUE"
        for s in ctx.script.statements[: stmt.index + 1]
    )


def _first_blocked(
    stmt: Statement, ctx: LintContext, *, leading: bool, atomig: bool
) -> tuple[Statement, RelationLock] | None:
    """The first later statement the change reaches that takes a lock which stalls other
    sessions' writes (or reads) on a table that existed before, with that lock."""
    if atomig and not leading:
        later: Iterable[Statement] = ctx.step_mates(stmt)
    else:
        later = ctx.script.statements[stmt.index + 1 :]
    for mate in later:
        if atomig and not ctx.steps[mate.index].transactional:
            continue  # CONCURRENTLY, backfills: their lock waits queue no traffic
        change = None if leading else setting_change(mate)
        if change is not None and change.name in ("lock_timeout", ALL_SETTINGS):
            return None  # set again: that statement is judged on its own
        blocking = [
            lock
            for lock in known_locks(mate, ctx)
            if lock.mode.blocks_writes and not ctx.is_new(lock.relation)
        ]
        if blocking:
            return mate, max(blocking, key=lambda lock: lock.mode)
    return None
