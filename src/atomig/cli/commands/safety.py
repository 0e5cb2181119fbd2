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
    from atomig.cli.progress import verify_progress
    from atomig.cli.render_safety import render_verify

    with verify_progress(opts.quiet, as_json, opts.reporter()) as report:
        result = run(
            opts,
            as_json,
            lambda: api.verify(
                opts.settings(),
                everything=everything,
                version=version,
                scratch_url=scratch_url,
                report=report,
            ),
        )
    if as_json:
        write(dumps(result))
    else:
        render_verify(result)
    if not result.ok:
        sys.exit(exit_codes.FAILURE)


@cli.command()
@click.argument("version", required=False)
@click.option(
    "--down", is_flag=True, help="Trace VERSION's down file (after applying its up)."
)
@click.option(
    "--scale-from-target",
    is_flag=True,
    help="First fill the scratch tables with as many rows as the target's statistics "
    "say it has (capped by [verify] scale_max_rows), so durations mean something.",
)
@click.option("--scratch-url", metavar="URL", help=_SCRATCH_HELP)
@json_option
@click.pass_obj
def trace(
    opts: Options,
    version: str | None,
    down: bool,
    scale_from_target: bool,
    scratch_url: str | None,
    as_json: bool,
) -> None:
    """Show what each statement locks and rewrites, on a scratch database.

    Runs the pending migrations (or VERSION) statement by statement and reports the locks
    each one took (pg_locks of atomig's own backend; ACCESS EXCLUSIVE highlighted), the
    tables and indexes it rewrote (relfilenode), its duration, and how long each lock is
    held until its step commits. The target is not changed.
    """
    from atomig import api
    from atomig.cli.render_safety import render_trace

    result = run(
        opts,
        as_json,
        lambda: api.trace(
            opts.settings(),
            version,
            down=down,
            scale_from_target=scale_from_target,
            scratch_url=scratch_url,
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
    else:
        render_trace(result)
    if not result.ok:
        sys.exit(exit_codes.FAILURE)
