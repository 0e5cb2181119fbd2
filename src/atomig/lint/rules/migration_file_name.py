"""A file that looks like a migration is not named as one of its directory: it is linted
alone, without history and without its down.

## Why
`atomig lint` reads a directory in the layout most of its migration files follow (atomig's
`YYYYMMDD_HHMM_slug.up.sql`, golang-migrate's `1_init.up.sql`, Flyway's `V1__init.sql`,
dbmate's `20240101120000_init.sql` with `-- migrate:up`): it replays the migrations before a
file, so it knows which tables exist, and pairs each up with its down. A file named
otherwise (`init.up.sql`, `1-init.up.sql`, `V1_init.sql` with one underscore, a Flyway file
among golang-migrate ones) is linted on its own, as if no table existed before it and it
needed no down. Its tool most likely skips it too, or refuses the directory.

## Instead
Rename the file as its directory's layout expects; the message says how.

## Notes
Only files that look like migrations are reported: an up or down file, a name starting
with a number, or with `V`/`U` and a number, or `R_`. Other `.sql` files (`seed.sql`) are
linted alone, as always. A directory where no file follows a layout atomig knows (goose's,
for one) has no name to advise: `atomig lint` says once, on stderr, that its files are linted
alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "migration-file-name"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = ()  # atomig's own rule: no PostgreSQL page
_SQL = "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);"
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
BAD = (
    Example(_SQL, before=_BEFORE, file_name="add_orders_index.up.sql"),
    Example(_SQL, before=_BEFORE, file_name="V2__add_orders_index.sql"),
)
GOOD = (Example(_SQL, before=_BEFORE, file_name="20240102_0000_orders_index.up.sql"),)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    misnamed = ctx.misnamed
    if misnamed is None:
        return
    first = ctx.script.statements[0] if len(ctx.script) else None
    yield (
        first,
        Hit(
            f"{PurePath(ctx.path).name} {misnamed.reason}: it is linted alone, without "
            "the history of the migrations before it and without its down",
            f"name it {misnamed.expected}",
        ),
    )
