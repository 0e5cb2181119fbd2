"""SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock.

## Why
`ALTER COLUMN … SET NOT NULL` checks every row while holding ACCESS EXCLUSIVE (reads and
writes wait). Since PostgreSQL 12 the scan is skipped when a validated
`CHECK (col IS NOT NULL)` constraint already proves it, alone or AND-ed with other
conditions (`CHECK (name IS NOT NULL AND name <> '')`); an OR, or `name <> ''` alone
(a CHECK passes NULL), proves nothing.

## Instead
On PostgreSQL 12 and later, in separate steps:
`ADD CONSTRAINT t_col_not_null CHECK (col IS NOT NULL) NOT VALID` (brief lock), then
`VALIDATE CONSTRAINT t_col_not_null` (SHARE UPDATE EXCLUSIVE: reads and writes go on), then
`SET NOT NULL` (no scan), then `DROP CONSTRAINT t_col_not_null`. Before 12 there is no
lock-free way: run it when the table is small or traffic is low. On PostgreSQL 18,
`ADD CONSTRAINT t_col_not_null NOT NULL col NOT VALID`, then `VALIDATE CONSTRAINT
t_col_not_null` in a later step, does the same without the helper check; the same ADD
without NOT VALID scans like SET NOT NULL and is reported too.

## Notes
atomig knows a validated check from the migration history and the live catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_constraints,
    alter_relation,
    commands,
    names,
    q,
    subcommand_offset,
)
from atomig.lint.rule import Example
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "set-not-null"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … SET/DROP NOT NULL",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL",
    ),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_SetNotNull", "AT_AddConstraint")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
_CHECKED = (
    _BEFORE + "\nALTER TABLE orders ADD CONSTRAINT orders_user_id_not_null "
    "CHECK (user_id IS NOT NULL) NOT VALID;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_not_null;"
)
BAD = (
    Example("ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;", before=_BEFORE),
    Example(
        "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;",
        before=_CHECKED,
        pg=(None, 11),
    ),
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_id_not_null NOT NULL user_id;",
        before=_BEFORE,
        pg=(18, None),
    ),
)
GOOD = (
    Example(
        "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;\n"
        "ALTER TABLE orders DROP CONSTRAINT orders_user_id_not_null;",
        before=_CHECKED,
        pg=(12, None),
    ),
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_id_not_null NOT NULL user_id "
        "NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_id_not_null;",
        before=_BEFORE,
        pg=(18, None),
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    columns = [cmd.get("name", "") for _, cmd in commands(stmt, "AT_SetNotNull")]
    for con in added_constraints(stmt):
        # PostgreSQL 18: ADD CONSTRAINT name NOT NULL col, scanned unless NOT VALID.
        if con.get("contype") == "CONSTR_NOTNULL" and not con.get("skip_validation"):
            if ctx.version.at_least(18):
                yield _added(table, con)
            else:
                columns.extend(names(con.get("keys")))
    for column in columns:
        if ctx.known_not_null(table, column):
            continue  # already NOT NULL: PostgreSQL checks nothing (PG 15 and 18)
        checked = ctx.has_validated_not_null_check(table, column)
        if checked and ctx.version.set_not_null_uses_check:
            continue
        if ctx.version.set_not_null_uses_check:
            fix = (
                f"ADD CONSTRAINT {q(f'{table.name}_{column}_not_null')} CHECK "
                f"({q(column)} IS NOT NULL) NOT VALID; VALIDATE it in a later step; "
                "then SET NOT NULL (no scan) and drop the check"
            )
        else:
            fix = (
                f"PostgreSQL {ctx.version.major} always scans (a validated check helps "
                "from 12 on): run it while the table is small or traffic is low"
            )
        yield Hit(
            f"SET NOT NULL on {table}.{column} scans every row under an ACCESS EXCLUSIVE "
            "lock (reads and writes wait)",
            fix,
            relation=table,
            offset=subcommand_offset(stmt, column),
        )


def _added(table: QualifiedName, con: Any) -> Hit:
    column = next(iter(names(con.get("keys"))), "")
    name = con.get("conname") or f"{table.name}_{column}_not_null"
    return Hit(
        f"ADD CONSTRAINT … NOT NULL {q(column)} scans every row of {table} under an "
        "ACCESS EXCLUSIVE lock (reads and writes wait)",
        f"add it NOT VALID, then VALIDATE CONSTRAINT {q(name)} in a later step (SHARE "
        "UPDATE EXCLUSIVE: reads and writes go on)",
        relation=table,
        location=con.get("location"),
    )
