"""Safety-net commands: verify (reversibility proofs) and trace (lock traces)."""

from __future__ import annotations

import sys

import click

from atomig.cli import exit_codes
from atomig.cli.app import Options, cli, json_option, run
from atomig.cli.json_out import dumps
from atomig.cli.render import write

_SCRATCH_HELP = (
    "Create the scratch database on this server instead of the target's "
    "('embedded': the embedded PostgreSQL). It is dropped afterwards."
)


@cli.command()
@click.argument("version", required=False)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Verify every migration from an empty database (CI), not only pending ones.",
)
@click.option("--scratch-url", metavar="URL", help=_SCRATCH_HELP)
@json_option
@click.pass_obj
def verify(
    opts: Options,
    version: str | None,
    everything: bool,
    scratch_url: str | None,
    as_json: bool,
) -> None:
    """Prove migrations reversible on a scratch database.

    For each pending migration (or VERSION, or --all): up, then down must restore the
    schema exactly; for migrations of several steps, a failure after each step must roll
    back exactly (the runner's own rollback path); up again must give the same schema.
    Exits 1 when a proof fails, naming each object that differs and how.
    """
    from atomig import api
    from atomig.cli.render_safety import render_verify

    result = run(
        opts,
        as_json,
        lambda: api.verify(
            opts.settings(),
            everything=everything,
            version=version,
            scratch_url=scratch_url,
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
    else:
        render_verify(result)
    if not result.ok:
        sys.exit(exit_codes.FAILURE)
