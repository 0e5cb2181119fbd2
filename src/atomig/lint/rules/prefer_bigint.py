"""Use bigint for keys: integer and smallint keys run out.

## Why
An `integer` key tops out at 2,147,483,647; a busy table gets there, and then every insert
fails. Widening it later rewrites the table and every referencing table (`int` → `bigint`
is not binary-coercible). The 4 extra bytes are cheap insurance.

## Instead
`bigint` (or `bigint GENERATED ALWAYS AS IDENTITY`) for primary keys, identity and serial
columns, and the columns that reference them.

## Notes
Reported for key-like columns only: primary keys, identity/serial columns, foreign-key
columns, and columns named `id` or ending in `_id`. One hazard, one finding: a foreign-key
column as small as the key it references, where that key is declared in the same
migration, is not reported (the key is, once). When the small key comes from history or the
live catalog, the foreign-key column is reported with that explained: a `bigint` column may
reference an `integer` key, and declaring it so now spares its table a rewrite when the key
is widened. A small column referencing a `bigint` key is reported as the mismatch it is.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    alter_relation,
    foreign_key_of,
    has_constraint,
    own_primary_key,
    q,
)
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement
from atomig.sql.types import TypeRef

ID = "prefer-bigint"
SEVERITY = Severity.WARNING
CATEGORY = "types"
DOCS = (("Integer types", "datatype-numeric.html#DATATYPE-INT"),)
TARGETS = ("CreateStmt", "AlterTableStmt")
SUBTYPES = ("AT_AddColumn", "AT_AlterColumnType")
_SMALL = {
    "int4": "integer",
    "int2": "smallint",
    "serial": "serial",
    "smallserial": "smallserial",
}
BAD = (
    "CREATE TABLE users (id serial PRIMARY KEY);",
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id int);",
)
GOOD = (
    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, age int);",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    declared_here = {c: t for c, t, _ in ctx.declared_types(stmt)}
    for column, declared, coldef in ctx.declared_types(stmt):
        label = _SMALL.get(declared.name)
        if label is None or declared.array:
            continue
        fk = foreign_key_of(stmt, column, coldef)
        keyish = (
            column == "id"
            or column.endswith("_id")
            or declared.name.endswith("serial")
            or fk is not None
            or has_constraint(coldef, "CONSTR_PRIMARY", "CONSTR_IDENTITY")
        )
        if not keyish:
            continue
        wide = "bigserial" if declared.name.endswith("serial") else "bigint"
        limit = (
            "32,767" if declared.name in ("int2", "smallserial") else "2,147,483,647"
        )
        where = coldef.get("location")
        key = _referenced(stmt, ctx, fk, declared_here) if fk else None
        if key is None:
            yield Hit(
                f"key column {column} is {label}: it runs out at {limit} and widening "
                "it later rewrites this table and every table referencing it",
                f"declare {q(column)} {wide}",
                location=where,
            )
            continue
        ref, ref_type, ref_here = key
        ref_label = _SMALL.get(ref_type.name)
        if ref_label is None:
            shown = "bigint" if ref_type.name == "int8" else ref_type.name
            yield Hit(
                f"foreign-key column {column} is {label} but references {ref} "
                f"({shown}): inserts fail once {ref} passes {limit}",
                f"declare {q(column)} bigint, as the key it references",
                location=where,
            )
        elif not ref_here:
            yield Hit(
                f"foreign-key column {column} is {label}, like the key it references "
                f"({ref}, declared before this migration): that key runs out at "
                f"{limit}, and widening it later rewrites every table referencing it "
                "with a column this small",
                f"declare {q(column)} bigint (a bigint column may reference an {ref_label} "
                f"key); widening {ref} itself is a change of its own",
                location=where,
            )
        # else: the key is declared in this migration and reported there, once.


def _referenced(
    stmt: Statement,
    ctx: LintContext,
    fk: tuple[QualifiedName | None, str | None],
    declared_here: dict[str, TypeRef],
) -> tuple[str, TypeRef, bool] | None:
    """``(table.column, its type, declared in this migration)`` of the key a foreign key
    references, when history, the catalog or this statement (a self-reference) knows it."""
    table, column = fk
    if table is None:
        return None
    this = range_var(stmt.body.get("relation")) or alter_relation(stmt)
    known = ctx.table(table)
    if column is None and table == this:
        column = own_primary_key(stmt)
    elif column is None and known is not None:
        primary = [c.columns for c in known.constraints.values() if c.kind == "primary"]
        column = primary[0][0] if primary and len(primary[0]) == 1 else None
    if column is None:
        return None
    if table == this and column in declared_here:
        return f"{table}.{column}", declared_here[column], True
    ref_type = ctx.column_type(table, column)
    if ref_type is None:
        return None
    col = known.columns.get(column) if known is not None else None
    here = col is not None and col.set_by == ctx.migration
    return f"{table}.{column}", ref_type, here
