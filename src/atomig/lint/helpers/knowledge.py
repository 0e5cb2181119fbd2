"""What the history and the live catalog say about columns, types, indexes and dependents (NOT
NULL proofs, domains, rewrites, views and keys that depend on an object)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING

from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers.shapes import Body, commands, q
from atomig.lint.schema import Key, key_of
from atomig.lint.schema_uses import generated_readers, relation_users
from atomig.sql.facts import QualifiedName, StatementFacts
from atomig.sql.parse import Statement
from atomig.sql.types import (
    UTC_ZONES,
    TypeRef,
    change_rewrites,
    declared_collation,
    using_keeps_column,
)

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


def constraint_known(ctx: LintContext, table: QualifiedName, constraint: str) -> bool:
    """The replayed history knows ``constraint`` of ``table`` (then it, not the live
    catalog, says what the constraint is at this point of the migrations)."""
    known = ctx.table(table)
    return known is not None and constraint in known.constraints


_CONSTRAINT_KINDS = {  # pg_constraint.contype → the history's kind names
    "c": "check",
    "f": "foreign",
    "p": "primary",
    "u": "unique",
    "x": "exclusion",
    "n": "not null",
    "t": "trigger",
}


def constraint_kind(ctx: LintContext, table: QualifiedName, name: str) -> str | None:
    """The kind of constraint ``name`` of ``table`` (``check``, ``foreign``, ``primary``,
    ``unique``, ``exclusion`` …): the history's when it knows it, else the live
    catalog's; None when unknown."""
    known = ctx.table(table)
    if known is not None and name in known.constraints:
        return known.constraints[name].kind
    live = ctx.catalog_table(table)
    if (known is not None and not known.placeholder) or live is None:
        return None
    con = live.constraints.get(ctx.live_constraint_name(table, name))
    if con is None or ctx.schema.dropped("constraint", table, name):
        return None
    return _CONSTRAINT_KINDS.get(con.kind, con.kind)


def primary_key_of(ctx: LintContext, table: QualifiedName, column: str) -> str | None:
    """The primary key constraint of ``table`` that ``column`` belongs to: the history's
    when it knows the table, else the live catalog's (less what the history dropped)."""
    known = ctx.table(table)
    for name, con in (known.constraints if known is not None else {}).items():
        if con.kind == "primary" and column in con.columns:
            return name
    live = ctx.catalog_table(table)
    if (known is not None and not known.placeholder) or live is None:
        return None
    for name, found in live.constraints.items():
        if (
            found.kind == "p"
            and column in found.columns
            and not ctx.schema.dropped("constraint", table, name)
        ):
            return name
    return None


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


def rewritten_tables(
    piece: Statement, facts: StatementFacts, ctx: LintContext, at: Statement
) -> tuple[QualifiedName, ...]:
    """The tables ``piece`` rewrites: its certain rewrites, and those it rewrites by an
    ``ALTER COLUMN … TYPE`` as column-type-rewrite decides (the old type from history or
    catalog; unknown counts as a rewrite). ``at`` is the file's statement whose place sets
    the session TimeZone (``piece`` itself, or the DO block that runs it)."""
    found = list(facts.rewrites)
    for table in facts.may_rewrite:
        if any(
            type_change_rewrites(at, table, cmd, ctx)
            for _, cmd in commands(piece, "AT_AlterColumnType")
        ):
            found.append(table)
    return tuple(found)


