"""Use identity columns rather than serial.

## Why
`serial` creates a separately owned sequence with loose ties to the column: grants,
`CREATE TABLE … LIKE`, dumps and ownership changes trip over it, and nothing stops writes
that bypass it. `GENERATED … AS IDENTITY` is the SQL-standard form, owned by the column.

## Instead
`id bigint GENERATED ALWAYS AS IDENTITY` (or `BY DEFAULT` when rows must sometimes carry
their own value).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import q
from atomig.sql.parse import Statement
from atomig.sql.types import SERIAL_TYPES

ID = "prefer-identity"
SEVERITY = Severity.INFO
CATEGORY = "types"
DOCS = (
    ("Serial types", "datatype-numeric.html#DATATYPE-SERIAL"),
    ("CREATE TABLE (GENERATED … AS IDENTITY)", "sql-createtable.html#SQL-CREATETABLE"),
)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddColumn", "AT_AlterColumnType")
BAD = ("CREATE TABLE users (id bigserial PRIMARY KEY);",)
GOOD = ("CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    for column, declared, coldef in ctx.declared_types(stmt):
        if declared.name in SERIAL_TYPES and declared.schema is None:
            base = {"bigserial": "bigint", "smallserial": "smallint"}.get(
                declared.name, "integer"
            )
            yield Hit(
                f"{column} is {declared.name}: a loosely attached sequence",
                f"declare {q(column)} {base} GENERATED ALWAYS AS IDENTITY",
                location=coldef.get("location"),
            )
