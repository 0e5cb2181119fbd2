"""Views the schema replay follows (:class:`~atomig.lint.schema.SchemaState`): which
relations and columns each view or materialized view the history created reads.

PostgreSQL rejects ``DROP TABLE``, ``DROP COLUMN`` and ``ALTER COLUMN … TYPE`` of what a
view reads, without CASCADE (PG 15 and 18): a down file that drops a table or column before
the view its up created on it fails, and so does an up that drops what an earlier
migration's view reads. A bare column of a query over several relations is taken as the
one relation known to have it (none when unknown or ambiguous: no dependency invented).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_deps import record_uses
from atomig.lint.schema_model import Key, key_of
from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import range_var
from atomig.sql.view_reads import query_reads, view_columns

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState


@dataclass(frozen=True, slots=True)
class View:
    """A view the history created: the relations it reads and the columns it reads in
    each (by table key); its output columns in order (None: unknown; a None name: not
    derived), which a CREATE OR REPLACE VIEW must keep."""

    name: QualifiedName
    materialized: bool
    reads: Mapping[Key, frozenset[str]]
    columns: tuple[str | None, ...] | None = None

    @property
    def label(self) -> str:
        """As PostgreSQL names it in its error (``view v``, ``materialized view m``)."""
        return f"{'materialized view' if self.materialized else 'view'} {self.name}"


def record_view(
    state: SchemaState,
    name: QualifiedName | None,
    query: Mapping[str, Any] | None,
    *,
    materialized: bool,
    output: tuple[str | None, ...] | None = None,
) -> None:
    """Record a view created (or replaced) with ``query`` (and its ``output`` columns)."""
    if name is None:
        return
    reads = query_reads(query)
    tables = [state.tables.get(key_of(r)) for r in reads.relations]
    columns: dict[Key, set[str]] = {key_of(r): set() for r in reads.relations}
    for relation, table in zip(reads.relations, tables, strict=True):
        key = key_of(relation)
        columns[key] |= reads.qualified.get(relation, frozenset())
        if table is not None and (reads.all_star or relation in reads.stars):
            columns[key] |= set(table.columns)  # * names the columns it has now
    for column in reads.bare:
        owners = [
            key_of(r)
            for r, t in zip(reads.relations, tables, strict=True)
            if (t is not None and column in t.columns)
            or (len(reads.relations) == 1 and (t is None or not t.columns_known))
        ]
        if len(owners) == 1:
            columns[owners[0]].add(column)
    state.views[key_of(name)] = View(
        name, materialized, {k: frozenset(v) for k, v in columns.items()}, output
    )
    record_uses(state.uses, "view", name, "", query)


def output_columns(
    state: SchemaState, body: Mapping[str, Any]
) -> tuple[str | None, ...] | None:
    """The output columns of the view a ``CREATE VIEW`` body defines, a ``*`` expanded
    from what the history knows at this point (as PostgreSQL expands it once, there)."""

    def expand(relation: QualifiedName) -> tuple[str, ...] | None:
        table = state.tables.get(key_of(relation))
        if table is not None:
            return tuple(table.columns) if table.columns_known else None
        view = state.views.get(key_of(relation))
        known = view.columns if view is not None else None
        names = tuple(c for c in known or () if c is not None)
        return names if known is not None and len(names) == len(known) else None

    return view_columns(body, expand)


def drop_views(state: SchemaState, body: Mapping[str, Any]) -> None:
    """``DROP VIEW``/``MATERIALIZED VIEW`` forgets them; ``DROP TABLE … CASCADE`` (and of a
    view) forgets the views reading what it drops, as PostgreSQL drops them too."""
    cascade = body.get("behavior") == "DROP_CASCADE"
    for obj in body.get("objects", ()):
        items = obj.get("List", {}).get("items", [])
        if not items:
            continue
        parts = [i["String"]["sval"] for i in items if "String" in i]
        name = (
            QualifiedName(*parts[-2:])
            if len(parts) > 1
            else QualifiedName(None, parts[-1])
        )
        state.views.pop(key_of(name), None)
        if cascade:
            forget_readers(state, key_of(name))


def forget_readers(state: SchemaState, table: Key, column: str | None = None) -> None:
    """Forget the views reading ``table`` (its ``column`` only, when given), and the
    views reading those (CASCADE)."""
    for key, view in list(state.views.items()):
        cols = view.reads.get(table)
        if (
            cols is not None
            and key in state.views
            and (column is None or column in cols)
        ):
            del state.views[key]
            forget_readers(state, key)


def view_stmt(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE [OR REPLACE] VIEW``."""
    name = range_var(body.get("view"))
    if name is not None:
        state._log("relation", name, origin)
        output = output_columns(state, body)
        record_view(state, name, body.get("query"), materialized=False, output=output)


def move_reads(state: SchemaState, old: Key, new: Key) -> None:
    """A relation renamed or moved: views read it (and are) under its new name (they
    depend on it, not on its name)."""
    moved = state.views.pop(old, None)
    if moved is not None:
        state.views[new] = replace(moved, name=QualifiedName(new[0], new[1]))
    for key, view in list(state.views.items()):
        if old in view.reads:
            reads = {new if k == old else k: v for k, v in view.reads.items()}
            state.views[key] = replace(view, reads=reads)


def rename_read_column(state: SchemaState, table: Key, old: str, new: str) -> None:
    """A column renamed: views reading it read it under its new name (and a view's own
    column, renamed by ALTER VIEW … RENAME COLUMN, is its output column's new name)."""
    own = state.views.get(table)
    if own is not None and own.columns is not None:
        renamed = tuple(new if c == old else c for c in own.columns)
        state.views[table] = replace(own, columns=renamed)
    for key, view in list(state.views.items()):
        cols = view.reads.get(table)
        if cols is not None and old in cols:
            reads = {**view.reads, table: (cols - {old}) | {new}}
            state.views[key] = replace(view, reads=reads)