def collation_rebuild(
    table: QualifiedName, column: str, coldef: Body, ctx: LintContext, fix: str
) -> Iterator[Hit]:
    """``ALTER COLUMN … TYPE`` without a rewrite (its ``ColumnDef``) that gives the column
    another collation rebuilds its indexes under ACCESS EXCLUSIVE; the same collation
    rebuilds nothing (relfilenode on PG 15 and 18). Without COLLATE the column takes the
    new type's own (``default``): a change when the old one is known to differ. ``fix``
    is the rule's advice for a real type change."""
    new = declared_collation(coldef)
    old = ctx.column_collation(table, column)
    explicit = bool((coldef.get("collClause") or {}).get("collname"))
    if (
        new is None
        or new == old
        or (old is None and (not explicit or new == "default"))
    ):
        return
    rebuilt = indexes_on(ctx, table, column)
    if rebuilt and not ctx.is_new(table):
        yield Hit(
            f"the collation of {table}.{column} changes ({old or '?'} → {new}): it "
            f"rebuilds {', '.join(rebuilt)} under an ACCESS EXCLUSIVE lock (reads and "
            "writes wait)",
            fix.replace(" column", f' COLLATE "{new}" column', 1)
            if explicit
            else f'keep the collation: add COLLATE "{old}" to the new type',
            relation=table,
            location=coldef.get("location"),
        )


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
    columns_gone: Collection[str] = (),
) -> list[str]:
    """The views and other tables' foreign keys that depend on ``table`` (on any of it
    when ``column`` is None): PostgreSQL refuses to drop it without CASCADE, and to change
    the type of a column a view reads. Known from the live catalog (views, foreign keys)
    and the history (views, foreign keys), less what the history or this file already dropped
    and the tables in ``dropped_too`` (dropped by the same statement). A column's
    generated columns (history) depend on it too, less those in ``columns_gone``."""
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
    for key, view in schema.views.items() if schema.views else ():
        read = view.reads.get(target)
        if (
            read is not None
            and key not in dropped_too
            and (column in read or not column)
        ):
            found[view.label] = None
    if column is None and not views_only:
        found.update(dict.fromkeys(relation_users(schema, table, dropped_too)))
    if column is not None and not views_only:
        for reader in generated_readers(schema, table, column):
            if reader not in columns_gone:  # (dropped by an earlier subcommand)
                found[f"column {q(reader)} of table {table}"] = None
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
            relation = ctx.live_name(dep.relation)
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
                found[dep.render(relation)] = None
    return list(found)


def type_users(ctx: LintContext, name: QualifiedName) -> list[str]:
    """The columns (of tables the history knows) declared with type or domain ``name``,
    or an array of it: PostgreSQL rejects dropping it without CASCADE (PG 15 and 18)."""
    target = key_of(name)
    return [
        f"column {q(col.name)} of table {table.name}"
        for table in ctx.schema.tables.values()
        for col in table.columns.values()
        if col.type is not None
        and key_of(QualifiedName(col.type.schema, col.type.name)) == target
    ]


def constraint_of_index(
    ctx: LintContext, index: QualifiedName
) -> tuple[QualifiedName, str] | None:
    """The table and kind (``PRIMARY KEY``, ``UNIQUE``, ``EXCLUDE``) of the constraint
    whose index ``index`` is (it bears the constraint's name): PostgreSQL refuses to drop
    such an index. From the history, else the live catalog."""
    table = ctx.table_of_index(index)
    known, live = ctx.table(table), ctx.catalog_table(table)
    first = "" if table is None else ctx.live_constraint_name(table, index.name)
    if known is not None and index.name in known.constraints:
        kind = known.constraints[index.name].kind
    elif (
        # A table older than the history (a placeholder once the history touched it):
        # the catalog knows its constraints, less those the history dropped.
        (known is None or known.placeholder)
        and live is not None
        and first in live.constraints
        and not ctx.schema.dropped("constraint", table, index.name)
    ):
        kind = _CONTYPES.get(live.constraints[first].kind, "")
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


