"""A suppression comment without a reason, without a rule id, or with an unknown rule id.

## Why
A suppression is a reviewed decision: the reason tells the next reader why the hazard is
acceptable here (a small table, a maintenance window). An unknown id suppresses nothing and
usually hides a typo.

## Instead
`-- atomig-ignore: rule-id[, rule-id] reason` on the line(s) before the statement, or
`-- atomig-ignore-file: rule-id reason` at the top of the file.

## Notes
Reported by the engine while it applies suppressions.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "invalid-ignore"
SEVERITY = Severity.WARNING
CATEGORY = "meta"
DOCS = ()  # atomig's own rule: no PostgreSQL page
BAD = ("-- atomig-ignore: truncate\nTRUNCATE orders;",)
GOOD = (
    Example(
        "-- atomig-ignore: truncate the table is a cache, rebuilt hourly\nTRUNCATE orders;",
        before="CREATE TABLE orders (id int);",
    ),
)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    # Suppressions are checked by the engine after every other rule has run.
    return iter(())
