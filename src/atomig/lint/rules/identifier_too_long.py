"""An identifier longer than 63 bytes is silently truncated by PostgreSQL.

## Why
PostgreSQL keeps the first 63 bytes of a name (NAMEDATALEN - 1) with only a NOTICE: two long
names that share a prefix collide, and a down file or tool that uses the full name may not
find the object it means.

## Instead
Keep names at 63 bytes or fewer (bytes, not characters: non-ASCII letters take more).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.parse import Statement
from atomig.sql.tokens import long_identifiers

ID = "identifier-too-long"
SEVERITY = Severity.ERROR
CATEGORY = "types"
DOCS = (
    (
        "Identifiers and key words (NAMEDATALEN)",
        "sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS",
    ),
)
TARGETS = (
    "CreateStmt",
    "IndexStmt",
    "AlterTableStmt",
    "RenameStmt",
    "CreateSeqStmt",
    "ViewStmt",
    "CreateTableAsStmt",
    "CreateTrigStmt",
)
SUBTYPES = ("AT_AddColumn", "AT_AddConstraint", "AT_AddIndex", "AT_AlterColumnType")
_LIMIT = 63
BAD = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, "
    "customer_preferred_delivery_window_start_time_in_the_local_time_zone timestamptz);",
)
GOOD = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, delivery_window_start timestamptz);",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    for offset, name in long_identifiers(stmt.text):
        size = len(name.encode("utf-8"))
        kept = name.encode("utf-8")[:_LIMIT].decode("utf-8", errors="ignore")
        yield Hit(
            f"{name!r} is {size} bytes: PostgreSQL truncates names to {_LIMIT} bytes "
            f"({kept!r}), so two long names can collide",
            f"shorten it to {_LIMIT} bytes or fewer",
            offset=stmt.start + offset,
        )
