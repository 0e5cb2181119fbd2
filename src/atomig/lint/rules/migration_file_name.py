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
A down file without its up (`…down.sql` with no `…up.sql`, Flyway's `U2__x.sql` with no
`V2__x.sql`) is reported too: it undoes what no migration does. Only files that look like
migrations are reported: an up or down file, a name starting
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
    first = ctx.script.statements[0] if len(ctx.script) else None
    name = PurePath(ctx.path).name
    if ctx.direction == "down" and ctx.up_missing:
        up = _up_name(name)
        yield (
            first,
            Hit(
                f"{name} is a down without its up ({up} is missing): it undoes what no "
                "migration does (atomig's runner reports such a migration broken)",
                f"add {up}, or delete {name}",
            ),
        )
        return
    misnamed = ctx.misnamed
    if misnamed is None:
        return
    yield (
        first,
        Hit(
            f"{name} {misnamed.reason}: it is linted alone, without "
            "the history of the migrations before it and without its down",
            f"name it {misnamed.expected}",
        ),
    )


def _up_name(down: str) -> str:
    """The up file a down file pairs with: ``….down.sql`` → ``….up.sql``, Flyway's
    ``U…`` → ``V…``."""
    if down.endswith(".down.sql"):
        return down[: -len(".down.sql")] + ".up.sql"
    return "V" + down[1:] if down.startswith("U") else down
