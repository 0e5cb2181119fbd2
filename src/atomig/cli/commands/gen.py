"""``atomig gen``: write safe migrations for common changes; ``atomig gen release``."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any, TypeVar

import click

from atomig.cli.app import Options, cli, run
from atomig.cli.json_out import dumps
from atomig.cli.render import write

F = TypeVar("F", bound=Callable[..., Any])


@cli.group()
def gen() -> None:
    """Write safe migrations for common changes (timestamped up/down pairs).

    When the safe pattern spans deployments (expand now, contract later), phase 1 goes to
    the migrations directory and later phases wait in migrations/later/ until
    `atomig gen release`. With a database configured, the catalog fills in types and a
    name that does not exist is an error. Names are written as in SQL:
    orders, app.orders, '"Order Items"'.
    """


def _common(func: F) -> F:
    wrapped: Any = func
    for decorator in reversed(
        (
            click.option(
                "--print",
                "print_only",
                is_flag=True,
                help="Print every phase instead of writing files.",
            ),
            click.option(
                "--pg-version",
                type=int,
                help="Target PostgreSQL major (default: the database's, else 15).",
            ),
            click.option(
                "--no-database",
                is_flag=True,
                help="Work from the arguments alone even when a database is configured.",
            ),
            click.option(
                "--json", "as_json", is_flag=True, help="Print JSON instead of text."
            ),
            click.pass_obj,
        )
    ):
        wrapped = decorator(wrapped)
    return wrapped  # type: ignore[no-any-return]


_FLAGS = {"from_type": "from"}


def _command_line(kind: str, positional: list[str], options: dict[str, Any]) -> str:
    parts = ["atomig", "gen", kind, *positional]
    for key, value in options.items():
        flag = "--" + _FLAGS.get(key, key.replace("_", "-"))
        if value is True:
            parts.append(flag)
        elif isinstance(value, (tuple, list)):
            for item in value:
                parts += [flag, item]
        elif value not in (None, False):
            parts += [flag, str(value)]
    return " ".join(shlex.quote(p) if p not in parts[:3] else p for p in parts)


def _generate(
    opts: Options,
    kind: str,
    positional: list[str],
    options: dict[str, Any],
    *,
    print_only: bool,
    pg_version: int | None,
    no_database: bool,
    as_json: bool,
    request: dict[str, Any],
) -> None:
    from atomig import api

    shown = {k: v for k, v in options.items() if v not in (None, False, ())}
    command = _command_line(kind, positional, shown)
    result = run(
        opts,
        as_json,
        lambda: api.generate(
            opts.settings(),
            kind,
            request,
            write=not print_only,
            pg_version=pg_version,
            use_database=not no_database,
            command=command,
            report=_without_file_events(opts),
        ),
    )
    if as_json:
        write(dumps(result))
        return
    if not result.written:
        for item in result.phases:
            phase = item.phase
            write(f"-- ==== {phase.slug}.up.sql ====\n{phase.up}")
            write(f"-- ==== {phase.slug}.down.sql ====\n{phase.down}")
    else:
        for item in result.phases:
            if item.held:
                click.echo(
                    f"held    {item.up}\n        {item.down}\n"
                    f"        phase {item.phase.number}: {item.phase.when}\n"
                    f"        release it then: atomig gen release {item.phase.slug}"
                )
            else:
                click.echo(f"created {item.up}\ncreated {item.down}")
    source = f"catalog of {result.database}" if result.database else "arguments only"
    click.echo(f"({source}; PostgreSQL {result.server_version})", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


_COMMON = ("print_only", "pg_version", "no_database", "as_json")


def _generator(kind: str) -> Callable[[Callable[[], None]], click.Command]:
    """Register ``atomig gen KIND``: its arguments, options and help come from the
    decorated declaration; every generator shares the common options and one callback,
    which hands the arguments and options to :func:`atomig.api.generate` by name."""

    def register(declared: Callable[[], None]) -> click.Command:
        def callback(opts: Options, **values: Any) -> None:
            common = {name: values.pop(name) for name in _COMMON}
            positional = {
                param.name: values.pop(param.name)
                for param in command.params
                if isinstance(param, click.Argument) and param.name
            }
            shown: list[str] = []
            for value in positional.values():
                shown += list(value) if isinstance(value, tuple) else [value]
            _generate(
                opts, kind, shown, values, request={**positional, **values}, **common
            )

        wrapped: Any = _common(callback)
        # After the common options, so that --help lists the command's own first.
        wrapped.__click_params__ += getattr(declared, "__click_params__", [])
        command = gen.command(kind, help=declared.__doc__)(wrapped)
        return command

    return register


@_generator("add-column")
@click.argument("table")
@click.argument("column")
@click.argument("type")
@click.option(
    "--default", help="A non-volatile default (existing rows get it at once)."
)
@click.option(
    "--references",
    metavar="TABLE(COL)",
    help="Add a foreign key (NOT VALID, then VALIDATE) and an index on the column.",
)
@click.option(
    "--on-delete", metavar="ACTION", help="ON DELETE action of the foreign key."
)
@click.option("--no-index", is_flag=True, help="No index for the foreign key.")
@click.option(
    "--backfill",
    metavar="EXPR",
    help="Fill existing rows with EXPR in batches (a trigger fills new rows until "
    "phase 2).",
)
@click.option(
    "--not-null",
    is_flag=True,
    help="Then NOT NULL: CHECK NOT VALID, VALIDATE, SET NOT NULL, drop the check.",
)
def add_column_command() -> None:
    """Add a nullable column to TABLE (foreign key, backfill, NOT NULL optional)."""


@_generator("add-index")
@click.argument("table")
@click.argument("columns", nargs=-1, required=True)
@click.option("--unique", is_flag=True, help="A unique index (named uq_…).")
@click.option(
    "--constraint",
    is_flag=True,
    help="Promote the unique index to a UNIQUE constraint (USING INDEX).",
)
@click.option("--name", help="The index name (default: idx_<table>_<columns>).")
@click.option("--using", metavar="METHOD", help="Index method (btree, gin, gist, …).")
@click.option("--include", multiple=True, metavar="COLUMN", help="INCLUDE column.")
@click.option("--where", metavar="PREDICATE", help="A partial index.")
def add_index_command() -> None:
    """Build an index CONCURRENTLY on TABLE (COLUMNS: col, 'col DESC', '(lower(col))')."""


@_generator("add-unique")
@click.argument("table")
@click.argument("columns", nargs=-1, required=True)
@click.option("--name", help="The constraint name (default: uq_<table>_<columns>).")
def add_unique_command() -> None:
    """Add a UNIQUE constraint: a unique index CONCURRENTLY, then USING INDEX."""


@_generator("add-foreign-key")
@click.argument("table")
@click.argument("columns", nargs=-1, required=True)
@click.option(
    "--references", required=True, metavar="TABLE(COL)", help="The referenced key."
)
@click.option("--on-delete", metavar="ACTION", help="ON DELETE action.")
@click.option("--on-update", metavar="ACTION", help="ON UPDATE action.")
@click.option("--no-index", is_flag=True, help="No index on the referencing columns.")
@click.option("--name", help="The constraint name (default: fk_<table>_<columns>).")
def add_foreign_key_command() -> None:
    """Add a foreign key: NOT VALID, VALIDATE in its own step, an index CONCURRENTLY."""


@_generator("add-check")
@click.argument("table")
@click.argument("check")
@click.option("--name", help="chk_<table>_<NAME> (default: the columns it names).")
def add_check_command() -> None:
    """Add a CHECK (an SQL expression): NOT VALID, then VALIDATE in its own step."""


@_generator("set-not-null")
@click.argument("table")
@click.argument("column")
def set_not_null_command() -> None:
    """Make a column NOT NULL: CHECK NOT VALID, VALIDATE, SET NOT NULL, drop the check."""


@_generator("change-column-type")
@click.argument("table")
@click.argument("column")
@click.argument("type")
@click.option("--using", metavar="EXPR", help="Conversion from the old column (SQL).")
@click.option("--back", metavar="EXPR", help="Conversion back, for the old column.")
@click.option(
    "--from", "from_type", metavar="TYPE", help="The current type (without a database)."
)
@click.option("--default", metavar="EXPR", help="Default of the new column.")
def change_column_type_command() -> None:
    """Change a column's type by expand/contract: new column, trigger, backfill, swap."""


