"""The ledger's record: atomig history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from atomig.cli.app import Options, cli, json_option, run
from atomig.cli.json_out import dumps
from atomig.cli.render import write

if TYPE_CHECKING:
    from atomig.api import HistoryReport

_WHEN = "%Y-%m-%d %H:%M:%S"


@cli.command()
@click.argument("version", required=False)
@click.option(
    "--limit",
    type=int,
    default=50,
    show_default=True,
    help="The newest this many events.",
)
@click.option(
    "--steps",
    is_flag=True,
    help="Also every step attempt of those runs (retries, lock timeouts, errors).",
)
@json_option
@click.pass_obj
def history(
    opts: Options, version: str | None, limit: int, steps: bool, as_json: bool
) -> None:
    """What the ledger recorded: who applied, failed, rolled back or reverted what, when."""
    from atomig import api

    report = run(
        opts,
        as_json,
        lambda: api.history(
            opts.settings(),
            version=version,
            limit=limit,
            steps=steps,
            report=opts.reporter(),
        ),
    )
    write(dumps(report) if as_json else "\n".join(_lines(report)))


def _lines(report: HistoryReport) -> list[str]:
    if not report.events:
        return [f"{report.database}: the ledger records nothing yet"]
    # One `atomig up` is one run for all the migrations it applies.
    by_run: dict[tuple[str, str], list[Any]] = {}
    for step in report.steps:
        by_run.setdefault((step.run_id, step.version), []).append(step)
    lines = []
    for event in report.events:
        took = f" ({event.duration_ms} ms)" if event.duration_ms is not None else ""
        why = _why(event.details)
        lines.append(
            f"{event.at.strftime(_WHEN)}  {event.version}_{event.slug}  {event.event}"
            f"{took}  by {event.actor}" + (f": {why}" if why else "")
        )
        # A migration's steps in a run follow the first of its events shown.
        for step in by_run.pop((event.run_id, event.version), []):
            message = f": {step.message.splitlines()[0]}" if step.message else ""
            # (the runner's messages end in "[SQLSTATE …]" already)
            shown = step.sqlstate and step.sqlstate not in message
            error = f" {step.sqlstate}" if shown else ""
            lines.append(
                f"    {step.direction} step {step.step_index + 1} ({step.step_kind}) "
                f"attempt {step.attempt}: {step.outcome}{error}{message}"
            )
    return lines


def _why(details: dict[str, Any]) -> str:
    """The reason an event carries: a failure's message, an accepted edit's or a
    baseline's reason."""
    cause = details.get("cause")
    text = details.get("message") or (
        cause.get("message") if isinstance(cause, dict) else None
    )
    if text:
        return str(text).splitlines()[0]
    if "proven" in details:  # a baseline
        proven = "proven" if details.get("proven") else "unproven"
        reason = details.get("reason")
        return proven + (f", {reason}" if reason else "")
    reason = details.get("reason")
    return str(reason) if reason else ""
