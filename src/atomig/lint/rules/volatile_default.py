"""ADD COLUMN with a volatile DEFAULT rewrites the whole table under ACCESS EXCLUSIVE.

## Why
Since PostgreSQL 11 a non-volatile default (a constant, `now()`, `CURRENT_TIMESTAMP`) is
stored once in the catalog: no rewrite. A volatile default (`random()`,
`gen_random_uuid()`, `clock_timestamp()`, `nextval()`, or any function declared VOLATILE)
must be computed for every row, so the table is rewritten while reads and writes wait. Before
PostgreSQL 11 every non-NULL default rewrites.

## Instead
Add the column without a default (or with a constant one), set the default for new rows
with `ALTER TABLE … ALTER COLUMN … SET DEFAULT …`, then fill existing rows with a batched
backfill (`-- atomig: backfill` before the UPDATE). A NOT NULL or PRIMARY KEY column is
added nullable (its existing rows are NULL: PostgreSQL would reject it) and made so after.

## Notes
Volatility comes from the history's CREATE FUNCTION (or ALTER FUNCTION) for a function it
made, from the live catalog when connected (`pg_proc.provolatile`), else from atomig's table
of builtin functions; an unknown function is treated as volatile. A STABLE or IMMUTABLE
function computes the default once: no rewrite (relfilenode on PG 15 and 18), and so does a
VOLATILE `LANGUAGE sql` one the history made whose body is a bare `SELECT expr` of stable
builtins (`SELECT 'free'`): PostgreSQL inlines it before it asks. A column of
a domain with a CHECK or NOT NULL constraint rewrites the table too, default or not (the
constraint is checked on every row; relfilenode on PG 15 and 18): known from the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_columns,
    alter_relation,
    batched_backfill,
    declared_volatility,
    domain_base,
    has_constraint,
    q,
    required_column_advice,
)
from atomig.lint.rule import Example
from atomig.sql.parse import Statement
from atomig.sql.types import TypeRef
from atomig.sql.volatility import Volatility, expression_volatility

ID = "volatile-default"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE: notes (fast defaults, rewrites)",
        "sql-altertable.html#SQL-ALTERTABLE-NOTES",
    ),
    ("Adding a column", "ddl-alter.html#DDL-ALTER-ADDING-A-COLUMN"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddColumn",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = (
    "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    "ALTER TABLE orders ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();",
    Example("ALTER TABLE orders ADD COLUMN status text DEFAULT 'new';", pg=(None, 10)),
)
GOOD = (
    Example(
        "ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT now();",
        before=_BEFORE,
        pg=(11, None),
    ),
    Example(
        "ALTER TABLE orders ADD COLUMN status text DEFAULT 'new';",
        before=_BEFORE,
        pg=(11, None),
    ),
    Example(
        "ALTER TABLE orders ADD COLUMN token uuid;\n"
        "ALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();",
        before=_BEFORE,
        pg=(13, None),  # before 13, gen_random_uuid() is pgcrypto's
    ),
    Example(
        "ALTER TABLE orders ADD COLUMN status text DEFAULT default_status();",
        before=_BEFORE + "\nCREATE FUNCTION default_status() RETURNS text LANGUAGE "
        "plpgsql STABLE AS $$ BEGIN RETURN 'new'; END $$;",
        pg=(11, None),
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    for coldef in added_columns(stmt):
        column, declared = coldef.get("colname"), coldef.get("typeName")
        base, checked = domain_base(TypeRef.from_node(declared or {}), ctx)
        if declared and checked:
            yield Hit(
                f"ADD COLUMN {column} of domain {TypeRef.from_node(declared)} rewrites "
                f"{table} under an ACCESS EXCLUSIVE lock (reads and writes wait): the "
                "domain's constraint is checked on every existing row",
                f"add {q(column)} as {base} and state the rule as a CHECK … NOT VALID "
                "constraint, validated in a later step",
                relation=table,
                location=coldef.get("location"),
            )
            continue
        default = has_constraint(coldef, "CONSTR_DEFAULT")
        if default is None:
            continue
        expr = default.get("raw_expr") or {}
        if expr.get("A_Const", {}).get("isnull"):
            continue
        level, culprit = expression_volatility(expr, declared_volatility(ctx, expr))
        if not ctx.version.fast_column_default:
            why = f"before PostgreSQL 11 any default rewrites the table (target {ctx.version})"
        elif level is Volatility.VOLATILE:
            why = f"{culprit}() is volatile: it is computed for every existing row"
        elif level is Volatility.UNKNOWN:
            why = (
                f"the volatility of {culprit}() is unknown (connect a database to check): "
                "if volatile, it is computed for every existing row"
            )
        else:
            continue
        without, after = required_column_advice(coldef, table, ctx)
        yield Hit(
            f"ADD COLUMN {column} with this DEFAULT rewrites {table} under an ACCESS "
            f"EXCLUSIVE lock (reads and writes wait): {why}",
            f"add {q(column)} without the default{without}, then ALTER COLUMN "
            f"{q(column)} SET DEFAULT …, then "
            f"{batched_backfill(ctx, table, str(column))}{after}",
            relation=table,
            location=coldef.get("location"),
        )
