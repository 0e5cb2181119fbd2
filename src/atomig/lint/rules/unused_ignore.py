"""A suppression comment that suppresses nothing.

## Why
Stale suppressions pile up and, when the statement changes later, silently hide a new
hazard of the same rule.

## Instead
Remove the comment (or the rule ids in it that no longer fire).

## Notes
Reported by the engine while it applies suppressions.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "unused-ignore"
SEVERITY = Severity.INFO
CATEGORY = "meta"
DOCS = ()  # atomig's own rule: no PostgreSQL page
BAD = ("-- atomig-ignore: truncate not needed any more\nCREATE TABLE t (id int);",)
GOOD = (
    Example(
        "-- atomig-ignore: truncate the table is a cache\nTRUNCATE orders;",
        before="CREATE TABLE orders (id int);",
    ),
)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    # Suppressions are checked by the engine after every other rule has run.
    return iter(())
