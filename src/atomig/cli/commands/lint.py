"""``atomig lint``: hazards in migration files, with the safe alternative."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from atomig.cli import exit_codes
from atomig.cli.app import Options, cli, exit_now, run
from atomig.cli.render import write

_ANSI = {
    "error": "\033[1;31m",
    "warning": "\033[33m",
    "info": "\033[36m",
    "location": "\033[1m",
    "rule": "\033[2m",
    "fix": "\033[32m",
}


def _ansi(text: str, role: str) -> str:
    code = _ANSI.get(role)
    return f"{code}{text}\033[0m" if code else text


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--explain", "explain", metavar="RULE", help="Explain a rule and exit.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--pg-version",
    type=int,
    help="Target PostgreSQL major (default: the database's, else 15).",
)
@click.option(
    "--for-runner",
    "runner",
    type=click.Choice(["atomig", "other"]),
    help="Who applies the files: atomig or another tool / psql (default: atomig; "
    "other for a directory in another tool's layout).",
)
@click.option(
    "--no-database",
    is_flag=True,
    help="Do not read the live catalog even when a database is configured.",
)
@click.pass_obj
def lint(
    opts: Options,
    paths: tuple[Path, ...],
    explain: str | None,
    output: str,
    as_json: bool,
    pg_version: int | None,
    runner: str | None,
    no_database: bool,
) -> None:
    """Lint migrations (default: the migrations directory, ups and downs).

    Exit 1 when an error-severity finding remains, 0 otherwise, 2 on usage errors.
    """
    if explain is not None:
        _explain(explain)
        return
    # Parse trees are millions of containers without cycles: the cyclic collector stays
    # off while they live (in the console script, until the process ends: exit_now).
    collecting = gc.isenabled()
    gc.disable()
    try:
        _lint(
            opts, paths, "json" if as_json else output, pg_version, runner, no_database
        )
    finally:
        if collecting:
            gc.enable()


def _lint(
    opts: Options,
    paths: tuple[Path, ...],
    fmt: str,
    pg_version: int | None,
    runner: str | None,
    no_database: bool,
) -> None:
    from atomig.api.linting import lint as run_lint

    lint_report = run(
        opts,
        fmt == "json",
        lambda: run_lint(
            opts.settings(),
            list(paths),
            pg_version=pg_version,
            runner=runner,
            use_database=not no_database,
            report=opts.reporter(),
        ),
    )
    from atomig.lint import report

    result = lint_report.result
    if fmt == "json":
        write(report.render_json(result))
    elif fmt == "sarif":
        from importlib.metadata import version

        write(report.render_sarif(result, version("atomig")))
    elif fmt == "github":
        annotations = report.render_github(result.findings)
        if annotations:
            write(annotations)
        click.echo(report.summary(result), err=True)
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in __import__("os").environ
        write(report.render_text(result, _ansi if colour else None))
    exit_now(exit_codes.FAILURE if lint_report.failed else exit_codes.OK)


def _explain(rule_id: str) -> None:
    from atomig.lint.docs import explain_text
    from atomig.lint.registry import all_rules, get_rule

    rule = get_rule(rule_id)
    if rule is None:
        close = [r for r in all_rules() if rule_id in r or r in rule_id]
        click.echo(f"error: unknown rule {rule_id!r}", err=True)
        hint = f"did you mean: {', '.join(close)}" if close else "see docs/rules/"
        click.echo(f"hint: {hint}", err=True)
        sys.exit(exit_codes.USAGE)
    write(explain_text(rule))
