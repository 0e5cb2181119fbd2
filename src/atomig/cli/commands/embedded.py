"""The embedded PostgreSQL: status and stop."""

from __future__ import annotations

import click

from atomig.cli.app import Options, cli, json_option, run
from atomig.cli.json_out import dumps
from atomig.cli.render import write


@cli.group()
def embedded() -> None:
    """The embedded PostgreSQL used when no database is configured."""


@embedded.command("status")
@json_option
@click.pass_obj
def embedded_status(opts: Options, as_json: bool) -> None:
    """Say whether the embedded server runs, and how to connect to it."""
    from atomig import api

    settings = run(opts, as_json, opts.settings)
    info = api.embedded_info(settings)
    if as_json:
        write(
            dumps(
                {
                    "version": 1,
                    "running": info is not None,
                    "conninfo": info,
                    "data_dir": settings.embedded_dir / "pgdata",
                }
            )
        )
    elif info is None:
        click.echo(f"not running (data: {settings.embedded_dir})")
    else:
        click.echo(f"running: {info} (data: {settings.embedded_dir / 'pgdata'})")


@embedded.command("stop")
@json_option
@click.pass_obj
def embedded_stop(opts: Options, as_json: bool) -> None:
    """Stop the embedded server (it starts again on the next command)."""
    from atomig import api

    stopped = api.embedded_stop(run(opts, as_json, opts.settings))
    if as_json:
        write(dumps({"version": 1, "stopped": stopped}))
    else:
        click.echo("stopped" if stopped else "was not running")
