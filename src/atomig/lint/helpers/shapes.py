"""Statement shapes shared by rules: ALTER TABLE subcommands, added columns and constraints,
names, positions (reading libpg_query JSON dicts; no pglast)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from atomig.sql.classify import (
    column_constraints,
    name_list,
    range_var,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.objects import object_name
from atomig.sql.parse import Statement, walk
from atomig.sql.quote import quote_ident
from atomig.sql.sequences import quick_setval
from atomig.sql.settings import setting_change
from atomig.sql.tokens import name_offsets
from atomig.sql.types import SERIAL_TYPES, TypeRef

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


Body = Mapping[str, Any]


# Statement kinds that can take ACCESS EXCLUSIVE on an existing table (CREATE TABLE …
# PARTITION OF takes it on the partitioned table).
ACCESS_EXCLUSIVE_KINDS = (
    "AlterTableStmt",
    "CreateStmt",
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


# Rules ask the same statement the same questions, one rule after another: remember the
# answers for the statement being linted (a strong reference, so ``is`` cannot be fooled).
_LAST_RELATION: list[Any] = [None, None]


_LAST_COMMANDS: list[Any] = [None, ()]


def alter_relation(stmt: Statement) -> QualifiedName | None:
    """The table of an ``ALTER TABLE`` (None for ALTER INDEX/VIEW/… and other kinds)."""
    if _LAST_RELATION[0] is stmt:
        found: QualifiedName | None = _LAST_RELATION[1]
        return found
    body = stmt.body
    if stmt.kind != "AlterTableStmt" or body.get("objtype") not in (
        None,
        "OBJECT_TABLE",
    ):
        found = None
    else:
        found = range_var(body.get("relation"))
    _LAST_RELATION[0], _LAST_RELATION[1] = stmt, found
    return found


def altered_table(stmt: Statement) -> QualifiedName | None:
    """The table or foreign table of an ``ALTER TABLE`` / ``ALTER FOREIGN TABLE``, for
    rules about what code sees (a foreign table's rows are remote: PostgreSQL never scans
    nor rewrites them, so rules about scans use :func:`alter_relation`)."""
    if stmt.kind == "AlterTableStmt" and (
        stmt.body.get("objtype") == "OBJECT_FOREIGN_TABLE"
    ):
        return range_var(stmt.body.get("relation"))
    return alter_relation(stmt)


def _commands(stmt: Statement) -> tuple[tuple[str, Body], ...]:
    if _LAST_COMMANDS[0] is stmt:
        found: tuple[tuple[str, Body], ...] = _LAST_COMMANDS[1]
        return found
    found = tuple(
        (cmd.get("subtype", ""), cmd)
        for item in stmt.body.get("cmds", ())
        if (cmd := item.get("AlterTableCmd")) is not None
    )
    _LAST_COMMANDS[0], _LAST_COMMANDS[1] = stmt, found
    return found


def commands(stmt: Statement, *subtypes: str) -> Iterator[tuple[str, Body]]:
    """``(subtype, AlterTableCmd)`` of an ALTER TABLE, optionally only some subtypes."""
    found = _commands(stmt)
    if not subtypes:
        return iter(found)
    return (pair for pair in found if pair[0] in subtypes)


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


def fills_rows(coldef: Body) -> bool:
    """``ADD COLUMN coldef`` gives the existing rows a value: a DEFAULT, an identity, a
    generated expression, or a serial type's sequence (else every row is NULL)."""
    declared = column_type(coldef)
    return (declared is not None and declared.name in SERIAL_TYPES) or (
        has_constraint(coldef, "CONSTR_DEFAULT", "CONSTR_IDENTITY", "CONSTR_GENERATED")
        is not None
    )


def names(items: Any) -> tuple[str, ...]:
    """``[{"String": {"sval": …}}]`` lists as strings."""
    return tuple(i["String"]["sval"] for i in items or () if "String" in i)


def q(name: object) -> str:
    """A name as SQL that PostgreSQL reads back as that name: a column, constraint or index
    name (a string) double-quoted when it needs it; a QualifiedName prints itself so.

    >>> q("total"), q("Composer"), q("user")
    ('total', '"Composer"', '"user"')
    """
    return quote_ident(name) if isinstance(name, str) else str(name)


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


def foreign_key_of(
    stmt: Statement, column: str, coldef: Body
) -> tuple[QualifiedName | None, str | None] | None:
    """``(referenced table, referenced column or None)`` when ``column`` is a one-column
    foreign key of this statement (inline or a table constraint); else ``None``."""
    con = has_constraint(coldef, "CONSTR_FOREIGN")
    if con is not None:
        return range_var(con.get("pktable")), next(
            iter(names(con.get("pk_attrs"))), None
        )
    for element in stmt.body.get("tableElts", ()):
        con = element.get("Constraint") or {}
        if con.get("contype") == "CONSTR_FOREIGN":
            fk_cols, pk_cols = names(con.get("fk_attrs")), names(con.get("pk_attrs"))
            if len(fk_cols) == 1 and fk_cols[0] == column:
                return range_var(con.get("pktable")), next(iter(pk_cols), None)
    return None


def own_primary_key(stmt: Statement) -> str | None:
    """The one-column primary key a CREATE TABLE declares (a self-reference's target)."""
    for element in stmt.body.get("tableElts", ()):
        coldef = element.get("ColumnDef")
        if coldef is not None and has_constraint(coldef, "CONSTR_PRIMARY"):
            return str(coldef.get("colname"))
        con = element.get("Constraint") or {}
        keys = names(con.get("keys"))
        if con.get("contype") == "CONSTR_PRIMARY" and len(keys) == 1:
            return keys[0]
    return None


