"""Parse node → :class:`~atomig.sql.facts.StatementFacts`: one small function per node kind.

Nodes are libpg_query's JSON (plain dicts). Each function reads only the fields it needs.
"""

from __future__ import annotations

from collections.abc import Callable

from atomig.sql.alter_table import (
    alter_table_facts,
    column_constraints,
    dropped_foreign_key_locks,
    foreign_key_targets,
)
from atomig.sql.facts import QualifiedName, StatementFacts, TransactionControl
from atomig.sql.locks import LockMode
from atomig.sql.nodes import (
    Body,
    def_names,
    locks_of,
    name_list,
    no_transaction,
    range_var,
    truthy,
    type_relation,
)
from atomig.sql.parse import Statement
from atomig.sql.versions import ServerVersion

# Re-exported: lint and plan read nodes through this module.
__all__ = [
    "column_constraints",
    "def_names",
    "dropped_foreign_key_locks",
    "foreign_key_targets",
    "name_list",
    "range_var",
    "statement_facts",
    "validates_constraint",
]

_M = LockMode

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
        return no_transaction("COMMIT/ROLLBACK PREPARED", transaction_control=control)
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
        return no_transaction(
            "CREATE INDEX CONCURRENTLY",
            locks=locks_of((table, _M.SHARE_UPDATE_EXCLUSIVE)),
            concurrent=True,
            creates=creates,
            scans=(table,) if table else (),
        )
    return StatementFacts(
        locks=locks_of((table, _M.SHARE)),
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
            return no_transaction(
                "DROP INDEX CONCURRENTLY",
                locks=locks_of(*((name, _M.SHARE_UPDATE_EXCLUSIVE) for name in names)),
                concurrent=True,
            )
        return StatementFacts(
            locks=locks_of(*((name, _M.ACCESS_EXCLUSIVE) for name in names))
        )
    if remove in _DROP_ON_TABLE_TYPES:
        tables = [name_list(items[:-1]) for items in objects if len(items) > 1]
        return StatementFacts(
            locks=locks_of(*((t, _M.ACCESS_EXCLUSIVE) for t in tables))
        )
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
            return no_transaction(
                f"REINDEX {kind.rsplit('_', 1)[-1]}", concurrent=concurrently
            )
        return StatementFacts()
    # REINDEX TABLE reads the whole table to build each index again (REINDEX INDEX too,
    # but its table is not in the text).
    table = (relation,) if relation and kind == "REINDEX_OBJECT_TABLE" else ()
    if concurrently:
        return no_transaction(
            "REINDEX CONCURRENTLY",
            locks=locks_of((relation, _M.SHARE_UPDATE_EXCLUSIVE)),
            concurrent=True,
            scans=table,
        )
    mode = _M.ACCESS_EXCLUSIVE if kind == "REINDEX_OBJECT_INDEX" else _M.SHARE
    return StatementFacts(locks=locks_of((relation, mode)), scans=table)


def _vacuum(body: Body, version: ServerVersion) -> StatementFacts:
    relations = [
        range_var(r.get("VacuumRelation", {}).get("relation"))
        for r in body.get("rels", ())
    ]
    options = def_names(body.get("options"))
    full = truthy(options.get("full", False))
    mode = _M.ACCESS_EXCLUSIVE if full else _M.SHARE_UPDATE_EXCLUSIVE
    locks = locks_of(*((r, mode) for r in relations))
    rewritten = tuple(r for r in relations if r is not None) if full else ()
    if body.get("is_vacuumcmd"):
        return no_transaction(
            "VACUUM", locks=locks, rewrites=rewritten, scans=rewritten
        )
    return StatementFacts(locks=locks)


def _cluster(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    if relation is None:
        return no_transaction("CLUSTER without a table name")
    return StatementFacts(
        locks=locks_of((relation, _M.ACCESS_EXCLUSIVE)),
        rewrites=(relation,),
        scans=(relation,),
    )


def _alter_enum(body: Body, version: ServerVersion) -> StatementFacts:
    adding = body.get("newVal") is not None and body.get("oldVal") is None
    if adding and not version.enum_add_value_in_transaction:
        return no_transaction(
            f"ALTER TYPE … ADD VALUE before PostgreSQL 12 (server {version})"
        )
    return StatementFacts()


def _alter_database(body: Body, version: ServerVersion) -> StatementFacts:
    if "tablespace" in def_names(body.get("options")):
        return no_transaction("ALTER DATABASE … SET TABLESPACE")
    return StatementFacts()


def _create_subscription(body: Body, version: ServerVersion) -> StatementFacts:
    options = def_names(body.get("options"))
    if truthy(options.get("create_slot", True)) and truthy(
        options.get("connect", True)
    ):
        return no_transaction("CREATE SUBSCRIPTION with create_slot = true")
    return StatementFacts()


def _alter_subscription(body: Body, version: ServerVersion) -> StatementFacts:
    kind = body.get("kind", "")
    options = def_names(body.get("options"))
    if kind == "ALTER_SUBSCRIPTION_REFRESH" or (
        kind.endswith("_PUBLICATION") and truthy(options.get("refresh", True))
    ):
        return no_transaction("ALTER SUBSCRIPTION … REFRESH PUBLICATION")
    return StatementFacts()


def _discard(body: Body, version: ServerVersion) -> StatementFacts:
    if body.get("target") == "DISCARD_ALL":
        return no_transaction("DISCARD ALL")
    return StatementFacts()


def _always_no_tx(reason: str) -> Callable[[Body, ServerVersion], StatementFacts]:
    def facts(body: Body, version: ServerVersion) -> StatementFacts:
        return no_transaction(reason)

    return facts


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
    # LIKE copies from a table it opens ACCESS SHARE; OF reads the composite type's
    # relation ACCESS SHARE (checked in pg_locks on PG 15 and 18).
    for element in body.get("tableElts", ()):
        like = element.get("TableLikeClause", {}).get("relation")
        pairs.append((range_var(like), _M.ACCESS_SHARE))
    pairs.append((type_relation(body.get("ofTypename")), _M.ACCESS_SHARE))
    return StatementFacts(locks=locks_of(*pairs), creates=(table,) if table else ())


def _rename(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    if body.get("renameType") == "OBJECT_INDEX":
        return StatementFacts(locks=locks_of((relation, _M.SHARE_UPDATE_EXCLUSIVE)))
    return StatementFacts(locks=locks_of((relation, _M.ACCESS_EXCLUSIVE)))


def _single(
    mode: LockMode, field: str = "relation"
) -> Callable[[Body, ServerVersion], StatementFacts]:
    def facts(body: Body, version: ServerVersion) -> StatementFacts:
        return StatementFacts(locks=locks_of((range_var(body.get(field)), mode)))

    return facts


# COMMENT takes SHARE UPDATE EXCLUSIVE on a relation it comments on (or a column of), and
# ACCESS SHARE on the table of a constraint, trigger, policy or rule (get_object_address;
# checked in pg_locks on PG 15 and 18).
_COMMENT_ON_RELATION = frozenset(
    {
        "OBJECT_TABLE",
        "OBJECT_VIEW",
        "OBJECT_MATVIEW",
        "OBJECT_INDEX",
        "OBJECT_SEQUENCE",
        "OBJECT_FOREIGN_TABLE",
    }
)
_COMMENT_ON_TABLE_OBJECT = frozenset(
    {"OBJECT_TABCONSTRAINT", "OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"}
)


def _comment(body: Body, version: ServerVersion) -> StatementFacts:
    objtype = body.get("objtype", "")
    items = body.get("object", {}).get("List", {}).get("items")
    if not items:
        return StatementFacts()
    if objtype in _COMMENT_ON_RELATION:
        return StatementFacts(
            locks=locks_of((name_list(items), _M.SHARE_UPDATE_EXCLUSIVE))
        )
    if objtype == "OBJECT_COLUMN":
        return StatementFacts(
            locks=locks_of((name_list(items[:-1]), _M.SHARE_UPDATE_EXCLUSIVE))
        )
    if objtype in _COMMENT_ON_TABLE_OBJECT and len(items) > 1:
        return StatementFacts(locks=locks_of((name_list(items[:-1]), _M.ACCESS_SHARE)))
    return StatementFacts()


def _publication(body: Body, version: ServerVersion) -> StatementFacts:
    # Adding, setting or dropping a publication's tables takes SHARE UPDATE EXCLUSIVE on
    # each named table (publicationcmds.c; checked in pg_locks on PG 15 and 18). SET TABLE
    # also locks the tables it removes, which the text does not name.
    tables = [
        range_var(
            spec.get("PublicationObjSpec", {}).get("pubtable", {}).get("relation")
        )
        for spec in body.get("pubobjects", ())
    ]
    return StatementFacts(
        locks=locks_of(*((t, _M.SHARE_UPDATE_EXCLUSIVE) for t in tables))
    )


def _owned_by(body: Body) -> QualifiedName | None:
    """The table of a sequence's ``OWNED BY table.column`` option (ACCESS SHARE)."""
    for item in body.get("options", ()):
        elem = item.get("DefElem") or {}
        if elem.get("defname") == "owned_by":
            items = (elem.get("arg") or {}).get("List", {}).get("items", [])
            if len(items) > 1:
                return name_list(items[:-1])
    return None


def _create_stats(body: Body, version: ServerVersion) -> StatementFacts:
    relations = [range_var(r.get("RangeVar")) for r in body.get("relations", ())]
    return StatementFacts(
        locks=locks_of(*((r, _M.SHARE_UPDATE_EXCLUSIVE) for r in relations))
    )


def _refresh(body: Body, version: ServerVersion) -> StatementFacts:
    view = range_var(body.get("relation"))
    on = (view,) if view is not None else ()
    if body.get("concurrent"):
        # CONCURRENTLY builds the new contents aside and diffs them against every row of
        # the old ones under EXCLUSIVE: a full read, no new relfilenode.
        return StatementFacts(
            locks=locks_of((view, _M.EXCLUSIVE)), concurrent=True, scans=on
        )
    # A plain REFRESH fills a new relfilenode and swaps it in under ACCESS EXCLUSIVE
    # (relfilenode checked on PG 15 and 18).
    return StatementFacts(
        locks=locks_of((view, _M.ACCESS_EXCLUSIVE)), rewrites=on, scans=on
    )


def _lock(body: Body, version: ServerVersion) -> StatementFacts:
    mode = LockMode(body.get("mode", 8))
    return StatementFacts(
        locks=locks_of(
            *((range_var(r.get("RangeVar")), mode) for r in body.get("relations", ()))
        )
    )


def _truncate(body: Body, version: ServerVersion) -> StatementFacts:
    return StatementFacts(
        locks=locks_of(
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
            locks=locks_of((view, _M.ACCESS_EXCLUSIVE)), creates=(view,) if view else ()
        )
    return StatementFacts(creates=(view,) if view else ())


def _create_table_as(body: Body, version: ServerVersion) -> StatementFacts:
    table = range_var((body.get("into") or {}).get("rel"))
    return StatementFacts(creates=(table,) if table else ())


def _create_seq(body: Body, version: ServerVersion) -> StatementFacts:
    seq = range_var(body.get("sequence"))
    return StatementFacts(
        locks=locks_of((_owned_by(body), _M.ACCESS_SHARE)),
        creates=(seq,) if seq else (),
    )


def _alter_seq(body: Body, version: ServerVersion) -> StatementFacts:
    # ALTER SEQUENCE locks SHARE ROW EXCLUSIVE, which conflicts with nextval's ROW
    # EXCLUSIVE: every INSERT that takes a value waits until COMMIT (checked on PG 15, 18).
    return StatementFacts(
        locks=locks_of(
            (range_var(body.get("sequence")), _M.SHARE_ROW_EXCLUSIVE),
            (_owned_by(body), _M.ACCESS_SHARE),
        )
    )


def _create_trigger(body: Body, version: ServerVersion) -> StatementFacts:
    # A constraint trigger's FROM table is opened ACCESS SHARE (checked on PG 15 and 18).
    return StatementFacts(
        locks=locks_of(
            (range_var(body.get("relation")), _M.SHARE_ROW_EXCLUSIVE),
            (range_var(body.get("constrrel")), _M.ACCESS_SHARE),
        )
    )


def _alter_schema(body: Body, version: ServerVersion) -> StatementFacts:
    relation = range_var(body.get("relation"))
    return StatementFacts(locks=locks_of((relation, _M.ACCESS_EXCLUSIVE)))


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
    "AlterTableStmt": alter_table_facts,
    "CreateStmt": _create_table,
    "RenameStmt": _rename,
    "CreateTrigStmt": _create_trigger,
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
    "AlterSeqStmt": _alter_seq,
    "CreatePublicationStmt": _publication,
    "AlterPublicationStmt": _publication,
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
