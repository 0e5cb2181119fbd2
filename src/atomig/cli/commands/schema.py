"""Schema context: describe one table, or print the whole schema as SQL."""

from __future__ import annotations

import click

from atomig.cli.app import Options, cli, json_option, run
from atomig.cli.json_out import dumps
from atomig.cli.render import write


@cli.command()
@click.argument("table")
@json_option
@click.pass_obj
def describe(opts: Options, table: str, as_json: bool) -> None:
    """Show one table exactly: columns, constraints, indexes (validity, size), FKs, triggers."""
    from atomig import api
    from atomig.schema.render import render_table

    result = run(
        opts,
        as_json,
        lambda: api.describe_table(opts.settings(), table, report=opts.reporter()),
    )
    write(dumps(result) if as_json else render_table(result))


@cli.command()
@click.option(
    "--schema", "schemas", multiple=True, help="Only this schema (repeatable)."
)
@click.option(
    "--no-bodies",
    is_flag=True,
    help="Show function signatures instead of their definitions.",
)
@json_option
@click.pass_obj
def schema(
    opts: Options, schemas: tuple[str, ...], no_bodies: bool, as_json: bool
) -> None:
    """Print the whole schema as SQL that recreates it (no data)."""
    from atomig import api
    from atomig.schema.render import render_schema

    model = run(
        opts,
        as_json,
        lambda: api.read_database_schema(
            opts.settings(), schemas=list(schemas) or None, report=opts.reporter()
        ),
    )
    write(dumps(model) if as_json else render_schema(model, with_bodies=not no_bodies))
