"""The embedded PostgreSQL: status and stop."""

from __future__ import annotations

import click

from atomig.cli.app import Options, cli, run


@cli.group()
def embedded() -> None:
    """The embedded PostgreSQL used when no database is configured."""


@embedded.command("status")
@click.pass_obj
def embedded_status(opts: Options) -> None:
    """Say whether the embedded server runs, and how to connect to it."""
    from atomig import api

    settings = run(opts, False, opts.settings)
    info = api.embedded_info(settings)
    if info is None:
        click.echo(f"not running (data: {settings.embedded_dir})")
    else:
        click.echo(f"running: {info} (data: {settings.embedded_dir / 'pgdata'})")


@embedded.command("stop")
@click.pass_obj
def embedded_stop(opts: Options) -> None:
    """Stop the embedded server (it starts again on the next command)."""
    from atomig import api

    stopped = api.embedded_stop(run(opts, False, opts.settings))
    click.echo("stopped" if stopped else "was not running")
