"""A foreign key whose referencing columns have no index.

## Why
Every DELETE or key UPDATE on the referenced table must find the referencing rows: without
an index on them that is a sequential scan of the referencing table per row, under locks, and
`ON DELETE CASCADE` turns one delete into minutes. Joins along the key suffer too.

## Instead
Create an index that starts with the foreign-key columns, concurrently:
`CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);` (in the same migration
or before it).

## Notes
atomig looks for a covering index in the history, later in the same migration, in later
migrations of the directory, and (when connected) in the live catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_constraints,
    alter_relation,
    names,
    q,
    table_columns,
)
from atomig.lint.rule import Example
from atomig.sql.classify import column_constraints, range_var
from atomig.sql.parse import Statement

ID = "foreign-key-without-index"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (
    (
        "Foreign keys (indexing the referencing columns)",
        "ddl-constraints.html#DDL-CONSTRAINTS-FK",
    ),
)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddConstraint", "AT_AddColumn")
_USERS = "CREATE TABLE users (id bigint PRIMARY KEY);"
BAD = (
    Example(
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);",
        before=_USERS,
    ),
)
GOOD = (
    Example(
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n"
        "CREATE INDEX orders_user_id_idx ON orders (user_id);",
        before=_USERS,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.kind == "CreateStmt":
        table = range_var(stmt.body.get("relation"))
        constraints = [
            e["Constraint"] for e in stmt.body.get("tableElts", ()) if "Constraint" in e
        ]
    else:
        table = alter_relation(stmt)
        constraints = list(added_constraints(stmt))
    found = [
        (names(con.get("fk_attrs")), con)
        for con in constraints
        if con.get("contype") == "CONSTR_FOREIGN"
    ]
    for coldef in table_columns(stmt):
        for con in column_constraints(coldef):
            if con.get("contype") == "CONSTR_FOREIGN":
                found.append(((coldef.get("colname", ""),), con))
    pending = ctx.scratch(ID).setdefault("fks", [])
    for columns, con in found:
        target = range_var(con.get("pktable"))
        if target is not None and ctx.is_foreign(target):
            continue  # PostgreSQL rejects the key itself: foreign-table-unsupported
        if table is not None and columns:
            pending.append(
                (
                    stmt,
                    table,
                    columns,
                    target,
                    con.get("location"),
                )
            )
    return iter(())


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    for stmt, table, columns, referenced, at in ctx.scratch(ID).get("fks", []):
        if ctx.covered_by_index(table, columns) or ctx.covered_later(table, columns):
            continue
        cols = ", ".join(columns)
        index = q(f"{table.name}_{'_'.join(columns)}_idx")
        quoted = ", ".join(q(c) for c in columns)
        fix = f"CREATE INDEX CONCURRENTLY {index} ON {table} ({quoted})"
        if ctx.is_partitioned(table):  # PostgreSQL rejects CONCURRENTLY on it
            fix = (
                f"CREATE INDEX {index} ON ONLY {table} ({quoted}) (instant), then CREATE "
                f"INDEX CONCURRENTLY on each partition and ALTER INDEX {index} ATTACH "
                f"PARTITION each one ({table} is partitioned: no CONCURRENTLY on it)"
            )
        yield (
            stmt,
            Hit(
                f"no index on {table} ({cols}): every DELETE or key UPDATE on {referenced} "
                f"scans {table}",
                fix,
                location=at,  # one finding per foreign key of the statement
            ),
        )
