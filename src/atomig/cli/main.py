"""Argument parsing: one sub-command per verb of :mod:`atomig.api`.

Library modules are imported inside the commands so that ``atomig --help`` and commands that
need no database start fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from atomig.cli import exit_codes
from atomig.cli.json_out import dumps
from atomig.cli.render import render_plans, render_status, stderr_reporter, write
from atomig.errors import AtomigError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Options:
    """Global options, resolved into Settings on first use."""

    project_dir: Path
    database_url: str | None
    config: Path | None
    migrations_dir: Path | None
    debug: bool
    quiet: bool

    def settings(self, **overrides: Any) -> Any:
        from atomig.config import load_settings

        settings = load_settings(
            self.project_dir,
            database_url=self.database_url,
            config_file=self.config,
            migrations_dir=self.migrations_dir,
        )
        return settings.with_overrides(**overrides) if overrides else settings

    def reporter(self) -> Any:
        return stderr_reporter(quiet=self.quiet)


def json_option(func: F) -> F:
    """``--json``: print one JSON document on stdout instead of text."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON instead of text."
    )(func)


def _fail(error: AtomigError, as_json: bool) -> NoReturn:
    if as_json:
        write(dumps(error.to_dict()))
    click.echo(f"error: {error}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)
    sys.exit(error.exit_code)


def run(opts: Options, as_json: bool, action: Callable[[], Any]) -> Any:
    """Run a library call; user errors become a message and an exit code, not a traceback."""
    try:
        return action()
    except AtomigError as error:
        if opts.debug:
            raise
        _fail(error, as_json)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(exit_codes.INTERRUPTED)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Project directory (where atomig.toml and .atomig/ live).",
)
@click.option(
    "--database-url",
    envvar=None,
    help="Database URL (overrides ATOMIG_DATABASE_URL, DATABASE_URL and atomig.toml).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: atomig.toml or [tool.atomig] in pyproject.toml).",
)
@click.option(
    "--migrations-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Migrations directory (default: migrations/).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option(
    "-q", "--quiet", is_flag=True, help="Only print warnings and errors on stderr."
)
@click.version_option(package_name="atomig")
@click.pass_context
def cli(
    ctx: click.Context,
    project_dir: Path,
    database_url: str | None,
    config: Path | None,
    migrations_dir: Path | None,
    debug: bool,
    quiet: bool,
) -> None:
    """atomig: atomic, zero-downtime, reversible PostgreSQL migrations."""
    level = "DEBUG" if debug else os.environ.get("ATOMIG_LOG", "").upper()
    if level:
        # Log records carry masked DSNs only (atomig.db.dsn.mask_dsn).
        logging.basicConfig(
            level=getattr(logging, level, logging.INFO),
            stream=sys.stderr,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    ctx.obj = Options(project_dir, database_url, config, migrations_dir, debug, quiet)


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
@json_option
@click.pass_obj
def status(opts: Options, check: bool, as_json: bool) -> None:
    """Applied, pending, partial and edited migrations."""
    from atomig import api

    report = run(
        opts, as_json, lambda: api.status(opts.settings(), report=opts.reporter())
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
    if as_json:
        write(
            dumps(
                {
                    "version": 1,
                    "server_version": str(server),
                    "plans": [api.plan_to_dict(p) for p in plans],
                }
            )
        )
    else:
        render_plans(str(server), plans)


def _wait_option(func: F) -> F:
    return click.option(
        "--wait",
        "wait",
        type=float,
        help="Seconds to wait for another runner (default: runner_lock_wait).",
    )(func)


@cli.command()
@click.option(
    "--to", "to", metavar="VERSION", help="Apply up to and including VERSION."
)
@click.option(
    "--allow-out-of-order",
    is_flag=True,
    help="Apply pending migrations older than the latest applied one.",
)
@_wait_option
@json_option
@click.pass_obj
def up(
    opts: Options,
    to: str | None,
    allow_out_of_order: bool,
    wait: float | None,
    as_json: bool,
) -> None:
    """Apply pending migrations."""
    from atomig import api

    overrides = {"allow_out_of_order": True} if allow_out_of_order else {}
    result = run(
        opts,
        as_json,
        lambda: api.migrate(
            opts.settings(**overrides),
            to=to,
            wait_ms=None if wait is None else int(wait * 1000),
            report=opts.reporter(),
        ),
    )
    if as_json:
        write(dumps(result))
    elif not result.outcomes:
        click.echo("nothing to apply: the database is up to date")
    else:
        click.echo(f"applied {len(result.outcomes)} migration(s) to {result.database}")


@cli.command()
@click.option(
    "--to",
    "to",
    metavar="VERSION",
    help="Revert every migration after VERSION (0: all).",
)
@click.option("--steps", type=int, help="Revert this many migrations (default 1).")
@_wait_option
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
@click.argument("version")
@click.pass_obj
def diff(opts: Options, version: str) -> None:
    """Show how an applied migration's files changed since they were applied."""
    from atomig import api

    text = run(
        opts,
        False,
        lambda: api.diff_applied(opts.settings(), version, report=opts.reporter()),
    )
    write(text or "no difference: the files are as applied")


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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="atomig")