@_generator("rename-column")
@click.argument("table")
@click.argument("old")
@click.argument("new")
@click.option("--type", metavar="TYPE", help="The column's type (without a database).")
@click.option(
    "--not-null", is_flag=True, help="The column is NOT NULL (without a database)."
)
def rename_column_command() -> None:
    """Rename a column by expand/contract: both names kept in sync until the old goes."""


@_generator("drop-column")
@click.argument("table")
@click.argument("column")
@click.option("--type", metavar="TYPE", help="The column's type (without a database).")
@click.option(
    "--not-null",
    is_flag=True,
    help="The column is NOT NULL without a default (without a database).",
)
def drop_column_command() -> None:
    """Drop a column in two phases (the DROP COLUMN waits until no code uses it)."""


@_generator("add-enum-value")
@click.argument("type")
@click.argument("value")
@click.option("--before", metavar="VALUE", help="Place it before this value.")
@click.option("--after", metavar="VALUE", help="Place it after this value.")
@click.option(
    "--values",
    metavar="A,B,…",
    help="The type's current values in order (without a database; for the down file).",
)
def add_enum_value_command() -> None:
    """Add VALUE (taken literally) to the enum TYPE."""


@_generator("backfill")
@click.argument("table")
@click.option(
    "--set",
    "set",
    multiple=True,
    required=True,
    metavar="COL = EXPR",
    help="Assignment.",
)
@click.option("--where", metavar="CONDITION", help="Which rows.")
@click.option("--down-set", multiple=True, metavar="COL = EXPR", help="The inverse.")
@click.option("--down-where", metavar="CONDITION", help="Rows of the inverse.")
@click.option(
    "--batch-size",
    type=int,
    help="A fixed number of keys per batch (default: adaptive).",
)
@click.option("--name", help="Name for the slug (default: the table).")
def backfill_command() -> None:
    """A batched UPDATE of TABLE as a migration step (-- atomig: backfill)."""


@gen.command("release")
@click.argument("slugs", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def release(opts: Options, slugs: tuple[str, ...], as_json: bool) -> None:
    """Move held later phases into the migrations directory (no SLUG: list them)."""
    from atomig import api

    if not slugs:
        held = run(opts, as_json, lambda: api.held_phases(opts.settings()))
        if as_json:
            write(dumps({"version": 1, "held": [h.to_dict() for h in held]}))
            return
        if not held:
            click.echo("no phase is held")
        for item in held:
            click.echo(f"{item.slug}\n    {item.when}\n    follows {item.follows}")
        return
    done = run(
        opts,
        as_json,
        lambda: api.release_phase(
            opts.settings(), slugs, report=_without_file_events(opts)
        ),
    )
    if as_json:
        write(dumps({"version": 1, "released": [d.to_dict() for d in done]}))
        return
    for item in done:
        click.echo(f"created {item.up}\ncreated {item.down}")


def _without_file_events(opts: Options) -> Any:
    """The reporter, less the library's one event per written file: the command prints
    each file itself (on stdout, where scripts read it), so stderr would repeat it."""
    report = opts.reporter()

    def forward(event: Any) -> None:
        if event.kind != "gen.file":
            report(event)

    return forward
