"""The CLI's command table (cli/main.py): commands are imported on use, so the table of names,
modules and help must match the commands the modules really define."""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import atomig.cli.commands
from atomig.cli.main import _COMMAND_MODULES, cli


def test_every_command_module_is_in_the_table():
    folder = Path(atomig.cli.commands.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    assert modules == set(_COMMAND_MODULES)


def test_the_table_names_each_command_with_its_module_and_help():
    for module in _COMMAND_MODULES:
        import_module(f"atomig.cli.commands.{module}")
    listed = {
        name: (module, help_text)
        for module, commands in _COMMAND_MODULES.items()
        for name, help_text in commands.items()
    }
    assert set(cli.commands) == set(listed)
    for name, command in cli.commands.items():
        module, help_text = listed[name]
        assert command.callback is not None
        defined_in = command.callback.__module__
        assert defined_in == f"atomig.cli.commands.{module}", name
        first_paragraph = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert help_text == first_paragraph, name


def test_help_lists_every_command_as_if_all_were_imported():
    code = (
        "import sys\nfrom click.testing import CliRunner\n"
        "from atomig.cli.main import _COMMAND_MODULES, cli\n"
        "lazy = CliRunner().invoke(cli, ['--help']).output\n"
        "assert not [m for m in sys.modules if m.startswith('atomig.cli.commands.')]\n"
        "for module in _COMMAND_MODULES:\n"
        "    __import__(f'atomig.cli.commands.{module}')\n"
        "eager = CliRunner().invoke(cli, ['--help']).output\n"
        "print(lazy == eager, 'up ' in lazy and 'gen ' in lazy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True"]


def test_an_unknown_command_is_still_a_usage_error():
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["upp"])
    assert result.exit_code == 2
    assert "No such command 'upp'" in result.output


def test_the_console_script_ends_at_once_with_the_exit_status_and_output_flushed(
    tmp_path,
):
    # main() ends the process with os._exit once the command is done: the output must be
    # flushed and the status kept, as sys.exit would.
    def atomig(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "atomig", "-C", str(tmp_path), *args],
            capture_output=True,
            text=True,
        )

    version = atomig("--version")
    assert version.returncode == 0 and "version" in version.stdout
    unknown = atomig("upp")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
    missing = atomig("--database-url", "postgresql://x@127.0.0.1:1/x", "status")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: migrations directory")


def test_exit_codes_of_system_exit():
    from atomig.cli.main import _exit_code

    assert [_exit_code(None), _exit_code(0), _exit_code(3)] == [0, 0, 3]


def test_status_notes_of_failed_attempts_name_their_cause():
    from atomig.cli import render

    assert doctest.testmod(render).failed == 0
    assert render.failure_note({"event": "rolled_back", "cause": {}}) == (
        "last attempt rolled_back: "
    )
