"""Console-script entry point: the command group with every command module registered."""

from __future__ import annotations

from atomig.cli import app
from atomig.cli.app import cli
from atomig.cli.commands import (
    backfill,
    embedded,
    gen,
    lint,
    migrate,
    review,
    safety,
    schema,
)

__all__ = ["cli", "main"]
_COMMAND_MODULES = (
    backfill,
    embedded,
    gen,
    lint,
    migrate,
    review,
    safety,
    schema,
)


def main() -> None:
    """Console-script entry point."""
    app.STANDALONE = True
    cli(prog_name="atomig")
