"""DROP NOT NULL lets NULLs in that the running code and its consumers do not expect.

## Why
Code, reports and downstream consumers rely on the column never being NULL; after the
change the first NULL breaks them. And the down file (SET NOT NULL) then fails, or has to
scan the table under ACCESS EXCLUSIVE, once NULLs exist. `ALTER DOMAIN … DROP NOT NULL`
does the same to every column of the domain.

## Instead
Make sure every reader handles NULL before the migration ships, and plan the reverse path
(a default or a backfill) for the down file. A primary key's column cannot be NULL:
PostgreSQL rejects DROP NOT NULL on it (an error, when the history knows the key).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    altered_table,
    commands,
    primary_key_of,
    subcommand_offset,
)
from atomig.lint.rule import Example
from atomig.sql.classify import name_list
from atomig.sql.parse import Statement

ID = "drop-not-null"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (
    (
        "ALTER TABLE … SET/DROP NOT NULL",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL",
    ),
    ("ALTER DOMAIN", "sql-alterdomain.html#SQL-ALTERDOMAIN"),
)
TARGETS = ("AlterTableStmt", "AlterDomainStmt")
SUBTYPES = ("AT_DropNotNull",)
BAD = (
    "ALTER TABLE orders ALTER COLUMN user_id DROP NOT NULL;",
    "ALTER DOMAIN email_address DROP NOT NULL;",
    Example(
        "ALTER TABLE orders ALTER COLUMN id DROP NOT NULL;",
        before="CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL);",
    ),
)
GOOD = (
    "CREATE TABLE carts (id bigint PRIMARY KEY, user_id bigint NOT NULL);\n"
    "ALTER TABLE carts ALTER COLUMN user_id DROP NOT NULL;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.kind == "AlterDomainStmt":
        domain = name_list(stmt.body.get("typeName") or ())
        dropped = stmt.body.get("subtype") == "N" and ctx.direction != "down"
        if dropped and not ctx.made_here("type", domain):
            yield Hit(
                f"every column of domain {domain} may now be NULL: readers that assume "
                "they never are break",
                "ship NULL-safe readers first, and give the down file a backfill before "
                "ALTER DOMAIN … SET NOT NULL",
            )
        return
    table = altered_table(stmt)
    if table is None or ctx.is_new(table) or ctx.direction == "down":
        return
    for _, cmd in commands(stmt, "AT_DropNotNull"):
        column = cmd.get("name", "")
        if key := primary_key_of(ctx, table, column):
            yield Hit(
                f"PostgreSQL rejects DROP NOT NULL on {table}.{column}: it is in the "
                f"primary key {key}",
                f"keep {column} NOT NULL (a key column cannot be NULL), or drop {key} "
                "first",
                severity=Severity.ERROR,
                relation=table,
                offset=subcommand_offset(stmt, column),
            )
            continue
        yield Hit(
            f"{table}.{column} may now be NULL: readers that assume it never is break, "
            "and the down file's SET NOT NULL fails once NULLs exist",
            "ship NULL-safe readers first, and give the down file a default or backfill "
            "before SET NOT NULL",
            relation=table,
            offset=subcommand_offset(stmt, column),
        )
