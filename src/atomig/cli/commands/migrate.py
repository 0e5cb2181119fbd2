"""Migration commands: init, new, status, plan, up, down, recover, diff, accept,
baseline."""

from __future__ import annotations

import sys
from typing import Any

import click

from atomig.cli import exit_codes
from atomig.cli.app import Options, cli, json_option, run, wait_option
from atomig.cli.json_out import dumps
from atomig.cli.render import render_plans, render_status, write


@cli.command()
@click.pass_obj
def init(opts: Options) -> None:
    """Create migrations/ and a commented atomig.toml."""
    from atomig import api

    result = run(opts, False, lambda: api.init_project(opts.project_dir))
    for path in result.created:
        click.echo(f"created {path}")
    for path in result.existing:
        click.echo(f"exists  {path} (left as is)")


@cli.command()
@click.argument("slug")
@click.pass_obj
def new(opts: Options, slug: str) -> None:
    """Create a timestamped up/down pair: YYYYMMDD_HHMM_SLUG.up.sql / .down.sql."""
    from atomig import api

    result = run(opts, False, lambda: api.new_migration(opts.settings(), slug))
    click.echo(f"created {result.up}\ncreated {result.down}")


@cli.command()
@click.option(
    "--check",
    is_flag=True,
    help="Exit 3 when migrations are pending, 4 when something needs attention.",
)
@click.option(
    "--fingerprint",
    is_flag=True,
    help="Also print the schema fingerprint (with --json: the digest of every object).",
)
@json_option
@click.pass_obj
def status(opts: Options, check: bool, fingerprint: bool, as_json: bool) -> None:
    """Applied, pending, partial, edited and broken migrations, and INVALID indexes."""
    from atomig import api

    report = run(
        opts,
        as_json,
        lambda: api.status(
            opts.settings(), fingerprint=fingerprint, report=opts.reporter()
        ),
    )
    if as_json:
        write(dumps(report))
    else:
        render_status(report)
    if check:
        if report.needs_attention:
            sys.exit(exit_codes.ATTENTION)
        if report.pending:
            sys.exit(exit_codes.PENDING)


@cli.command()
@click.argument("version", required=False)
@click.option("--down", is_flag=True, help="Plan the down file instead.")
@click.option(
    "--pg-version", type=int, help="Plan for this PostgreSQL major without connecting."
)
@json_option
@click.pass_obj
def plan(
    opts: Options,
    version: str | None,
    down: bool,
    pg_version: int | None,
    as_json: bool,
) -> None:
    """Show the steps a migration runs as: kind, envelope, retry policy."""
    from atomig import api

    server, plans = run(
        opts,
        as_json,
        lambda: api.plan(
            opts.settings(),
            version,
            direction="down" if down else "up",
            pg_version=pg_version,
            report=opts.reporter(),
        ),
    )
    settings = opts.settings()

    def rollback_checks() -> list[dict[str, Any]]:
        return [api.plan_rollback_check(settings, p, server) for p in plans]

    failures = run(opts, as_json, rollback_checks)
    if as_json:
        write(
            dumps(
                {
                    "version": 1,
                    "server_version": str(server),
                    "plans": [
                        api.plan_to_dict(p, f)
                        for p, f in zip(plans, failures, strict=True)
                    ],
                }
            )
        )
    else:
        render_plans(str(server), plans, failures)


