"""Use timestamptz rather than timestamp without time zone.

## Why
`timestamp` stores a wall-clock reading with no zone: the same instant reads differently
from servers and clients in other zones, and daylight-saving changes make values ambiguous.
`timestamptz` stores an instant (UTC) and converts on input and output; it takes the same 8
bytes. Converting later rewrites the table (unless the session zone is UTC).

## Instead
Declare `timestamptz`.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import q
from atomig.sql.parse import Statement

ID = "prefer-timestamptz"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (
    ("Date/time types", "datatype-datetime.html#DATATYPE-DATETIME"),
    ("Time zones", "datatype-datetime.html#DATATYPE-TIMEZONES"),
)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddColumn", "AT_AlterColumnType")
BAD = ("CREATE TABLE events (id bigint PRIMARY KEY, at timestamp);",)
GOOD = ("CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz);",)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    for column, declared, coldef in ctx.declared_types(stmt):
        if declared.name == "timestamp":
            yield Hit(
                f"{column} is timestamp without time zone: values are wall-clock readings "
                "whose instant depends on the reader's zone",
                f"declare {q(column)} timestamptz",
                location=coldef.get("location"),
            )
