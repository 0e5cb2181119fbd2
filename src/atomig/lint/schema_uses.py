"""Dependencies the schema replay follows (:class:`~atomig.lint.schema.SchemaState`): the
sequences and functions that column defaults, identities, generated columns, CHECK
constraints, indexes, views, row-security policies and triggers need.

PostgreSQL records each in ``pg_depend`` and rejects, without CASCADE (2BP01, PG 15 and
18), ``DROP SEQUENCE`` while a default or a view reads it (``nextval('s')``, a ``serial``
column's own sequence) and ``DROP FUNCTION`` while a default, CHECK, generated column,
index expression or predicate, view, policy or trigger calls it; an identity column's
sequence is internal to the column: its DROP is rejected even with CASCADE. With CASCADE
it drops them silently: the default, the constraint, the index, the view, the policy, the
whole generated column. Renames and schema moves are followed (the dependency is on the
object, not its name); DROP TABLE, DROP COLUMN, DROP DEFAULT, DROP IDENTITY, DROP
TRIGGER, DROP POLICY, DROP INDEX, DROP VIEW, a CASCADE and DROP SCHEMA end them. Only
what the SQL says is recorded, and a call only when it can be told which function it is
(one the history created, the one of its name that a call with that many arguments fits).

``state.uses`` (:class:`~atomig.lint.schema_deps.Uses`) keys each use
``(use, table schema, table, sub)``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_deps import (
    Need,
    UseKey,
    Uses,
    expression_needs,
    record_uses,
)
from atomig.lint.schema_model import Key, Table, key_of
from atomig.lint.schema_names import TakenNames
from atomig.lint.schema_views import forget_readers
from atomig.sql.depends import (
    dropped_signature,
    function_signature,
    identity_sequence,
    is_serial,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.naming import default_sequence_name, expression_columns
from atomig.sql.nodes import name_list, range_var
from atomig.sql.view_reads import query_reads

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState

__all__ = [
    "Need",
    "UseKey",
    "Uses",
    "generated_readers",
    "record_uses",
    "relation_users",
    "track_uses",
    "users_of",
]

_TABLES = ("OBJECT_TABLE", "OBJECT_FOREIGN_TABLE")
_ROUTINES = ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE")
_RELATIONS = (
    *_TABLES,
    "OBJECT_SEQUENCE",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_INDEX",
)
_VIEWS = ("OBJECT_VIEW", "OBJECT_MATVIEW")
_ANY: Any = object()  # users_of: a function of any arguments (DROP FUNCTION f)


def users_of(
    state: SchemaState, kind: str, name: QualifiedName, args: Any = _ANY
) -> list[UseKey]:
    """The uses that need the object ``name`` (``kind``: ``sequence`` or ``function``;
    ``args``: the function's input argument types, ``None`` for any)."""
    target = key_of(name)
    found = []
    for key in state.uses.needing(target):
        needs = state.uses.needs.get(key, ())
        if any(
            n.kind == kind and n.key == target and args in (None, _ANY, n.args)
            for n in needs
        ) and _present(state, key):
            found.append(key)
    return sorted(found)


def _present(state: SchemaState, key: UseKey) -> bool:
    """The use is still there (a DROP COLUMN or DROP CONSTRAINT may have taken a CHECK,
    an index or a generated column with it without the use being forgotten)."""
    use, table_key, sub = key[0], (key[1], key[2]), key[3]
    if use == "view":
        return table_key in state.views
    if use == "index":
        return state.index_owner.get((key[1], sub)) == table_key
    table = state.tables.get(table_key)
    if use == "check":
        return table is not None and sub in table.constraints
    if use == "generated":
        return table is not None and sub in table.columns
    return True


def _column(
    state: SchemaState, table: QualifiedName, coldef: Mapping[str, Any]
) -> None:
    column = coldef.get("colname", "")
    schema, plain = key_of(table)
    # One pass over its constraints (this runs for every column of the history).
    default = identity = None
    generated = []
    for item in coldef.get("constraints", ()):
        con = item.get("Constraint") or {}
        contype = con.get("contype")
        if contype == "CONSTR_DEFAULT":
            default = con.get("raw_expr")
        elif contype == "CONSTR_IDENTITY":
            identity = con
        elif contype == "CONSTR_GENERATED":
            generated.append(con.get("raw_expr"))
    needs = [] if default is None else expression_needs(state.uses, default)
    if identity is not None or is_serial(coldef):
        own = None if identity is None else identity_sequence(identity)
        if own is None:  # named as PostgreSQL names it (ChooseRelationName)
            taken = TakenNames(state, Table(table), relations=True, constraints=False)
            own = QualifiedName(schema, default_sequence_name(plain, column, taken))
        if identity is None:
            needs.append(Need("sequence", *key_of(own)))
        else:
            state.uses.set(
                ("identity", schema, plain, column), [Need("sequence", *key_of(own))]
            )
    key = ("default", schema, plain, column)
    if needs or key in state.uses.needs:
        state.uses.set(key, needs)
    if generated:  # (rare: the walks are spared to every other column)
        needs = expression_needs(state.uses, generated, sequences=False)
        reads = dict.fromkeys(expression_columns({"exprs": generated}))
        needs += [Need("column", schema, plain, (read,)) for read in reads]
        state.uses.set(("generated", schema, plain, column), needs)


def generated_readers(
    state: SchemaState, table: QualifiedName, column: str
) -> list[str]:
    """The generated columns of ``table`` computed from ``column``: PostgreSQL rejects
    dropping it without CASCADE (2BP01, PG 15 and 18), and drops them with CASCADE."""
    schema, plain = key_of(table)
    read = Need("column", schema, plain, (column,))
    return sorted(
        key[3]
        for key in state.uses.needing((schema, plain))
        if key[0] == "generated"
        and read in state.uses.needs.get(key, ())
        and _present(state, key)
    )


def routine_args(use: UseKey) -> tuple[str, ...]:
    """The argument types of a ``routine`` use's function (its ``sub``)."""
    return tuple(use[3].split(",")) if use[3] else ()


def relation_users(
    state: SchemaState, table: QualifiedName, dropped_too: Collection[Key] = ()
) -> list[str]:
    """The policies and BEGIN ATOMIC function bodies of the history that read ``table``
    (less the policies of tables in ``dropped_too``, dropped by the same statement):
    PostgreSQL rejects DROP TABLE without CASCADE (2BP01, PG 15 and 18: 'policy p on table
    orders depends on table other', 'function cnt() depends on table other2')."""
    return [
        f"policy {key[3]} on table {key[2]}"
        if key[0] == "policy"
        else f"function {key[2]}({', '.join(routine_args(key))})"
        for key in users_of(state, "relation", table)
        if key[0] == "routine"
        or (key[0] == "policy" and (key[1], key[2]) not in dropped_too)
    ]


def _forget_table(state: SchemaState, table: Key) -> None:
    for key in state.uses.of_table(table):
        state.uses.remove(key)


def _create(state: SchemaState, body: Mapping[str, Any]) -> None:
    name = range_var(body.get("relation"))
    if name is None or (body.get("if_not_exists") and state.table(name) is not None):
        return
    _forget_table(state, key_of(name))  # (a table of that name dropped earlier)
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
            expression = definition or None
            needs = expression_needs(state.uses, expression)
            state.uses.set(("default", schema, plain, column), needs)
        elif subtype == "AT_DropColumn":
            # Its own keys, found directly (a scan per DROP COLUMN made a long history
            # quadratic); the CHECKs and indexes it takes are checked on lookup.
            for use in ("default", "identity", "generated"):
                state.uses.remove((use, schema, plain, column))
            if (
                cmd.get("behavior") == "DROP_CASCADE"
            ):  # the generated columns reading it
                for reader in generated_readers(state, table, column):
                    known = state._mutable((schema, plain))
                    if known is not None:
                        known.columns.pop(reader, None)
                    state.uses.remove(("generated", schema, plain, reader))
        elif subtype == "AT_DropIdentity":
            state.uses.remove(("identity", schema, plain, column))
        elif subtype == "AT_DropExpression":  # (PG 13+) a plain column now
            state.uses.remove(("generated", schema, plain, column))
        elif subtype == "AT_AddIdentity":
            own = identity_sequence(definition.get("Constraint") or {})
            if own is None:
                taken = TakenNames(
                    state, Table(table), relations=True, constraints=False
                )
                own = QualifiedName(schema, default_sequence_name(plain, column, taken))
            need = Need("sequence", *key_of(own))
            state.uses.set(("identity", schema, plain, column), [need])


def _trigger(state: SchemaState, body: Mapping[str, Any]) -> None:
    table = range_var(body.get("relation"))
    if table is not None and body.get("trigname") and body.get("funcname"):
        schema, plain = key_of(table)
        function = Need("function", *key_of(name_list(body["funcname"])))
        # (and the functions its WHEN condition calls: PG 15 and 18 record them too)
        when = expression_needs(state.uses, body.get("whenClause"), sequences=False)
        state.uses.set(("trigger", schema, plain, body["trigname"]), [function, *when])


def _policy(
    state: SchemaState, body: Mapping[str, Any], *, alter: bool = False
) -> None:
    """CREATE POLICY (ALTER POLICY: a changed expression replaces what it needed; one
    clause of two changed: which needs were the other's is not known, so none)."""
    table = range_var(body.get("table"))
    if table is None or not body.get("policy_name"):
        return
    key = ("policy", *key_of(table), body["policy_name"])
    clauses = [body.get("qual"), body.get("with_check")]
    if alter and clauses == [None, None]:
        return  # ALTER POLICY … TO roles: its expressions stay
    partly = alter and None in clauses
    needs = [] if partly else expression_needs(state.uses, clauses, sequences=False)
    if not partly:  # the tables its subqueries read (its own: dropped with it)
        needs += _relations(clauses, skip=key_of(table))
    state.uses.set(key, needs)


def _relations(node: Any, skip: Key | None = None) -> list[Need]:
    """The tables (views …) a query or expression reads: PostgreSQL records each."""
    return [
        Need("relation", *key)
        for r in query_reads({"q": node}).relations
        if (key := key_of(r)) != skip
    ]


def _domain_check(
    state: SchemaState, domain: QualifiedName, con: Mapping[str, Any], taken: set[str]
) -> None:
    """A domain's CHECK: what it calls. Unnamed, it is ``<domain>_check`` (numbered while
    the domain has one of that name: ChooseConstraintName, PG 15 and 18)."""
    name = con.get("conname")
    if not name:
        name, number = f"{domain.name}_check", 0
        while name in taken:
            number += 1
            name = f"{domain.name}_check{number}"
    taken.add(name)
    needs = expression_needs(state.uses, con.get("raw_expr"), sequences=False)
    if needs:
        state.uses.set(("domain", *key_of(domain), name), needs)


def _create_domain(state: SchemaState, body: Mapping[str, Any]) -> None:
    if body.get("domainname") and state.uses.signatures:
        domain, taken = name_list(body["domainname"]), set[str]()
        for item in body.get("constraints", ()):
            con = item.get("Constraint") or {}
            if con.get("contype") == "CONSTR_CHECK":
                _domain_check(state, domain, con, taken)


def _alter_domain(state: SchemaState, body: Mapping[str, Any]) -> None:
    if not body.get("typeName"):
        return
    domain = name_list(body["typeName"])
    con = (body.get("def") or {}).get("Constraint") or {}
    if body.get("subtype") == "C" and con.get("contype") == "CONSTR_CHECK":
        schema, plain = key_of(domain)
        taken = {k[3] for k in state.uses.of_table((schema, plain))}
        _domain_check(state, domain, con, taken)
    elif body.get("subtype") == "X" and body.get("name"):
        state.uses.remove(("domain", *key_of(domain), body["name"]))


def _alter_policy(state: SchemaState, body: Mapping[str, Any]) -> None:
    _policy(state, body, alter=True)


def _function(state: SchemaState, body: Mapping[str, Any]) -> None:
    if body.get("funcname") and not body.get("is_procedure"):
        key = key_of(name_list(body["funcname"]))
        signature = function_signature(body)
        state.uses.define(key, signature)
        # A BEGIN ATOMIC body is parsed at creation and depends on what it reads and
        # calls (PG 14+; a quoted body is looked up at each call: nothing recorded).
        sub = ",".join(signature[0])
        needs = []
        if body.get("sql_body") is not None:
            atomic = body["sql_body"]
            needs = _relations(atomic) + expression_needs(state.uses, atomic)
        state.uses.set(("routine", *key, sub), needs)


def _drop(state: SchemaState, body: Mapping[str, Any]) -> None:
    remove, cascade = body.get("removeType"), body.get("behavior") == "DROP_CASCADE"
    for obj in body.get("objects", ()):
        items = (obj.get("List") or {}).get("items") or (
            obj.get("ObjectWithArgs") or {}
        ).get("objname")
        if remove == "OBJECT_SCHEMA" and "String" in obj:
            _drop_schema(state, obj["String"]["sval"])
        if remove == "OBJECT_DOMAIN" and (obj.get("TypeName") or {}).get("names"):
            _forget_table(state, key_of(name_list(obj["TypeName"]["names"])))
        if not items:
            continue
        target = key_of(name_list(items))
        if remove in _TABLES:  # its defaults, triggers, checks … go with it
            _forget_table(state, target)
            if cascade:  # and the policies and function bodies reading it
                _cascade(state, "relation", target, None)
        elif remove in _VIEWS:
            state.uses.remove(("view", *target, ""))
        elif remove == "OBJECT_INDEX":
            owner = state.index_owner.get(target)
            if owner is not None:
                state.uses.remove(("index", *owner, target[1]))
        elif remove in ("OBJECT_TRIGGER", "OBJECT_POLICY") and len(items) > 1:
            table = key_of(name_list(items[:-1]))
            use = "trigger" if remove == "OBJECT_TRIGGER" else "policy"
            state.uses.remove((use, *table, items[-1]["String"]["sval"]))
        if remove in _ROUTINES:
            args = dropped_signature(obj)
            for key in state.uses.of_table(target):
                if key[0] == "routine" and args in (None, routine_args(key)):
                    state.uses.remove(key)
            if cascade:
                _cascade(state, "function", target, args)
            state.uses.undefine(target, args)
        elif remove == "OBJECT_SEQUENCE" and cascade:
            _cascade(state, "sequence", target, None)


def _cascade(
    state: SchemaState, kind: str, target: Key, args: tuple[str, ...] | None
) -> None:
    """``DROP … CASCADE`` of what uses need: PostgreSQL drops those uses too (not an
    identity: its sequence stays rejected), and a generated column, index, CHECK or view
    with them."""
    for key in users_of(state, kind, QualifiedName(*target), args):
        if key[0] == "identity":
            continue
        state.uses.remove(key)
        use, table_key, sub = key[0], (key[1], key[2]), key[3]
        if use == "view":
            state.views.pop(table_key, None)
            forget_readers(state, table_key)
            continue
        if use == "policy":
            state._log_drop("policy", QualifiedName(*table_key), "", sub)
            continue
        if use == "routine":
            state.uses.undefine(table_key, routine_args(key))
            continue
        table = state._mutable(table_key)
        if table is None:
            continue
        if use == "index":
            table.indexes.pop(sub, None)
            state.index_owner.pop((key[1], sub), None)
        elif use == "check":
            table.constraints.pop(sub, None)
        elif use == "generated":
            table.columns.pop(sub, None)
            forget_readers(state, table_key, sub)
            for other in ("default", "identity"):
                state.uses.remove((other, *table_key, sub))


def _drop_schema(state: SchemaState, schema: str) -> None:
    """DROP SCHEMA (… CASCADE): the uses of its tables and of its objects end, and its
    tables, views and indexes are gone (one pass over the known tables: a rare
    statement)."""
    for mapping in (state.tables, state.views, state.index_owner):
        for gone in [k for k in mapping if k[0] == schema]:
            del mapping[gone]
    for key in state.uses.keys_in(schema):
        for use in (*state.uses.of_table(key), *state.uses.needing(key)):
            state.uses.remove(use)
    for function in [k for k in state.uses.signatures if k[0] == schema]:
        state.uses.undefine(function, None)


def _rename(state: SchemaState, body: Mapping[str, Any]) -> None:
    kind, new = body.get("renameType"), body.get("newname", "")
    relation = range_var(body.get("relation"))
    if kind in _RELATIONS and relation is not None:
        old = key_of(relation)
        owner = state.index_owner.get(old)
        if owner is not None:  # ALTER INDEX (or TABLE) … RENAME of an index
            _rekey(state, ("index", *owner, old[1]), new)
        state.uses.move_table(old, (old[0], new))
        for need in ("sequence", "column", "relation"):
            state.uses.move_need(old, (old[0], new), need)
    elif kind == "OBJECT_TABCONSTRAINT" and relation is not None:
        _rekey(state, ("check", *key_of(relation), body.get("subname", "")), new)
    elif kind in _SUBS and relation is not None:
        old, (schema, plain) = body.get("subname", ""), key_of(relation)
        uses = _SUBS[kind]
        for use in uses:
            _rekey(state, (use, schema, plain, old), new)
        if kind == "OBJECT_COLUMN":  # the generated columns reading it read it renamed
            read = Need("column", schema, plain, (old,))
            for key in state.uses.needing((schema, plain)):
                needs = state.uses.needs.get(key, ())
                if read in needs:
                    moved = (n._replace(args=(new,)) if n == read else n for n in needs)
                    state.uses.set(key, moved)
    elif kind in _ROUTINES:
        obj = (body.get("object") or {}).get("ObjectWithArgs") or {}
        if obj.get("objname"):
            old_key = key_of(name_list(obj["objname"]))
            args = dropped_signature({"ObjectWithArgs": obj})
            state.uses.rename_function(old_key, (old_key[0], new), args)
    elif kind == "OBJECT_SCHEMA" and body.get("subname"):
        state.uses.rename_schema(body["subname"], new)
    elif kind in ("OBJECT_DOMAIN", "OBJECT_DOMCONSTRAINT"):
        items = ((body.get("object") or {}).get("List") or {}).get("items")
        domain = key_of(name_list(items)) if items else None
        if domain is not None and kind == "OBJECT_DOMAIN":
            state.uses.move_table(domain, (domain[0], new))
        elif domain is not None:
            _rekey(state, ("domain", *domain, body.get("subname", "")), new)


def _rekey(state: SchemaState, key: UseKey, sub: str) -> None:
    needs = state.uses.remove(key)
    if needs is not None:
        state.uses.set((*key[:3], sub), needs)


def _set_schema(state: SchemaState, body: Mapping[str, Any]) -> None:
    kind, schema = body.get("objectType"), body.get("newschema", "")
    relation = range_var(body.get("relation"))
    if kind in _RELATIONS and relation is not None:
        old = key_of(relation)
        state.uses.move_table(old, (schema, relation.name))
        for need in ("sequence", "column", "relation"):
            state.uses.move_need(old, (schema, relation.name), need)
    elif kind in _ROUTINES:
        obj = (body.get("object") or {}).get("ObjectWithArgs") or {}
        if obj.get("objname"):
            old_key = key_of(name_list(obj["objname"]))
            args = dropped_signature({"ObjectWithArgs": obj})
            state.uses.rename_function(old_key, (schema, old_key[1]), args)


_SUBS = {  # what a rename of a table's column, trigger or policy re-keys
    "OBJECT_COLUMN": ("default", "identity", "generated"),
    "OBJECT_TRIGGER": ("trigger",),
    "OBJECT_POLICY": ("policy",),
}
_TRACK = {
    "CreateStmt": _create,
    "CreatePolicyStmt": _policy,
    "CreateDomainStmt": _create_domain,
    "AlterDomainStmt": _alter_domain,
    "AlterPolicyStmt": _alter_policy,
    "AlterTableStmt": _alter,
    "CreateTrigStmt": _trigger,
    "CreateFunctionStmt": _function,
    "DropStmt": _drop,
    "RenameStmt": _rename,
    "AlterObjectSchemaStmt": _set_schema,
}


def track_uses(state: SchemaState, kind: str, body: Mapping[str, Any]) -> None:
    """Record what a statement does to the dependencies (before the replay applies it:
    ``CREATE TABLE IF NOT EXISTS`` of a table it knows changes nothing). CHECKs, indexes
    and views are recorded by the replay as it names them (:func:`record_uses`)."""
    handler = _TRACK.get(kind)
    if handler is not None:
        handler(state, body)
