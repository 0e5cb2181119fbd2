"""The schema as the migrations build it: replayed statically, statement by statement.

Linting a directory replays its history (every earlier up file, in order), so rules know
which tables exist, their columns and types, their indexes and constraints (with validity).
Unqualified names are taken as ``public`` (the default ``search_path``). Knowledge is only
what the SQL says: a table created by ``CREATE TABLE … AS`` or ``LIKE`` has unknown columns.

A table the history never created (it predates the directory, or a lone file is linted) is
still followed from its first ALTER or CREATE INDEX on, as a *placeholder*: what the
migrations add to it (a validated CHECK, an index, a column) is known to the statements
after, even in the same file. Every object a migration creates is also logged with that
migration (``created``), dropped or not, so a down file can tell what its own up made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from atomig.lint.layered import Layered
from atomig.lint.schema_deps import Uses, record_uses
from atomig.lint.schema_indexes import create_index
from atomig.lint.schema_model import (
    Column,
    Constraint,
    Index,
    Key,
    ObjectKey,
    Table,
    key_of,
)
from atomig.lint.schema_names import TakenNames, note_constraint
from atomig.lint.schema_not_null import add_not_null, mark_not_null
from atomig.lint.schema_objects import (
    Routine,
    alter_domain,
    alter_function,
    create_extension,
    create_function,
    create_policy,
    create_schema,
    create_trigger,
    define,
    logged,
    refresh,
)
from atomig.lint.schema_renames import ALTERED_TABLES, rename, set_schema
from atomig.lint.schema_uses import track_uses
from atomig.lint.schema_views import (
    View,
    drop_views,
    forget_readers,
    record_view,
    view_stmt,
)
from atomig.sql.alter_table import identity_change, identity_kind
from atomig.sql.checks import not_null_columns
from atomig.sql.classify import (
    column_constraints,
    foreign_key_targets,
    name_list,
    range_var,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.naming import (
    NO_MERGE,
    Merged,
    default_constraint_name,
    default_name_columns,
    detach_check_name,
    expression_columns,
    merged_index_constraints,
    partition_key,
)
from atomig.sql.parse import Statement
from atomig.sql.types import TypeRef, declared_collation

if TYPE_CHECKING:
    from atomig.lint.down_journal import UpRecorder

__all__ = [
    "Column",
    "Constraint",
    "Index",
    "Key",
    "ObjectKey",
    "SchemaState",
    "Table",
    "key_of",
]


def _names(items: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(i["String"]["sval"] for i in items if "String" in i)


_KINDS = {
    "CONSTR_CHECK": "check",
    "CONSTR_FOREIGN": "foreign",
    "CONSTR_PRIMARY": "primary",
    "CONSTR_UNIQUE": "unique",
    "CONSTR_EXCLUSION": "exclusion",
}


class SchemaState:
    """Tables by key, with copy-on-write forks (a down file is linted on a fork)."""

    def __init__(self) -> None:
        self.tables: MutableMapping[Key, Table] = {}
        self.index_owner: MutableMapping[Key, Key] = {}
        # The migration that last created each object (kept after the object is dropped).
        self.created: MutableMapping[ObjectKey, str] = {}
        # Table -> the tables that have had a foreign key to it (candidates: a later drop
        # of the key or table is not removed, so check their constraints).
        self.referrers: MutableMapping[Key, frozenset[Key]] = {}
        # Constraint name -> the tables that have had one of that name (candidates).
        self.constraint_tables: MutableMapping[str, frozenset[Key]] = {}
        # A table the history did not create, renamed or moved by it: its key now -> its
        # name before the history (what the live catalog still calls it).
        self.renamed_from: MutableMapping[Key, QualifiedName] = {}
        # A constraint of such a table renamed by the history: (the table's schema and
        # name in the live catalog, the constraint's name now) -> its name there.
        self.constraints_renamed_from: MutableMapping[tuple[str, str, str], str] = {}
        # How many foreign tables the history made or named: none (the common case) spares
        # every rule the question.
        self.foreign_tables = 0
        # Functions by name (their latest definition): volatility, inlinable.
        self.routines: MutableMapping[str, Routine] = {}
        # Views the history created, by key: what they read (DROP of it is rejected).
        self.views: MutableMapping[Key, View] = {}
        # What defaults, checks, indexes, views … need (schema_uses): DROP of it is rejected.
        self.uses = Uses()
        self._owned: set[Key] = set()
        # While an up file is recorded (down-incomplete): keeps each table it touches as
        # it was before, and at each step boundary. Never forked nor copied.
        self.recording: UpRecorder | None = None

    def fork(self) -> SchemaState:
        """A child state: changes to it never reach this one. This state must not change
        while the child is in use (the child reads through to it)."""
        # (not through __init__: its empty maps would be replaced at once; a fork is
        # made per down file and per step boundary of a multi-step up)
        child = SchemaState.__new__(SchemaState)
        child._owned, child.recording = set(), None
        child.tables = Layered(self.tables)
        child.index_owner = Layered(self.index_owner)
        child.created = Layered(self.created)
        child.referrers = Layered(self.referrers)
        child.constraint_tables = Layered(self.constraint_tables)
        child.renamed_from = Layered(self.renamed_from)
        child.constraints_renamed_from = Layered(self.constraints_renamed_from)
        child.foreign_tables = self.foreign_tables
        child.routines = Layered(self.routines)
        child.views = Layered(self.views)
        child.uses = self.uses.fork()
        return child

    def snapshot(self) -> SchemaState:
        """A copy of the state as it is now, kept intact while this one changes on."""
        copy = SchemaState()
        copy.tables = dict(self.tables)
        copy.index_owner = dict(self.index_owner)
        copy.created = dict(self.created)
        copy.referrers = dict(self.referrers)
        copy.constraint_tables = dict(self.constraint_tables)
        copy.renamed_from = dict(self.renamed_from)
        copy.constraints_renamed_from = dict(self.constraints_renamed_from)
        copy.foreign_tables = self.foreign_tables
        copy.routines = dict(self.routines)
        copy.views = dict(self.views)
        copy.uses = self.uses.copy()
        self._owned = (
            set()
        )  # tables now shared with the copy: copy them before a change
        return copy

    def table(self, name: QualifiedName | None) -> Table | None:
        """The known table called ``name`` (possibly a placeholder)."""
        return None if name is None else self.tables.get(key_of(name))

    def creator(
        self, kind: str, name: QualifiedName | None, sub: str = ""
    ) -> str | None:
        """The migration that last created the object (``kind`` is one of ``relation``,
        ``column``, ``constraint``, ``index``, ``trigger``, ``function``, ``type``)."""
        if name is None:
            return None
        schema, plain = key_of(name)
        return self.created.get((kind, schema, plain, sub))

    def dropped(self, kind: str, name: QualifiedName | None, sub: str = "") -> bool:
        """The history dropped the object (a view, a constraint …) and did not create it
        again: the live catalog, older, still shows it (``kind`` as for :meth:`creator`)."""
        if name is None:
            return False
        schema, plain = key_of(name)
        return ("drop:" + kind, schema, plain, sub) in self.created

    def policies(self, table: QualifiedName) -> list[str]:
        """The permissive row-security policies the history created on ``table`` and did
        not drop."""
        schema, plain = key_of(table)
        return [
            key[3]
            for key in self.created
            if key[0] == "policy" and key[1] == schema and key[2] == plain
            if ("drop:policy", schema, plain, key[3]) not in self.created
        ]

    def _log(self, kind: str, name: QualifiedName, origin: str, sub: str = "") -> None:
        schema, plain = key_of(name)
        self.created[(kind, schema, plain, sub)] = origin
        self.created.pop(("drop:" + kind, schema, plain, sub), None)

    def _log_drop(
        self, kind: str, name: QualifiedName, origin: str, sub: str = ""
    ) -> None:
        # Kept with the creations (forks and snapshots copy them alike) under "drop:".
        schema, plain = key_of(name)
        self.created[("drop:" + kind, schema, plain, sub)] = origin

    def _followed(self, name: QualifiedName) -> Table:
        """The table to record a change in: a placeholder when the history lacks it."""
        key = key_of(name)
        table = self._mutable(key)
        if table is None:
            table = Table(name, columns_known=False, placeholder=True)
            self.tables[key] = table
            self._owned.add(key)
        return table

    def table_of_index(self, name: QualifiedName) -> Table | None:
        """The table an index (by name) belongs to."""
        owner = self.index_owner.get(key_of(name))
        return None if owner is None else self.tables.get(owner)

    def referenced_by(
        self, table: QualifiedName, constraint: str
    ) -> QualifiedName | None:
        """The table a known foreign key ``constraint`` of ``table`` references."""
        known = self.table(table)
        con = None if known is None else known.constraints.get(constraint)
        return None if con is None else con.references

    def _mutable(self, key: Key) -> Table | None:
        if self.recording is not None:
            self.recording.remember(key)
        table = self.tables.get(key)
        if table is not None and key not in self._owned:
            table = table.copy()
            self.tables[key] = table
            self._owned.add(key)
        return table

    def _add_table(self, table: Table) -> None:
        key = key_of(table.name)
        if self.recording is not None:
            self.recording.remember(key)
        self.tables[key] = table
        self._owned.add(key)

    # ---- replay -------------------------------------------------------------------------

    def apply(self, stmt: Statement, origin: str) -> None:
        """Record what ``stmt`` does to the schema (statements it does not model are
        ignored)."""
        recording = self.recording
        if recording is not None and stmt.index in recording.starts:
            recording.checkpoint(stmt.index)
        track_uses(self, stmt.kind, stmt.body)
        handler = _APPLY.get(stmt.kind)
        if handler is not None:
            handler(self, stmt.body, origin)

    def _add_constraint(
        self,
        table: Table,
        con: Mapping[str, Any],
        columns: tuple[str, ...] = (),
        origin: str = "",
        merged: Merged = NO_MERGE,
    ) -> None:
        if merged[0] and id(con) in merged[0]:
            return  # one index with an earlier constraint of the CREATE TABLE
        if id(con) in merged[1]:
            con = {**con, "conname": merged[1][id(con)]}
        kind = _KINDS.get(con.get("contype", ""))
        if kind is None:
            if con.get("contype") == "CONSTR_NOTNULL":
                add_not_null(self, table, con, columns, origin)
            return
        keys = columns or _names(con.get("keys", ()) or con.get("fk_attrs", ()))
        if not keys and con.get("indexname") in table.indexes:  # … USING INDEX
            keys = table.indexes[con["indexname"]].columns
        if (
            kind == "check"
        ):  # the columns it reads (DROP COLUMN drops it; retyping, checks)
            keys = tuple(
                dict.fromkeys((*keys, *expression_columns(con.get("raw_expr"))))
            )
        if kind == "primary":
            for col in keys:
                column = table.columns.get(col)
                if column is not None:
                    table.columns[col] = column.with_not_null(True)
        # (… USING INDEX without a name: the constraint takes the index's, PG 15 and 18)
        name = (
            con.get("conname")
            or con.get("indexname")
            or default_constraint_name(
                table.name.name,
                kind,
                default_name_columns(kind, con, keys),
                taken=TakenNames(
                    self,
                    table,
                    relations=kind != "check" and kind != "foreign",
                    constraints=True,
                ),
            )
        )
        references = foreign_key_targets(con)
        table.constraints[name] = Constraint(
            name,
            kind,
            keys,
            validated=not con.get("skip_validation"),
            not_null_columns=(
                not_null_columns(con.get("raw_expr")) if kind == "check" else ()
            ),
            origin=origin,
            references=references,
            referenced_columns=_names(con.get("pk_attrs", ())),
        )
        if references is not None:
            target = key_of(references)
            self.referrers[target] = self.referrers.get(target, frozenset()) | {
                key_of(table.name)
            }
        self._log("constraint", table.name, origin, name)
        if kind == "check":
            record_uses(self.uses, "check", table.name, name, con.get("raw_expr"))
        note_constraint(self, key_of(table.name), name)
        if kind in ("primary", "unique", "exclusion"):
            # … USING INDEX renames that index to the constraint's name (PG 15 and 18).
            schema = table.name.schema or "public"
            old = table.indexes.pop(con.get("indexname") or name, None)
            if con.get("indexname"):
                self.index_owner.pop((schema, con["indexname"]), None)
            table.indexes[name] = Index(name, old.columns if old else keys, unique=True)
            self.index_owner[(schema, name)] = key_of(table.name)
            self.created.pop(("drop:index", schema, name, ""), None)

    def _column(
        self,
        table: Table,
        coldef: Mapping[str, Any],
        origin: str,
        merged: Merged = NO_MERGE,
    ) -> None:
        name = coldef.get("colname", "")
        type_node = coldef.get("typeName")
        declared = TypeRef.from_node(type_node) if type_node else None
        identity = identity_kind(coldef)
        table.columns[name] = Column(
            name,
            declared,
            bool(identity),  # an identity column is NOT NULL (attnotnull)
            set_by=origin,
            collation=declared_collation(coldef, declared),
            identity=identity,
        )
        self._log("column", table.name, origin, name)
        for con in column_constraints(coldef):
            self._add_constraint(table, con, (name,), origin, merged)


def _create(
    state: SchemaState, body: Mapping[str, Any], origin: str, *, foreign: bool = False
) -> None:
    name = range_var(body.get("relation"))
    if name is None or (body.get("if_not_exists") and state.table(name) is not None):
        return  # IF NOT EXISTS on a table that exists: PostgreSQL skips it
    spec = body.get("partspec")
    table = Table(name, origin=origin, partitioned=bool(spec), foreign=foreign)
    table.partition_key = partition_key(spec)
    state.foreign_tables += foreign
    merged = merged_index_constraints(body.get("tableElts", ()))
    for element in body.get("tableElts", ()):
        if "ColumnDef" in element:
            state._column(table, element["ColumnDef"], origin, merged)
        elif "Constraint" in element:
            state._add_constraint(
                table, element["Constraint"], origin=origin, merged=merged
            )
        elif "TableLikeClause" in element:
            table.columns_known = False
    if body.get("inhRelations") or body.get("partbound"):
        table.columns_known = False
    if (body.get("partbound") or {}).get("is_default"):
        parents = [range_var(r.get("RangeVar")) for r in body.get("inhRelations", ())]
        _set_default_partition(state, parents[0] if parents else None, name)
    state._add_table(table)
    state._log("relation", name, origin)


def _create_foreign(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    _create(state, body.get("base") or {}, origin, foreign=True)


def _create_as(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    name = range_var((body.get("into") or {}).get("rel"))
    if name is not None and not (body.get("if_not_exists") and state.table(name)):
        populated = not (body.get("into") or {}).get("skipData")
        state._add_table(
            Table(name, origin=origin, columns_known=False, populated=populated)
        )
        state._log("relation", name, origin)
        if body.get("objtype") == "OBJECT_MATVIEW":
            record_view(state, name, body.get("query"), materialized=True)


def _select_into(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """``SELECT … INTO t`` creates ``t``, like ``CREATE TABLE t AS``."""
    if body.get("intoClause"):
        _create_as(state, {"into": body["intoClause"]}, origin)


_IDENTITY_CHANGES = ("AT_AddIdentity", "AT_SetIdentity", "AT_DropIdentity")


def _alter(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    name = range_var(body.get("relation"))
    objtype = body.get("objtype", "OBJECT_TABLE")
    if name is None or objtype not in ALTERED_TABLES:
        return
    table = state._followed(name)
    if objtype == "OBJECT_FOREIGN_TABLE" and not table.foreign:
        table.foreign = True  # (a placeholder learns it here)
        state.foreign_tables += 1
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        subtype, column_name = cmd.get("subtype"), cmd.get("name", "")
        definition = cmd.get("def") or {}
        column = table.columns.get(column_name)
        if subtype == "AT_AddColumn":
            state._column(table, definition.get("ColumnDef", {}), origin)
        elif subtype == "AT_DropColumn":
            table.columns.pop(column_name, None)
            if cmd.get("behavior") == "DROP_CASCADE":
                forget_readers(state, key_of(table.name), column_name)
            for cname, con in list(table.constraints.items()):
                if column_name in con.columns or column_name in con.not_null_columns:
                    del table.constraints[cname]
        elif subtype == "AT_AlterColumnType" and (column or table.placeholder):
            type_node = definition.get("ColumnDef", {}).get("typeName")
            new_type = TypeRef.from_node(type_node) if type_node else None
            old = column or Column(column_name, None)
            table.columns[column_name] = Column(
                old.name,
                new_type,
                old.not_null,
                origin,
                declared_collation(definition.get("ColumnDef", {}), new_type),
                old.identity,
            )
        elif subtype in _IDENTITY_CHANGES and (column or table.placeholder):
            kind = identity_change(subtype, definition)
            if kind is not None:
                old = column or Column(column_name, None)
                table.columns[column_name] = replace(
                    old, not_null=old.not_null or bool(kind), identity=kind
                )
        elif subtype in ("AT_SetNotNull", "AT_DropNotNull"):
            mark_not_null(table, (column_name,), subtype == "AT_SetNotNull")
        elif subtype == "AT_AddConstraint":
            state._add_constraint(
                table, definition.get("Constraint", {}), origin=origin
            )
        elif subtype == "AT_ValidateConstraint" and column_name in table.constraints:
            con = table.constraints[column_name]
            table.constraints[column_name] = replace(con, validated=True)
            if con.kind == "not null":
                mark_not_null(table, con.columns, True)
        elif subtype == "AT_DropConstraint":
            dropped = table.constraints.pop(column_name, None)
            for col in (
                dropped.columns if dropped and dropped.kind == "not null" else ()
            ):
                if (column := table.columns.get(col)) is not None:
                    table.columns[col] = column.with_not_null(False)
            if dropped and table.indexes.pop(column_name, None) is not None:
                # Its index goes with it: the name is free again (PG 15 and 18).
                state.index_owner.pop((key_of(table.name)[0], column_name), None)
                index = QualifiedName(table.name.schema, column_name)
                state._log_drop("index", index, origin)
            state._log_drop("constraint", table.name, origin, column_name)
        elif subtype == "AT_AttachPartition":
            child = range_var((definition.get("PartitionCmd") or {}).get("name"))
            if child is not None:
                state._followed(child).attached_by = origin
            if ((definition.get("PartitionCmd") or {}).get("bound") or {}).get(
                "is_default"
            ):
                table.default_partition = child
        elif subtype == "AT_DetachPartition":
            partcmd = definition.get("PartitionCmd") or {}
            child = range_var(partcmd.get("name"))
            default = table.default_partition
            if child is not None and default and key_of(child) == key_of(default):
                table.default_partition = None
            if child is not None and partcmd.get("concurrent"):
                _detach_check(state, table, child, origin)


def _detach_check(
    state: SchemaState, parent: Table, child: QualifiedName, origin: str
) -> None:
    """DETACH … CONCURRENTLY leaves the partition constraint on ``child`` as a validated
    CHECK, named as an unnamed one (none for a hash partition; PG 15 and 18)."""
    table = state._mutable(key_of(child))
    if table is None or parent.partition_key is None:
        return
    taken = TakenNames(state, table, relations=False, constraints=True)
    name = detach_check_name(child.name, parent.partition_key, taken)
    if name is not None:
        columns = parent.partition_key[1]
        table.constraints[name] = Constraint(name, "check", columns, origin=origin)
        table.detach_check = name
        state._log("constraint", child, origin, name)


def _set_default_partition(
    state: SchemaState, parent: QualifiedName | None, child: QualifiedName
) -> None:
    """Record ``child`` as the DEFAULT partition of ``parent`` (when the history knows
    the parent: adding a partition to it scans the default one)."""
    known = None if parent is None else state._mutable(key_of(parent))
    if known is not None:
        known.default_partition = child


def _drop(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    remove = body.get("removeType", "")
    if state.views:
        drop_views(state, body)
    for obj in body.get("objects", ()):
        items = obj.get("List", {}).get("items", [])
        if not items:
            continue
        name = name_list(items)
        if remove in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"):
            if state.recording is not None:
                state.recording.remember(key_of(name))
            state.tables.pop(key_of(name), None)
        if remove in ("OBJECT_TABLE", "OBJECT_MATVIEW", "OBJECT_VIEW"):
            state._log_drop("relation", name, origin)
        elif remove == "OBJECT_POLICY" and len(items) > 1:  # [table name…, policy]
            state._log_drop(
                "policy", name_list(items[:-1]), origin, items[-1]["String"]["sval"]
            )
        elif remove == "OBJECT_INDEX":
            state._log_drop("index", name, origin)
            owner = state.index_owner.pop(key_of(name), None)
            table = None if owner is None else state._mutable(owner)
            if table is not None:
                table.indexes.pop(name.name, None)


_APPLY = {
    "CreateStmt": _create,
    "CreateTableAsStmt": _create_as,
    "CreateForeignTableStmt": _create_foreign,
    "SelectStmt": _select_into,
    "AlterTableStmt": _alter,
    "IndexStmt": create_index,
    "DropStmt": _drop,
    "RenameStmt": rename,
    "AlterObjectSchemaStmt": set_schema,
    "CreateTrigStmt": create_trigger,
    "CreatePolicyStmt": create_policy,
    "CreateSchemaStmt": create_schema,
    "CreateFunctionStmt": create_function,
    "CreateExtensionStmt": create_extension,
    "AlterDomainStmt": alter_domain,
    "AlterFunctionStmt": alter_function,
    "ViewStmt": view_stmt,
    "CreateSeqStmt": logged("relation", "sequence", relation=True),
    "CompositeTypeStmt": logged("type", "typevar", relation=True),
    "CreateEnumStmt": logged("type", "typeName"),
    "CreateDomainStmt": logged("type", "domainname"),
    "DefineStmt": define,
    "RefreshMatViewStmt": refresh,
}
