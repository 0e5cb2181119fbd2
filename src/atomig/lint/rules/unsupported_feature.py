"""The statement uses syntax or a builtin function the target PostgreSQL version does not
have: the server rejects it.

## Why
A migration written against a newer server fails on an older one: a syntax error, or
"function … does not exist", in the middle of a deploy. The target is `--pg-version` (or
the connected server's, or the configured one). Among the features checked, by the major
that introduced them: INCLUDE columns, CALL and procedures (11); STORED generated columns,
REINDEX CONCURRENTLY, table access methods (12); `gen_random_uuid()` without pgcrypto,
DROP EXPRESSION (13); DETACH PARTITION … CONCURRENTLY, CREATE OR REPLACE TRIGGER, column
COMPRESSION, `date_bin()` (14); MERGE, NULLS NOT DISTINCT, SET ACCESS METHOD,
`regexp_count()` (15); the SQL/JSON constructors and IS JSON, `any_value()` (16); JSON_TABLE
and the SQL/JSON query functions, MERGE … RETURNING, SET EXPRESSION (17); VIRTUAL generated
columns, NOT ENFORCED constraints, WITHOUT OVERLAPS and PERIOD keys, NOT NULL … NOT VALID,
`uuidv7()` (18).

## Instead
Write what the target version has (the message says what, where there is an equivalent),
or raise the target when every server that runs the migrations is new enough.

## Notes
Only builtin functions (pg_catalog, or unqualified) are checked, and not one the project
defines itself (its own `uuidv7()`, by the history, this file or the live catalog);
`gen_random_uuid()` is accepted before 13 when pgcrypto is installed.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.facts import QualifiedName
from atomig.sql.features import features
from atomig.sql.parse import Statement

ID = "unsupported-feature"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (("Release notes", "release.html#RELEASE"),)
TARGETS = ("*",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL);"
BAD = (
    Example(
        "MERGE INTO orders o USING (VALUES (1, 10)) AS v (id, total) ON o.id = v.id "
        "WHEN MATCHED THEN UPDATE SET total = v.total;",
        pg=(None, 14),
    ),
    Example("SELECT uuidv7();", pg=(None, 17)),
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) "
        "NOT ENFORCED;",
        pg=(None, 17),
    ),
)
GOOD = (
    Example(
        "MERGE INTO orders o USING (VALUES (1, 10)) AS v (id, total) ON o.id = v.id "
        "WHEN MATCHED THEN UPDATE SET total = v.total;",
        before=_BEFORE,
        pg=(15, None),
    ),
    Example("SELECT gen_random_uuid();", pg=(13, None)),
    Example(
        "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total > 0) "
        "NOT VALID;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    missing = list(features(stmt, _Defined(ctx), newer_than=ctx.version.major))
    if not missing:
        return
    what = "; ".join(f"{f.label} (PostgreSQL {f.since}+)" for f in missing)
    instead = "; ".join(
        f"instead of {f.label}: {f.instead}" for f in missing if f.instead
    )
    newest = max(f.since for f in missing)
    yield Hit(
        f"PostgreSQL {ctx.version.major} has no {what}: it rejects this statement",
        instead
        or f"write it without them, or target PostgreSQL {newest}+ (--pg-version)",
    )


class _Defined:
    """Functions the project has itself: created by the history or this file, or in the
    live catalog outside pg_catalog; pgcrypto's gen_random_uuid() once the history
    creates the extension."""

    def __init__(self, ctx: LintContext) -> None:
        self._ctx = ctx

    def __contains__(self, name: object) -> bool:
        ctx = self._ctx
        if not isinstance(name, str):
            return False
        made = ctx.schema.creator("function", QualifiedName(None, name))
        if name in ctx.schema.routines or made is not None:
            return True
        if ctx.catalog is not None and name in ctx.catalog.functions:
            return True
        pgcrypto = QualifiedName(None, "pgcrypto")
        return (
            name == "gen_random_uuid"
            and ctx.schema.creator("extension", pgcrypto) is not None
        )
