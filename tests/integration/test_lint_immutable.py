"""non-immutable-expression against real servers (PG 15 and 18): what the rule reports,
PostgreSQL rejects (42P17, "must be marked IMMUTABLE" / "not immutable"); what it lets
through, PostgreSQL accepts; the overload table against pg_proc; catalog volatility."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import errors

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.sql.immutability import MIXED
from atomig.sql.versions import ServerVersion

TABLE = (
    "CREATE TABLE t (id int, tz timestamptz, ts timestamp, d date, x text, body text, "
    "iv interval)"
)
REJECTED = (
    "CREATE INDEX ON t ((tz::date))",
    "CREATE INDEX ON t (date(tz))",
    "CREATE INDEX ON t (extract(year FROM tz))",
    "CREATE INDEX ON t (date_trunc('day', tz))",
    "CREATE INDEX ON t ((tz + interval '1 day'))",
    "CREATE INDEX ON t (to_char(ts, 'YYYY'))",
    "CREATE INDEX ON t (concat(x, x))",
    "CREATE INDEX ON t (to_tsvector(body))",
    "CREATE INDEX ON t ((x::date))",
    "CREATE INDEX ON t ((d::text))",
    "CREATE INDEX ON t ((iv::text))",
    "CREATE INDEX ON t ((ts::timestamptz))",
    "CREATE INDEX ON t (age(ts))",
    "CREATE INDEX ON t (id) WHERE tz > now()",
    "CREATE INDEX ON t (id) WHERE d > current_date",
    "ALTER TABLE t ADD COLUMN g date GENERATED ALWAYS AS (tz::date) STORED",
    "ALTER TABLE t ADD COLUMN g text GENERATED ALWAYS AS (random()::text) STORED",
    "ALTER TABLE t ADD CONSTRAINT t_ex EXCLUDE USING btree ((tz::date) WITH =)",
    "CREATE TABLE p (a timestamptz) PARTITION BY RANGE ((a::date))",
    "CREATE TABLE p (a timestamptz) PARTITION BY RANGE (date_trunc('day', a))",
    "CREATE FUNCTION f(int) RETURNS int LANGUAGE plpgsql AS 'begin return $1; end';\n"
    "CREATE INDEX ON t (f(id))",
)
ACCEPTED = (
    "CREATE INDEX ON t (((tz AT TIME ZONE 'UTC')::date))",
    "CREATE INDEX ON t ((ts::date))",
    "CREATE INDEX ON t (extract(year FROM ts))",
    "CREATE INDEX ON t (date_trunc('day', ts))",
    "CREATE INDEX ON t ((ts + interval '1 day'))",
    "CREATE INDEX ON t ((id || '-' || x))",
    "CREATE INDEX ON t (to_tsvector('english', body))",
    "CREATE INDEX ON t (id) WHERE d > '2020-01-01'::date",
    "CREATE INDEX ON t (lower(x))",
    "ALTER TABLE t ADD COLUMN g date "
    "GENERATED ALWAYS AS ((tz AT TIME ZONE 'UTC')::date) STORED",
    # a LANGUAGE sql function is inlined before the check, whatever it declares
    "CREATE FUNCTION f(int) RETURNS int LANGUAGE sql STABLE AS 'select $1';\n"
    "CREATE INDEX ON t (f(id))",
    "CREATE FUNCTION f(int) RETURNS int LANGUAGE plpgsql IMMUTABLE "
    "AS 'begin return $1; end';\nCREATE INDEX ON t (f(id))",
)


def fired(sql: str, major: int) -> bool:
    migration = MigrationSource(
        "20240101_0000_case",
        SourceFile("case.up.sql", f"{TABLE};\n{sql};", "up"),
        SourceFile("case.down.sql", "SELECT 1;", "down"),
    )
    options = LintOptions(version=ServerVersion.from_major(major))
    result = lint_migrations([migration], options=options)
    return any(f.rule == "non-immutable-expression" for f in result.findings)


def apply(database, sql: str) -> None:
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS t, p")
        conn.execute("DROP FUNCTION IF EXISTS f(int)")
        conn.execute(TABLE)
        for statement in sql.split(";\n"):
            conn.execute(statement.encode())


@pytest.mark.parametrize("sql", REJECTED)
def test_what_the_rule_reports_postgres_rejects(database, sql):
    assert fired(sql, database.major), sql
    with pytest.raises(errors.InvalidObjectDefinition, match=r"(?i)immutable"):
        apply(database, sql)


@pytest.mark.parametrize("sql", ACCEPTED)
def test_what_the_rule_lets_through_postgres_accepts(database, sql):
    assert not fired(sql, database.major), sql
    apply(database, sql)


def test_date_trunc_in_a_zone_follows_the_server(database):
    sql = "CREATE INDEX ON t (date_trunc('day', tz, 'UTC'))"
    if fired(sql, database.major):
        with pytest.raises(errors.InvalidObjectDefinition):
            apply(database, sql)
    else:
        apply(database, sql)
    assert fired(sql, 15) and not fired(sql, 18)


def test_mixed_overloads_match_pg_proc(database):
    rows = database.execute(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace "
        "AND prokind = 'f' GROUP BY 1 "
        "HAVING bool_or(provolatile = 'i') AND bool_or(provolatile <> 'i')"
    )
    assert {name for (name,) in rows} <= MIXED


def test_function_volatility_comes_from_the_catalog(project):
    db = project.database
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    db.execute(
        "CREATE FUNCTION shifted(int) RETURNS int LANGUAGE plpgsql STABLE "
        "AS 'begin return $1 + 1; end'"
    )
    db.execute(
        "CREATE FUNCTION inlined(int) RETURNS int LANGUAGE sql STABLE AS 'select $1'"
    )
    project.add(
        "20260101_0000_idx",
        "CREATE INDEX CONCURRENTLY t_shifted ON t (shifted(id));\n"
        "CREATE INDEX CONCURRENTLY t_inlined ON t (inlined(id));",
        "DROP INDEX CONCURRENTLY IF EXISTS t_shifted;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS t_inlined;",
    )

    def lines(*args):
        result = project.cli("lint", "--json", *args)
        found = json.loads(result.stdout)["findings"]
        return [f["line"] for f in found if f["rule"] == "non-immutable-expression"]

    assert lines() == [1]
    assert lines("--no-database") == []  # unknown functions: no claim


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE v (tz timestamptz, day date GENERATED ALWAYS AS (tz::date) VIRTUAL)",
        "ALTER TABLE t ADD COLUMN g date "
        "GENERATED ALWAYS AS ((tz AT TIME ZONE 'UTC')::date) STORED;\n"
        "ALTER TABLE t ALTER COLUMN g SET EXPRESSION AS (tz::date)",
    ],
)
def test_virtual_and_set_expression_are_checked_where_they_exist(database, sql):
    # VIRTUAL is PostgreSQL 18's, SET EXPRESSION 17's: before, the syntax is rejected
    # (unsupported-feature), so this rule says nothing there.
    assert fired(sql, 18)
    assert not fired(sql, 15)
    if database.major < 18:
        return
    with pytest.raises(errors.InvalidObjectDefinition, match=r"(?i)immutable"):
        apply(database, sql)
