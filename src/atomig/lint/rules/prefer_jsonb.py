"""Use jsonb rather than json.

## Why
`json` stores the text as written: every access re-parses it, it has no equality operator
(so no DISTINCT, GROUP BY or UNIQUE), and it cannot be indexed with GIN. Changing the type
later rewrites the table.

## Instead
Declare `jsonb` from the start (keep `json` only when the exact text, key order and
duplicate keys must be preserved).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import q
from atomig.sql.parse import Statement

ID = "prefer-jsonb"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (("JSON types", "datatype-json.html#DATATYPE-JSON"),)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddColumn", "AT_AlterColumnType")
BAD = ("CREATE TABLE events (id bigint PRIMARY KEY, payload json);",)
GOOD = ("CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb);",)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    for column, declared, coldef in ctx.declared_types(stmt):
        if declared.name == "json":
            yield Hit(
                f"{column} is json: re-parsed on every access, no equality, no GIN index",
                f"declare {q(column)} jsonb",
                location=coldef.get("location"),
            )
