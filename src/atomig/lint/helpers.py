"""Small shape helpers shared by rules (reading libpg_query JSON dicts; no pglast)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from atomig.sql.classify import column_constraints, range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement
from atomig.sql.types import TypeRef

Body = Mapping[str, Any]

# Statement kinds that can take ACCESS EXCLUSIVE on an existing table.
ACCESS_EXCLUSIVE_KINDS = (
    "AlterTableStmt",
    "DropStmt",
    "RenameStmt",
    "TruncateStmt",
    "LockStmt",
    "ClusterStmt",
    "RuleStmt",
    "CreatePolicyStmt",
    "AlterPolicyStmt",
    "AlterObjectSchemaStmt",
    "ViewStmt",
    "RefreshMatViewStmt",
    "ReindexStmt",
    "VacuumStmt",
)
# Statement kinds that only touch the catalog and take no lock on an existing table.
QUICK_KINDS = frozenset(
    {
        "VariableSetStmt",
        "CommentStmt",
        "GrantStmt",
        "GrantRoleStmt",
        "CreateStmt",
        "CreateSeqStmt",
        "AlterSeqStmt",
        "ViewStmt",
        "CreateFunctionStmt",
        "CompositeTypeStmt",
        "CreateEnumStmt",
        "CreateDomainStmt",
        "TransactionStmt",
    }
)
# Catalog-only work that may lock an existing table (to wait for, not to scan).
CATALOG_ONLY_KINDS = frozenset(
    {
        "DropStmt",
        "CreateTrigStmt",
        "RenameStmt",
        "AlterOwnerStmt",
        "AlterFunctionStmt",
        "AlterObjectSchemaStmt",
        "CreatePolicyStmt",
        "AlterPolicyStmt",
        "RuleStmt",
        "DefineStmt",
    }
)
# DROP kinds whose lock is on the object dropped (its queries fail once it is gone).
DROPS_ITSELF = frozenset(
    {
        "OBJECT_TABLE",
        "OBJECT_VIEW",
        "OBJECT_MATVIEW",
        "OBJECT_SEQUENCE",
        "OBJECT_FOREIGN_TABLE",
    }
)


def alter_relation(stmt: Statement) -> QualifiedName | None:
    """The table of an ``ALTER TABLE`` (None for ALTER INDEX/VIEW/… and other kinds)."""
    body = stmt.body
    if stmt.kind != "AlterTableStmt" or body.get("objtype") not in (
        None,
        "OBJECT_TABLE",
    ):
        return None
    return range_var(body.get("relation"))


def commands(stmt: Statement, *subtypes: str) -> Iterator[tuple[str, Body]]:
    """``(subtype, AlterTableCmd)`` of an ALTER TABLE, optionally only some subtypes."""
    for item in stmt.body.get("cmds", ()):
        cmd = item.get("AlterTableCmd")
        if cmd is not None and (not subtypes or cmd.get("subtype") in subtypes):
            yield cmd.get("subtype", ""), cmd


def added_columns(stmt: Statement) -> Iterator[Body]:
    """The ``ColumnDef`` dicts of ``ADD COLUMN`` subcommands."""
    for _, cmd in commands(stmt, "AT_AddColumn"):
        coldef = (cmd.get("def") or {}).get("ColumnDef")
        if coldef is not None:
            yield coldef


def added_constraints(stmt: Statement) -> Iterator[Body]:
    """The ``Constraint`` dicts of ``ADD CONSTRAINT`` subcommands."""
    for _, cmd in commands(stmt, "AT_AddConstraint"):
        con = (cmd.get("def") or {}).get("Constraint")
        if con is not None:
            yield con


def table_columns(stmt: Statement) -> Iterator[Body]:
    """``ColumnDef`` dicts of a CREATE TABLE or of ALTER TABLE … ADD COLUMN."""
    if stmt.kind == "CreateStmt":
        for element in stmt.body.get("tableElts", ()):
            if "ColumnDef" in element:
                yield element["ColumnDef"]
    elif stmt.kind == "AlterTableStmt":
        yield from added_columns(stmt)


def column_type(coldef: Body) -> TypeRef | None:
    """The declared type of a ``ColumnDef``."""
    node = coldef.get("typeName")
    return TypeRef.from_node(node) if node else None


def has_constraint(coldef: Body, *contypes: str) -> Body | None:
    """The first column constraint of one of ``contypes``."""
    for con in column_constraints(coldef):
        if con.get("contype") in contypes:
            return con
    return None


def names(items: Any) -> tuple[str, ...]:
    """``[{"String": {"sval": …}}]`` lists as strings."""
    return tuple(i["String"]["sval"] for i in items or () if "String" in i)


def q(name: object) -> str:
    """A name for a message (QualifiedName prints itself quoted when needed)."""
    return str(name)


def declared_types(stmt: Statement) -> Iterator[tuple[str, TypeRef, Body]]:
    """``(column, type, ColumnDef)`` of every column type a statement declares: CREATE TABLE
    columns, ADD COLUMN and ALTER COLUMN … TYPE."""
    for coldef in table_columns(stmt):
        declared = column_type(coldef)
        if declared is not None:
            yield coldef.get("colname", ""), declared, coldef
    if stmt.kind == "AlterTableStmt":
        for _, cmd in commands(stmt, "AT_AlterColumnType"):
            coldef = (cmd.get("def") or {}).get("ColumnDef", {})
            if coldef.get("typeName"):
                yield cmd.get("name", ""), TypeRef.from_node(coldef["typeName"]), coldef


def dropped_names(stmt: Statement) -> Iterator[str]:
    """The bare names of the objects a ``DROP`` names (tables, indexes, views, …)."""
    for obj in stmt.body.get("objects", ()):
        items = names(obj.get("List", {}).get("items"))
        if items:
            yield items[-1]


def created_name(stmt: Statement) -> str | None:
    """The bare name of the table, index or sequence a ``CREATE`` makes."""
    body = stmt.body
    relation = body.get("relation") or body.get("sequence") or {}
    return body.get("idxname") or relation.get("relname")
