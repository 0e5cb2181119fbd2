"""Event messages keep their brackets: a warning is styled with rich markup, and the text
it quotes (a config section, SQL's ARRAY[...], a '[/x]') must print as written."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from atomig.cli.render import stderr_reporter, styled
from atomig.events import Event

MESSAGE = 'set [preflight] lock_holders = "wait"; SELECT ARRAY[1][/x] [bold]'


@pytest.mark.parametrize("level", ["warning", "error", "info"])
def test_stderr_reporter_prints_brackets_as_text(capsys, level):
    stderr_reporter()(Event("preflight.check", MESSAGE, level=level))
    assert MESSAGE in capsys.readouterr().err


def test_styled_keeps_the_message_as_written_on_a_terminal():
    # The progress displays (backfill, verify) style warnings this way on a terminal.
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    console.print(styled(MESSAGE, "yellow"), highlight=False)
    assert MESSAGE in re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
