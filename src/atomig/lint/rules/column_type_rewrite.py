"""ALTER COLUMN … TYPE rewrites the table (and its indexes) unless the change is
binary-coercible.

## Why
A type change takes an ACCESS EXCLUSIVE lock and, unless PostgreSQL can prove the old values
are valid as they are, rewrites every row and rebuilds every index on the column. Free
changes (no rewrite): `varchar(n)` → `varchar(m)` with m ≥ n, `varchar` → `text`, `text` →
`varchar` without a limit, `numeric(p,s)` → `numeric(q,s)` with q ≥ p, removing a length or
precision limit, raising a timestamp/time/interval precision, `cidr` → `inet`, (PostgreSQL
12+) `timestamp` ↔ `timestamptz` in a session whose TimeZone is UTC; an array only when its
element type stays. A `USING` that is the column itself, bare or cast to the new type,
changes nothing; any other computes every value anew. Even a free change rebuilds the
indexes whose expression or WHERE reads the column (`lower(email)`), under the same lock.

## Instead
For a real change (`int` → `bigint`, `text` → `jsonb` …): add a new column, backfill it in
batches (`-- atomig: backfill`), keep it in sync with a trigger, switch readers and writers,
then drop the old column in a later migration.

## Notes
atomig knows the old type from the migration history (or, connected, from the live
catalog): free changes are not reported. Connected, a domain counts as its base type, and a
change to a domain with a CHECK or NOT NULL constraint as a rewrite. When the old type is
unknown the change is reported as a possible rewrite. Another collation (without COLLATE:
the new type's own) rebuilds the column's indexes; the same one rebuilds nothing.
PostgreSQL rejects the change of a column a view or materialized view reads (known from
the history or the live catalog), or a generated column of the history is computed from.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    alter_relation,
    collation_rebuild,
    commands,
    domain_base,
    expression_index_rebuild,
    keyless_note,
    retype_rejection,
    session_timezone,
    type_change_rewrites,
)
from atomig.lint.rule import Example
from atomig.sql.parse import Statement
from atomig.sql.types import TypeRef, using_keeps_column

ID = "column-type-rewrite"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … SET DATA TYPE",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DATA-TYPE",
    ),
    ("ALTER TABLE: notes (rewrites)", "sql-altertable.html#SQL-ALTERTABLE-NOTES"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AlterColumnType",)
_ZONED = {"timestamp", "timestamptz"}
_BEFORE = (
    "CREATE TABLE orders (id int PRIMARY KEY, note varchar(50), total numeric(10,2));"
)
BAD = (
    Example("ALTER TABLE orders ALTER COLUMN id TYPE bigint;", before=_BEFORE),
    Example("ALTER TABLE orders ALTER COLUMN note TYPE varchar(20);", before=_BEFORE),
    "ALTER TABLE orders ALTER COLUMN note TYPE text;",
    Example(
        "ALTER TABLE orders ALTER COLUMN note TYPE varchar(100);",
        before=_BEFORE + "\nCREATE INDEX orders_note_lower ON orders (lower(note));",
    ),
)
GOOD = (
    Example("ALTER TABLE orders ALTER COLUMN note TYPE varchar(100);", before=_BEFORE),
    Example("ALTER TABLE orders ALTER COLUMN note TYPE text;", before=_BEFORE),
    Example(
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);", before=_BEFORE
    ),
    Example(
        "ALTER TABLE orders ALTER COLUMN note TYPE varchar(100)"
        " USING note::varchar(100);",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for _, cmd in commands(stmt, "AT_AlterColumnType"):
        column = cmd.get("name", "")
        coldef = (cmd.get("def") or {}).get("ColumnDef", {})
        if rejected := retype_rejection(ctx, table, column):
            yield Hit(
                *rejected, location=coldef.get("location"), severity=Severity.ERROR
            )
            continue
        new = TypeRef.from_node(coldef.get("typeName") or {})
        fix = (
            f"add a new {new} column, backfill it in batches (-- atomig: backfill), sync "
            "it with a trigger, switch the application, drop the old column later"
        ) + keyless_note(ctx, table)
        # A domain is its base type (the cast is a relabel), but changing to a domain
        # with a constraint checks every value: a rewrite (relfilenode on PG 15 and 18).
        if not type_change_rewrites(stmt, table, cmd, ctx):
            # Another collation rebuilds the column's indexes, not the table.
            found = list(collation_rebuild(table, column, coldef, ctx, fix))
            yield from found
            if not found and (rebuild := expression_index_rebuild(ctx, table, column)):
                yield Hit(*rebuild, relation=table, location=coldef.get("location"))
            continue
        using = not using_keeps_column(coldef, column)
        old = ctx.column_type(table, column)
        if using:
            what = f"USING computes every value of {column} anew ({new}): it rewrites"
        elif old is None:
            what = f"the old type of {table}.{column} is unknown: unless {new} is "
            what += "binary-coercible from it, the change rewrites"
        elif domain_base(new, ctx)[1]:
            what = f"{new} is a domain with a constraint, checked on every row: it rewrites"
        else:
            what = f"{old} → {new} is not binary-coercible: it rewrites"
        if {old and old.name, new.name} == _ZONED and ctx.version.at_least(12):
            zone = session_timezone(stmt, ctx) or "unknown"
            what = f"{old} → {new} reads every value in the session TimeZone ({zone}):"
            what += " it rewrites"
            fix = (
                "if the stored values are UTC times, SET TimeZone = 'UTC' earlier in this "
                "file (PostgreSQL then changes only the catalog); else " + fix
            )
        yield Hit(
            f"{what} {table} and its indexes under an ACCESS EXCLUSIVE lock (reads and "
            "writes wait)",
            fix,
            relation=table,
            location=coldef.get("location"),
        )
