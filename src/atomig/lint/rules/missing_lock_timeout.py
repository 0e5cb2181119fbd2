"""A lock-taking statement runs without a lock_timeout (files applied by another tool).

## Why
A DDL statement that waits for its lock (behind a long query or an idle transaction) makes
every later query on the table queue behind it (with ACCESS EXCLUSIVE; every later write
with SHARE … EXCLUSIVE): a few seconds of waiting becomes an outage. `lock_timeout` makes it
give up instead; retrying later is cheap. A statement that only takes SHARE UPDATE EXCLUSIVE
(`VALIDATE CONSTRAINT`, `CREATE INDEX CONCURRENTLY`) holds up other schema changes and
VACUUM, not reads or writes: a warning, reported only when no later statement blocks writes.

## Instead
Start the file with `SET lock_timeout = '2s';` (and retry on failure). atomig sets
`lock_timeout` itself in every step's envelope (2s by default, `[session]` in atomig.toml,
`-- atomig: lock_timeout=…`) and retries lock failures with backoff, so this rule only applies
with `--for-runner=other`.

## Notes
The setting is followed through the file: a `SET LOCAL` ends with its `BEGIN` … `COMMIT`
block, any `SET` inside a block ends at its `ROLLBACK`, `RESET ALL` and `SET … = 0` end it.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement

ID = "missing-lock-timeout"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    ("lock_timeout", "runtime-config-client.html#GUC-LOCK-TIMEOUT"),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("*",)
RUNNERS = ("other",)
SETTING = "lock_timeout"
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = (Example("ALTER TABLE orders ADD COLUMN note text;", runner="other"),)
GOOD = (
    Example(
        "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;",
        before=_BEFORE,
        runner="other",
    ),
    Example("ALTER TABLE orders ADD COLUMN note text;", before=_BEFORE),
)


def setting_seen(stmt: Statement, ctx: LintContext, name: str) -> bool:
    """Track the setting through the file; True while a non-zero value is in force.

    A ``SET`` (or ``SET LOCAL``) inside ``BEGIN`` … ``ROLLBACK`` ends with the block, a
    ``SET LOCAL`` inside ``BEGIN`` … ``COMMIT`` too, and ``RESET ALL`` resets it. A ``SET
    LOCAL`` outside a block counts (the tool may wrap the whole file in a transaction).
    """
    seen = ctx.scratch(f"set:{name}")
    body = stmt.body
    if stmt.kind == "TransactionStmt":
        kind = body.get("kind")
        if kind in ("TRANS_STMT_BEGIN", "TRANS_STMT_START"):
            seen["block"], seen["saved"] = True, seen.get("on")
        elif kind in ("TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK") and seen.get("block"):
            if kind == "TRANS_STMT_ROLLBACK":
                seen["on"] = seen.get("saved")
            seen["block"], seen["local"] = False, None
    elif stmt.kind == "VariableSetStmt" and body.get("kind") == "VAR_RESET_ALL":
        seen["on"], seen["local"] = False, None
    elif stmt.kind == "VariableSetStmt" and body.get("name") == name:
        args = body.get("args") or [{}]
        const = args[0].get("A_Const", {})
        value = const.get("sval", {}).get("sval") or const.get("ival", {}).get(
            "ival", 0
        )
        disabled = str(value).strip().lower() in ("0", "0s", "0ms", "0min")
        on = body.get("kind") == "VAR_SET_VALUE" and not disabled
        if body.get("is_local") and seen.get("block"):
            seen["local"] = on
        else:
            seen["on"], seen["local"] = on, None
    local = seen.get("local")
    return bool(seen.get("on") if local is None else local)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if setting_seen(stmt, ctx, SETTING) or ctx.scratch(ID).get("done"):
        return
    strongest = _strongest(stmt, ctx)
    if strongest is None:
        return
    writes = strongest.conflicts_with(LockMode.ROW_EXCLUSIVE)
    if not writes and _stronger_later(stmt, ctx):
        return  # the first statement that blocks writes is the one to report
    ctx.scratch(ID)["done"] = True
    queue = (
        "every later query on the table queues behind it"
        if strongest.blocks_reads
        else "every later write to the table queues behind it (reads go on)"
        if writes
        else "later schema changes, VACUUM and index builds on the table queue behind "
        "it and the migration hangs (reads and writes go on)"
    )
    yield Hit(
        f"this statement takes {strongest.label} with no lock_timeout set: if it waits for "
        f"the lock, {queue}",
        "start the file with SET lock_timeout = '2s'; and retry on failure (atomig's "
        "runner does both)",
        severity=None if writes else Severity.WARNING,
    )


def _strongest(stmt: Statement, ctx: LintContext) -> LockMode | None:
    """The strongest lock (SHARE UPDATE EXCLUSIVE or more) on a table that exists."""
    strongest = ctx.facts(stmt).strongest_lock()
    if strongest is None or strongest < LockMode.SHARE_UPDATE_EXCLUSIVE:
        return None
    if all(ctx.is_new(lock.relation) for lock in ctx.facts(stmt).locks):
        return None
    return strongest


def _stronger_later(stmt: Statement, ctx: LintContext) -> bool:
    """A later statement blocks writes before any SET of lock_timeout (or RESET ALL)."""
    for later in ctx.script.statements[stmt.index + 1 :]:
        if later.kind == "VariableSetStmt" and later.body.get("name") in (
            SETTING,
            None,
        ):
            return False
        mode = _strongest(later, ctx)
        if mode is not None and mode.conflicts_with(LockMode.ROW_EXCLUSIVE):
            return True
    return False
