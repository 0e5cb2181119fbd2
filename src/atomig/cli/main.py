"""Console-script entry point: the command group with every command registered.

A command's module is imported when the command runs (``atomig up`` does not pay for ``gen``,
``lint`` or ``backfill``), so each command is listed here with its module and the first
paragraph of its help, which ``atomig --help`` shows without importing anything.
tests/unit/test_cli_commands.py checks this table against the modules' real commands.
"""

from __future__ import annotations

import gc
import sys

from atomig.cli import app
from atomig.cli.app import cli
from atomig.cli.render import ReaderMayLeave

__all__ = ["cli", "main"]

# module under atomig.cli.commands -> {command: first paragraph of its help}
_COMMAND_MODULES: dict[str, dict[str, str]] = {
    "audit": {
        "history": "What the ledger recorded: who applied, failed, rolled back or "
        "reverted what, when.",
    },
    "backfill": {
        "backfill": "Run an UPDATE or DELETE in key-window batches, resumable by name.",
        "backfills": "Backfill checkpoints: status, batches, rows and last key of each.",
    },
    "embedded": {
        "embedded": "The embedded PostgreSQL used when no database is configured.",
    },
    "gen": {
        "gen": "Write safe migrations for common changes (timestamped up/down pairs).",
    },
    "lint": {
        "lint": "Lint migrations (default: the migrations directory, ups and downs).",
    },
    "migrate": {
        "init": "Create migrations/ and a commented atomig.toml.",
        "new": "Create a timestamped up/down pair: YYYYMMDD_HHMM_SLUG.up.sql / .down.sql.",
        "status": "Applied, pending, partial, edited and broken migrations, and INVALID indexes.",
        "plan": "Show the steps a migration runs as: kind, envelope, retry policy.",
        "up": "Apply pending migrations (finishing one a runner left part-way first).",
        "down": "Revert applied migrations, newest first (default: one).",
        "recover": "Finish a migration a runner left part-way (killed, disconnected, or "
        "failed).",
        "diff": "Show how an applied migration's files changed since they were applied.",
        "accept": "Record deliberately that an applied migration's files were edited.",
        "baseline": "Record migrations up to VERSION as applied without running them, "
        "once proven.",
    },
    "review": {
        "review": "The human review gate: approvals in migrations/atomig.reviewed.",
    },
    "safety": {
        "verify": "Prove migrations reversible on a scratch database.",
        "trace": "Show what each statement locks and rewrites, on a scratch database.",
    },
    "schema": {
        "describe": "Show one table exactly: columns, constraints, indexes (validity, "
        "size), FKs, triggers.",
        "schema": "Print the whole schema as SQL that recreates it (no data).",
    },
}

cli.lazy.update(
    (name, (f"atomig.cli.commands.{module}", help_text))
    for module, commands in _COMMAND_MODULES.items()
    for name, help_text in commands.items()
)


def main() -> None:
    """Console-script entry point."""
    # A run allocates far more objects than it frees (modules, classes, parse trees, plans),
    # so the default collection every 700 net allocations is wasted work: 100 collections,
    # 7 % of the CPU time of an `atomig up`. Every 200,000 allocations, 500 migrations run
    # with none. Cyclic garbage is still collected: it never exceeds 200,000 objects.
    gc.set_threshold(200_000, 10, 10)
    app.STANDALONE = True
    # The exit code says what the command did, not whether its output was read.
    sys.stdout = ReaderMayLeave(sys.stdout)
    sys.stderr = ReaderMayLeave(sys.stderr)
    try:
        cli(prog_name="atomig")
    except SystemExit as done:
        # The command has finished and closed what it opened: end the process without
        # tearing the interpreter down, which takes 30-50 ms once psycopg is imported.
        app.exit_now(_exit_code(done.code))


def _exit_code(code: object) -> int:
    """The status ``sys.exit(code)`` would end the process with."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
