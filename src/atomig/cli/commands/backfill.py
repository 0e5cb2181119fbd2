"""Backfill commands: ``backfill`` (run or resume one) and ``backfills`` (their checkpoints)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from atomig.cli.app import Options, cli, json_option, run
from atomig.cli.json_out import dumps
from atomig.cli.progress import backfill_progress, json_line, json_reporter
from atomig.cli.render import write
from atomig.errors import AtomigError

# Flag → option name of atomig.plan.backfill (the same names as in atomig.toml).
_FLAGS = (
    ("batch_size", "--batch-size", int, "Keys in the first window (adaptive after)."),
    ("min_batch_size", "--min-batch-size", int, "Smallest window."),
    ("max_batch_size", "--max-batch-size", int, "Largest window."),
    ("target_duration", "--target-duration", str, "Batch duration to steer toward."),
    (
        "busy_target_duration",
        "--busy-target-duration",
        str,
        "The same while the server is busy (the shorter applies).",
    ),
    ("sleep", "--sleep", str, "Pause between batches (e.g. 50ms)."),
    (
        "max_replication_lag",
        "--max-replication-lag",
        str,
        "Pause while a standby lags more (0: off).",
    ),
    (
        "lock_wait_pause",
        "--lock-wait-pause",
        str,
        "Pause after a batch others waited on (0: off).",
    ),
    (
        "busy_sessions",
        "--busy-sessions",
        int,
        "Busy server: this many other sessions running queries (0: always).",
    ),
    (
        "nice_ratio",
        "--nice-ratio",
        float,
        "On a busy server, pause this many times each batch's time (0: off).",
    ),
)


def _option_flags(func: Any) -> Any:
    for name, flag, kind, text in reversed(_FLAGS):
        func = click.option(flag, name, type=kind, help=text)(func)
    return func


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--sql", "sql_text", metavar="SQL", help="The statement, instead of FILE."
)
@click.option(
    "--name",
    help="Checkpoint name: the same name resumes (default: FILE's name without .sql).",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="VALUE",
    help="Value of $1, $2, … in order (sent as a parameter; PostgreSQL infers its type).",
)
@_option_flags
@click.option("--no-analyze", is_flag=True, help="Do not ANALYZE the table at the end.")
@click.option(
    "--restart", is_flag=True, help="Forget the checkpoint; start from the first key."
)
@json_option
@click.pass_obj
def backfill(
    opts: Options,
    /,
    file: Path | None,
    sql_text: str | None,
    name: str | None,
    params: tuple[str, ...],
    no_analyze: bool,
    restart: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Run an UPDATE or DELETE in key-window batches, resumable by name.

    Each batch is its own transaction with its checkpoint: a killed or failed run keeps
    every committed batch, and the same command resumes after the last one. With --json,
    one JSON object per line: each event (start, batch, retry, pause, done) and the result.
    """
    from atomig import api

    overrides: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    if no_analyze:
        overrides["analyze"] = False

    def action(report: Any) -> Any:
        return api.backfill(
            opts.settings(),
            sql_text,
            file=file,
            name=name,
            params=params,
            options=overrides,
            restart=restart,
            report=report,
        )

    if as_json:
        try:
            result = action(json_reporter())
        except AtomigError as error:
            if opts.debug:
                raise
            json_line({"event": "error", **error.to_dict()})
            click.echo(f"error: {error}", err=True)
            if error.hint:
                click.echo(f"hint: {error.hint}", err=True)
            sys.exit(error.exit_code)
        json_line({"event": "result", **result.to_dict()})
        return
    with backfill_progress(opts.quiet) as report:
        result = run(opts, False, lambda: action(report))
    if result.status == "already_completed":
        click.echo(
            f"backfill {result.id} was already completed: {result.rows_affected} rows in "
            f"{result.batches} batches; nothing to do (--restart to run it again)"
        )
        return
    seconds = result.duration_ms / 1000
    click.echo(
        f"backfill {result.id} completed on {result.relation}: "
        f"{result.rows_affected} rows changed in {result.batches} batches"
        + (f" (this run: {result.run_rows_affected} rows)" if result.resumed else "")
        + f", {seconds:.1f}s"
    )


@cli.command()
@click.argument("name", required=False)
@json_option
@click.pass_obj
def backfills(opts: Options, name: str | None, as_json: bool) -> None:
    """Backfill checkpoints: status, batches, rows and last key of each."""
    from atomig import api

    found = run(
        opts,
        as_json,
        lambda: api.backfill_status(opts.settings(), name, report=opts.reporter()),
    )
    if as_json:
        write(dumps({"version": 1, "backfills": [c.to_dict() for c in found]}))
        return
    if not found:
        click.echo("no backfills yet")
        return
    from rich.table import Table

    from atomig.cli.render import console

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("name", "table", "status", "batches", "rows", "last key", "updated"):
        table.add_column(column)
    for c in found:
        table.add_row(
            c.id,
            c.relation,
            c.status,
            str(c.batches),
            str(c.rows_affected),
            ", ".join(c.last_key) if c.last_key else "",
            c.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console().print(table)