@cli.command()
@click.option(
    "--to", "to", metavar="VERSION", help="Apply up to and including VERSION."
)
@click.option(
    "--allow-out-of-order",
    is_flag=True,
    help="Apply pending migrations older than the latest applied one.",
)
@click.option(
    "--on-failure",
    type=click.Choice(["rollback", "resume"]),
    help="When a step of a multi-step migration fails for good: run the down file and "
    "verify the schema is as before (rollback, the default), or stop and record the "
    "migration partial so that the next `up` resumes at that step (resume).",
)
@click.option(
    "--dry-run",
    "dry_run",
    type=click.Choice(["scratch", "target"]),
    is_flag=False,
    flag_value="scratch",
    default=None,
    help="Print the plan and try it without changing the target: on a scratch database "
    "(--dry-run), or on the target inside a transaction that is always rolled back "
    "(--dry-run=target).",
)
@click.option(
    "--skip-backup-check",
    metavar="REASON",
    help="Skip the configured backup check of the preflight; the reason is recorded in "
    "the ledger.",
)
@wait_option
@json_option
@click.pass_obj
def up(
    opts: Options,
    to: str | None,
    allow_out_of_order: bool,
    on_failure: str | None,
    dry_run: str | None,
    skip_backup_check: str | None,
    wait: float | None,
    as_json: bool,
) -> None:
    """Apply pending migrations (finishing one a runner left part-way first)."""
    from atomig import api

    if dry_run is not None:
        _dry_run(opts, dry_run, to, as_json)
        return

    overrides = {"allow_out_of_order": True} if allow_out_of_order else {}
    result = run(
        opts,
        as_json,
        lambda: api.migrate(
            opts.settings(**overrides),
            to=to,
            wait_ms=None if wait is None else int(wait * 1000),
            on_failure=on_failure,
            skip_backup_check=skip_backup_check,
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
    elif not result.outcomes:
        click.echo("nothing to apply: the database is up to date")
    else:
        click.echo(f"applied {len(result.outcomes)} migration(s) to {result.database}")


def _dry_run(opts: Options, mode: str, to: str | None, as_json: bool) -> None:
    from atomig import api
    from atomig.cli.render_safety import render_dry_run

    result = run(
        opts,
        as_json,
        lambda: api.dry_run(
            opts.settings(),
            on_target=mode == "target",
            to=to,
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
    else:
        render_plans(result.server_version, list(result.plans))
        render_dry_run(result)
    if not result.ok:
        sys.exit(exit_codes.FAILURE)


@cli.command()
@click.option(
    "--to",
    "to",
    metavar="VERSION",
    help="Revert every migration after VERSION (0: all).",
)
@click.option("--steps", type=int, help="Revert this many migrations (default 1).")
@wait_option
@json_option
@click.pass_obj
def down(
    opts: Options, to: str | None, steps: int | None, wait: float | None, as_json: bool
) -> None:
    """Revert applied migrations, newest first (default: one)."""
    from atomig import api

    result = run(
        opts,
        as_json,
        lambda: api.rollback(
            opts.settings(),
            to=to,
            steps=steps,
            wait_ms=None if wait is None else int(wait * 1000),
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
    elif not result.outcomes:
        click.echo("nothing to revert")
    else:
        click.echo(f"reverted {len(result.outcomes)} migration(s) on {result.database}")


@cli.command()
@click.option(
    "--rollback",
    "action",
    flag_value="rollback",
    help="Undo it: run its down file, then verify the schema is as before it.",
)
@click.option(
    "--resume",
    "action",
    flag_value="resume",
    help="Finish it: run the steps not done yet.",
)
@click.option(
    "--dry-run", is_flag=True, help="Only explain what was found; change nothing."
)
@wait_option
@json_option
@click.pass_obj
def recover(
    opts: Options,
    action: str | None,
    dry_run: bool,
    wait: float | None,
    as_json: bool,
) -> None:
    """Finish a migration a runner left part-way (killed, disconnected, or failed).

    Explains what it found (steps done, cause, orphaned backends still running the
    migration's statements, INVALID indexes) before acting. Without --rollback or --resume,
    applies the migration's failure policy.
    """
    from atomig import api

    result = run(
        opts,
        as_json,
        lambda: api.recover(
            opts.settings(),
            action=action,
            dry_run=dry_run,
            wait_ms=None if wait is None else int(wait * 1000),
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
        return
    for note in result.notes:
        click.echo(note)
    for found in result.migrations:
        if dry_run:
            click.echo("\n".join(found.describe()))
        else:
            click.echo(f"{found.version}_{found.slug}: {found.outcome}")


@cli.command()
@click.argument("version")
@json_option
@click.pass_obj
def diff(opts: Options, version: str, as_json: bool) -> None:
    """Show how an applied migration's files changed since they were applied."""
    from atomig import api

    result = run(
        opts,
        as_json,
        lambda: api.compare_applied(opts.settings(), version, report=opts.reporter()),
    )
    if as_json:
        write(dumps(result))
        return
    write(result.text or "no difference: the files are as applied")


@cli.command()
@click.argument("version")
@click.option(
    "--reason",
    required=True,
    help="Why the applied migration was edited (kept in the history).",
)
@click.pass_obj
def accept(opts: Options, version: str, reason: str) -> None:
    """Record deliberately that an applied migration's files were edited."""
    from atomig import api

    run(
        opts,
        False,
        lambda: api.accept_edit(
            opts.settings(), version, reason, report=opts.reporter()
        ),
    )
    click.echo(f"accepted the edited files of {version}")


@cli.command()
@click.argument("version")
@click.option(
    "--skip-proof",
    metavar="REASON",
    help="Record them without proving the schema first (the reason is kept).",
)
@click.option("--dry-run", is_flag=True, help="Prove and report; record nothing.")
@click.option(
    "--scratch-url",
    metavar="URL",
    help="Create the proof's scratch database on this server instead of the target's "
    "('embedded': the embedded PostgreSQL). It is dropped afterwards.",
)
@json_option
@click.pass_obj
def baseline(
    opts: Options,
    version: str,
    skip_proof: str | None,
    dry_run: bool,
    scratch_url: str | None,
    as_json: bool,
) -> None:
    """Record migrations up to VERSION as applied without running them, once proven."""
    from atomig import api

    result = run(
        opts,
        as_json,
        lambda: api.baseline(
            opts.settings(),
            version,
            skip_proof=skip_proof,
            dry_run=dry_run,
            scratch_url=scratch_url,
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
        return
    verb = "would record" if result.dry_run else "recorded"
    how = (
        f"proven: the target holds all {result.objects} object(s) they make"
        + (
            f", and {result.other_objects} object(s) of its own"
            if result.other_objects
            else ""
        )
        if result.proven
        else f"unproven: {result.reason}"
    )
    write(
        f"{verb} {len(result.migrations)} migration(s) as applied, up to "
        f"{result.migrations[-1]} ({how})"
    )
    for note in result.notes:
        write(f"note: {note}")