def has_validated_check(
    table: QualifiedName | None, ctx: LintContext, key: Sequence[str | None] = ()
) -> bool:
    """A validated CHECK on the table that reads a column of the partition ``key`` (of a
    partition: assumed to prove its bound; of a default partition, to exclude the new
    one); a CHECK on other columns (copied by LIKE … INCLUDING ALL, say) proves nothing.
    From history, else the live catalog."""
    wanted = {column for column in key if column}

    def reads_key(columns: Sequence[str]) -> bool:
        return not wanted or bool(wanted & set(columns))

    known = ctx.table(table)
    if known is not None and any(
        c.kind == "check" and c.validated and reads_key(c.columns)
        for c in known.constraints.values()
    ):
        return True
    if known is not None and not known.placeholder:
        return False
    live = ctx.catalog_table(table)
    return live is not None and any(
        con.kind == "c"
        and con.validated
        and reads_key(con.columns)
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
        default = None if pair is None else ctx.live_name(pair)
    if ctx.table(default) is None and ctx.catalog_table(default) is None:
        return None
    return default


_READD = {
    "check": "NOT VALID, then VALIDATE",
    "foreign": "NOT VALID, then VALIDATE",
    "primary": "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … PRIMARY KEY "
    "USING INDEX",
    "unique": "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX",
    # PostgreSQL rejects NOT VALID on PRIMARY KEY, UNIQUE and EXCLUDE (checked on 15, 18).
    "exclusion": "an EXCLUDE constraint takes neither NOT VALID nor USING INDEX: it "
    "rebuilds its index under ACCESS EXCLUSIVE",
}


def unkeyed_note(kind: str | None, table: QualifiedName) -> str:
    """What else dropping a constraint of ``kind`` breaks: with the default replica
    identity, a published table's UPDATE and DELETE fail once its primary key is gone
    (checked on 15)."""
    if kind != "primary":
        return ""
    return f", and UPDATE and DELETE of {table} fail if it is published (logical replication)"


def readd_constraint_advice(kind: str | None) -> str:
    """How a dropped constraint of ``kind`` (``None``: unknown) comes back without a long
    lock: only CHECK and FOREIGN KEY take NOT VALID.

    >>> readd_constraint_advice("unique")
    'CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … UNIQUE USING INDEX'
    >>> readd_constraint_advice(None).startswith("a CHECK or FOREIGN KEY: NOT VALID")
    True
    """
    if kind in _READD:
        return _READD[kind]
    return (
        f"a CHECK or FOREIGN KEY: {_READD['check']}; a PRIMARY KEY or UNIQUE: CREATE "
        "UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … USING INDEX"
    )


def using_index_rejection(
    ctx: LintContext, table: QualifiedName, con: Body, kind: str
) -> tuple[str, str] | None:
    """``(message, fix)`` when PostgreSQL rejects ``ADD CONSTRAINT … kind USING INDEX`` of
    the index the history knows (parse_utilcmd.c ``transformIndexConstraint``: a
    constraint's index is unique, has no WHERE and no expression; checked on 15 and 18)."""
    known, name = ctx.table(table), con.get("indexname", "")
    rejects = f"PostgreSQL rejects {kind} USING INDEX on {table}:"
    index = known.indexes.get(name) if known else None
    if index is None:
        return None
    cols = ", ".join(q(c) for c in index.columns if c != "(expr)") or "…"
    plain = f"CREATE UNIQUE INDEX CONCURRENTLY … ON {table} ({cols})"
    if index.partial or "(expr)" in index.columns:
        what = "a partial index (WHERE)" if index.partial else "an expression index"
        return (
            f"{rejects} {q(name)} is {what}, which no constraint can use",
            "keep the unique index itself as the rule (ON CONFLICT can target it), or "
            f"build a plain one to use: {plain}",
        )
    if not index.unique:
        return (
            f"{rejects} {q(name)} is not a unique index",
            f"build one to use: {plain}",
        )
    return None


def nullable_key_columns(
    ctx: LintContext, table: QualifiedName, index_name: str
) -> list[str]:
    """The columns of ``index_name`` that ``PRIMARY KEY USING INDEX`` must make NOT NULL
    with a scan: not NOT NULL, and (PostgreSQL 12+) not proven by a validated ``CHECK (col
    IS NOT NULL)``. The index and each column as the history knows them, else as the live
    catalog does (a table older than the migrations)."""
    known, live = ctx.table(table), ctx.catalog_table(table)
    index = known.indexes.get(index_name) if known else None
    if index is not None:
        keys: Sequence[str] = index.columns
    else:
        found = [c for name, c, _ in live.indexes if name == index_name] if live else []
        keys = found[0] if found else ()
    proven = ctx.version.set_not_null_uses_check
    nullable = []
    for col in keys:
        column = known.columns.get(col) if known is not None else None
        if column is not None:
            may_be_null = not column.not_null
        else:  # (unknown to both: not reported)
            may_be_null = (
                live is not None and col in live.columns and col not in live.not_null
            )
        if may_be_null and not (
            proven and ctx.has_validated_not_null_check(table, col)
        ):
            nullable.append(col)
    return nullable


def expression_index_rebuild(
    ctx: LintContext, table: QualifiedName, column: str
) -> tuple[str, str] | None:
    """``(message, fix)`` when a type change of ``column`` that rewrites no row still
    rebuilds the indexes whose expression or WHERE reads it, and re-checks the validated
    CHECKs that read it with a scan, under ACCESS EXCLUSIVE (new relfilenodes for
    ``lower(email)`` and ``WHERE email <> ''`` indexes, a seq_scan for a CHECK, on PG 15
    and 18; plain column indexes, foreign keys and NOT VALID checks are left). Known from
    the history."""
    known = ctx.table(table)
    if known is None or ctx.is_new(table):
        return None
    rebuilt = [q(i.name) for i in known.indexes.values() if column in i.reads]
    checks = [
        q(c.name)
        for c in known.constraints.values()
        if c.kind == "check" and c.validated and column in c.columns
    ]
    if not rebuilt and not checks:
        return None
    costs, steps = [], []
    if rebuilt:
        costs.append(
            f"{', '.join(rebuilt)} (reading it in an expression or WHERE) rebuilt"
        )
        steps.append(
            f"DROP INDEX CONCURRENTLY {', '.join(rebuilt)} before and CREATE INDEX "
            "CONCURRENTLY again after (queries, and a UNIQUE index's rule, go without it "
            "meanwhile)"
        )
    if checks:
        costs.append(f"{', '.join(checks)} re-checked by a scan of every row")
        steps.append(
            f"DROP CONSTRAINT {', '.join(checks)} before and ADD it NOT VALID, then "
            "VALIDATE, after"
        )
    return (
        f"{table}.{column} keeps its rows, but the change has {' and '.join(costs)} "
        "under an ACCESS EXCLUSIVE lock (reads and writes wait)",
        f"in steps of their own: {'; '.join(steps)}",
    )


def retype_rejection(
    ctx: LintContext, table: QualifiedName, column: str
) -> tuple[str, str] | None:
    """``(message, fix)`` when PostgreSQL rejects ``ALTER COLUMN … TYPE`` of a column a
    view or materialized view reads (known from the live catalog), or that a generated
    column of the history is computed from (0A000, PG 15 and 18)."""
    readers = generated_readers(ctx.schema, table, column)
    if readers:
        return (
            f"PostgreSQL rejects changing the type of {table}.{column}: generated "
            f"column{'s' if len(readers) > 1 else ''} {', '.join(map(q, readers))} "
            f"of table {table} use{'s' if len(readers) == 1 else ''} it",
            "drop the generated column first, change the type, then add it again "
            "(ALTER TABLE … DROP COLUMN …, ADD COLUMN … GENERATED ALWAYS AS (…) STORED)",
        )
    views = dependents(ctx, table, column, views_only=True)
    if not views:
        return None
    one = len(views) == 1
    return (
        f"PostgreSQL rejects changing the type of {table}.{column}: "
        f"{', '.join(views)} read{'s' if one else ''} it",
        f"in one transaction: drop {', '.join(views)}, change the type, create "
        f"{'it' if one else 'them'} again (CREATE OR REPLACE VIEW cannot change a "
        "column's type)",
    )


def primary_key_using_index(
    table: QualifiedName, con: Body, ctx: LintContext
) -> Iterator[Hit]:
    """``ADD PRIMARY KEY USING INDEX`` (``con``): an index no key can use is rejected;
    else it runs SET NOT NULL on columns that may be NULL: a full scan under ACCESS
    EXCLUSIVE ("verifying table"), unless (PG 12+) a validated CHECK (col IS NOT NULL)
    proves it (history, else catalog)."""
    if rejected := using_index_rejection(ctx, table, con, "PRIMARY KEY"):
        yield Hit(*rejected, severity=Severity.ERROR, location=con.get("location"))
        return
    nullable = nullable_key_columns(ctx, table, con["indexname"])
    if not nullable or ctx.is_new(table):
        return
    col = nullable[0]
    yield Hit(
        f"PRIMARY KEY USING INDEX {q(con['indexname'])} makes {', '.join(nullable)} NOT "
        f"NULL: a full scan of {table} under an ACCESS EXCLUSIVE lock (reads and writes "
        "wait)",
        f"first ADD CONSTRAINT {q(f'{table.name}_{col}_not_null')} CHECK ({q(col)} IS NOT "
        "NULL) NOT VALID and VALIDATE it in a later step: PostgreSQL then skips the scan"
        if ctx.version.set_not_null_uses_check
        else "before PostgreSQL 12 the scan cannot be skipped: run it when the table is "
        "quiet, with a short lock_timeout",
        relation=table,
        location=con.get("location"),
    )
