"""backfill-rejected against the runner (PG 15 and 18): lint reports a `-- atomig: backfill`
exactly when `atomig up` refuses it for want of a key (or for updating the key), from the
live catalog (a table older than the history) and from the history."""

from __future__ import annotations

import json

import pytest

CASES = [
    # (table, refused)
    ("CREATE TABLE t (a int, b text)", True),
    ("CREATE TABLE t (a int UNIQUE, b text)", True),  # a nullable unique key
    (
        "CREATE TABLE t (a int NOT NULL, b text);CREATE UNIQUE INDEX t_a ON t (a) WHERE a > 0",
        True,
    ),
    (
        "CREATE TABLE t (a int NOT NULL, b text);CREATE UNIQUE INDEX t_a ON t ((a + 1))",
        True,
    ),
    ("CREATE TABLE t (a int, c int, b text, PRIMARY KEY (a, c))", False),  # composite
    ("CREATE TABLE t (a int NOT NULL UNIQUE, b text)", False),
    ('CREATE TABLE t (a text COLLATE "C" PRIMARY KEY, b text)', False),
]
UPDATE = "-- atomig: backfill\nUPDATE t SET b = 'x' WHERE b IS NULL;"


def lint_rules(project, *args):
    result = project.cli("lint", "--json", *args)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return [f["rule"] for f in json.loads(result.stdout)["findings"]]


@pytest.mark.parametrize(("table", "refused"), CASES)
def test_lint_reports_what_the_runner_refuses(project, table, refused):
    db = project.database
    for statement in table.split(";"):
        db.execute(statement)
    project.add("20260101_0000_fill", UPDATE, "SELECT 1;")
    assert ("backfill-rejected" in lint_rules(project)) is refused
    result = project.cli("up")
    assert (result.exit_code != 0) is refused, result.stdout + result.stderr
    if refused:
        assert "no primary key and no unique index on NOT NULL" in result.stderr


@pytest.mark.parametrize(("table", "refused"), CASES)
def test_lint_knows_the_key_from_the_history(project, table, refused):
    project.add("20260101_0000_table", table + ";", "DROP TABLE IF EXISTS t;")
    project.add("20260102_0000_fill", UPDATE, "SELECT 1;")
    assert ("backfill-rejected" in lint_rules(project, "--no-database")) is refused
    result = project.cli("up")
    assert (result.exit_code != 0) is refused, result.stdout + result.stderr


def test_updating_the_key_is_reported_and_refused(project):
    project.database.execute("CREATE TABLE t (a int PRIMARY KEY, b text)")
    project.add(
        "20260101_0000_fill",
        "-- atomig: backfill\nUPDATE t SET a = a + 100 WHERE a < 100;",
        "SELECT 1;",
    )
    assert "backfill-rejected" in lint_rules(project)
    result = project.cli("up")
    assert result.exit_code != 0
    assert "the key its windows are walked by" in result.stderr


ADD_KEY = (
    "CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a);\n"
    "ALTER TABLE t ADD PRIMARY KEY USING INDEX t_a_key;\n"
)


@pytest.mark.parametrize("with_key", [False, True])
def test_unbatched_dml_advice_on_a_keyless_table_is_accepted_by_the_runner(
    project, with_key
):
    # Taken literally on a table without a key, "-- atomig: backfill" is refused; with
    # the key the advice adds first, the runner walks it.
    project.add(
        "20260101_0000_table",
        "CREATE TABLE t (a int NOT NULL, b text);\nINSERT INTO t VALUES (1), (2);",
        "DROP TABLE IF EXISTS t;",
    )
    project.add("20260102_0000_update", "UPDATE t SET b = 'x';", "SELECT 1;")
    result = project.cli("lint", "--json", "--no-database")
    [fix] = [
        f["fix"]
        for f in json.loads(result.stdout)["findings"]
        if f["rule"] == "unbatched-dml"
    ]
    assert "needs a key, which t lacks: add one first (CREATE UNIQUE INDEX" in fix
    backfill = "-- atomig: backfill\nUPDATE t SET b = 'x';"
    up = (ADD_KEY if with_key else "") + backfill
    (project.migrations / "20260102_0000_update.up.sql").write_text(up + "\n")
    assert ("backfill-rejected" in lint_rules(project, "--no-database")) is not with_key
    result = project.cli("up")
    assert (result.exit_code == 0) is with_key, result.stdout + result.stderr
    if with_key:
        assert project.database.scalar("SELECT count(*) FROM t WHERE b = 'x'") == 2
