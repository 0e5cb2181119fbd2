"""A migration's up file has no down file, or an empty one.

## Why
Every migration must be reversible: when a deploy goes wrong at 3 a.m., `atomig down`
needs the down file to undo it, and a missing one leaves only hand-written SQL under
pressure.

## Instead
Write the down file next to the up (`atomig new` creates both): it undoes the up in reverse
order, with `IF EXISTS` guards so it also works after a partially applied up. A migration
that truly cannot be undone (a data deletion) should say so in a comment and raise in its
down: `DO $$ BEGIN RAISE EXCEPTION 'irreversible: …'; END $$;`.

## Notes
In another tool's layout the down is that tool's: golang-migrate's `<version>_<title>.down.sql`,
dbmate's `-- migrate:down` section, Flyway's undo file `U<version>__<description>.sql` (optional
in Flyway itself, expected here like any down; a repeatable `R__` migration needs none).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "missing-down"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = ()  # atomig's own rule: no PostgreSQL page
BAD = (Example("CREATE TABLE carts (id bigint PRIMARY KEY);", down=""),)
GOOD = (
    Example(
        "CREATE TABLE carts (id bigint PRIMARY KEY);",
        down="DROP TABLE IF EXISTS carts;",
    ),
)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    if ctx.direction != "up" or ctx.down_state == "ok":
        return
    first = ctx.script.statements[0] if len(ctx.script) else None
    name = ctx.down_name  # another tool's layout: the file or section it reads
    if ctx.down_state == "missing":
        message = "this migration has no down file: it cannot be rolled back"
        if name:
            message = f"this migration has no down ({name} is missing): it cannot be "
            message += "rolled back"
    else:
        message = "the down file of this migration is empty: it cannot be rolled back"
        if name:
            message = f"the down of this migration ({name}) is empty: it cannot be "
            message += "rolled back"
    yield (
        first,
        Hit(
            message,
            f"write {name or 'the down file'}: undo the up in reverse order, guarded "
            "with IF EXISTS",
        ),
    )
