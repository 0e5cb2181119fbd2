"""Dependencies the schema replay follows (:class:`~atomig.lint.schema.SchemaState`): the
sequences each column default (or identity) uses and the function each trigger runs.

PostgreSQL rejects ``DROP SEQUENCE`` while a column default reads it (``nextval('s')``,
a ``serial`` column's own sequence) and ``DROP FUNCTION`` while a trigger runs it, without
CASCADE (2BP01, PG 15 and 18); an identity column's sequence is internal to the column:
its DROP is rejected even with CASCADE. Renames and schema moves are followed (the
dependency is on the object, not its name); DROP TABLE, DROP COLUMN, DROP DEFAULT,
DROP IDENTITY, DROP TRIGGER and a CASCADE end them. Only what the SQL says is recorded.

``state.uses`` maps ``(use, table schema, table, column or trigger)`` (``use``:
``default``, ``identity`` or ``trigger``) to the keys of the objects it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_model import Key, Table, key_of
from atomig.lint.schema_names import TakenNames
from atomig.sql.depends import (
    column_default,
    default_sequences,
    identity_constraint,
    identity_sequence,
    is_serial,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.naming import default_sequence_name
from atomig.sql.nodes import name_list, range_var

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState

UseKey = tuple[str, str, str, str]
_TABLES = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")
_ROUTINES = ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE")
_RELATIONS = (
    *_TABLES,
    "OBJECT_SEQUENCE",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_INDEX",
)


def users_of(state: SchemaState, kind: str, name: QualifiedName) -> list[UseKey]:
    """The uses (defaults, identities, triggers) that need the object ``name``
    (``kind``: ``sequence`` or ``function``)."""
    target = key_of(name)
    wanted = ("trigger",) if kind == "function" else ("default", "identity")
    return [k for k, v in state.uses.items() if k[0] in wanted and target in v]


def _column(
    state: SchemaState, table: QualifiedName, coldef: Mapping[str, Any]
) -> None:
    column = coldef.get("colname", "")
    schema, plain = key_of(table)
    needs = [key_of(s) for s in default_sequences(column_default(coldef))]
    identity = identity_constraint(coldef)
    if is_serial(coldef) or identity is not None:
        own = None if identity is None else identity_sequence(identity)
        if own is None:  # named as PostgreSQL names it (ChooseRelationName)
            taken = TakenNames(state, Table(table), relations=True, constraints=False)
            own = QualifiedName(schema, default_sequence_name(plain, column, taken))
        use = "default" if identity is None else "identity"
        state.uses[(use, schema, plain, column)] = (key_of(own),)
    if needs:
        state.uses[("default", schema, plain, column)] = tuple(needs)


def _forget(
    state: SchemaState,
    *,
    table: Key | None = None,
    column: str | None = None,
    schema: str | None = None,
    need: Key | None = None,
) -> None:
    """End the uses of ``table`` (its ``column`` only, when given), of anything in
    ``schema``, or (not an identity's) of the object ``need``."""
    if table is not None and column is not None and schema is None and need is None:
        # A dropped column: its own keys, found directly (a scan per DROP COLUMN made a
        # long history quadratic: 100k statements 7 s -> 16 s).
        for use in ("default", "identity", "trigger"):
            state.uses.pop((use, *table, column), None)
        return
    for key, needs in list(state.uses.items()):
        gone = (
            (table is not None and key[1:3] == table and column in (None, key[3]))
            or (
                schema is not None
                and (key[1] == schema or any(s == schema for s, _ in needs))
            )
            or (need is not None and key[0] != "identity" and need in needs)
        )
        if gone:
            del state.uses[key]


def _create(state: SchemaState, body: Mapping[str, Any]) -> None:
    name = range_var(body.get("relation"))
    if name is None or (body.get("if_not_exists") and state.table(name) is not None):
        return
    for element in body.get("tableElts", ()):
        if "ColumnDef" in element:
            _column(state, name, element["ColumnDef"])


def _alter(state: SchemaState, body: Mapping[str, Any]) -> None:
    table = range_var(body.get("relation"))
    if table is None or body.get("objtype", "OBJECT_TABLE") not in _TABLES:
        return
    schema, plain = key_of(table)
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        subtype, column = cmd.get("subtype"), cmd.get("name", "")
        definition = cmd.get("def") or {}
        if subtype == "AT_AddColumn":
            coldef = definition.get("ColumnDef", {})
            known = state.table(table)
            if not (
                cmd.get("missing_ok")
                and known is not None
                and coldef.get("colname") in known.columns
            ):
                _column(state, table, coldef)
        elif subtype == "AT_ColumnDefault":  # SET DEFAULT replaces, DROP DEFAULT ends
            state.uses.pop(("default", schema, plain, column), None)
            needs = [key_of(s) for s in default_sequences(definition or None)]
            if needs:
                state.uses[("default", schema, plain, column)] = tuple(needs)
        elif subtype == "AT_DropColumn":
            _forget(state, table=(schema, plain), column=column)
        elif subtype == "AT_DropIdentity":
            state.uses.pop(("identity", schema, plain, column), None)
        elif subtype == "AT_AddIdentity":
            own = identity_sequence(definition.get("Constraint") or {})
            if own is None:
                taken = TakenNames(
                    state, Table(table), relations=True, constraints=False
                )
                own = QualifiedName(schema, default_sequence_name(plain, column, taken))
            state.uses[("identity", schema, plain, column)] = (key_of(own),)


def _trigger(state: SchemaState, body: Mapping[str, Any]) -> None:
    table = range_var(body.get("relation"))
    if table is not None and body.get("trigname") and body.get("funcname"):
        schema, plain = key_of(table)
        function = key_of(name_list(body["funcname"]))
        state.uses[("trigger", schema, plain, body["trigname"])] = (function,)


def _drop(state: SchemaState, body: Mapping[str, Any]) -> None:
    remove, cascade = body.get("removeType"), body.get("behavior") == "DROP_CASCADE"
    for obj in body.get("objects", ()):
        items = (obj.get("List") or {}).get("items") or (
            obj.get("ObjectWithArgs") or {}
        ).get("objname")
        if remove == "OBJECT_SCHEMA" and "String" in obj:
            _forget(state, schema=obj["String"]["sval"])
        if not items:
            continue
        name = name_list(items)
        target = key_of(name)
        if remove in _TABLES:  # its defaults and triggers go with it
            _forget(state, table=target)
        elif remove == "OBJECT_TRIGGER" and len(items) > 1:
            table = key_of(name_list(items[:-1]))
            state.uses.pop(("trigger", *table, items[-1]["String"]["sval"]), None)
        elif cascade and remove in (*_ROUTINES, "OBJECT_SEQUENCE"):
            # (an identity's sequence is not dropped by CASCADE: it stays rejected)
            _forget(state, need=target)


def _moved(state: SchemaState, old: Key, new: Key, *, tables: bool = True) -> None:
    """Re-key the uses of a relation (or, ``tables`` false, a function) ``old`` now
    called ``new``."""
    for key, needs in list(state.uses.items()):
        renamed_key = key
        if tables and key[1:3] == old:
            renamed_key = (key[0], *new, key[3])
        renamed_needs = tuple(new if n == old else n for n in needs)
        if renamed_key != key or renamed_needs != needs:
            del state.uses[key]
            state.uses[renamed_key] = renamed_needs


def _rename(state: SchemaState, body: Mapping[str, Any]) -> None:
    kind, new = body.get("renameType"), body.get("newname", "")
    relation = range_var(body.get("relation"))
    if kind in _RELATIONS and relation is not None:
        _moved(state, key_of(relation), (key_of(relation)[0], new))
    elif kind in ("OBJECT_COLUMN", "OBJECT_TRIGGER") and relation is not None:
        old, (schema, plain) = body.get("subname", ""), key_of(relation)
        uses = ("trigger",) if kind == "OBJECT_TRIGGER" else ("default", "identity")
        for use in uses:
            needs = state.uses.pop((use, schema, plain, old), None)
            if needs is not None:
                state.uses[(use, schema, plain, new)] = needs
    elif kind in _ROUTINES:
        items = ((body.get("object") or {}).get("ObjectWithArgs") or {}).get("objname")
        if items:
            old_key = key_of(name_list(items))
            _moved(state, old_key, (old_key[0], new), tables=False)
    elif kind == "OBJECT_SCHEMA" and body.get("subname"):
        _schema_renamed(state, body["subname"], new)


def _schema_renamed(state: SchemaState, old: str, new: str) -> None:
    for key, needs in list(state.uses.items()):
        moved = tuple((new if s == old else s, n) for s, n in needs)
        if key[1] == old or moved != needs:
            del state.uses[key]
            state.uses[(key[0], new if key[1] == old else key[1], *key[2:])] = moved


def _set_schema(state: SchemaState, body: Mapping[str, Any]) -> None:
    kind, schema = body.get("objectType"), body.get("newschema", "")
    relation = range_var(body.get("relation"))
    if kind in _RELATIONS and relation is not None:
        _moved(state, key_of(relation), (schema, relation.name))
    elif kind in _ROUTINES:
        items = ((body.get("object") or {}).get("ObjectWithArgs") or {}).get("objname")
        if items:
            old_key = key_of(name_list(items))
            _moved(state, old_key, (schema, old_key[1]), tables=False)


_TRACK = {
    "CreateStmt": _create,
    "AlterTableStmt": _alter,
    "CreateTrigStmt": _trigger,
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "AlterObjectSchemaStmt": _set_schema,
}


def track_uses(state: SchemaState, kind: str, body: Mapping[str, Any]) -> None:
    """Record what a statement does to the dependencies (before the replay applies it:
    ``CREATE TABLE IF NOT EXISTS`` of a table it knows changes nothing)."""
    handler = _TRACK.get(kind)
    if handler is not None:
        handler(state, body)
