"""Creating, dropping, enabling or disabling a trigger on an existing table.

## Why
`CREATE TRIGGER` and `ALTER TABLE … ENABLE/DISABLE TRIGGER` take SHARE ROW EXCLUSIVE (writes
wait; behind a long transaction, writes queue), `DROP TRIGGER` takes ACCESS EXCLUSIVE. And a
trigger changes what every write does: added per-row work, or a data rule that silently stops
being enforced.

## Instead
Keep trigger functions small, create the trigger with a short `lock_timeout` (atomig's
envelope does) in a step of its own, and ship the code that relies on it after the
migration. Prefer `CREATE OR REPLACE FUNCTION` to change what an existing trigger does.

## Notes
A trigger whose function the same migration creates (the sync trigger of the expand
pattern) is reported as info: its per-row work is in the file under review. A down file
dropping the trigger its own up created is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import altered_table, commands
from atomig.lint.rule import Example
from atomig.sql.alter_table import TRIGGER_TOGGLES
from atomig.sql.classify import name_list, range_var
from atomig.sql.parse import Statement

ID = "trigger-change"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    ("CREATE TRIGGER: notes", "sql-createtrigger.html#SQL-CREATETRIGGER-NOTES"),
    (
        "ALTER TABLE … DISABLE/ENABLE TRIGGER",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-DISABLE-ENABLE-TRIGGER",
    ),
)
TARGETS = ("CreateTrigStmt", "DropStmt", "AlterTableStmt")
_TOGGLES = TRIGGER_TOGGLES
SUBTYPES = _TOGGLES
_FUNCTION = (
    "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;"
)
BAD = (
    "CREATE TRIGGER orders_touch BEFORE UPDATE ON orders "
    "FOR EACH ROW EXECUTE FUNCTION touch();",
    "ALTER TABLE orders DISABLE TRIGGER orders_touch;",
    "DROP TRIGGER orders_touch ON orders;",
)
GOOD = (
    Example(
        "DROP TRIGGER IF EXISTS orders_touch ON orders;\nDROP TABLE IF EXISTS orders;",
        before="CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz);\n"
        + _FUNCTION
        + "\nCREATE TRIGGER orders_touch BEFORE UPDATE ON orders "
        "FOR EACH ROW EXECUTE FUNCTION touch();",
        direction="down",
    ),
    "CREATE TABLE carts (id bigint PRIMARY KEY, updated_at timestamptz);\n"
    + _FUNCTION
    + "\nCREATE TRIGGER carts_touch BEFORE UPDATE ON carts "
    "FOR EACH ROW EXECUTE FUNCTION touch();",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    severity, note = None, ""
    if stmt.kind == "CreateTrigStmt":
        table = range_var(stmt.body.get("relation"))
        what, lock = (
            f"CREATE TRIGGER {stmt.body.get('trigname')}",
            "SHARE ROW EXCLUSIVE",
        )
        function = name_list(stmt.body.get("funcname") or ())
        if ctx.made_here("function", function):
            # The expand pattern's sync trigger: its function is reviewed in this file.
            severity = Severity.INFO
            note = f" (its function {function} is created by this migration)"
    elif stmt.kind == "DropStmt":
        if stmt.body.get("removeType") != "OBJECT_TRIGGER":
            return
        items = [
            o.get("List", {}).get("items", []) for o in stmt.body.get("objects", ())
        ]
        if not items or len(items[0]) < 2:
            return
        table, lock = name_list(items[0][:-1]), "ACCESS EXCLUSIVE"
        trigger = items[0][-1].get("String", {}).get("sval", "")
        if ctx.direction == "down" and ctx.made_here("trigger", table, trigger):
            return  # the down file removing the trigger its own up created
        what = f"DROP TRIGGER {trigger}"
    else:
        table = altered_table(stmt)
        toggles = [cmd.get("name") or "ALL" for _, cmd in commands(stmt, *_TOGGLES)]
        if not toggles or table is None:
            return
        what, lock = (
            f"enabling/disabling trigger {', '.join(toggles)}",
            "SHARE ROW EXCLUSIVE",
        )
    yield Hit(
        f"{what} on {table} takes {lock} ({_WAIT[lock]} wait) and changes what every "
        f"write to {table} does{note}",
        "keep it in a step of its own with a short lock_timeout, and deploy the code that "
        "relies on it after the migration",
        relation=table,
        severity=severity,
    )


_WAIT = {"ACCESS EXCLUSIVE": "reads and writes", "SHARE ROW EXCLUSIVE": "writes"}