def partitioned_key_fix(kind: str, name: str, table: QualifiedName, cols: str) -> str:
    """The online way to add a UNIQUE or PRIMARY KEY constraint to a partitioned table,
    which takes neither CREATE INDEX CONCURRENTLY nor USING INDEX: each partition gets the
    constraint from an index built concurrently, and the parent's constraint then adopts
    those indexes instead of building its own."""
    return (
        f"{table} is partitioned (no CONCURRENTLY and no USING INDEX on it): on each "
        f"partition, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … {kind} USING "
        f"INDEX; then ADD CONSTRAINT {q(name)} {kind} ({cols}) on {table} adopts them "
        "without building"
    )


def dropped_tables(stmt: Statement) -> list[QualifiedName]:
    """The relations a ``DROP TABLE`` / ``DROP VIEW`` … statement names."""
    return [
        name_list(obj.get("List", {}).get("items") or [obj])
        for obj in stmt.body.get("objects", ())
    ]


def relation_location(stmt: Statement, relation: QualifiedName) -> int | None:
    """Where ``stmt`` names ``relation`` (a parse location); for a table it locks without
    naming it (the table a dropped foreign key references), where it names its own table."""
    found = _range_var_location(stmt.body, relation)
    if found is None:
        found = (stmt.body.get("relation") or {}).get("location")
    return found


def _range_var_location(node: Any, relation: QualifiedName) -> int | None:
    return next(
        (
            value.get("location")
            for key, value in walk(node)
            if key == "RangeVar" and range_var(value) == relation
        ),
        None,
    )


def subcommand_offset(stmt: Statement, name: str) -> int | None:
    """Where an ALTER TABLE subcommand names ``name`` (a column, constraint …): its first
    mention after the table's name, as a character offset in the file. Hits about several
    subcommands of one statement then stand apart (one finding per rule and position)."""
    table = range_var(stmt.body.get("relation"))
    start = name_offsets(stmt.text, table.name)[:1] if table is not None else []
    after = start[0] if start else -1
    found = [offset for offset in name_offsets(stmt.text, name) if offset > after]
    return stmt.start + found[0] if found else None


def renamed_back(
    stmt: Statement, old: QualifiedName | None, mates: Iterable[Statement]
) -> bool:
    """A later statement of the step renames another object of the same kind to ``old``,
    the name ``stmt`` renames away (a swap: ``RENAME TO t_old``, then ``t_new RENAME TO
    t``): code naming it goes on working, against the other object, once both commit."""
    if old is None or stmt.kind != "RenameStmt":
        return False
    kind, wanted = stmt.body.get("renameType"), (old.schema or "public", old.name)
    return any(
        mate.kind == "RenameStmt"
        and mate.body.get("renameType") == kind
        and _renamed(mate)[1] == wanted
        for mate in mates
    )


def swapped_out(
    stmt: Statement, name: QualifiedName | None, statements: Sequence[Statement]
) -> bool:
    """``name`` was given earlier in the file (``statements``) by a rename whose old name
    another object then took (``RENAME TO t_old``, ``t_new RENAME TO t``, then ``DROP …
    t_old``): no code names the object any more."""
    wanted = None if name is None else (name.schema or "public", name.name)
    earlier = statements[: stmt.index]
    for n, prior in enumerate(earlier):
        if prior.kind == "RenameStmt" and (found := _renamed(prior))[1] == wanted:
            return renamed_back(prior, found[0], earlier[n + 1 :])
    return False


def _renamed(
    stmt: Statement,
) -> tuple[QualifiedName | None, tuple[str, str] | None]:
    """A RENAME's object and the key of the name it gives (in the object's schema)."""
    body = stmt.body
    named = range_var(body.get("relation")) or object_name(body.get("object"))
    new = body.get("newname", "")
    return named, None if named is None else (named.schema or "public", new)


def quick_select(stmt: Statement, ctx: LintContext) -> bool:
    """A SELECT that only sets a setting (``set_config``) or a sequence (a ``setval`` to a
    constant or to the ``max()`` of an indexed column): it reads no table at length."""
    return stmt.kind == "SelectStmt" and (
        setting_change(stmt) is not None
        or quick_setval(stmt.body, ctx.covered_by_index)
    )


def excerpt(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters (for quoting SQL in a message).

    >>> excerpt("ALTER TABLE  orders   ADD COLUMN note text", 24)
    'ALTER TABLE orders ADD …'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + " …"


def uncovered_partition_key(
    partition_key: Sequence[str | None], key: Sequence[str | None]
) -> list[str]:
    """The partition key columns a PRIMARY KEY or UNIQUE ``key`` of a partitioned table
    leaves out, which PostgreSQL rejects ("must include all partitioning columns"); a
    key by expression takes no such constraint at all. Empty: accepted (or not
    partitioned).

    >>> uncovered_partition_key(("at",), ("id",)), uncovered_partition_key(("at",), ("id", "at"))
    (['at'], [])
    """
    if None in partition_key:
        return ["its partition key's expression"]
    return [column for column in partition_key if column and column not in key]


def index_key(body: Body) -> list[str | None]:
    """The key columns of a CREATE INDEX (its ``IndexStmt`` body), None for an
    expression."""
    return [e.get("IndexElem", {}).get("name") for e in body.get("indexParams", ())]
