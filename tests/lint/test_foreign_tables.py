"""Foreign tables: ALTER TABLE of one is ALTER FOREIGN TABLE (no scan, no rewrite), and
PostgreSQL rejects DROP TABLE of one (and DROP FOREIGN TABLE of a table).

The server facts are checked in tests/integration/test_lint_foreign_tables.py."""

from __future__ import annotations

import pytest

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.sql.versions import ServerVersion

REMOTE = (
    "CREATE FOREIGN DATA WRAPPER dummy;\n"
    "CREATE SERVER remote FOREIGN DATA WRAPPER dummy;\n"
    "CREATE FOREIGN TABLE remote_orders (id bigint, name varchar(10)) SERVER remote;\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, name varchar(10));\n"
)
# Each of these scans or rewrites a plain table: none does on a foreign one.
ALTERS = (
    "ALTER TABLE {t} ALTER COLUMN name TYPE varchar(5);\n"
    "ALTER TABLE {t} ADD CONSTRAINT {t}_id_check CHECK (id > 0);\n"
    # (name: id is the plain table's primary key, NOT NULL already, which checks nothing)
    "ALTER TABLE {t} ALTER COLUMN name SET NOT NULL;\n"
    "ALTER TABLE {t} ADD COLUMN note varchar(10) NOT NULL DEFAULT 'x';\n"
    "ALTER TABLE {t} ADD COLUMN r float DEFAULT random();\n"
)
SCAN_RULES = {
    "column-type-rewrite",
    "check-without-not-valid",
    "set-not-null",
    "multiple-alters-same-table",
    "volatile-default",
    "prefer-text",
}


def lint(*ups, major=15):
    migrations = [
        MigrationSource(
            f"2024010{n}_0000_m{n}",
            SourceFile(f"m{n}.up.sql", up, "up"),
            SourceFile(f"m{n}.down.sql", "SELECT 1;", "down"),
        )
        for n, up in enumerate(ups)
    ]
    options = LintOptions(version=ServerVersion.from_major(major))
    return [
        f
        for f in lint_migrations(migrations, options=options).findings
        if f.path == f"m{len(ups) - 1}.up.sql"
    ]


@pytest.mark.parametrize("major", [15, 18])
def test_alter_table_of_a_foreign_table_from_history_claims_no_scan(major):
    fired = {
        f.rule for f in lint(REMOTE, ALTERS.format(t="remote_orders"), major=major)
    }
    assert not fired & SCAN_RULES, fired
    # The same statements on the plain table are reported (the test can fail).
    plain = {f.rule for f in lint(REMOTE, ALTERS.format(t="orders"), major=major)}
    assert SCAN_RULES - {"volatile-default"} <= plain, plain


def test_alter_table_of_a_foreign_table_created_in_the_same_file():
    found = lint(REMOTE + ALTERS.format(t="remote_orders"))
    fired = {f.rule for f in found if f.line > REMOTE.count("\n")}  # the ALTERs'
    assert not fired & SCAN_RULES, fired


def test_the_history_follows_a_renamed_foreign_table():
    renamed = "ALTER FOREIGN TABLE remote_orders RENAME TO remote_sales;"
    fired = {f.rule for f in lint(REMOTE, renamed, ALTERS.format(t="remote_sales"))}
    assert not fired & SCAN_RULES, fired


def test_drop_table_of_a_foreign_table_is_rejected_with_the_right_keyword():
    found = lint(REMOTE, "DROP TABLE IF EXISTS remote_orders;")
    assert [(f.rule, f.severity.name.lower()) for f in found] == [
        ("drop-table", "error")
    ]
    assert "rejects DROP TABLE remote_orders: it is a foreign table" in found[0].message
    assert found[0].fix == "DROP FOREIGN TABLE IF EXISTS remote_orders"


def test_drop_foreign_table_of_a_table_is_rejected():
    found = lint(REMOTE, "DROP FOREIGN TABLE orders;")
    assert [(f.rule, f.severity.name.lower()) for f in found] == [
        ("drop-table", "error")
    ]
    assert found[0].fix == "DROP TABLE orders"


def test_dropping_a_foreign_table_keeps_the_remote_rows():
    found = lint(REMOTE, "DROP FOREIGN TABLE remote_orders;")
    assert [(f.rule, f.severity.name.lower()) for f in found] == [
        ("drop-table", "warning")
    ]
    assert "rows stay on the remote server" in found[0].message
    assert "destroys" not in found[0].message


def test_an_unknown_table_is_not_assumed_foreign():
    found = [f.rule for f in lint("SELECT 1;", "DROP TABLE legacy;")]
    assert found == ["drop-table"]
    fired = {f.rule for f in lint("SELECT 1;", ALTERS.format(t="legacy"))}
    assert {"column-type-rewrite", "set-not-null"} <= fired
