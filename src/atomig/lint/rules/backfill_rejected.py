"""atomig's backfill runner refuses this UPDATE or DELETE when it reaches it.

## Why
`-- atomig: backfill` runs the next UPDATE or DELETE in key windows, one short transaction
each. The planner accepts the file, but the runner checks the statement and its table when
the backfill starts, after the steps before it have run, and stops the migration there if:
the table has no key to walk (no primary key and no unique btree index on NOT NULL plain
columns, without WHERE); the UPDATE assigns a column of that key (rows would move between
windows: visited twice or skipped); the target is a foreign table; or the statement has
RETURNING, WHERE CURRENT OF or a data-modifying WITH (each meaningless once per window).

## Instead
Give the table a key in an earlier step: `CREATE UNIQUE INDEX CONCURRENTLY` on NOT NULL
columns, then `ALTER TABLE … ADD PRIMARY KEY USING INDEX`. Change key values, or a foreign
table, with a plain statement in a migration step; drop RETURNING and move a data-modifying
WITH to its own statement.

## Notes
The key is known from the history, else the live catalog (the runner's own query); a table
neither knows is not reported. Only for `--for-runner=atomig`.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.errors import SourceError
from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import backfill_key, q
from atomig.lint.rule import Example
from atomig.sql.backfill import backfill_statement
from atomig.sql.parse import Statement

ID = "backfill-rejected"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    ("UPDATE", "sql-update.html#SQL-UPDATE"),
    (
        "ADD PRIMARY KEY USING INDEX",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX",
    ),
)
TARGETS = ("UpdateStmt", "DeleteStmt")
RUNNERS = ("atomig",)
_KEYLESS = "CREATE TABLE events (kind text, note text);"
_KEYED = "CREATE TABLE events (id bigint PRIMARY KEY, kind text, note text);"
BAD = (
    Example("-- atomig: backfill\nUPDATE events SET note = '';", before=_KEYLESS),
    Example("-- atomig: backfill\nUPDATE events SET id = id + 1;", before=_KEYED),
    Example(
        "-- atomig: backfill\nDELETE FROM events WHERE kind = 'x' RETURNING id;",
        before=_KEYED,
    ),
)
GOOD = (
    Example(
        "-- atomig: backfill\nUPDATE events SET note = '' WHERE note IS NULL;",
        before=_KEYED,
        apply=False,  # (a backfill runs through atomig's runner, not as one statement)
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.directive("backfill") is None:
        return
    try:
        target = backfill_statement(stmt, ctx.path)
    except SourceError as error:
        yield Hit(
            f"atomig's backfill refuses this statement: {error.message}",
            error.hint or "run it as a plain statement in a migration step",
        )
        return
    table = target.relation
    if ctx.is_foreign(table):
        yield Hit(
            f"atomig's backfill refuses {table}: a foreign table has no local key to "
            "walk in windows",
            "change a foreign table's rows with a plain statement in a migration step",
        )
        return
    key = backfill_key(ctx, table)
    if key == ():
        yield Hit(
            f"atomig's backfill refuses this statement: {table} has no primary key and "
            "no unique index on NOT NULL columns, so there is no key to walk in windows",
            f"add a key to {table} in an earlier step (CREATE UNIQUE INDEX CONCURRENTLY "
            "on NOT NULL columns, then ALTER TABLE … ADD PRIMARY KEY USING INDEX)",
        )
    elif key and (touched := sorted(target.updated_columns & set(key))):
        yield Hit(
            f"atomig's backfill refuses this statement: it updates "
            f"{', '.join(q(c) for c in touched)}, the key of {table} its windows are "
            "walked by (rows could be visited twice or skipped)",
            "change key values with a plain statement in a migration step, or batch by "
            "another unique key",
        )
