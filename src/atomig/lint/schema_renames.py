"""How the schema replay (:mod:`atomig.lint.schema`) follows renames: of tables (and
SET SCHEMA), columns, indexes and constraints. PostgreSQL keeps each object (its indexes,
constraints, creator) under the new name; an object older than the history is remembered by
its first name, which the live catalog still knows it by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_model import Table, key_of
from atomig.lint.schema_names import note_constraint
from atomig.lint.schema_views import move_reads, rename_read_column
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState

ALTERED_TABLES = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")
_VIEWS = ("OBJECT_VIEW", "OBJECT_MATVIEW")


def rename(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    kind = body.get("renameType")
    relation = range_var(body.get("relation"))
    new = body.get("newname", "")
    if relation is None:
        return
    if kind == "OBJECT_INDEX" or (
        kind == "OBJECT_TABLE" and key_of(relation) in state.index_owner
    ):  # (ALTER TABLE … RENAME TO renames an index too)
        _rename_index(state, relation, new, origin)
    elif kind in ALTERED_TABLES:
        _move(state, relation, QualifiedName(relation.schema, new))
    elif kind in _VIEWS:
        move_reads(state, key_of(relation), key_of(QualifiedName(relation.schema, new)))
    elif kind == "OBJECT_COLUMN":
        table = state._mutable(key_of(relation))
        old = body.get("subname", "")
        if table is not None and old in table.columns:
            table.columns[new] = replace(table.columns.pop(old), name=new)
            _rename_column_uses(table, old, new)
        rename_read_column(state, key_of(relation), old, new)
    elif kind == "OBJECT_TABCONSTRAINT":
        table = state._mutable(key_of(relation))
        old = body.get("subname", "")
        if table is not None and old in table.constraints:
            _rename_constraint_index(state, table, old, new)
        elif state.creator("relation", relation) is None:
            _rename_live_constraint(state, relation, old, new, origin)


_INDEXED = ("primary", "unique", "exclusion")


def _rename_live_constraint(
    state: SchemaState, table: QualifiedName, old: str, new: str, origin: str
) -> None:
    """A constraint of a table older than the history renamed: the live catalog knows it
    (and the index of a PRIMARY KEY, UNIQUE or EXCLUDE one) by its first name; the old
    name is gone (PG 15 and 18)."""
    first = key_of(state.renamed_from.get(key_of(table), table))
    renamed = state.constraints_renamed_from
    renamed[(*first, new)] = renamed.pop((*first, old), old)
    state._log_drop("index", QualifiedName(table.schema, old), origin)
    _undrop_index(state, QualifiedName(table.schema, new))


def _undrop_index(state: SchemaState, index: QualifiedName) -> None:
    """An index older than the history now bears this name (renamed back to it)."""
    state.created.pop(("drop:index", *key_of(index), ""), None)


def _rename_index(
    state: SchemaState, index: QualifiedName, new: str, origin: str
) -> None:
    """``ALTER INDEX index RENAME TO new``: the same index (and creator) under its new
    name; the constraint it backs is renamed with it (PG 15 and 18)."""
    owner = state.index_owner.get(key_of(index))
    table = None if owner is None else state._mutable(owner)
    if table is None or index.name not in table.indexes:
        # Older than the history: the live catalog knows it by its first name.
        renamed = QualifiedName(index.schema, new)
        state.renamed_from[key_of(renamed)] = state.renamed_from.pop(
            key_of(index), index
        )
        state._log_drop("index", index, origin)
        _undrop_index(state, renamed)
        return
    con = table.constraints.get(index.name)
    if con is not None and con.kind in _INDEXED:
        _rename_constraint_index(state, table, index.name, new)
    else:
        _rename_index_of(state, table, index.name, new)


def _rename_constraint_index(
    state: SchemaState, table: Table, old: str, new: str
) -> None:
    """A constraint renamed (``RENAME CONSTRAINT``, or its index renamed): the index of a
    PRIMARY KEY, UNIQUE or EXCLUDE constraint bears its name and is renamed with it."""
    con = table.constraints.pop(old)
    table.constraints[new] = replace(con, name=new)
    note_constraint(state, key_of(table.name), new)
    creator = state.creator("constraint", table.name, old)
    if creator is not None:
        state._log("constraint", table.name, creator, new)
    if con.kind in _INDEXED and old in table.indexes:
        _rename_index_of(state, table, old, new)


def _rename_index_of(state: SchemaState, table: Table, old: str, new: str) -> None:
    table.indexes[new] = replace(table.indexes.pop(old), name=new)
    schema = table.name.schema or "public"
    owner = state.index_owner.pop((schema, old), key_of(table.name))
    state.index_owner[(schema, new)] = owner
    creator = state.creator("index", QualifiedName(table.name.schema, old))
    if creator is not None:
        state._log("index", QualifiedName(table.name.schema, new), creator)


def _rename_column_uses(table: Table, old: str, new: str) -> None:
    """Indexes and constraints follow a renamed column (PostgreSQL keeps them on it)."""

    def moved(columns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if column == old else column for column in columns)

    for name, index in table.indexes.items():
        table.indexes[name] = replace(
            index, columns=moved(index.columns), reads=moved(index.reads)
        )
    for name, con in table.constraints.items():
        table.constraints[name] = replace(
            con,
            columns=moved(con.columns),
            not_null_columns=moved(con.not_null_columns),
        )


def _move(state: SchemaState, old: QualifiedName, new: QualifiedName) -> None:
    """A table renamed or moved to another schema: the same table (and creator)."""
    table = state._mutable(key_of(old))
    creator = state.creator("relation", old)
    if creator is None and (table is None or table.placeholder):
        # Older than the history: the live catalog knows it by its first name.
        state.renamed_from[key_of(new)] = state.renamed_from.pop(key_of(old), old)
    if creator is not None:
        state._log("relation", new, creator)
    move_reads(state, key_of(old), key_of(new))
    if table is not None:
        del state.tables[key_of(old)]
        table.name = new
        state._add_table(table)
        for constraint in table.constraints:
            note_constraint(state, key_of(new), constraint)
        # Its indexes stay its own, in its (new) schema (PG 15 and 18).
        old_schema, new_schema = key_of(old)[0], key_of(new)[0]
        for index in table.indexes:
            state.index_owner.pop((old_schema, index), None)
            state.index_owner[(new_schema, index)] = key_of(new)
            creator = state.creator("index", QualifiedName(old.schema, index))
            if creator is not None and old_schema != new_schema:
                state._log("index", QualifiedName(new.schema, index), creator)


def set_schema(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    relation = range_var(body.get("relation"))
    if relation is not None and body.get("objectType") in ALTERED_TABLES:
        _move(state, relation, QualifiedName(body.get("newschema"), relation.name))
    elif relation is not None and body.get("objectType") in _VIEWS:
        moved = QualifiedName(body.get("newschema"), relation.name)
        move_reads(state, key_of(relation), key_of(moved))
