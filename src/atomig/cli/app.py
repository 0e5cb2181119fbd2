"""The command group, global options and the helpers every command uses.

Library modules are imported inside the commands so that ``atomig --help`` and commands that
need no database start fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from atomig.cli import exit_codes
from atomig.cli.json_out import dumps
from atomig.cli.render import stderr_reporter, write
from atomig.errors import AtomigError

F = TypeVar("F", bound=Callable[..., Any])


# True in the console script (not under click's test runner): see exit_now.
STANDALONE = False


def exit_now(code: int) -> NoReturn:
    """End the command with ``code``. In the console script, without freeing what it built
    object by object: a large lint holds millions of parse-tree nodes, and freeing them
    would take longer than writing the report."""
    if STANDALONE:
        if "logging" in sys.modules:  # flush and close log handlers, as exit would
            sys.modules["logging"].shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


@dataclass
class Options:
    """Global options, resolved into Settings on first use."""

    project_dir: Path
    database_url: str | None
    config: Path | None
    migrations_dir: Path | None
    debug: bool
    quiet: bool
    environment: str | None = None

    def settings(self, **overrides: Any) -> Any:
        from atomig.config import load_settings

        settings = load_settings(
            self.project_dir,
            database_url=self.database_url,
            config_file=self.config,
            migrations_dir=self.migrations_dir,
            environment=self.environment,
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
    # PostgreSQL's own DETAIL and HINT of a failed statement, as psql prints them: the
    # detail names the row at fault (the duplicated key, the violating row).
    for key, label in (("detail", "DETAIL"), ("pg_hint", "HINT (PostgreSQL)")):
        value = error.details.get(key)
        if isinstance(value, str) and value:
            click.echo(f"{label}: {value}", err=True)
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


class LazyGroup(click.Group):
    """A command group whose commands are imported when used.

    ``lazy`` maps a command name to the module that defines it and the first paragraph of its
    help (for ``atomig --help``): ``atomig up`` does not import the modules of the other
    commands, nor the parts of the library they import at the top
    (tests/integration/test_cli_startup.py).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            import_module(self.lazy[cmd_name][0])  # registers its commands on cli
        return self.commands.get(cmd_name)

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        # As click's, with the help of commands not imported yet taken from the table.
        commands = [
            self.commands.get(name) or click.Command(name, help=self.lazy[name][1])
            for name in self.list_commands(ctx)
        ]
        commands = [c for c in commands if not c.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(str(c.name)) for c in commands)
            rows = [(str(c.name), c.get_short_help_str(limit)) for c in commands]
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
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
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    help="Deployment environment: [environments.NAME] of the config (or ATOMIG_ENV).",
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
    environment: str | None,
    debug: bool,
    quiet: bool,
) -> None:
    """atomig: atomic, zero-downtime, reversible PostgreSQL migrations."""
    level = "DEBUG" if debug else os.environ.get("ATOMIG_LOG", "").upper()
    if level:
        import logging

        # Log records carry masked DSNs only (atomig.db.dsn.mask_dsn).
        logging.basicConfig(
            level=getattr(logging, level, logging.INFO),
            stream=sys.stderr,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
        )
    ctx.obj = Options(
        project_dir, database_url, config, migrations_dir, debug, quiet, environment
    )


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        "wait",
        type=float,
        help="Seconds to wait for another runner (default: runner_lock_wait).",
    )(func)
