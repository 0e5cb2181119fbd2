"""Prefer text (with a CHECK if a limit is needed) over varchar(n) and char(n).

## Why
`varchar(n)` is `text` with a length check baked into the type: raising the limit is free,
but lowering it rewrites the table under ACCESS EXCLUSIVE; a CHECK constraint can be changed
with `NOT VALID` + `VALIDATE`, without a rewrite. `char(n)` pads with spaces and compares
surprisingly; it is never faster.

## Instead
`text`, plus `CHECK (char_length(col) <= n)` when a limit is a real business rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import q
from atomig.sql.parse import Statement

ID = "prefer-text"
SEVERITY = Severity.INFO
CATEGORY = "types"
DOCS = (("Character types", "datatype-character.html#DATATYPE-CHARACTER"),)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddColumn", "AT_AlterColumnType")
BAD = (
    "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(255));",
    "CREATE TABLE codes (code char(3));",
)
GOOD = (
    "CREATE TABLE users (id bigint PRIMARY KEY, email text "
    "CONSTRAINT users_email_length CHECK (char_length(email) <= 255));",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    for column, declared, coldef in ctx.declared_types(stmt):
        if declared.name == "varchar" and declared.typmods:
            why = f"{declared} bakes the limit into the type: lowering it rewrites the table"
        elif declared.name == "bpchar":
            why = f"char({declared.typmods[0] if declared.typmods else 1}) pads with spaces"
        else:
            continue
        yield Hit(
            f"{column}: {why}",
            f"declare {q(column)} text, with CHECK (char_length({q(column)}) <= n) if the limit "
            "is a real rule",
            location=coldef.get("location"),
        )
