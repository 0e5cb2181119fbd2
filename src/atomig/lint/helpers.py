"""Small shape helpers shared by rules (reading libpg_query JSON dicts; no pglast)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Container, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from atomig.lint.schema import Key, key_of
from atomig.sql.classify import (
    column_constraints,
    dropped_foreign_key_locks,
    name_list,
    range_var,
)
from atomig.sql.facts import QualifiedName, RelationLock
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement, walk
from atomig.sql.quote import quote_ident
from atomig.sql.tokens import name_offsets
from atomig.sql.types import UTC_ZONES, TypeRef, change_rewrites, using_keeps_column

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


def known_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    """The statement's locks: its facts, plus those only the history or the live catalog
    can tell (dropping a foreign key, a table with foreign keys, or changing the type of a
    key column locks the table at the key's other end ACCESS EXCLUSIVE)."""
    locks = ctx.facts(stmt).locks
    if stmt.kind == "DropStmt" and stmt.body.get("removeType") == "OBJECT_TABLE":
        return locks + _dropped_table_locks(stmt, ctx)
    if stmt.kind != "AlterTableStmt":
        return locks
    if any(True for _ in commands(stmt, "AT_AlterColumnType")):
        locks += _retyped_key_locks(stmt, ctx)
    if not any(True for _ in commands(stmt, "AT_DropConstraint")):
        return locks

    def referenced_by(table: QualifiedName, constraint: str) -> QualifiedName | None:
        known = ctx.schema.referenced_by(table, constraint)
        if known is not None or constraint_known(ctx, table, constraint):
            return known
        # A foreign key older than the history: only the live catalog knows it.
        live = ctx.catalog_table(table)
        con = None if live is None else live.constraints.get(constraint)
        if con is None or con.references is None:
            return None
        return QualifiedName(*con.references)

    return locks + dropped_foreign_key_locks(stmt, referenced_by)


def _retyped_key_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    """Changing the type of a column in a foreign key, on either side, drops and adds the
    key again: ACCESS EXCLUSIVE on the table at its other end, even for a change that
    rewrites nothing (checked in pg_locks on PG 15 and 18). From history and catalog."""
    table = alter_relation(stmt)
    if table is None:
        return ()
    columns = {cmd.get("name", "") for _, cmd in commands(stmt, "AT_AlterColumnType")}
    known, live = ctx.table(table), ctx.catalog_table(table)
    others = [
        con.references
        for con in (known.constraints.values() if known else ())
        if con.references is not None and columns & set(con.columns)
    ]
    if live is not None and ctx.schema.creator("relation", table) is None:
        others += [
            QualifiedName(*con.references)
            for name, con in live.constraints.items()
            if con.references is not None
            and columns & set(con.columns)
            and not constraint_known(ctx, table, name)
        ]
        for column in columns:
            for dep in live.dependents.get(column, ()):
                other = QualifiedName(*dep.relation)
                if dep.constraint and not ctx.schema.dropped(
                    "constraint", other, dep.constraint
                ):
                    others.append(other)
    found = {key_of(o): o for o in others if key_of(o) != key_of(table)}
    return tuple(RelationLock(o, LockMode.ACCESS_EXCLUSIVE) for o in found.values())


def dropped_tables(stmt: Statement) -> list[QualifiedName]:
    """The relations a ``DROP TABLE`` / ``DROP VIEW`` … statement names."""
    return [
        name_list(obj.get("List", {}).get("items") or [obj])
        for obj in stmt.body.get("objects", ())
    ]


def _dropped_table_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    """Dropping a table drops its foreign keys, which takes ACCESS EXCLUSIVE on each table
    they reference (their triggers go; checked in pg_locks on PG 15 and 18): known from
    the history, else the live catalog."""
    dropped = dropped_tables(stmt)
    gone = {key_of(name) for name in dropped}
    found: dict[Key, QualifiedName] = {}
    for name in dropped:
        known = ctx.table(name)
        refs = [c.references for c in known.constraints.values()] if known else []
        live = ctx.catalog_table(name)
        if live is not None and (known is None or known.placeholder):
            refs += [
                QualifiedName(*con.references)
                for con_name, con in live.constraints.items()
                if con.references is not None
                and not constraint_known(ctx, name, con_name)
                and not ctx.schema.dropped("constraint", name, con_name)
            ]
        if stmt.body.get("behavior") == "DROP_CASCADE":
            # CASCADE drops the foreign keys other tables have to it, locking those too.
            refs += _referencing_tables(ctx, name)
        for ref in refs:
            if ref is not None and key_of(ref) not in gone:
                found.setdefault(key_of(ref), ref)
    return tuple(RelationLock(ref, LockMode.ACCESS_EXCLUSIVE) for ref in found.values())


def _referencing_tables(ctx: LintContext, table: QualifiedName) -> list[QualifiedName]:
    """The other tables with a foreign key to ``table``: history, then live catalog."""
    schema, target = ctx.schema, key_of(table)
    found: list[QualifiedName] = []
    for here in schema.referrers.get(target, ()):
        other = schema.tables.get(here)
        if other is not None and any(
            c.references is not None and key_of(c.references) == target
            for c in other.constraints.values()
        ):
            found.append(other.name)
    live = ctx.catalog_table(table)
    if live is None or schema.creator("relation", table) is not None:
        return found
    for deps in live.dependents.values():
        for dep in deps:
            holder = QualifiedName(*dep.relation)
            if dep.constraint and not (
                schema.dropped("constraint", holder, dep.constraint)
                or constraint_known(ctx, holder, dep.constraint)
            ):
                found.append(holder)
    return found


def constraint_known(ctx: LintContext, table: QualifiedName, constraint: str) -> bool:
    """The replayed history knows ``constraint`` of ``table`` (then it, not the live
    catalog, says what the constraint is at this point of the migrations)."""
    known = ctx.table(table)
    return known is not None and constraint in known.constraints


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


def copied_tables(
    stmt: Statement, aggregates: Container[str] = frozenset()
) -> list[tuple[QualifiedName, int | None]]:
    """``(table, location)`` of each table an ``INSERT … SELECT``, ``CREATE TABLE … AS``,
    ``CREATE MATERIALIZED VIEW … AS`` or ``SELECT … INTO`` reads in full and copies: named
    alone in a FROM (or one arm of a UNION) with no WHERE, LIMIT, GROUP BY nor HAVING.

    A join or a subquery is not counted (its condition may select few rows), nor a query
    with a WHERE: how many rows it selects is not in the text. ``aggregates`` names the
    user-defined aggregates the live catalog knows (a select list of aggregates returns one
    row).
    """
    body = stmt.body
    query: Body | None = None
    if stmt.kind == "InsertStmt":
        query = (body.get("selectStmt") or {}).get("SelectStmt")
    elif stmt.kind == "CreateTableAsStmt" and not (body.get("into") or {}).get(
        "skipData"
    ):
        query = (body.get("query") or {}).get("SelectStmt")
    elif stmt.kind == "SelectStmt" and body.get("intoClause"):
        query = body
    if not query:
        return []
    ctes = {
        (item.get("CommonTableExpr") or {}).get("ctename")
        for clause in (body.get("withClause"), query.get("withClause"))
        for item in (clause or {}).get("ctes", ())
    }
    return [
        (name, location)
        for name, location in _whole_reads(query, aggregates)
        if name.schema is not None or name.name not in ctes
    ]


def copy_sources(
    stmt: Statement, ctx: LintContext
) -> list[tuple[QualifiedName, tuple[QualifiedName, ...]]]:
    """The existing relations ``stmt`` copies whole (see :func:`copied_tables`), each with
    the tables whose rows it reads: itself for a table; for a view the live catalog knows,
    the tables under it (none for a view of a VALUES list or of functions: not a copy)."""
    catalog = ctx.catalog
    aggregates = _Aggregates(ctx)
    found: list[tuple[QualifiedName, tuple[QualifiedName, ...]]] = []
    for name, _ in copied_tables(stmt, aggregates):
        if ctx.is_new(name):
            continue
        reads = (
            None
            if catalog is None or ctx.table(name) is not None
            else catalog.view_reads(name.schema, name.name)
        )
        if reads is None:
            found.append((name, (name,)))
        elif reads:
            found.append((name, tuple(QualifiedName(*key) for key in reads)))
    return found


class _Aggregates:
    """User-defined aggregates by name ("schema.name" or "name"): the live catalog's, and
    those the history created (CREATE AGGREGATE)."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        catalog = self.ctx.catalog
        if catalog is not None and name in catalog.aggregates:
            return True
        schema, _, plain = name.rpartition(".")
        made = self.ctx.schema.creator(
            "aggregate", QualifiedName(schema or None, plain)
        )
        return made is not None


def small_table_note(table: QualifiedName | None, ctx: LintContext) -> str | None:
    """Why ``table`` counts as small for a data change (the live catalog has it below the
    size threshold), else ``None`` (offline nothing is known)."""
    live = ctx.catalog_table(table)
    threshold = ctx.options.small_table_rows
    if live is None or live.rows < 0 or live.estimated_rows >= threshold:
        return None
    rows = live.estimated_rows
    return f"{table} has ~{rows} rows, below the {threshold}-row threshold: info"


def small_copy(
    copies: list[tuple[QualifiedName, tuple[QualifiedName, ...]]], ctx: LintContext
) -> str | None:
    """Why the copied relations are small (every table they read is known to the live
    catalog and below the size threshold), else ``None``."""
    threshold = ctx.options.small_table_rows
    rows = 0
    for _, reads in copies:
        for table in reads:
            live = ctx.catalog_table(table)
            if live is None or live.rows < 0 or live.estimated_rows >= threshold:
                return None  # (rows -1: a foreign table never analyzed, size unknown)
            rows = max(rows, live.estimated_rows)
    below = f"below the {threshold}-row threshold: info"
    if len(copies) == 1 and copies[0][1] == (copies[0][0],):
        return f"{copies[0][0]} has ~{rows} rows, {below}"
    names = ", ".join(dict.fromkeys(str(name) for name, _ in copies))
    return f"{names}: every table read has at most ~{rows} rows, {below}"


def _whole_reads(
    select: Body, aggregates: Container[str]
) -> Iterator[tuple[QualifiedName, int | None]]:
    if any(
        select.get(clause)
        for clause in (
            "whereClause",
            "limitCount",
            "groupClause",
            "havingClause",
            "valuesLists",
        )
    ):
        return
    if select.get("op", "SETOP_NONE") != "SETOP_NONE":
        for side in ("larg", "rarg"):
            yield from _whole_reads(select.get(side) or {}, aggregates)
        return
    if any(_is_aggregate(item, aggregates) for item in select.get("targetList", ())):
        return  # an aggregate without GROUP BY: one row, however many it reads
    for item in select.get("fromClause", ()):
        node = item.get("RangeVar")
        name = range_var(node)
        if node is not None and name is not None:
            yield name, node.get("location")


# PostgreSQL's built-in general-purpose and statistical aggregates (func-aggregate.html).
# A call is known to be an aggregate by its syntax too (count(*), DISTINCT, ORDER BY,
# FILTER, WITHIN GROUP); a user-defined aggregate called plainly is not recognised.
_AGGREGATES = frozenset(
    {
        "any_value", "array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and",
        "bool_or", "count", "every", "json_agg", "json_agg_strict", "json_object_agg",
        "jsonb_agg", "jsonb_agg_strict", "jsonb_object_agg", "max", "min", "range_agg",
        "range_intersect_agg", "string_agg", "sum", "xmlagg", "corr", "covar_pop",
        "covar_samp", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept",
        "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "stddev",
        "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "mode",
        "percentile_cont", "percentile_disc",
    }
)  # fmt: skip


def _is_aggregate(target: Body, aggregates: Container[str]) -> bool:
    """A select-list item that is an aggregate call (not a window function): built in, or
    one of ``aggregates`` (user-defined, known from the live catalog or the history)."""
    call = ((target.get("ResTarget") or {}).get("val") or {}).get("FuncCall")
    if call is None or call.get("over") is not None:
        return False
    if any(
        call.get(marker)
        for marker in ("agg_star", "agg_distinct", "agg_order", "agg_filter")
    ) or call.get("agg_within_group"):
        return True
    names = [n["String"]["sval"] for n in call.get("funcname", ()) if "String" in n]
    if ".".join(names) in aggregates:
        return True
    return (
        bool(names)
        and names[-1] in _AGGREGATES
        and (len(names) == 1 or names[0] == "pg_catalog")
    )


def proven_not_null(stmt: Statement, table: QualifiedName, ctx: LintContext) -> bool:
    """An ALTER TABLE of nothing but SET NOT NULL on columns that a validated ``CHECK (col
    IS NOT NULL)`` proves: PostgreSQL 12+ skips the scan."""
    return (
        stmt.kind == "AlterTableStmt"
        and ctx.version.set_not_null_uses_check
        and all(
            subtype == "AT_SetNotNull"
            and ctx.has_validated_not_null_check(table, cmd.get("name", ""))
            for subtype, cmd in commands(stmt)
        )
    )


def domain_base(type_: TypeRef, ctx: LintContext) -> tuple[TypeRef, bool]:
    """The type under a domain the live catalog knows (a cast between the two is a
    relabel), and whether a CHECK or NOT NULL constraint of the domain applies."""
    domains = ctx.catalog.domains if ctx.catalog is not None else {}
    key = f"{type_.schema}.{type_.name}" if type_.schema else type_.name
    found = None if type_.array else domains.get(key)
    return (type_, False) if found is None else (TypeRef.parse(found[0]), found[1])


def type_change_rewrites(
    stmt: Statement, table: QualifiedName, cmd: Body, ctx: LintContext
) -> bool:
    """``ALTER COLUMN … TYPE`` (the ``AlterTableCmd`` of ``stmt``) rewrites ``table``, or
    may: the old type is unknown. Decided as column-type-rewrite decides it."""
    column = cmd.get("name", "")
    coldef = (cmd.get("def") or {}).get("ColumnDef", {})
    new, checked = domain_base(TypeRef.from_node(coldef.get("typeName") or {}), ctx)
    old = ctx.column_type(table, column)
    if old is None or checked:
        return True
    using = not using_keeps_column(coldef, column)
    old = domain_base(old, ctx)[0]
    # (the zone is looked up only for the one pair it decides)
    utc = {old.name, new.name} == {"timestamp", "timestamptz"} and in_utc(stmt, ctx)
    return change_rewrites(old, new, using=using, utc=utc)


def in_utc(stmt: Statement, ctx: LintContext) -> bool:
    """On PostgreSQL 12+, ``stmt`` runs with a TimeZone of fixed zero offset: set earlier
    in the file, else the live catalog's session default (unknown offline: False)."""
    if not ctx.version.at_least(12):
        return False
    zone = session_timezone(stmt, ctx)
    return zone is not None and zone.lower() in UTC_ZONES


def session_timezone(stmt: Statement, ctx: LintContext) -> str | None:
    """The TimeZone in force at ``stmt``: the last ``SET TimeZone`` before it in the file
    (a ``SET LOCAL`` only within the same step), else the live catalog's, else None."""
    statements, step = ctx.script.statements, ctx.steps[stmt.index].step
    memo = ctx.scratch("session-timezone")
    if "sets" not in memo:  # the file's SET statements, found once
        memo["sets"] = [s.index for s in statements if s.kind == "VariableSetStmt"]
    sets: list[int] = memo["sets"]
    for index in reversed(sets[: bisect_left(sets, stmt.index)]):
        body = statements[index].body
        if body.get("kind") == "VAR_RESET_ALL":
            break
        if body.get("name") != "timezone":
            continue
        if body.get("is_local") and ctx.steps[index].step != step:
            continue
        if body.get("kind") != "VAR_SET_VALUE":
            break  # DEFAULT, LOCAL, RESET: the session default again
        const = ((body.get("args") or [{}])[0]).get("A_Const", {})
        value = const.get("sval", {}).get("sval")
        return str(value if value is not None else const.get("ival", {}).get("ival", 0))
    catalog = ctx.catalog
    return catalog.timezone if catalog is not None and catalog.timezone else None


def dependents(
    ctx: LintContext,
    table: QualifiedName,
    column: str | None = None,
    *,
    views_only: bool = False,
    dropped_too: Collection[Key] = (),
) -> list[str]:
    """The views and other tables' foreign keys that depend on ``table`` (on any of it
    when ``column`` is None): PostgreSQL refuses to drop it without CASCADE, and to change
    the type of a column a view reads. Known from the live catalog (views, foreign keys)
    and the history (foreign keys), less what the history or this file already dropped
    and the tables in ``dropped_too`` (dropped by the same statement)."""
    schema, target, found = ctx.schema, key_of(table), dict[str, None]()
    if column is None and not views_only:
        for here in schema.referrers.get(target, ()):
            other = schema.tables.get(here)
            if other is None or here == target or here in dropped_too:
                continue
            for con in other.constraints.values():
                refs = con.references
                if refs is not None and key_of(refs) == target:
                    found[f"foreign key {q(con.name)} of {other.name}"] = None
    live = ctx.catalog_table(table)
    if live is None or schema.creator("relation", table) is not None:
        return list(found)  # a table the history made: only the history knows it
    groups = (
        live.dependents.values()
        if column is None
        else [live.dependents.get(column, ())]
    )
    for group in groups:
        for dep in group:
            relation = QualifiedName(*dep.relation)
            gone = dep.relation in dropped_too or schema.dropped("relation", relation)
            if dep.constraint:
                gone = (
                    gone
                    or views_only
                    or schema.dropped("constraint", relation, dep.constraint)
                    or constraint_known(ctx, relation, dep.constraint)
                )
            else:
                gone = gone or schema.creator("relation", relation) is not None
            if not gone:
                found[str(dep)] = None
    return list(found)


def constraint_of_index(
    ctx: LintContext, index: QualifiedName
) -> tuple[QualifiedName, str] | None:
    """The table and kind (``PRIMARY KEY``, ``UNIQUE``, ``EXCLUDE``) of the constraint
    whose index ``index`` is (it bears the constraint's name): PostgreSQL refuses to drop
    such an index. From the history, else the live catalog."""
    table = ctx.table_of_index(index)
    known, live = ctx.table(table), ctx.catalog_table(table)
    if known is not None and index.name in known.constraints:
        kind = known.constraints[index.name].kind
    elif known is None and live is not None and index.name in live.constraints:
        kind = _CONTYPES.get(live.constraints[index.name].kind, "")
    else:
        return None
    label = _INDEXED_KINDS.get(kind)
    return None if table is None or label is None else (table, label)


_INDEXED_KINDS = {"primary": "PRIMARY KEY", "unique": "UNIQUE", "exclusion": "EXCLUDE"}
_CONTYPES = {"p": "primary", "u": "unique", "x": "exclusion"}  # pg_constraint.contype


def existing_unique_index(
    ctx: LintContext, table: QualifiedName | None, columns: Sequence[str]
) -> str | None:
    """A unique index on exactly ``columns`` (in any order) that ``ADD CONSTRAINT …
    USING INDEX`` can adopt: valid, no WHERE, no expression, not yet a constraint's. From
    the history, else the live catalog (a table older than the history)."""
    wanted, known = set(columns), ctx.table(table)
    if known is not None:
        for index in known.indexes.values():
            if (
                index.unique
                and set(index.columns) == wanted
                and index.name not in known.constraints
            ):
                return index.name
        if not known.placeholder:
            return None
    live = ctx.catalog_table(table)
    if live is None:
        return None
    for name, cols, _ in live.indexes:
        if (
            name in live.plain_unique_indexes
            and set(cols) == wanted
            and len(cols) == len(columns)
            and name not in live.constraints
            and not ctx.schema.dropped("index", QualifiedName(live.schema, name))
        ):
            return name
    return None


def indexes_on(ctx: LintContext, table: QualifiedName, column: str) -> list[str]:
    """The names of the indexes that contain ``column`` of ``table`` as a plain column:
    from the history (a placeholder with none: the live catalog), else the catalog."""
    known = ctx.table(table)
    if known is not None:
        found = [i.name for i in known.indexes.values() if column in i.columns]
        if found or not known.placeholder:
            return found
    live = ctx.catalog_table(table)
    return [name for name, cols, _ in (live.indexes if live else ()) if column in cols]


def subcommand_offset(stmt: Statement, name: str) -> int | None:
    """Where an ALTER TABLE subcommand names ``name`` (a column, constraint …): its first
    mention after the table's name, as a character offset in the file. Hits about several
    subcommands of one statement then stand apart (one finding per rule and position)."""
    table = range_var(stmt.body.get("relation"))
    start = name_offsets(stmt.text, table.name)[:1] if table is not None else []
    after = start[0] if start else -1
    found = [offset for offset in name_offsets(stmt.text, name) if offset > after]
    return stmt.start + found[0] if found else None


def key_referrers(ctx: LintContext, table: QualifiedName, constraint: str) -> list[str]:
    """The foreign keys that use ``table``'s PRIMARY KEY or UNIQUE ``constraint``:
    PostgreSQL refuses to drop it without CASCADE. From the history (a foreign key naming
    no columns uses the primary key), else the live catalog when the table has no other
    such constraint (every foreign key to it then uses this one)."""
    known, schema, target = ctx.table(table), ctx.schema, key_of(table)
    con = known.constraints.get(constraint) if known is not None else None
    if con is not None:
        found = []
        for here in schema.referrers.get(target, ()):
            other = schema.tables.get(here)
            for fk in other.constraints.values() if other is not None else ():
                refs, cols = fk.references, fk.referenced_columns
                uses = set(cols) == set(con.columns) if cols else con.kind == "primary"
                if other is not None and refs and key_of(refs) == target and uses:
                    found.append(f"foreign key {q(fk.name)} of {other.name}")
        return found if con.kind in ("primary", "unique") else []
    live = ctx.catalog_table(table)
    kinds = [_CONTYPES.get(c.kind) for c in (live.constraints if live else {}).values()]
    mine = live.constraints.get(constraint) if live is not None else None
    keys = kinds.count("primary") + kinds.count("unique")
    if mine is None or _CONTYPES.get(mine.kind) is None or keys != 1:
        return []
    return [dep for dep in dependents(ctx, table) if dep.startswith("foreign key ")]


def has_validated_check(table: QualifiedName | None, ctx: LintContext) -> bool:
    """A validated CHECK on the table (of a partition: assumed to prove its bound; of a
    default partition, to exclude the new one). From history, else the live catalog."""
    known = ctx.table(table)
    if known is not None and any(
        c.kind == "check" and c.validated for c in known.constraints.values()
    ):
        return True
    if known is not None and not known.placeholder:
        return False
    live = ctx.catalog_table(table)
    return live is not None and any(
        con.kind == "c"
        and con.validated
        and not ctx.schema.dropped("constraint", table, name)
        for name, con in live.constraints.items()
    )


def default_partition(
    parent: QualifiedName | None, ctx: LintContext
) -> QualifiedName | None:
    """The DEFAULT partition of ``parent``, known to exist: history, else live catalog."""
    known = ctx.table(parent)
    default = None if known is None else known.default_partition
    live = ctx.catalog_table(parent)
    if default is None and (known is None or known.placeholder) and live is not None:
        pair = live.default_partition
        default = None if pair is None else QualifiedName(*pair)
    if ctx.table(default) is None and ctx.catalog_table(default) is None:
        return None
    return default


def readded_in_step(stmt: Statement, ctx: LintContext, constraint: str) -> bool:
    """``stmt`` (or a statement after it in the same transaction step) adds a constraint
    named ``constraint`` to the same table again: dropped and re-added (a primary key
    moved to a new column, a CHECK redefined), the rule is never off for other sessions."""
    table = alter_relation(stmt)
    return table is not None and any(
        mate.kind == "AlterTableStmt"
        and alter_relation(mate) == table
        and any(con.get("conname") == constraint for con in added_constraints(mate))
        for mate in (stmt, *ctx.step_mates(stmt))
    )
