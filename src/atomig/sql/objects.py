"""Named schema objects a statement creates, and those it drops or renames away.

The runner's pre-flight check asks the catalog whether what a migration is about to create
already exists: an object that predates the migration would be dropped by its down file
(``CREATE INDEX IF NOT EXISTS`` skips silently, a plain ``CREATE`` fails part-way and the
rollback runs the down file). Only named objects count: PostgreSQL picks a free name for an
unnamed index or constraint. ``CREATE OR REPLACE`` is not a creation here (it replaces).

Names are as written (unquoted identifiers already folded to lower case by the parser); an
unqualified name has ``schema`` ``None`` and is resolved by the catalog query with the
migration's ``search_path``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from atomig.sql.classify import column_constraints, name_list, range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

Body = Mapping[str, Any]

# kind: relation (table, view, sequence …), index, column, constraint, type, schema,
# extension. For index, column and constraint, ``table`` is the relation it belongs to.
RELATION, INDEX, COLUMN, CONSTRAINT, TYPE, SCHEMA, EXTENSION = (
    "relation",
    "index",
    "column",
    "constraint",
    "type",
    "schema",
    "extension",
)


@dataclass(frozen=True, slots=True)
class SchemaObject:
    """One named object: ``what`` is the word a message uses (``table``, ``index`` …).

    >>> str(SchemaObject("column", "column", QualifiedName(None, "z"), QualifiedName(None, "t")))
    'column t.z'
    >>> str(SchemaObject("index", "index", QualifiedName("s", "i"), QualifiedName("s", "t")))
    'index s.i on s.t'
    """

    kind: str
    what: str
    name: QualifiedName
    table: QualifiedName | None = None

    def __str__(self) -> str:
        if self.kind in (COLUMN, CONSTRAINT) and self.table is not None:
            return f"{self.what} {self.table}.{QualifiedName(None, self.name.name)}"
        if self.kind == INDEX and self.table is not None:
            return f"{self.what} {self.name} on {self.table}"
        return f"{self.what} {self.name}"


@dataclass(frozen=True, slots=True)
class Creation:
    """An object a statement creates; ``if_not_exists``: it skips silently if it exists;
    ``concurrent``: a ``CREATE INDEX CONCURRENTLY`` (the runner drops an INVALID index of
    its name, left by a failed build, before it builds)."""

    object: SchemaObject
    if_not_exists: bool = False
    concurrent: bool = False


def _same_schema(a: str | None, b: str | None) -> bool:
    # An unqualified name may denote any schema: treat it as matching (the exemptions this
    # serves then err towards not reporting, never towards a false refusal).
    return a is None or b is None or a == b


def same_name(a: QualifiedName | None, b: QualifiedName | None) -> bool:
    """The same name, an unqualified one matching any schema."""
    return (
        a is not None
        and b is not None
        and a.name == b.name
        and _same_schema(a.schema, b.schema)
    )


@dataclass(frozen=True, slots=True)
class Removal:
    """Something a statement drops or renames away: an object, or everything in a
    container (a table's columns, constraints and indexes; a schema's objects)."""

    kind: str
    name: QualifiedName
    table: QualifiedName | None = None

    def covers(self, obj: SchemaObject) -> bool:
        """``obj`` is gone after this removal.

        >>> t, z = QualifiedName(None, "t"), QualifiedName(None, "z")
        >>> Removal("relation", t).covers(SchemaObject("column", "column", z, t))
        True
        """
        if self.kind == SCHEMA:
            if obj.kind == SCHEMA:
                return obj.name.name == self.name.name
            owner = obj.table or obj.name
            return obj.kind != EXTENSION and owner.schema == self.name.name
        if self.kind == RELATION:
            if obj.kind in (RELATION, INDEX) and same_name(self.name, obj.name):
                return True
            return obj.kind in (INDEX, COLUMN, CONSTRAINT) and same_name(
                self.name, obj.table
            )
        if self.kind in (COLUMN, CONSTRAINT):
            # An index-backed constraint (PRIMARY KEY, UNIQUE) is dropped with its index.
            kinds = (COLUMN,) if self.kind == COLUMN else (CONSTRAINT, INDEX)
            return (
                obj.kind in kinds
                and obj.name.name == self.name.name
                and same_name(self.table, obj.table)
            )
        return self.kind == obj.kind and same_name(self.name, obj.name)


# ---- creations ----------------------------------------------------------------------


def _relation(what: str, rv: Body | None, if_not_exists: bool) -> tuple[Creation, ...]:
    name = range_var(rv)
    if name is None:
        return ()
    return (Creation(SchemaObject(RELATION, what, name), if_not_exists),)


def _constraint(table: QualifiedName, con: Body) -> Creation | None:
    name = con.get("conname")
    if not name or con.get("indexname"):
        return None
    if con.get("contype") in ("CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"):
        # Its index takes the constraint's name in the table's schema, where any relation
        # of that name (an index of another table) collides.
        owned = QualifiedName(table.schema, name)
        return Creation(SchemaObject(INDEX, "constraint", owned, table))
    if con.get("contype") in ("CONSTR_CHECK", "CONSTR_FOREIGN"):
        return Creation(
            SchemaObject(CONSTRAINT, "constraint", QualifiedName(None, name), table)
        )
    return None


def _create_table(body: Body) -> tuple[Creation, ...]:
    return _relation("table", body.get("relation"), bool(body.get("if_not_exists")))


def _create_table_as(body: Body) -> tuple[Creation, ...]:
    what = "materialized view" if body.get("objtype") == "OBJECT_MATVIEW" else "table"
    rel = (body.get("into") or {}).get("rel")
    return _relation(what, rel, bool(body.get("if_not_exists")))


def _index(body: Body) -> tuple[Creation, ...]:
    table = range_var(body.get("relation"))
    name = body.get("idxname")
    if table is None or not name:
        return ()
    index = QualifiedName(table.schema, name)
    obj = SchemaObject(INDEX, "index", index, table)
    return (
        Creation(obj, bool(body.get("if_not_exists")), bool(body.get("concurrent"))),
    )


def _view(body: Body) -> tuple[Creation, ...]:
    return () if body.get("replace") else _relation("view", body.get("view"), False)


def _sequence(body: Body) -> tuple[Creation, ...]:
    return _relation("sequence", body.get("sequence"), bool(body.get("if_not_exists")))


def _alter_table(body: Body) -> tuple[Creation, ...]:
    table = range_var(body.get("relation"))
    if table is None or body.get("objtype", "OBJECT_TABLE") != "OBJECT_TABLE":
        return ()
    out: list[Creation] = []
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        definition = cmd.get("def") or {}
        if cmd.get("subtype") == "AT_AddColumn":
            coldef = definition.get("ColumnDef", {})
            column = QualifiedName(None, coldef.get("colname", ""))
            out.append(
                Creation(
                    SchemaObject(COLUMN, "column", column, table),
                    bool(cmd.get("missing_ok")),
                )
            )
            for con in column_constraints(coldef):
                found = _constraint(table, con)
                if found is not None:
                    out.append(found)
        elif cmd.get("subtype") == "AT_AddConstraint":
            found = _constraint(table, definition.get("Constraint", {}))
            if found is not None:
                out.append(found)
    return tuple(out)


def _type(what: str, field: str) -> Any:
    def creations(body: Body) -> tuple[Creation, ...]:
        items = body.get(field) or ()
        if not items:
            return ()
        return (Creation(SchemaObject(TYPE, what, name_list(items))),)

    return creations


def _composite(body: Body) -> tuple[Creation, ...]:
    name = range_var(body.get("typevar"))
    return () if name is None else (Creation(SchemaObject(TYPE, "type", name)),)


def _schema(body: Body) -> tuple[Creation, ...]:
    name = body.get("schemaname")
    if not name:
        return ()
    obj = SchemaObject(SCHEMA, "schema", QualifiedName(None, name))
    return (Creation(obj, bool(body.get("if_not_exists"))),)


def _extension(body: Body) -> tuple[Creation, ...]:
    obj = SchemaObject(EXTENSION, "extension", QualifiedName(None, body["extname"]))
    return (Creation(obj, bool(body.get("if_not_exists"))),)


_CREATES = {
    "CreateStmt": _create_table,
    "CreateTableAsStmt": _create_table_as,
    "IndexStmt": _index,
    "ViewStmt": _view,
    "CreateSeqStmt": _sequence,
    "AlterTableStmt": _alter_table,
    "CreateEnumStmt": _type("type", "typeName"),
    "CreateRangeStmt": _type("type", "typeName"),
    "CreateDomainStmt": _type("domain", "domainname"),
    "CompositeTypeStmt": _composite,
    "CreateSchemaStmt": _schema,
    "CreateExtensionStmt": _extension,
}


def created_objects(statement: Statement) -> tuple[Creation, ...]:
    """The named objects ``statement`` creates (``CREATE OR REPLACE`` excluded)."""
    handler = _CREATES.get(statement.kind)
    return () if handler is None else handler(statement.body)


# ---- removals -----------------------------------------------------------------------

_DROPPED_RELATIONS = {
    "OBJECT_TABLE",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_FOREIGN_TABLE",
    "OBJECT_SEQUENCE",
    "OBJECT_INDEX",
}
_RENAMED_RELATIONS = _DROPPED_RELATIONS
_DROPPED_TYPES = {"OBJECT_TYPE", "OBJECT_DOMAIN"}


def _plain(items: Iterable[Body]) -> list[str]:
    return [item["String"]["sval"] for item in items if "String" in item]


def _drop(body: Body) -> tuple[Removal, ...]:
    remove = body.get("removeType", "")
    out: list[Removal] = []
    for obj in body.get("objects", ()):
        if remove in _DROPPED_RELATIONS and "List" in obj:
            out.append(Removal(RELATION, name_list(obj["List"]["items"])))
        elif remove in _DROPPED_TYPES and "TypeName" in obj:
            out.append(Removal(TYPE, name_list(obj["TypeName"].get("names", ()))))
        elif remove in ("OBJECT_SCHEMA", "OBJECT_EXTENSION") and "String" in obj:
            kind = SCHEMA if remove == "OBJECT_SCHEMA" else EXTENSION
            out.append(Removal(kind, QualifiedName(None, obj["String"]["sval"])))
    return tuple(out)


def _alter_table_removals(body: Body) -> tuple[Removal, ...]:
    table = range_var(body.get("relation"))
    if table is None:
        return ()
    out = []
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        kind = {"AT_DropColumn": COLUMN, "AT_DropConstraint": CONSTRAINT}.get(
            cmd.get("subtype", "")
        )
        if kind is not None and cmd.get("name"):
            out.append(Removal(kind, QualifiedName(None, cmd["name"]), table))
    return tuple(out)


def _rename(body: Body) -> tuple[Removal, ...]:
    kind = body.get("renameType", "")
    relation = range_var(body.get("relation"))
    if kind in _RENAMED_RELATIONS and relation is not None:
        return (Removal(RELATION, relation),)
    if kind in ("OBJECT_COLUMN", "OBJECT_TABCONSTRAINT") and relation is not None:
        sub = COLUMN if kind == "OBJECT_COLUMN" else CONSTRAINT
        return (Removal(sub, QualifiedName(None, body.get("subname", "")), relation),)
    if kind in _DROPPED_TYPES:
        items = (body.get("object") or {}).get("List", {}).get("items", ())
        return (Removal(TYPE, name_list(items)),) if items else ()
    if kind == "OBJECT_SCHEMA" and body.get("subname"):
        return (Removal(SCHEMA, QualifiedName(None, body["subname"])),)
    return ()


_REMOVES = {
    "DropStmt": _drop,
    "AlterTableStmt": _alter_table_removals,
    "RenameStmt": _rename,
}

# Statements whose effect on the schema the text does not tell (a DO block's dynamic SQL).
_OPAQUE = frozenset({"DoStmt"})


def removed_objects(statement: Statement) -> tuple[Removal, ...] | None:
    """What ``statement`` drops or renames away; ``None`` when the text cannot tell (a
    ``DO`` block may drop anything)."""
    if statement.kind in _OPAQUE:
        return None
    handler = _REMOVES.get(statement.kind)
    return () if handler is None else handler(statement.body)


__all__ = [
    "Creation",
    "Removal",
    "SchemaObject",
    "created_objects",
    "removed_objects",
    "same_name",
]


# How the kinds whose OBJECT_ names read badly are named in messages.
_LABELS = {
    "OBJECT_MATVIEW": "materialized view",
    "OBJECT_STATISTIC_EXT": "statistics object",
    "OBJECT_FDW": "foreign data wrapper",
    "OBJECT_FOREIGN_SERVER": "server",
    "OBJECT_OPCLASS": "operator class",
    "OBJECT_OPFAMILY": "operator family",
    "OBJECT_TSCONFIGURATION": "text search configuration",
    "OBJECT_TSDICTIONARY": "text search dictionary",
}


def object_label(object_type: str) -> str:
    """An ``ObjectType`` (``removeType`` of a DROP …) as SQL names the kind of object.

    >>> object_label("OBJECT_MATVIEW"), object_label("OBJECT_EVENT_TRIGGER")
    ('materialized view', 'event trigger')
    """
    found = _LABELS.get(object_type)
    return found or object_type.removeprefix("OBJECT_").lower().replace("_", " ")


# The kinds under which the schema replay logs what it creates (tables, views, sequences
# … are relations).
_LOG_KINDS = {
    "OBJECT_FUNCTION": "function",
    "OBJECT_PROCEDURE": "function",
    "OBJECT_ROUTINE": "function",
    "OBJECT_TYPE": "type",
    "OBJECT_DOMAIN": "type",
    "OBJECT_EXTENSION": "extension",
    "OBJECT_AGGREGATE": "aggregate",
    "OBJECT_POLICY": "policy",
}


def object_kind(object_type: str) -> str:
    """The kind the schema replay logs an object of ``object_type`` under.

    >>> object_kind("OBJECT_PROCEDURE"), object_kind("OBJECT_VIEW")
    ('function', 'relation')
    """
    return _LOG_KINDS.get(object_type, "relation")


def object_name(obj: Any) -> QualifiedName | None:
    """The name of an object a DROP, RENAME or COMMENT names: a ``List`` of names, a
    function's ``ObjectWithArgs``, a ``TypeName``, or a bare ``String`` (an extension,
    publication, server, language …).

    >>> object_name({"String": {"sval": "pgcrypto"}})
    QualifiedName(schema=None, name='pgcrypto')
    """
    if not isinstance(obj, dict):
        return None
    items = (
        obj.get("List", {}).get("items")
        or obj.get("ObjectWithArgs", {}).get("objname")
        or obj.get("TypeName", {}).get("names")
        or ([obj] if "String" in obj else None)
    )
    return name_list(items) if items else None
