"""Is a statement safe to run on a *partial* state? (down files used to roll back a partial up)

When step k of a migration fails after steps 1..k-1 committed, atomig rolls back by running
the down file on a schema where only part of the up happened. A down statement is safe there
when it succeeds whether or not the up got as far as the object it undoes:

* guarded: ``DROP … IF EXISTS``, ``CREATE … IF NOT EXISTS``, ``CREATE OR REPLACE``,
  ``ALTER TABLE … DROP COLUMN / DROP CONSTRAINT IF EXISTS``, ``ADD COLUMN IF NOT EXISTS``;
* state-setting on objects that existed before the migration: ``ALTER COLUMN … SET/DROP
  DEFAULT``, ``SET/DROP NOT NULL``, ``TYPE``, storage and statistics settings, data changes;
* ``ALTER TABLE/INDEX/SEQUENCE/VIEW … IF EXISTS … RENAME TO`` or ``SET SCHEMA`` (a relation
  the up renamed or moved, put back only if the up got that far);
* a ``DO`` block, the one way to guard what PostgreSQL has no IF [NOT] EXISTS for (an added
  constraint, a rename): atomig cannot read PL/pgSQL and trusts its author;
* session settings, transaction control, plain SELECT.

Anything else — an unguarded DROP, ``ADD CONSTRAINT``, a rename — is refused up front, with
the statement named, before the up runs. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.objects import object_name
from atomig.sql.parse import Statement

Body = Mapping[str, Any]
Check = Callable[[Body, Collection[QualifiedName]], str | None]

_ALWAYS_SAFE = frozenset(
    {
        "TransactionStmt",
        "VariableSetStmt",
        "VariableShowStmt",
        "SelectStmt",
        "DoStmt",
        "CommentStmt",
        "NotifyStmt",
    }
)
# Guarded by IF NOT EXISTS.
_IF_NOT_EXISTS = frozenset(
    {
        "IndexStmt",
        "CreateStmt",
        "CreateSeqStmt",
        "CreateSchemaStmt",
        "CreateExtensionStmt",
        "CreateTableAsStmt",
        "CreateForeignTableStmt",
        "CreateStatsStmt",
    }
)
# Guarded by OR REPLACE.
_OR_REPLACE = frozenset(
    {"CreateFunctionStmt", "ViewStmt", "CreateTrigStmt", "RuleStmt"}
)
# ALTER TABLE sub-commands that set a state and succeed whether or not it is already set.
_IDEMPOTENT_ALTERS = frozenset(
    {
        "AT_ColumnDefault",
        "AT_DropNotNull",
        "AT_SetNotNull",
        "AT_AlterColumnType",
        "AT_SetStatistics",
        "AT_SetStorage",
        "AT_SetCompression",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_SetRelOptions",
        "AT_ResetRelOptions",
        "AT_SetLogged",
        "AT_SetUnLogged",
        "AT_ReplicaIdentity",
        "AT_EnableRowSecurity",
        "AT_DisableRowSecurity",
        "AT_ForceRowSecurity",
        "AT_NoForceRowSecurity",
        "AT_EnableTrig",
        "AT_DisableTrig",
        "AT_EnableTrigAll",
        "AT_DisableTrigAll",
        "AT_EnableTrigUser",
        "AT_DisableTrigUser",
        "AT_ChangeOwner",
    }
)
_GUARDED_ALTERS = {
    "AT_DropColumn": "DROP COLUMN … needs IF EXISTS",
    "AT_DropConstraint": "DROP CONSTRAINT … needs IF EXISTS",
    "AT_AddColumn": "ADD COLUMN … needs IF NOT EXISTS",
}


def _created(
    relation: QualifiedName | None, created: Collection[QualifiedName]
) -> bool:
    # Names as written: an unqualified name matches a qualified one of the same name.
    if relation is None:
        return False
    return any(
        c.name == relation.name
        and (c.schema is None or relation.schema is None or c.schema == relation.schema)
        for c in created
    )


def _alter_table(body: Body, created: Collection[QualifiedName]) -> str | None:
    relation = range_var(body.get("relation"))
    if _created(relation, created) and not body.get("missing_ok"):
        return (
            f"ALTER TABLE {relation} needs IF EXISTS: the up creates {relation}, so it "
            "may not exist when the up stopped early"
        )
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        subtype = cmd.get("subtype", "")
        if subtype in _GUARDED_ALTERS:
            if not cmd.get("missing_ok"):
                return _GUARDED_ALTERS[subtype]
        elif subtype not in _IDEMPOTENT_ALTERS:
            what = subtype.removeprefix("AT_")
            return (
                f"ALTER TABLE … {what} cannot be guarded with IF [NOT] EXISTS "
                "(wrap it in a DO block that checks the catalog first)"
            )
    return None


def _dml(body: Body, created: Collection[QualifiedName]) -> str | None:
    relation = range_var(body.get("relation"))
    if _created(relation, created):
        return f"it changes rows of {relation}, which the up creates (it may not exist)"
    return None


def _drop(body: Body, created: Collection[QualifiedName]) -> str | None:
    return None if body.get("missing_ok") else "DROP … needs IF EXISTS"


# A relation renamed or moved with IF EXISTS is skipped when it does not exist (PG 15 and 18):
# a down renaming back what the up renamed runs whether or not the up got that far.
_RELATIONS = frozenset(
    {
        "OBJECT_TABLE",
        "OBJECT_INDEX",
        "OBJECT_SEQUENCE",
        "OBJECT_VIEW",
        "OBJECT_MATVIEW",
        "OBJECT_FOREIGN_TABLE",
    }
)


def _rename(body: Body, created: Collection[QualifiedName]) -> str | None:
    relation = body.get("renameType") or body.get("objectType")
    if relation not in _RELATIONS:
        return (
            "this rename cannot be guarded with IF EXISTS (only a table's, index's, "
            "sequence's or view's can): wrap it in a DO block that checks the catalog"
        )
    if body.get("missing_ok"):
        return None
    return "ALTER … RENAME TO / SET SCHEMA needs IF EXISTS"


_CHECKS: dict[str, Check] = {
    "AlterTableStmt": _alter_table,
    "RenameStmt": _rename,
    "AlterObjectSchemaStmt": _rename,
    "InsertStmt": _dml,
    "UpdateStmt": _dml,
    "DeleteStmt": _dml,
    "DropStmt": _drop,
    # Cluster-wide objects: IF EXISTS makes a missing one a notice (PG 15, 18).
    "DropdbStmt": _drop,
    "DropTableSpaceStmt": _drop,
    "DropSubscriptionStmt": _drop,
}


def cleared_relations(statement: Statement) -> set[QualifiedName]:
    """The relations a ``DROP … IF EXISTS`` leaves absent whatever the state was: a later
    ``CREATE`` of one of them (same name as written) cannot meet it.

    >>> from atomig.sql.parse import parse_script
    >>> [drop] = parse_script("DROP VIEW IF EXISTS a.v, w").statements
    >>> sorted(map(str, cleared_relations(drop)))
    ['a.v', 'w']
    """
    body = statement.body
    if not body.get("missing_ok") or body.get("removeType") not in _RELATIONS:
        return set()
    names = (object_name(obj) for obj in body.get("objects", ()))
    return {name for name in names if name is not None}


def made_relation(statement: Statement) -> QualifiedName | None:
    """The relation a ``CREATE`` makes, as written (an index in its table's schema)."""
    body = statement.body
    if statement.kind == "IndexStmt":
        table, index = range_var(body.get("relation")), body.get("idxname")
        return QualifiedName(table.schema if table else None, index) if index else None
    return range_var(body.get("relation") or body.get("view") or body.get("sequence"))


def partial_state_hazard(
    statement: Statement,
    created_by_up: Collection[QualifiedName] = (),
    cleared: Collection[QualifiedName] = (),
) -> str | None:
    """Why ``statement`` (of a down file) may fail on a partially applied up, or ``None``.

    Args:
        created_by_up: relations the up migration creates (they may not exist yet).
        cleared: relations earlier statements of the down dropped with IF EXISTS (see
            :func:`cleared_relations`): a ``CREATE`` of one needs no guard.

    >>> from atomig.sql.parse import parse_script
    >>> guarded, bare = parse_script("DROP INDEX IF EXISTS i; DROP INDEX i").statements
    >>> partial_state_hazard(guarded) is None
    True
    >>> partial_state_hazard(bare)
    'DROP … needs IF EXISTS'
    """
    kind, body = statement.kind, statement.body
    if kind in _ALWAYS_SAFE:
        return None
    if kind in _IF_NOT_EXISTS or kind in _OR_REPLACE:
        if body.get("if_not_exists") or body.get("replace"):
            return None
        if cleared and made_relation(statement) in cleared:
            return None
        guard = "IF NOT EXISTS" if kind in _IF_NOT_EXISTS else "OR REPLACE"
        return f"CREATE … needs {guard}"
    check = _CHECKS.get(kind)
    if check is not None:
        return check(body, created_by_up)
    words = " ".join(statement.text.split()[:2]).upper()
    return f"{words} … cannot be guarded with IF [NOT] EXISTS or OR REPLACE"


def displaced_relations(statement: Statement) -> list[QualifiedName]:
    """The relations ``statement`` moves out of their names: renamed, moved to another
    schema, or dropped (tables, views, sequences, indexes …).

    >>> from atomig.sql.parse import parse_script
    >>> [str(n) for s in parse_script(
    ...     "ALTER TABLE orders RENAME TO orders_old; DROP VIEW IF EXISTS v, w;"
    ...     " ALTER TABLE orders RENAME COLUMN a TO b") for n in displaced_relations(s)]
    ['orders', 'v', 'w']
    """
    body = statement.body
    if statement.kind == "RenameStmt":
        if body.get("renameType") not in _RELATIONS:
            return []
        name = range_var(body.get("relation"))
        return [name] if name is not None else []
    if statement.kind == "AlterObjectSchemaStmt":
        if body.get("objectType") not in _RELATIONS:
            return []
        name = range_var(body.get("relation"))
        return [name] if name is not None else []
    if statement.kind == "DropStmt" and body.get("removeType") in _RELATIONS:
        names = (object_name(obj) for obj in body.get("objects") or ())
        return [name for name in names if name is not None]
    return []


# What a down may drop by name: a relation, or a column of one (table, column).
Displaced = QualifiedName | tuple[QualifiedName, str]


def renamed_to(statement: Statement) -> list[Displaced]:
    """The name a rename gives: a relation's (same schema) or a column's.

    >>> from atomig.sql.parse import parse_script
    >>> [renamed_to(s) for s in parse_script(
    ...     "ALTER TABLE a RENAME TO b; ALTER TABLE a RENAME COLUMN c TO d")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [[QualifiedName(schema=None, name='b')],
     [(QualifiedName(schema=None, name='a'), 'd')]]
    """
    body = statement.body
    table = range_var(body.get("relation"))
    new = body.get("newname")
    if statement.kind != "RenameStmt" or table is None or not new:
        return []
    if body.get("renameType") == "OBJECT_COLUMN":
        return [(table, str(new))]
    if body.get("renameType") in _RELATIONS:
        return [QualifiedName(table.schema, str(new))]
    return []
