"""Fix texts name columns as SQL that PostgreSQL reads back as those columns: a mixed-case
or reserved name is double-quoted (chinook's "Track"."Name")."""

from __future__ import annotations

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations


def fixes(sql):
    migration = MigrationSource(
        "20240101_0000_case",
        SourceFile("case.up.sql", sql, "up"),
        SourceFile("case.down.sql", "SELECT 1;", "down"),
    )
    result = lint_migrations([migration], options=LintOptions())
    return {f.rule: f.fix for f in result.findings if f.path == "case.up.sql"}


def test_type_advice_quotes_the_column():
    found = fixes(
        'CREATE TABLE "Track" ("TrackId" serial PRIMARY KEY, "Name" varchar(200),'
        ' "Meta" json, "Created" timestamp, "user" int REFERENCES "Users");'
    )
    assert found["prefer-text"].startswith(
        'declare "Name" text, with CHECK (char_length("Name") <= n)'
    )
    assert found["prefer-jsonb"] == 'declare "Meta" jsonb'
    assert found["prefer-timestamptz"] == 'declare "Created" timestamptz'
    assert found["prefer-identity"].startswith('declare "TrackId" ')
    assert found["prefer-bigint"].startswith('declare "')
