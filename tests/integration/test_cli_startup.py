"""Start-up cost of the runner: what `atomig up` and `atomig status` import when there is
nothing to do (deploy pipelines run `atomig up` on every deploy). Checked through
sys.modules in a fresh interpreter, not by timing."""

from __future__ import annotations

import subprocess
import sys

# Imported only by other commands, or only when there is work (pglast: parsing; the
# preflight and post-deploy checks; the health URL probe) or a setting asks for it (review).
NOT_NEEDED = (
    "pglast",
    "atomig.lint",
    "atomig.gen",
    "atomig.cli.commands.backfill",
    "atomig.cli.commands.embedded",
    "atomig.cli.commands.gen",
    "atomig.cli.commands.lint",
    "atomig.cli.commands.review",
    "atomig.cli.commands.safety",
    "atomig.cli.commands.schema",
    "atomig.api.review",
    "atomig.source.review",
    "atomig.verify.checks",
    "atomig.verify.preflight",
    "atomig.verify.postdeploy",
    "urllib.request",
)


def imported_by(project, *args: str) -> set[str]:
    # (The command group, not main(): the console script ends the process at once.)
    code = (
        "import sys\nfrom atomig.cli.main import cli\n"
        "try:\n    cli.main(sys.argv[1:], prog_name='atomig')\n"
        "except SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print('MODULES', *sorted(sys.modules))\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "-q",
            "-C",
            str(project.dir),
            "--database-url",
            project.url,
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("MODULES ")]
    return set(line.split()[1:])


def unneeded(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_NEEDED)
    )


def test_up_and_status_with_nothing_to_do_import_only_what_they_need(project):
    project.add(
        "20260101_0000_users", "CREATE TABLE users (id int);", "DROP TABLE users;"
    )
    assert project.cli("up").exit_code == 0
    for command in ("up", "status"):
        modules = imported_by(project, command)
        assert "atomig.cli.commands.migrate" in modules
        assert unneeded(modules) == [], command
        if command == "up":  # status renders a table with rich
            assert "rich" not in modules


def test_up_with_work_imports_the_parser_and_the_safety_net(project):
    project.add(
        "20260101_0000_users", "CREATE TABLE users (id int);", "DROP TABLE users;"
    )
    modules = imported_by(project, "up")
    assert {"pglast", "atomig.verify.preflight", "atomig.verify.postdeploy"} <= modules
    assert "atomig.cli.commands.gen" not in modules
