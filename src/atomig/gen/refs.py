"""Catalog questions several generators ask: a foreign key's parent key, whether an index
already leads with some columns, which constraints and indexes involve a column. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen.model import GenContext
from atomig.schema.model import Table
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import (
    constraint_columns,
    expression_columns,
    index_columns,
    index_uses,
    referenced_columns,
)
from atomig.sql.quote import quote_ident, quote_name


@dataclass(frozen=True, slots=True)
class Reference:
    """``--references TABLE(col, …)`` as written (columns may be empty: the primary key)."""

    table: QualifiedName
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResolvedReference:
    """The parent key a foreign key points at, and whether the child is already indexed."""

    table: QualifiedName
    columns: tuple[str, ...]
    child_indexed: bool = False


def resolve_reference(
    ctx: GenContext,
    child: QualifiedName,
    child_columns: Sequence[str],
    ref: Reference,
) -> ResolvedReference:
    """Check the parent table and key against the catalog (when there is one).

    Raises:
        UsageError: an unknown parent or column, columns that are not a primary key or
            unique constraint, or (offline) no parent column given.
    """
    parent = ctx.table(ref.table)
    columns = ref.columns
    if parent is None:
        if not columns:
            raise UsageError(
                f"--references {quote_name(ref.table)} needs the referenced column(s) "
                "without a database to read its primary key from",
                hint=f"write --references '{quote_name(ref.table)}(id)'",
            )
    else:
        if not columns:
            pk = [c for c in parent.constraints if c.kind == "p"]
            if not pk:
                raise UsageError(
                    f"{quote_name(ref.table)} has no primary key to reference",
                    hint="name the referenced unique column(s): --references 'T(col)'",
                )
            columns = constraint_columns(pk[0].definition)
        for column in columns:
            ctx.column(ref.table, column)
        keys = [
            set(constraint_columns(c.definition))
            for c in parent.constraints
            if c.kind in ("p", "u")
        ]
        for index in parent.indexes:
            cols = index_columns(index.definition)
            if index.unique and index.valid and "WHERE" not in index.definition:
                keys.append(
                    {c for c in cols if c is not None} if None not in cols else set()
                )
        if set(columns) not in keys:
            raise UsageError(
                f"{quote_name(ref.table)}"
                f"({', '.join(quote_ident(c) for c in columns)}) is not a primary key or "
                "unique constraint: a foreign key cannot reference it",
                hint="add one first (atomig gen add-unique), or reference the primary key",
            )
    if len(columns) != len(child_columns):
        raise UsageError(
            f"{len(child_columns)} referencing column(s) but {len(columns)} referenced"
        )
    table = ctx.table(child)
    indexed = table is not None and leading_index(table, child_columns)
    return ResolvedReference(ref.table, tuple(columns), indexed)


def leading_index(table: Table, columns: Sequence[str]) -> bool:
    """A valid index of ``table`` starts with exactly these columns (in any order)."""
    wanted = set(columns)
    for index in table.indexes:
        if not index.valid or "WHERE" in index.definition:
            continue
        cols = index_columns(index.definition)
        if set(cols[: len(wanted)]) == wanted:  # (an expression is None: no match)
            return True
    return False


def indexes_on(table: Table, column: str) -> list[str]:
    """Names of the indexes that involve ``column`` (keys, expressions, INCLUDE, WHERE)."""
    return [i.name for i in table.indexes if column in index_uses(i.definition)]


def constraints_on(table: Table, column: str) -> list[tuple[str, str]]:
    """``(name, kind)`` of the constraints that involve ``column`` (NOT NULL excluded)."""
    found = []
    for constraint in table.constraints:
        if constraint.kind == "n":
            continue
        if column in expression_columns(constraint.definition):
            found.append((constraint.name, constraint.kind_name))
    return found


def referenced_by(table: Table, column: str) -> list[str]:
    """Foreign keys of other tables that reference ``column``."""
    return [
        f"{fk.table}.{quote_ident(fk.name)}"
        for fk in table.referenced_by
        if column in referenced_columns(fk.definition)
    ]
