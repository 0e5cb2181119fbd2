"""Several ALTER TABLE statements on the same table in one transaction step each make a
pass over the table.

## Why
Each `ALTER TABLE` that rewrites the table (a type change, a volatile default) or scans it
(a validated CHECK, `SET NOT NULL` without a proving constraint) reads every row while
holding ACCESS EXCLUSIVE, and the lock is held until COMMIT: two such statements make two
passes. One `ALTER TABLE` with several subcommands makes at most one pass for all of them.

## Instead
Combine them: `ALTER TABLE t ALTER COLUMN a TYPE bigint, ALTER COLUMN b TYPE bigint;`.
ALTERs that only change the catalog (a nullable column, a constraint `NOT VALID`) cost
nothing more when separate, and some must stay separate: `SET NOT NULL` followed by the
drop of the CHECK that proves it (combined, PostgreSQL drops the CHECK first and scans).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import alter_relation, commands, type_change_rewrites
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "multiple-alters-same-table"
SEVERITY = Severity.INFO
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE: notes (one pass for several subcommands)",
        "sql-altertable.html#SQL-ALTERTABLE-NOTES",
    ),
    (
        "ALTER TABLE … SET/DROP NOT NULL",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL",
    ),
)
TARGETS = ("AlterTableStmt",)
_BEFORE = "CREATE TABLE orders (id int PRIMARY KEY, qty int, total int, note text);"
_CHECKED = (
    "ALTER TABLE orders ADD CONSTRAINT orders_note_nn CHECK (note IS NOT NULL) NOT VALID;"
    "\nALTER TABLE orders VALIDATE CONSTRAINT orders_note_nn;"
)
BAD = (
    Example(
        "ALTER TABLE orders ALTER COLUMN qty TYPE bigint;\n"
        "ALTER TABLE orders ALTER COLUMN total TYPE bigint;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "-- atomig-ignore: column-type-rewrite orders holds a few hundred rows\n"
        "ALTER TABLE orders ALTER COLUMN qty TYPE bigint, ALTER COLUMN total TYPE bigint;",
        before=_BEFORE,
    ),
    Example(
        "ALTER TABLE orders ADD COLUMN status text;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_status_check "
        "CHECK (status <> '') NOT VALID;",
        before=_BEFORE,
    ),
    Example(
        "BEGIN;\nALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n"
        "ALTER TABLE orders DROP CONSTRAINT orders_note_nn;\nCOMMIT;",
        before=_BEFORE + "\n" + _CHECKED,
        pg=(12, None),
    ),
)
_SCANNING = ("CONSTR_CHECK", "CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION")


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    info = ctx.steps[stmt.index]
    if table is None or not info.transactional or not _pass(stmt, table, ctx):
        return
    seen = ctx.scratch(ID)
    marker = (info.step, key_of(table))
    first = seen.get(marker)
    if first is None:
        seen[marker] = stmt.span.line
        return
    yield Hit(
        f"{table} is already rewritten or scanned on line {first} in this transaction "
        "step: this ALTER TABLE reads every row again while the ACCESS EXCLUSIVE lock "
        "is held",
        f"combine them into one ALTER TABLE {table} with comma-separated subcommands "
        "(one pass for all)",
        relation=table,
    )


def _pass(stmt: Statement, table: QualifiedName, ctx: LintContext) -> bool:
    """The statement reads or rewrites every row of ``table`` under its lock (VALIDATE
    CONSTRAINT is left out: it belongs in a step of its own, not in a combined ALTER)."""
    facts = ctx.facts(stmt)
    if facts.rewrites:
        return True
    if facts.may_rewrite:
        # A type change is a pass only if it rewrites: varchar(200) → varchar(300) is not.
        for subtype, cmd in commands(stmt, "AT_AlterColumnType", "AT_AddColumn"):
            if subtype == "AT_AddColumn" or type_change_rewrites(stmt, table, cmd, ctx):
                return True
    for subtype, cmd in commands(stmt, "AT_AddConstraint", "AT_SetNotNull"):
        if subtype == "AT_SetNotNull":
            column = cmd.get("name", "")
            proven = ctx.has_validated_not_null_check(table, column)
            if not (proven and ctx.version.set_not_null_uses_check):
                return True
            continue
        con = (cmd.get("def") or {}).get("Constraint") or {}
        if (
            con.get("contype") in _SCANNING
            and not con.get("skip_validation")
            and not con.get("indexname")
        ):
            return True
    return False
