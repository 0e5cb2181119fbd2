"""ENABLE or FORCE ROW LEVEL SECURITY on a table with no policy: its readers see no rows.

## Why
With row-level security on and no policy, PostgreSQL applies a default-deny policy: every
role other than the table's owner (and superusers and `BYPASSRLS` roles) reads no rows, and
its INSERT, UPDATE and DELETE fail or touch nothing. `FORCE ROW LEVEL SECURITY` makes the
owner subject to it too. An application that connects as its own role sees its data vanish
the moment the migration commits — no error on the reads, just empty results.

## Instead
Create the policies first, in the same transaction as the `ENABLE` (or in an earlier
migration): `CREATE POLICY … ON t USING (…) [WITH CHECK (…)]`, then
`ALTER TABLE t ENABLE ROW LEVEL SECURITY`. A policy on a table whose row security is off has
no effect, so creating it first is safe.

## Notes
Only a permissive policy opens rows: restrictive policies alone still deny every row, so
they do not count. A policy is known from the migrations (created and not dropped before the
statement, or created later in the same transaction step) or, with `--database-url`, from
`pg_policy`. When neither knows the table (it predates the migrations and no database is
configured), the finding is a warning: a policy may exist. Tables created in the same
migration are not reported (nothing reads them yet).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import altered_table, commands
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "row-security-without-policy"
SEVERITY = Severity.ERROR
CATEGORY = "compatibility"
DOCS = (
    ("Row security policies", "ddl-rowsecurity.html#DDL-ROWSECURITY"),
    ("CREATE POLICY", "sql-createpolicy.html#SQL-CREATEPOLICY"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_EnableRowSecurity", "AT_ForceRowSecurity")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, tenant text NOT NULL);"
_POLICY = (
    "CREATE POLICY orders_tenant ON orders\n"
    "  USING (tenant = current_setting('app.tenant', true));\n"
)
BAD = (
    Example("ALTER TABLE orders ENABLE ROW LEVEL SECURITY;", before=_BEFORE),
    # The policy comes one transaction too late: readers see nothing in between.
    Example(
        "BEGIN;\nALTER TABLE orders ENABLE ROW LEVEL SECURITY;\nCOMMIT;\n"
        "BEGIN;\n" + _POLICY + "COMMIT;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(_POLICY + "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;", before=_BEFORE),
    Example("ALTER TABLE orders FORCE ROW LEVEL SECURITY;", before=_BEFORE + _POLICY),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = altered_table(stmt)
    if table is None or ctx.is_new(table) or ctx.direction == "down":
        return
    # One finding per statement: ENABLE and FORCE together are one hazard.
    subtypes = {sub for sub, _ in commands(stmt, *SUBTYPES)}
    if not subtypes:
        return
    known, policies = _policies(stmt, table, ctx)
    if policies:
        return
    who = (
        "its owner included"
        if "AT_ForceRowSecurity" in subtypes
        else "except its owner"
    )
    yield Hit(
        f"row-level security on {table} with no policy: every role ({who}; superusers "
        "and BYPASSRLS roles aside) then reads no rows of it and cannot write it"
        + (
            ""
            if known
            else " (no policy is known: none in the migrations, and no database to ask)"
        ),
        f"create its policies first, in the same transaction: CREATE POLICY … ON "
        f"{table} USING (…), then enable row-level security",
        relation=table,
        severity=None if known else Severity.WARNING,
    )


def _policies(
    stmt: Statement, table: QualifiedName, ctx: LintContext
) -> tuple[bool, bool]:
    """(whether the table's policies are known at all, whether it has one by the end of
    this statement's transaction step)."""
    if ctx.schema.policies(table):
        return True, True
    wanted = key_of(table)
    for mate in ctx.step_mates(stmt):
        if mate.kind == "CreatePolicyStmt" and mate.body.get("permissive"):
            target = range_var(mate.body.get("table"))
            if target is not None and key_of(target) == wanted:
                return True, True
    live = ctx.catalog_table(table)
    if live is not None:
        return True, live.policies > 0
    known = ctx.table(table)
    return known is not None and not known.placeholder, False
