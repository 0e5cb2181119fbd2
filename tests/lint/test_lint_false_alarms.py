"""False alarms and a missed reason found by bench/lint_hazards.py, each checked on a
PostgreSQL 15 and 18 server."""

from __future__ import annotations

import pytest

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.sql.versions import ServerVersion


def migration(name, up, down="SELECT 1;"):
    return MigrationSource(
        name,
        SourceFile(f"{name}.up.sql", up, "up"),
        SourceFile(f"{name}.down.sql", down, "down"),
    )


def findings(history, sql, major=15):
    options = LintOptions(version=ServerVersion.from_major(major))
    result = lint_migrations(
        [migration("a", history), migration("b", sql)], options=options
    )
    return [f for f in result.findings if f.path == "b.up.sql"]


def rules(history, sql, major=15):
    return [f.rule for f in findings(history, sql, major)]


_TABLE = "CREATE TABLE t (id bigint PRIMARY KEY, name text, other text);\n"


# SET NOT NULL skips its scan when a validated CHECK implies col IS NOT NULL: DEBUG1
# "verifying table" absent on PG 15 and 18 for the proved forms, present for the others.
@pytest.mark.parametrize(
    ("check", "proved"),
    [
        ("name IS NOT NULL", {"name"}),
        ("name IS NOT NULL AND name <> ''", {"name"}),
        ("id > 0 AND (name <> '' AND name IS NOT NULL)", {"name"}),
        ("NOT (name IS NULL)", {"name"}),
        ("name IS NOT NULL AND other IS NOT NULL", {"name", "other"}),
        ("(name, other) IS NOT NULL", {"name", "other"}),
        ("name <> ''", set()),
        ("name IS NOT NULL OR id > 0", set()),
        ("(name IS NOT NULL) IS TRUE", set()),
        ("NOT ((name, other) IS NULL)", set()),
    ],
)
@pytest.mark.parametrize("column", ["name", "other"])
@pytest.mark.parametrize("major", [15, 18])
def test_set_not_null_after_a_validated_check_that_implies_it(
    check, proved, column, major
):
    history = (
        _TABLE + f"ALTER TABLE t ADD CONSTRAINT t_chk CHECK ({check}) NOT VALID;\n"
        "BEGIN; SELECT 1; COMMIT;\nALTER TABLE t VALIDATE CONSTRAINT t_chk;"
    )
    fired = rules(history, f"ALTER TABLE t ALTER COLUMN {column} SET NOT NULL;", major)
    assert ("set-not-null" in fired) == (column not in proved)


def test_a_compound_check_not_validated_proves_nothing():
    history = (
        _TABLE + "ALTER TABLE t ADD CONSTRAINT t_chk "
        "CHECK (name IS NOT NULL AND name <> '') NOT VALID;"
    )
    assert "set-not-null" in rules(
        history, "ALTER TABLE t ALTER COLUMN name SET NOT NULL;"
    )


def test_a_compound_check_follows_a_column_rename():
    history = (
        _TABLE + "ALTER TABLE t ADD CONSTRAINT t_chk "
        "CHECK (id > 0 AND name IS NOT NULL);\n"
        "ALTER TABLE t RENAME COLUMN name TO title;"
    )
    sql = "ALTER TABLE t ALTER COLUMN title SET NOT NULL;"
    assert "set-not-null" not in rules(history, sql)


# A STABLE or IMMUTABLE default is computed once, stored as the missing value: no rewrite
# (relfilenode unchanged on PG 15 and 18); a VOLATILE one rewrites.
@pytest.mark.parametrize(
    ("declared", "call", "reported"),
    [
        ("LANGUAGE sql STABLE AS $$ SELECT 'free' $$", "tier()", False),
        ("LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN 'a'; END $$", "tier()", False),
        (
            "LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 'a'; END $$",
            "public.tier()",
            False,
        ),
        ("LANGUAGE plpgsql AS $$ BEGIN RETURN 'a'; END $$", "tier()", True),
        ("LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN 'a'; END $$", "tier()", True),
        # another schema's tier(): not the history's (unknown offline)
        ("LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 'a'; END $$", "app.tier()", True),
        # a stable function inside a volatile expression
        ("LANGUAGE sql STABLE AS $$ SELECT 'free' $$", "tier() || random()", True),
    ],
)
def test_a_default_calling_a_function_the_history_made(declared, call, reported):
    history = _TABLE + f"CREATE FUNCTION tier() RETURNS text {declared};"
    sql = f"ALTER TABLE t ADD COLUMN tier text DEFAULT {call};"
    assert ("volatile-default" in rules(history, sql)) == reported


def test_a_function_made_volatile_by_alter_function():
    history = (
        _TABLE + "CREATE FUNCTION tier() RETURNS text LANGUAGE plpgsql STABLE "
        "AS $$ BEGIN RETURN 'a'; END $$;\nALTER FUNCTION tier() VOLATILE;"
    )
    sql = "ALTER TABLE t ADD COLUMN tier text DEFAULT tier();"
    assert "volatile-default" in rules(history, sql)


def test_dropping_a_check_is_info_and_keys_stay_warnings():
    """DROP CONSTRAINT of a CHECK is instant (a brief ACCESS EXCLUSIVE, no scan) and no
    statement fails for it: info. A UNIQUE's drop makes ON CONFLICT on it fail (42P10,
    PG 15 and 18), a FOREIGN KEY's ends its ON DELETE actions: warnings, like a
    constraint of unknown kind."""
    history = (
        "CREATE TABLE a (id bigint PRIMARY KEY, email text, visits int);\n"
        "CREATE TABLE o (id bigint PRIMARY KEY, a_id bigint);\n"
        "ALTER TABLE a ADD CONSTRAINT a_visits_check CHECK (visits >= 0) NOT VALID;\n"
        "ALTER TABLE a ADD CONSTRAINT a_email_key UNIQUE (email);\n"
        "ALTER TABLE o ADD CONSTRAINT o_a_fk FOREIGN KEY (a_id) REFERENCES a NOT VALID;"
    )
    found = findings(
        history,
        "ALTER TABLE a DROP CONSTRAINT IF EXISTS a_visits_check;\n"
        "ALTER TABLE a DROP CONSTRAINT a_email_key;\n"
        "ALTER TABLE o DROP CONSTRAINT o_a_fk;\n"
        "ALTER TABLE a DROP CONSTRAINT a_unknown;",
    )
    drops = [(f.line, f.severity.name) for f in found if f.rule == "drop-object"]
    assert drops == [(1, "INFO"), (2, "WARNING"), (3, "WARNING"), (4, "WARNING")]
    [check] = [f for f in found if f.rule == "drop-object" and f.line == 1]
    assert "NOT VALID" in check.fix and "VALIDATE" in check.fix
