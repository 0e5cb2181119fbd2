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
Only builtin functions (pg_catalog, or unqualified) are checked; `gen_random_uuid()` is
accepted before 13 when pgcrypto is installed (by the history, this file, or the live
catalog).
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
    missing = [
        f for f in features(stmt, _extensions(ctx)) if not ctx.version.at_least(f.since)
    ]
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


def _extensions(ctx: LintContext) -> frozenset[str]:
    """pgcrypto when installed: by the history or this file, or in the live catalog (its
    gen_random_uuid() outside pg_catalog)."""
    if ctx.version.at_least(13):
        return frozenset()  # only gen_random_uuid() asks, and 13+ has it built in
    made = ctx.schema.creator("extension", QualifiedName(None, "pgcrypto")) is not None
    live = ctx.catalog is not None and "gen_random_uuid" in ctx.catalog.functions
    return frozenset({"pgcrypto"}) if made or live else frozenset()
