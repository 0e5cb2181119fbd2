"""A migration turns off triggers and foreign-key checks with session_replication_role.

## Why
`session_replication_role = replica` (or `local`) is meant for logical replication
appliers and restores: ordinary triggers do not fire in it, and foreign keys are enforced
by triggers, so every write made under it skips them — a row pointing at a parent that does
not exist goes in unnoticed, audit and sync triggers miss the change. Setting it needs
superuser (or `GRANT SET ON PARAMETER`, PostgreSQL 15+): a migration that works on a
developer's superuser database fails in production under a migration role. Stored with
`ALTER DATABASE | ROLE … SET` or `ALTER SYSTEM`, it applies to every later session — the
application's included.

## Instead
Leave it alone: keep triggers and foreign keys on for the migration's writes. If a trigger
must not fire for a backfill, have the trigger skip it (a `WHEN` condition, or a custom
setting it reads) instead of switching off every trigger and foreign key.

## Notes
`SET session_replication_role = origin`, `RESET` and `DEFAULT` are not reported. atomig
resets the session after each migration, so a plain `SET` does not reach the next one.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.parse import Statement
from atomig.sql.settings import (
    ALL_SETTINGS,
    SettingChange,
    setting_change,
    stored_setting_change,
)

ID = "replication-role-change"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = (
    (
        "session_replication_role",
        "runtime-config-client.html#GUC-SESSION-REPLICATION-ROLE",
    ),
)
TARGETS = (
    "VariableSetStmt",
    "SelectStmt",
    "AlterDatabaseSetStmt",
    "AlterRoleSetStmt",
    "AlterSystemStmt",
)
_SETTING = "session_replication_role"
_WRITES = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt"})
_BEFORE = (
    "CREATE TABLE customers (id bigint PRIMARY KEY);\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers);"
)
BAD = (
    Example(
        "SET session_replication_role = replica;\n"
        "UPDATE orders SET customer_id = 7 WHERE id = 1;",
        before=_BEFORE,
    ),
    Example(
        "SELECT set_config('session_replication_role', 'replica', true);",
        before=_BEFORE,
    ),
    Example(
        "ALTER ROLE CURRENT_USER SET session_replication_role = replica;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example("UPDATE orders SET customer_id = 7 WHERE id = 1;", before=_BEFORE),
    Example("RESET session_replication_role;", before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    stored = stored_setting_change(stmt)
    change = stored[1] if stored is not None else setting_change(stmt)
    if change is None or change.name != _SETTING or change.value is None:
        return
    role = change.value.strip().lower()
    if role == "origin":
        return
    fix = (
        "remove it: keep triggers and foreign keys on; if a trigger must not fire for a "
        "backfill, have the trigger skip it (a WHEN condition or a setting it reads)"
    )
    if stored is not None:
        yield Hit(
            f"session_replication_role = {role} stored for {stored[0]}: every later "
            "session there (the application's too) writes without foreign-key checks "
            "and triggers; it needs superuser",
            fix,
        )
        return
    write = _first_write(stmt, ctx)
    reach = (
        f"line {write.span.line} writes without foreign-key checks and triggers"
        if write is not None
        else "writes after it skip foreign-key checks and triggers"
    )
    yield Hit(
        f"session_replication_role = {role}: {reach}, and setting it needs superuser "
        "(a migration role without it fails in production)",
        fix,
    )


def _sets_back(change: SettingChange | None) -> bool:
    """The change puts the role back to ``origin`` (``RESET``, ``DEFAULT``, ``RESET ALL``)."""
    if change is None or change.name not in (_SETTING, ALL_SETTINGS):
        return False
    return change.value is None or change.value.strip().lower() == "origin"


def _first_write(stmt: Statement, ctx: LintContext) -> Statement | None:
    """The first write of the file the setting reaches (until it is set back)."""
    for later in ctx.script.statements[stmt.index + 1 :]:
        change = setting_change(later)
        if _sets_back(change):
            return None
        if later.kind in _WRITES:
            return later
    return None
