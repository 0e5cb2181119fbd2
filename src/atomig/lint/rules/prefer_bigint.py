"""Use bigint for keys: integer and smallint keys run out.

## Why
An `integer` key tops out at 2,147,483,647; a busy table gets there, and then every insert
fails. Widening it later rewrites the table and every referencing table (`int` → `bigint`
is not binary-coercible). The 4 extra bytes are cheap insurance.

## Instead
`bigint` (or `bigint GENERATED ALWAYS AS IDENTITY`) for primary keys, identity and serial
columns, and the columns that reference them.

## Notes
Reported for key-like columns only: primary keys, identity/serial columns, foreign-key
columns, and columns named `id` or ending in `_id`.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import has_constraint
from atomig.sql.parse import Statement

ID = "prefer-bigint"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (("Integer types", "datatype-numeric.html#DATATYPE-INT"),)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddColumn", "AT_AlterColumnType")
_SMALL = {
    "int4": "integer",
    "int2": "smallint",
    "serial": "serial",
    "smallserial": "smallserial",
}
BAD = (
    "CREATE TABLE users (id serial PRIMARY KEY);",
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id int);",
)
GOOD = (
    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, age int);",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    for column, declared, coldef in ctx.declared_types(stmt):
        label = _SMALL.get(declared.name)
        if label is None or declared.array:
            continue
        keyish = (
            column == "id"
            or column.endswith("_id")
            or declared.name.endswith("serial")
            or has_constraint(
                coldef, "CONSTR_PRIMARY", "CONSTR_IDENTITY", "CONSTR_FOREIGN"
            )
        )
        if not keyish:
            continue
        wide = "bigserial" if declared.name.endswith("serial") else "bigint"
        yield Hit(
            f"key column {column} is {label}: it runs out at "
            f"{'32,767' if declared.name in ('int2', 'smallserial') else '2,147,483,647'} "
            "and widening it later rewrites this table and every table referencing it",
            f"declare {column} {wide}",
            location=coldef.get("location"),
        )
