"""Changing an enum's values: a rename breaks code, and a new value cannot be used in the
transaction that adds it.

## Why
`ALTER TYPE … RENAME VALUE` breaks every running query and every client that still sends or
expects the old label. `ALTER TYPE … ADD VALUE` is fine on its own, but PostgreSQL rejects
using the new value in the same transaction ("unsafe use of new value"), and before
PostgreSQL 12 it cannot run in a transaction block at all. Enum values can never be removed.

## Instead
Add values (never rename or repurpose them), in a step before the statements that use them
(`COMMIT` in between, or the next migration). For values that change often, use a lookup
table or a text column with a CHECK constraint instead of an enum.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import names
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "enum-value-change"
SEVERITY = Severity.ERROR
CATEGORY = "compatibility"
DOCS = (("ALTER TYPE (ADD VALUE, RENAME VALUE)", "sql-altertype.html#SQL-ALTERTYPE"),)
TARGETS = ("AlterEnumStmt",)
_BEFORE = (
    "CREATE TYPE order_status AS ENUM ('new', 'paid');\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, status order_status);"
)
BAD = (
    "ALTER TYPE order_status RENAME VALUE 'paid' TO 'settled';",
    Example(
        "ALTER TYPE order_status ADD VALUE 'shipped';\n"
        "UPDATE orders SET status = 'shipped' WHERE id = 1;",
        before=_BEFORE,
        pg=(12, None),
    ),
)
GOOD = (
    Example(
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'shipped';", before=_BEFORE
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    enum = ".".join(names(body.get("typeName")))
    old, new = body.get("oldVal"), body.get("newVal")
    if old is not None:
        yield Hit(
            f"renaming value {old!r} of {enum} to {new!r} breaks code that still uses "
            f"{old!r}",
            f"add {new!r} as a new value and migrate rows and code to it; never rename",
            severity=Severity.WARNING,
        )
        return
    literal = f"'{new}'"
    users = [m for m in ctx.step_mates(stmt) if literal in m.text][:1]
    if users:
        yield Hit(
            f"{new!r} is added to {enum} and used on line {users[0].span.line} in the same "
            "transaction: PostgreSQL rejects it (unsafe use of new value)",
            "commit the ADD VALUE first (BEGIN … COMMIT around it) or use the value in the "
            "next migration",
        )
