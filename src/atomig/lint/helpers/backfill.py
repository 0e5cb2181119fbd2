"""The key atomig's backfill walks a table by, as the history and the live catalog know it.

The runner (:mod:`atomig.batched.walk`) walks the table's primary key, else the narrowest
unique btree index on NOT NULL plain columns (no WHERE, no expression); a table with neither
is refused when the backfill starts, after the steps before it have run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.sql.facts import QualifiedName

if TYPE_CHECKING:
    from atomig.lint.context import LintContext
    from atomig.lint.schema import Table


def backfill_key(ctx: LintContext, table: QualifiedName) -> tuple[str, ...] | None:
    """The key columns a backfill of ``table`` would walk by: ``()`` when the table is
    known to have none (the runner refuses the backfill), ``None`` when unknown."""
    known = ctx.table(table)
    if known is not None:
        found = _history_key(known)
        if found or not known.placeholder:
            return found if found or known.columns_known else None
    live = ctx.catalog_table(table)
    if live is None or live.foreign:
        return None
    return live.backfill_key


def _history_key(table: Table) -> tuple[str, ...]:
    for con in table.constraints.values():
        if con.kind == "primary":
            return con.columns
    candidates = [
        index
        for index in table.indexes.values()
        if index.unique
        and not index.partial
        and "(expr)" not in index.columns
        and all(
            (column := table.columns.get(name)) is not None and column.not_null
            for name in index.columns
        )
    ]
    if not candidates:
        return ()
    return min(candidates, key=lambda i: (len(i.columns), i.name)).columns
