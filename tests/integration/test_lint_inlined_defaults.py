"""volatile-default on a default calling a SQL function the migrations created, PG 15 and
18: PostgreSQL inlines a parameterless ``SELECT expr`` body before it asks whether the
default is volatile, so the lint verdict must follow the body, and match relfilenode."""

from __future__ import annotations

import pytest

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.sql.versions import ServerVersion

TABLE = "CREATE TABLE acc (id bigint PRIMARY KEY);\n"
# (function definition, its result type, rewrites the table as a default)
FUNCTIONS = [
    ("LANGUAGE sql AS $$ SELECT 'free' $$", "text", False),
    ("LANGUAGE sql AS $$ SELECT 'free'; $$", "text", False),
    ("LANGUAGE sql AS $$ SELECT now() + interval '1 day' $$", "timestamptz", False),
    ("LANGUAGE sql AS $$ SELECT upper('free') || 'x' $$", "text", False),
    ("LANGUAGE sql STRICT AS $$ SELECT 'free' $$", "text", False),
    (
        "LANGUAGE sql AS $$ SELECT CASE WHEN current_user = 'x' THEN 'a' ELSE 'b' END $$",
        "text",
        False,
    ),
    ("LANGUAGE sql AS $$ SELECT random() $$", "float8", True),
    ("LANGUAGE sql AS $$ SELECT max(1) $$", "int", True),
    ("LANGUAGE sql AS $$ SELECT (SELECT 1) $$", "int", True),
    ("LANGUAGE sql SECURITY DEFINER AS $$ SELECT 'free' $$", "text", True),
    ("LANGUAGE sql SET search_path = public AS $$ SELECT 'free' $$", "text", True),
    ("LANGUAGE plpgsql AS $$ BEGIN RETURN 'free'; END $$", "text", True),
]


@pytest.mark.parametrize(("definition", "returns", "rewrites"), FUNCTIONS)
def test_the_lint_verdict_follows_the_inlined_body(
    database, definition, returns, rewrites
):
    history = TABLE + f"CREATE FUNCTION pick() RETURNS {returns} {definition};\n"
    up = f"ALTER TABLE acc ADD COLUMN tier {returns} DEFAULT pick();\n"
    node = "SELECT pg_relation_filenode('acc')"
    with database.connect() as conn:
        conn.execute(history)
        conn.execute("INSERT INTO acc SELECT generate_series(1, 10)")
        before = conn.execute(node).fetchone()[0]
        conn.execute(up)
        after = conn.execute(node).fetchone()[0]
    assert (before != after) == rewrites, "the case's expectation is wrong"
    migrations = [
        MigrationSource(
            "20240101_0000_a",
            SourceFile("a.up.sql", history, "up"),
            SourceFile("a.down.sql", "DROP TABLE IF EXISTS acc;", "down"),
        ),
        MigrationSource(
            "20240102_0000_b",
            SourceFile("b.up.sql", up, "up"),
            SourceFile(
                "b.down.sql", "ALTER TABLE acc DROP COLUMN IF EXISTS tier;", "down"
            ),
        ),
    ]
    options = LintOptions(version=ServerVersion.from_major(database.major))
    result = lint_migrations(migrations, options=options)
    fired = [f.rule for f in result.findings if f.path == "b.up.sql"]
    assert ("volatile-default" in fired) == rewrites, fired
