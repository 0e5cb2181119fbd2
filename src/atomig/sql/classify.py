"""Parse node → :class:`~atomig.sql.facts.StatementFacts`: one small function per node kind.

Nodes are libpg_query's JSON (plain dicts). Each function reads only the fields it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from atomig.sql.facts import (
    QualifiedName,
    RelationLock,
    StatementFacts,
    TransactionControl,
)
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement
from atomig.sql.types import SERIAL_TYPES, using_keeps_column
from atomig.sql.versions import ServerVersion
from atomig.sql.volatility import Volatility, expression_volatility

Body = Mapping[str, Any]
_M = LockMode


def range_var(node: Body | None) -> QualifiedName | None:
    """A ``RangeVar`` dict as a :class:`QualifiedName`."""
    if not node or "relname" not in node:
        return None
    return _qualified(node.get("schemaname"), node["relname"])


# Migrations name the same tables over and over, and lint asks each statement's relation
# several times: one (frozen) name per spelling is cheaper than a new one per question.
_qualified = lru_cache(maxsize=4096)(QualifiedName)


def name_list(items: Iterable[Body]) -> QualifiedName:
    """A ``[String, String]`` name list (as in DROP … and ALTER TYPE) as a name."""
    parts = [item["String"]["sval"] for item in items if "String" in item]
    if len(parts) >= 2:
        return QualifiedName(parts[-2], parts[-1])
    return QualifiedName(None, parts[-1] if parts else "")


def def_names(options: Iterable[Body] | None) -> dict[str, Any]:
    """``DefElem`` option lists as ``{name: arg-or-True}``."""
    out: dict[str, Any] = {}
    for item in options or ():
        elem = item.get("DefElem")
        if elem is not None:
            arg = elem.get("arg")
            out[elem["defname"]] = _const_text(arg) if arg is not None else True
    return out


def _const_text(arg: Body) -> Any:
    if "String" in arg:
        return arg["String"].get("sval", "")
    if "Integer" in arg:
        return arg["Integer"].get("ival", 0)
    if "Boolean" in arg:
        return arg["Boolean"].get("boolval", False)
    if "A_Const" in arg:
        const = arg["A_Const"]
        for key in ("sval", "ival", "boolval", "fval"):
            if key in const:
                value = const[key]
                return (
                    next(iter(value.values()), "") if isinstance(value, dict) else value
                )
    if "TypeName" in arg:
        return arg
    return arg


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() not in ("false", "off", "0", "no")
    return bool(value)


def _locks(*pairs: tuple[QualifiedName | None, LockMode]) -> tuple[RelationLock, ...]:
    strongest: dict[QualifiedName, LockMode] = {}
    for relation, mode in pairs:
        if relation is not None and mode > strongest.get(relation, 0):
            strongest[relation] = mode
    return tuple(RelationLock(rel, mode) for rel, mode in strongest.items())


def _no_tx(reason: str, **kwargs: Any) -> StatementFacts:
    return StatementFacts(transactional=False, no_transaction_reason=reason, **kwargs)


# ---- transaction control -------------------------------------------------------------

_TX_KINDS = {
    "TRANS_STMT_BEGIN": TransactionControl.BEGIN,
    "TRANS_STMT_START": TransactionControl.BEGIN,
    "TRANS_STMT_COMMIT": TransactionControl.COMMIT,
    "TRANS_STMT_ROLLBACK": TransactionControl.ROLLBACK,
    "TRANS_STMT_SAVEPOINT": TransactionControl.SAVEPOINT,
    "TRANS_STMT_RELEASE": TransactionControl.RELEASE,
    "TRANS_STMT_ROLLBACK_TO": TransactionControl.ROLLBACK_TO,
    "TRANS_STMT_PREPARE": TransactionControl.PREPARE,
    "TRANS_STMT_COMMIT_PREPARED": TransactionControl.COMMIT_PREPARED,
    "TRANS_STMT_ROLLBACK_PREPARED": TransactionControl.ROLLBACK_PREPARED,
}


def _transaction(body: Body, version: ServerVersion) -> StatementFacts:
    control = _TX_KINDS.get(body.get("kind", ""), TransactionControl.BEGIN)
    if control in (
        TransactionControl.COMMIT_PREPARED,
        TransactionControl.ROLLBACK_PREPARED,
    ):
        return _no_tx("COMMIT/ROLLBACK PREPARED", transaction_control=control)
    return StatementFacts(transaction_control=control)


# ---- statements that cannot run in a transaction block, and lock-taking DDL -----------


def _index(body: Body, version: ServerVersion) -> StatementFacts:
    table = range_var(body.get("relation"))
    created = (
        QualifiedName(table.schema if table else None, body["idxname"])
        if body.get("idxname")
        else None
    )
    creates = (created,) if created else ()
    if body.get("concurrent"):
        return _no_tx(
            "CREATE INDEX CONCURRENTLY",
            locks=_locks((table, _M.SHARE_UPDATE_EXCLUSIVE)),
            concurrent=True,
            creates=creates,
            scans=(table,) if table else (),
        )
    return StatementFacts(
        locks=_locks((table, _M.SHARE)),
        creates=creates,
        scans=(table,) if table else (),
    )


_DROP_RELATION_TYPES = {
    "OBJECT_TABLE",
    "OBJECT_VIEW",
    "OBJECT_MATVIEW",
    "OBJECT_FOREIGN_TABLE",
    "OBJECT_SEQUENCE",
    "OBJECT_INDEX",
}
# DROP TRIGGER/RULE/POLICY name the table as all but the last element of the name.
_DROP_ON_TABLE_TYPES = {"OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY"}


def _drop(body: Body, version: ServerVersion) -> StatementFacts:
    remove = body.get("removeType", "")
    objects = [obj.get("List", {}).get("items", []) for obj in body.get("objects", ())]
    if remove in _DROP_RELATION_TYPES:
        names = [name_list(items) for items in objects if items]
        if body.get("concurrent"):
            return _no_tx(
                "DROP INDEX CONCURRENTLY",
                locks=_locks(*((name, _M.SHARE_UPDATE_EXCLUSIVE) for name in names)),
                concurrent=True,
            )
        return StatementFacts(
            locks=_locks(*((name, _M.ACCESS_EXCLUSIVE) for name in names))
        )
    if remove in _DROP_ON_TABLE_TYPES:
        tables = [name_list(items[:-1]) for items in objects if len(items) > 1]
        return StatementFacts(locks=_locks(*((t, _M.ACCESS_EXCLUSIVE) for t in tables)))
    return StatementFacts()


def _reindex(body: Body, version: ServerVersion) -> StatementFacts:
    kind = body.get("kind", "")
    relation = range_var(body.get("relation"))
    concurrently = "concurrently" in def_names(body.get("params"))
    if kind in (
        "REINDEX_OBJECT_SYSTEM",
        "REINDEX_OBJECT_DATABASE",
        "REINDEX_OBJECT_SCHEMA",
    ):
        if kind != "REINDEX_OBJECT_SCHEMA" or concurrently:
            return _no_tx(f"REINDEX {kind.rsplit('_', 1)[-1]}", concurrent=concurrently)
        return StatementFacts()
    if concurrently:
        return _no_tx(
            "REINDEX CONCURRENTLY",
            locks=_locks((relation, _M.SHARE_UPDATE_EXCLUSIVE)),
            concurrent=True,
        )
    mode = _M.ACCESS_EXCLUSIVE if kind == "REINDEX_OBJECT_INDEX" else _M.SHARE
    return StatementFacts(locks=_locks((relation, mode)))


def _vacuum(body: Body, version: ServerVersion) -> StatementFacts:
    relations = [
        range_var(r.get("VacuumRelation", {}).get("relation"))
        for r in body.get("rels", ())
    ]
    options = def_names(body.get("options"))
    full = _truthy(options.get("full", False))
    mode = _M.ACCESS_EXCLUSIVE if full else _M.SHARE_UPDATE_EXCLUSIVE
    locks = _locks(*((r, mode) for r in relations))
    rewritten = tuple(r for r in relations if r is not None) if full else ()
    if body.get("is_vacuumcmd"):
        return _no_tx("VACUUM", locks=locks, rewrites=rewritten, scans=rewritten)
    return StatementFacts(locks=locks)


def _cluster(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    if relation is None:
        return _no_tx("CLUSTER without a table name")
    return StatementFacts(
        locks=_locks((relation, _M.ACCESS_EXCLUSIVE)),
        rewrites=(relation,),
        scans=(relation,),
    )


def _alter_enum(body: Body, version: ServerVersion) -> StatementFacts:
    adding = body.get("newVal") is not None and body.get("oldVal") is None
    if adding and not version.enum_add_value_in_transaction:
        return _no_tx(f"ALTER TYPE … ADD VALUE before PostgreSQL 12 (server {version})")
    return StatementFacts()


def _alter_database(body: Body, version: ServerVersion) -> StatementFacts:
    if "tablespace" in def_names(body.get("options")):
        return _no_tx("ALTER DATABASE … SET TABLESPACE")
    return StatementFacts()


def _create_subscription(body: Body, version: ServerVersion) -> StatementFacts:
    options = def_names(body.get("options"))
    if _truthy(options.get("create_slot", True)) and _truthy(
        options.get("connect", True)
    ):
        return _no_tx("CREATE SUBSCRIPTION with create_slot = true")
    return StatementFacts()


def _alter_subscription(body: Body, version: ServerVersion) -> StatementFacts:
    kind = body.get("kind", "")
    options = def_names(body.get("options"))
    if kind == "ALTER_SUBSCRIPTION_REFRESH" or (
        kind.endswith("_PUBLICATION") and _truthy(options.get("refresh", True))
    ):
        return _no_tx("ALTER SUBSCRIPTION … REFRESH PUBLICATION")
    return StatementFacts()


def _discard(body: Body, version: ServerVersion) -> StatementFacts:
    if body.get("target") == "DISCARD_ALL":
        return _no_tx("DISCARD ALL")
    return StatementFacts()


def _always_no_tx(reason: str) -> Callable[[Body, ServerVersion], StatementFacts]:
    def facts(body: Body, version: ServerVersion) -> StatementFacts:
        return _no_tx(reason)

    return facts


# ---- ALTER TABLE ----------------------------------------------------------------------

_SHARE_UPDATE_EXCLUSIVE_CMDS = frozenset(
    {
        "AT_SetStatistics",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_ValidateConstraint",
        "AT_ClusterOn",
        "AT_DropCluster",
        "AT_SetRelOptions",
        "AT_ResetRelOptions",
        "AT_DetachPartitionFinalize",
    }
)
_SHARE_ROW_EXCLUSIVE_CMDS = frozenset(
    {
        "AT_EnableTrig",
        "AT_EnableAlwaysTrig",
        "AT_EnableReplicaTrig",
        "AT_EnableTrigAll",
        "AT_EnableTrigUser",
        "AT_DisableTrig",
        "AT_DisableTrigAll",
        "AT_DisableTrigUser",
    }
)


_RELOPTION_CMDS = frozenset({"AT_SetRelOptions", "AT_ResetRelOptions"})
# SET/RESET (…) takes the strongest lock of its options (reloptions.c lockmode): these
# take ACCESS EXCLUSIVE, the others (fillfactor, autovacuum_*, toast.*, parallel_workers …)
# SHARE UPDATE EXCLUSIVE (checked in pg_locks on PG 15 and 18).
_EXCLUSIVE_RELOPTIONS = frozenset(
    {
        "security_barrier",
        "security_invoker",
        "check_option",
        "user_catalog_table",
        "buffering",
    }
)


def _exclusive_reloption(definition: Body) -> bool:
    items = definition.get("List", {}).get("items", ())
    return any(
        (i.get("DefElem") or {}).get("defname") in _EXCLUSIVE_RELOPTIONS
        and not (i.get("DefElem") or {}).get("defnamespace")
        for i in items
    )


def foreign_key_targets(constraint: Body) -> QualifiedName | None:
    """The referenced table of a FOREIGN KEY ``Constraint`` dict, else ``None``."""
    if constraint.get("contype") == "CONSTR_FOREIGN":
        return range_var(constraint.get("pktable"))
    return None


_REWRITING_CMDS = frozenset(
    {"AT_SetLogged", "AT_SetUnLogged", "AT_SetTableSpace", "AT_SetAccessMethod"}
)


def column_constraints(coldef: Body) -> list[Body]:
    """The ``Constraint`` dicts of a ``ColumnDef`` dict."""
    return [c["Constraint"] for c in coldef.get("constraints", ()) if "Constraint" in c]


def added_column_rewrites(coldef: Body, version: ServerVersion) -> bool | None:
    """Whether ``ADD COLUMN coldef`` rewrites the table: True, False, or None when it
    depends on the volatility of a function the builtin table does not know.

    serial types and identity columns fill every row from a sequence, and so do volatile
    defaults and stored generated columns; before PostgreSQL 11 any non-NULL default did.
    """
    type_name = coldef.get("typeName") or {}
    names = [n["String"]["sval"] for n in type_name.get("names", ()) if "String" in n]
    if names and names[-1] in SERIAL_TYPES and len(names) == 1:
        return True
    for constraint in column_constraints(coldef):
        contype = constraint.get("contype")
        if contype == "CONSTR_GENERATED" and constraint.get("generated_kind") == "v":
            continue  # VIRTUAL (PostgreSQL 18): computed when read, nothing stored
        if contype in ("CONSTR_IDENTITY", "CONSTR_GENERATED"):
            return True
        if contype == "CONSTR_DEFAULT":
            expr = constraint.get("raw_expr") or {}
            if "A_Const" in expr and expr["A_Const"].get("isnull"):
                return False
            if not version.fast_column_default:
                return True
            level, _ = expression_volatility(expr)
            if level is Volatility.UNKNOWN:
                return None
            return level is Volatility.VOLATILE
    return False


def _alter_table(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    pairs: list[tuple[QualifiedName | None, LockMode]] = []
    rewrites = may_rewrite = scans = False
    reason = None
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        subtype = cmd.get("subtype", "")
        definition = cmd.get("def") or {}
        mode = _M.ACCESS_EXCLUSIVE
        if subtype in _RELOPTION_CMDS and _exclusive_reloption(definition):
            pass  # a view's options, user_catalog_table, gist buffering: ACCESS EXCLUSIVE
        elif subtype in _SHARE_UPDATE_EXCLUSIVE_CMDS:
            mode = _M.SHARE_UPDATE_EXCLUSIVE
            scans = scans or subtype == "AT_ValidateConstraint"
        elif subtype in _SHARE_ROW_EXCLUSIVE_CMDS:
            mode = _M.SHARE_ROW_EXCLUSIVE
        elif subtype in _REWRITING_CMDS:
            # SET TABLESPACE copies the files rather than rewriting rows, but it is the same
            # hazard: a new relfilenode, written in full under ACCESS EXCLUSIVE.
            rewrites = True
        elif subtype == "AT_SetNotNull":
            scans = True
        elif subtype == "AT_AlterColumnType":
            # USING col or USING col::new_type is decided as without USING.
            if using_keeps_column(
                definition.get("ColumnDef") or {}, cmd.get("name", "")
            ):
                may_rewrite = True
            else:
                rewrites = True
        elif subtype == "AT_AddConstraint":
            constraint = definition.get("Constraint", {})
            referenced = foreign_key_targets(constraint)
            if referenced is not None:
                mode = _M.SHARE_ROW_EXCLUSIVE
                pairs.append((referenced, _M.SHARE_ROW_EXCLUSIVE))
            if not constraint.get("skip_validation") and not constraint.get(
                "indexname"
            ):
                scans = scans or constraint.get("contype") in (
                    "CONSTR_CHECK",
                    "CONSTR_FOREIGN",
                    "CONSTR_PRIMARY",
                    "CONSTR_UNIQUE",
                    "CONSTR_EXCLUSION",
                )
        elif subtype == "AT_AddColumn":
            coldef = definition.get("ColumnDef", {})
            for constraint in column_constraints(coldef):
                referenced = foreign_key_targets(constraint)
                pairs.append((referenced, _M.SHARE_ROW_EXCLUSIVE))
            verdict = added_column_rewrites(coldef, version)
            rewrites = rewrites or verdict is True
            may_rewrite = may_rewrite or verdict is None
        elif subtype in ("AT_AddInherit", "AT_DropInherit"):
            # The parent is read while the child is hooked up or unhooked (tablecmds.c
            # ATExecAddInherit / ATExecDropInherit; checked in pg_locks on PG 15 and 18).
            parent_mode = (
                _M.SHARE_UPDATE_EXCLUSIVE
                if subtype == "AT_AddInherit"
                else _M.ACCESS_SHARE
            )
            pairs.append((range_var(definition.get("RangeVar")), parent_mode))
        elif subtype == "AT_AttachPartition":
            # Since PG 12 the parent only needs SHARE UPDATE EXCLUSIVE; the partition being
            # attached is locked ACCESS EXCLUSIVE and scanned unless a CHECK proves the bound.
            mode = (
                _M.SHARE_UPDATE_EXCLUSIVE
                if version.at_least(12)
                else _M.ACCESS_EXCLUSIVE
            )
            partition = range_var(definition.get("PartitionCmd", {}).get("name"))
            pairs.append((partition, _M.ACCESS_EXCLUSIVE))
        elif subtype == "AT_DetachPartition":
            partcmd = definition.get("PartitionCmd", {})
            partition = range_var(partcmd.get("name"))
            if partcmd.get("concurrent"):
                mode = _M.SHARE_UPDATE_EXCLUSIVE
                reason = "ALTER TABLE … DETACH PARTITION … CONCURRENTLY"
                pairs.append((partition, _M.SHARE_UPDATE_EXCLUSIVE))
            else:
                pairs.append((partition, _M.ACCESS_EXCLUSIVE))
        pairs.append((relation, mode))
    locks = _locks(*pairs)
    # A foreign table's rows are remote: PostgreSQL neither scans nor rewrites them.
    foreign = body.get("objtype") == "OBJECT_FOREIGN_TABLE"
    on = (relation,) if relation is not None and not foreign else ()
    extra: dict[str, Any] = {
        "rewrites": on if rewrites else (),
        "may_rewrite": on if may_rewrite and not rewrites else (),
        "scans": on if scans or rewrites else (),
    }
    if reason is not None:
        return _no_tx(reason, locks=locks, concurrent=True, **extra)
    return StatementFacts(locks=locks, **extra)


def dropped_foreign_key_locks(
    statement: Statement,
    referenced_by: Callable[[QualifiedName, str], QualifiedName | None],
) -> tuple[RelationLock, ...]:
    """The locks an ``ALTER TABLE … DROP CONSTRAINT`` takes on referenced tables.

    Dropping a foreign key also takes ACCESS EXCLUSIVE on the table it references, to
    remove the triggers there (tablecmds.c ``dropconstraint_internal``; checked in
    pg_locks on PG 15 and 18). The text does not say which constraint is a foreign key:
    ``referenced_by(table, constraint)`` answers from what the caller knows (the replayed
    history), giving the referenced table, or ``None`` for any other or unknown one.
    """
    if statement.kind != "AlterTableStmt":
        return ()
    relation = range_var(statement.body.get("relation"))
    if relation is None:
        return ()
    pairs = []
    for item in statement.body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        if cmd.get("subtype") == "AT_DropConstraint" and cmd.get("name"):
            referenced = referenced_by(relation, cmd["name"])
            if referenced is not None and referenced != relation:
                pairs.append((referenced, _M.ACCESS_EXCLUSIVE))
    return _locks(*pairs)


def _create_table(body: Body, version: ServerVersion) -> StatementFacts:
    table = range_var(body.get("relation"))
    pairs: list[tuple[QualifiedName | None, LockMode]] = []
    for element in body.get("tableElts", ()):
        constraints = element.get("ColumnDef", {}).get("constraints", ())
        if "Constraint" in element:
            constraints = [element]
        for constraint in constraints:
            pairs.append(
                (
                    foreign_key_targets(constraint.get("Constraint", {})),
                    _M.SHARE_ROW_EXCLUSIVE,
                )
            )
    parent_mode = (
        _M.ACCESS_EXCLUSIVE if body.get("partbound") else _M.SHARE_UPDATE_EXCLUSIVE
    )
    for parent in body.get("inhRelations", ()):
        pairs.append((range_var(parent.get("RangeVar")), parent_mode))
    return StatementFacts(locks=_locks(*pairs), creates=(table,) if table else ())


def _rename(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    if body.get("renameType") == "OBJECT_INDEX":
        return StatementFacts(locks=_locks((relation, _M.SHARE_UPDATE_EXCLUSIVE)))
    return StatementFacts(locks=_locks((relation, _M.ACCESS_EXCLUSIVE)))


def _single(
    mode: LockMode, field: str = "relation"
) -> Callable[[Body, ServerVersion], StatementFacts]:
    def facts(body: Body, version: ServerVersion) -> StatementFacts:
        return StatementFacts(locks=_locks((range_var(body.get(field)), mode)))

    return facts


def _comment(body: Body, version: ServerVersion) -> StatementFacts:
    objtype = body.get("objtype", "")
    obj = body.get("object", {})
    if objtype in ("OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW") and "List" in obj:
        return StatementFacts(
            locks=_locks((name_list(obj["List"]["items"]), _M.SHARE_UPDATE_EXCLUSIVE))
        )
    if objtype == "OBJECT_COLUMN" and "List" in obj:
        return StatementFacts(
            locks=_locks(
                (name_list(obj["List"]["items"][:-1]), _M.SHARE_UPDATE_EXCLUSIVE)
            )
        )
    return StatementFacts()


def _create_stats(body: Body, version: ServerVersion) -> StatementFacts:
    relations = [range_var(r.get("RangeVar")) for r in body.get("relations", ())]
    return StatementFacts(
        locks=_locks(*((r, _M.SHARE_UPDATE_EXCLUSIVE) for r in relations))
    )


def _refresh(body: Body, version: ServerVersion) -> StatementFacts:
    mode = _M.EXCLUSIVE if body.get("concurrent") else _M.ACCESS_EXCLUSIVE
    return StatementFacts(
        locks=_locks((range_var(body.get("relation")), mode)),
        concurrent=bool(body.get("concurrent")),
    )


def _lock(body: Body, version: ServerVersion) -> StatementFacts:
    mode = LockMode(body.get("mode", 8))
    return StatementFacts(
        locks=_locks(
            *((range_var(r.get("RangeVar")), mode) for r in body.get("relations", ()))
        )
    )


def _truncate(body: Body, version: ServerVersion) -> StatementFacts:
    return StatementFacts(
        locks=_locks(
            *(
                (range_var(r.get("RangeVar")), _M.ACCESS_EXCLUSIVE)
                for r in body.get("relations", ())
            )
        )
    )


def _view(body: Body, version: ServerVersion) -> StatementFacts:
    view = range_var(body.get("view"))
    if body.get("replace"):
        return StatementFacts(
            locks=_locks((view, _M.ACCESS_EXCLUSIVE)), creates=(view,) if view else ()
        )
    return StatementFacts(creates=(view,) if view else ())


def _create_table_as(body: Body, version: ServerVersion) -> StatementFacts:
    table = range_var((body.get("into") or {}).get("rel"))
    return StatementFacts(creates=(table,) if table else ())


def _create_seq(body: Body, version: ServerVersion) -> StatementFacts:
    seq = range_var(body.get("sequence"))
    return StatementFacts(creates=(seq,) if seq else ())


def _alter_schema(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    return StatementFacts(locks=_locks((relation, _M.ACCESS_EXCLUSIVE)))


_DISPATCH: dict[str, Callable[[Body, ServerVersion], StatementFacts]] = {
    "TransactionStmt": _transaction,
    "IndexStmt": _index,
    "DropStmt": _drop,
    "ReindexStmt": _reindex,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _cluster,
    "AlterEnumStmt": _alter_enum,
    "AlterDatabaseStmt": _alter_database,
    "CreatedbStmt": _always_no_tx("CREATE DATABASE"),
    "DropdbStmt": _always_no_tx("DROP DATABASE"),
    "AlterSystemStmt": _always_no_tx("ALTER SYSTEM"),
    "CreateTableSpaceStmt": _always_no_tx("CREATE TABLESPACE"),
    "DropTableSpaceStmt": _always_no_tx("DROP TABLESPACE"),
    "CreateSubscriptionStmt": _create_subscription,
    "AlterSubscriptionStmt": _alter_subscription,
    "DropSubscriptionStmt": _always_no_tx(
        "DROP SUBSCRIPTION (with a replication slot)"
    ),
    "DiscardStmt": _discard,
    "AlterTableStmt": _alter_table,
    "CreateStmt": _create_table,
    "RenameStmt": _rename,
    "CreateTrigStmt": _single(_M.SHARE_ROW_EXCLUSIVE),
    "RuleStmt": _single(_M.ACCESS_EXCLUSIVE),
    "CreatePolicyStmt": _single(_M.ACCESS_EXCLUSIVE, "table"),
    "AlterPolicyStmt": _single(_M.ACCESS_EXCLUSIVE, "table"),
    "CommentStmt": _comment,
    "CreateStatsStmt": _create_stats,
    "RefreshMatViewStmt": _refresh,
    "LockStmt": _lock,
    "TruncateStmt": _truncate,
    "UpdateStmt": _single(_M.ROW_EXCLUSIVE),
    "DeleteStmt": _single(_M.ROW_EXCLUSIVE),
    "InsertStmt": _single(_M.ROW_EXCLUSIVE),
    "MergeStmt": _single(_M.ROW_EXCLUSIVE),
    "ViewStmt": _view,
    "CreateTableAsStmt": _create_table_as,
    "CreateSeqStmt": _create_seq,
    # AlterSequence locks SHARE ROW EXCLUSIVE, which conflicts with nextval's ROW
    # EXCLUSIVE: every INSERT that takes a value waits until COMMIT (checked on PG 15, 18).
    "AlterSeqStmt": _single(_M.SHARE_ROW_EXCLUSIVE, "sequence"),
    "AlterObjectSchemaStmt": _alter_schema,
}


def statement_facts(statement: Statement, version: ServerVersion) -> StatementFacts:
    """The facts of one statement on a server of ``version``."""
    handler = _DISPATCH.get(statement.kind)
    if handler is None:
        return StatementFacts()
    return handler(statement.body, version)


def validates_constraint(statement: Statement) -> bool:
    """Whether ``statement`` is an ``ALTER TABLE … VALIDATE CONSTRAINT``: a full scan under
    SHARE UPDATE EXCLUSIVE, during which every lock its transaction took before stays held
    (the planner gives it a transaction of its own; lint models the same)."""
    if statement.kind != "AlterTableStmt":
        return False
    return any(
        item.get("AlterTableCmd", {}).get("subtype") == "AT_ValidateConstraint"
        for item in statement.body.get("cmds", ())
    )
