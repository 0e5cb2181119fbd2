"""Down files in the wrong order, against PG 15 and 18: lint reports a down statement as
rejected ("PostgreSQL rejects …", an error) exactly when PostgreSQL rejects it because
an object the up created still depends on what it drops (SQLSTATE 2BP01, or 0A000 for a
type change under a view), and no statement it accepts. Each up is applied, then its down
run statement by statement (one per line)."""

from __future__ import annotations

import json

import psycopg
import pytest

BASE = (
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, age int);\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL, total "
    "numeric);\n"
)
CASES = {
    "table before its view": (
        "CREATE TABLE tags (id bigint PRIMARY KEY, name text);\n"
        "CREATE VIEW tag_names AS SELECT name FROM tags;\n",
        "DROP TABLE IF EXISTS tags;\nDROP VIEW IF EXISTS tag_names;\n"
        "DROP TABLE IF EXISTS tags;\n",
    ),
    "column before its view": (
        "ALTER TABLE users ADD COLUMN nick text;\n"
        "CREATE VIEW user_nicks AS SELECT id, nick FROM users;\n",
        "ALTER TABLE users DROP COLUMN IF EXISTS nick;\n"
        "DROP VIEW IF EXISTS user_nicks;\n"
        "ALTER TABLE users DROP COLUMN IF EXISTS nick;\n",
    ),
    "a join's bare columns": (
        "CREATE VIEW user_totals AS SELECT email, total FROM users u "
        "JOIN orders o ON o.user_id = u.id;\n",
        "ALTER TABLE users DROP COLUMN age;\n"
        "ALTER TABLE orders DROP COLUMN total;\n"
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);\n"
        "DROP VIEW user_totals;\n",
    ),
    "select star, renamed table": (
        "CREATE MATERIALIZED VIEW user_copy AS SELECT * FROM users;\n"
        "ALTER TABLE users RENAME TO people;\n",
        "ALTER TABLE people ALTER COLUMN age TYPE bigint;\n"
        "DROP TABLE people;\n"
        "DROP MATERIALIZED VIEW user_copy;\n"
        "ALTER TABLE people RENAME TO users;\n",
    ),
    "type before its table": (
        "CREATE TYPE mood AS ENUM ('a', 'b');\n"
        "CREATE TABLE feelings (id bigint PRIMARY KEY, m mood, ms mood[]);\n",
        "DROP TYPE IF EXISTS mood;\nDROP TABLE IF EXISTS feelings;\n"
        "DROP TYPE IF EXISTS mood;\n",
    ),
    "domain before its column": (
        "CREATE DOMAIN price AS numeric CHECK (VALUE >= 0);\n"
        "ALTER TABLE orders ADD COLUMN net price;\n",
        "DROP DOMAIN IF EXISTS price;\nALTER TABLE orders DROP COLUMN IF EXISTS net;\n"
        "DROP DOMAIN IF EXISTS price;\n",
    ),
    "cascade": (
        "CREATE VIEW user_ages AS SELECT * FROM users;\n",
        "ALTER TABLE users DROP COLUMN age CASCADE;\n"
        "ALTER TABLE users DROP COLUMN email;\n",
    ),
}
_REJECTED = ("2BP01", "0A000")


def _lint_errors(project) -> set[int]:
    result = project.cli("lint", "--json", "--no-database")
    assert result.exit_code in (0, 1), result.output
    return {
        f["line"]
        for f in json.loads(result.stdout)["findings"]
        if f["file"].endswith("down.sql")
        and f["severity"] == "error"
        and f["message"].startswith("PostgreSQL rejects")
    }


@pytest.mark.parametrize("case", CASES)
def test_lint_reports_the_down_statements_postgres_rejects(project, case):
    up, down = CASES[case]
    project.add("20260101_0000_base", BASE, "SELECT 1;\n")
    project.add("20260102_0000_change", up, down)
    reported = _lint_errors(project)
    db = project.database
    db.execute(BASE)
    db.execute(up)
    rejected = set()
    for line, statement in enumerate(down.splitlines(), 1):
        try:
            db.execute(statement)
        except psycopg.Error as error:
            assert error.sqlstate in _REJECTED, (statement, error)
            rejected.add(line)
    assert bool(rejected) is (case != "cascade")  # CASCADE dropped the view first
    assert reported == rejected, (reported, rejected)
