"""Where a statement that cannot run in a transaction block (``… CONCURRENTLY``) goes, for
the runner that will apply the file: the fix text differs per tool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.source.foreign_layouts import ToolTransaction

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


def concurrent_placement(ctx: LintContext) -> str:
    """How the runner of this file runs such a statement, or where to put it."""
    if not ctx.other_runner:
        return "atomig runs it as its own step"
    how = ctx.tool_transaction
    if how is ToolTransaction.TRANSACTION:
        return (
            "dbmate runs a section in a transaction: put it alone in a migration of its "
            f"own, in a `-- migrate:{ctx.direction} transaction:false` section"
        )
    if how is ToolTransaction.SEPARATE:
        return (
            "Flyway, with its default mixed=false, refuses a migration mixing it with "
            "statements that run in a transaction: put it in a migration of its own"
        )
    if how is ToolTransaction.ONE_QUERY:
        return (
            "its tool sends the file as one query string, which PostgreSQL runs as one "
            "transaction: put it alone in a migration of its own"
        )
    return (
        "run it outside any transaction block: a tool that wraps each file in a "
        "transaction needs it alone in a migration with that wrapping off"
    )
