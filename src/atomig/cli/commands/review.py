"""``atomig review``: the human review gate (approve, status)."""

from __future__ import annotations

import sys

import click

from atomig.cli import exit_codes
from atomig.cli.app import Options, cli, json_option, run
from atomig.cli.json_out import dumps
from atomig.cli.render import write


@cli.group()
def review() -> None:
    """The human review gate: approvals in migrations/atomig.reviewed.

    With require_review = true (per environment: [environments.NAME] in atomig.toml,
    chosen by --env or ATOMIG_ENV), `atomig up` refuses a migration that is not reviewed
    as its files are now.
    """


@review.command()
@click.argument("versions", nargs=-1)
@click.option("--by", "by", required=True, metavar="NAME", help="Who reviewed them.")
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every migration not reviewed as it is now (adopting the gate).",
)
@json_option
@click.pass_obj
def approve(
    opts: Options, versions: tuple[str, ...], by: str, every: bool, as_json: bool
) -> None:
    """Record that NAME reviewed VERSIONS: their files' checksums, who, when."""
    from atomig import api

    result = run(
        opts,
        as_json,
        lambda: api.approve_migrations(opts.settings(), versions, by, every=every),
    )
    if as_json:
        write(dumps(result))
        return
    for name in result.approved:
        click.echo(f"approved {name} (by {' '.join(by.split())})")
    for name in result.unchanged:
        click.echo(f"already approved: {name}")
    if result.approved:
        click.echo(f"recorded in {result.file}: commit it with the migrations")


@review.command()
@click.option(
    "--check", is_flag=True, help="Exit 1 when a migration is unreviewed or changed."
)
@json_option
@click.pass_obj
def status(opts: Options, check: bool, as_json: bool) -> None:
    """Which migrations are reviewed, unreviewed, or changed since their review."""
    from atomig import api

    report = run(opts, as_json, lambda: api.review_status(opts.settings()))
    if as_json:
        write(dumps(report))
    else:
        for state in report.states:
            mark = "✓" if state.ok else "✗"
            click.echo(f"{mark} {state.migration}: {state.describe()}")
        for orphan in report.orphans:
            click.echo(f"? {orphan}: approved, but no such migration in the directory")
        gate = "on" if report.require_review else "off"
        env = f" (environment {report.environment})" if report.environment else ""
        click.echo(
            f"{len(report.states) - len(report.open)} reviewed, {len(report.open)} "
            f"not reviewed as they are now; require_review is {gate}{env}",
            err=True,
        )
    if check and report.open:
        sys.exit(exit_codes.FAILURE)
