"""How the schema replay (:mod:`atomig.lint.schema`) follows ``CREATE INDEX``: the index
joins its table (a placeholder when the history lacks it), under the name PostgreSQL gives
an unnamed one (``ChooseIndexName``: relations of the schema taken, INCLUDE columns in it),
with the columns its expressions and WHERE read (a type change of one rebuilds it) and the
functions they call (``DROP FUNCTION`` of one is rejected while the index is there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_deps import record_uses
from atomig.lint.schema_model import Index, key_of
from atomig.lint.schema_names import TakenNames
from atomig.sql.facts import QualifiedName
from atomig.sql.naming import default_index_name, expression_columns
from atomig.sql.nodes import range_var

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState


def create_index(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE INDEX``: on a known (or followed) table, named as PostgreSQL
    names it when unnamed, with the columns its expressions and predicate read and what
    they call."""
    name = range_var(body.get("relation"))
    if name is None:
        return
    table = state._followed(name)
    columns = tuple(
        p["IndexElem"].get("name") or "(expr)"
        for p in body.get("indexParams", ())
        if "IndexElem" in p
    )
    index_name = body.get("idxname") or default_index_name(
        name.name,
        body.get("indexParams", ()),
        TakenNames(state, table, relations=True, constraints=False),
        body.get("indexIncludingParams", ()),
    )
    partial = body.get("whereClause") is not None
    reads_from = {"on": body.get("indexParams"), "where": body.get("whereClause")}
    reads = expression_columns(reads_from)
    table.indexes[index_name] = Index(
        index_name,
        columns,
        bool(body.get("unique")) and not partial,
        partial,
        tuple(dict.fromkeys(reads)),
    )
    state.index_owner[(name.schema or "public", index_name)] = key_of(name)
    record_uses(state.uses, "index", name, index_name, reads_from)
    state._log("index", QualifiedName(name.schema, index_name), origin)
