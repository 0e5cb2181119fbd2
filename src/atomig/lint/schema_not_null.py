"""NOT NULL constraints of their own (PostgreSQL 18) in the schema replay
(:class:`~atomig.lint.schema.SchemaState`).

``ALTER TABLE t ADD CONSTRAINT name NOT NULL col`` makes the column NOT NULL like ``SET NOT
NULL``; with ``NOT VALID`` the constraint checks new rows only, and a later ``SET NOT
NULL`` or ``VALIDATE CONSTRAINT`` still scans the table (timed on PG 18). The constraint
is named, so ``VALIDATE`` and ``DROP CONSTRAINT`` act on it, and a down file dropping the
one its up added undoes the up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_model import Column, Constraint, Table

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState


def mark_not_null(table: Table, columns: Iterable[str], not_null: bool) -> None:
    """The ``columns`` of ``table`` become NOT NULL (or may be NULL again); a table older
    than the history learns of the column here."""
    for col in columns:
        column = table.columns.get(col)
        if column is None and table.placeholder:
            column = Column(col, None)
        if column is not None:
            table.columns[col] = column.with_not_null(not_null)


def add_not_null(
    state: SchemaState,
    table: Table,
    con: Mapping[str, Any],
    columns: tuple[str, ...],
    origin: str,
) -> None:
    """A NOT NULL ``con`` (a ``Constraint`` dict): of the column ``columns`` names, or a
    table constraint of its own (its ``keys``); only a validated one proves the column."""
    keys = columns or tuple(
        i["String"]["sval"] for i in con.get("keys", ()) if "String" in i
    )
    validated = not con.get("skip_validation")
    if validated:
        mark_not_null(table, keys, True)
    if not columns and con.get("conname"):
        name = con["conname"]
        table.constraints[name] = Constraint(
            name, "not null", keys, validated=validated, origin=origin
        )
        state._log("constraint", table.name, origin, name)
