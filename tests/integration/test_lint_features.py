"""unsupported-feature against real servers: each sample uses a feature of the major
``since``; lint targeting the server's major reports it exactly when the server is older,
and the server accepts it exactly when it is not (PG 15 rejects the 16-18 ones, PG 18
accepts all). The lower boundaries (11-15) come from the release notes."""

from __future__ import annotations

import psycopg
import pytest

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.sql import parse_script
from atomig.sql.features import FUNCTIONS
from atomig.sql.versions import ServerVersion

SETUP = "CREATE EXTENSION IF NOT EXISTS btree_gist;\nCREATE TABLE t (id int PRIMARY KEY, a int, b text, j jsonb, r tstzrange);\nCREATE TABLE s (id int, a int);\nCREATE TABLE p (id int, at date) PARTITION BY RANGE (at);\nCREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\nCREATE TABLE g (a int, d int GENERATED ALWAYS AS (a * 2) STORED);\nCREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS 'begin return new; end'"
SAMPLES = [
    (11, "CREATE INDEX t_inc ON t (a) INCLUDE (b)"),
    (11, "ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a) INCLUDE (b)"),
    (11, "CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1'"),
    (12, "CREATE TABLE gs (a int, b int GENERATED ALWAYS AS (a * 2) STORED)"),
    (12, "REINDEX TABLE CONCURRENTLY t"),
    (12, "CREATE TABLE am (a int) USING heap"),
    (13, "SELECT gen_random_uuid()"),
    (13, "ALTER TABLE g ALTER COLUMN d DROP EXPRESSION"),
    (14, "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY"),
    (
        14,
        "CREATE OR REPLACE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()",
    ),
    (14, "CREATE TABLE cm (a text COMPRESSION pglz)"),
    (14, "ALTER TABLE t ALTER COLUMN b SET COMPRESSION pglz"),
    (14, "SELECT date_bin('15 minutes', now(), '2000-01-01')"),
    (14, "SELECT string_to_table('a,b', ',')"),
    (15, "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a"),
    (15, "CREATE UNIQUE INDEX t_nnd ON t (a) NULLS NOT DISTINCT"),
    (15, "ALTER TABLE t ADD CONSTRAINT t_nnd UNIQUE NULLS NOT DISTINCT (a)"),
    (15, "ALTER TABLE t SET ACCESS METHOD heap"),
    (15, "SELECT regexp_count('abc', 'b')"),
    (16, "SELECT JSON_OBJECT('a': 1)"),
    (16, "SELECT JSON_ARRAY(1, 2)"),
    (16, "SELECT json_arrayagg(a) FROM t"),
    (16, "SELECT '{}' IS JSON"),
    (16, "SELECT any_value(a) FROM t"),
    (16, "SELECT random_normal()"),
    (16, "SELECT system_user"),
    (16, "SELECT date_add(now(), interval '1 day')"),
    (
        17,
        "SELECT * FROM JSON_TABLE(jsonb '[]', '$[*]' COLUMNS (x int PATH '$.x')) AS jt",
    ),
    (17, "SELECT JSON_EXISTS(jsonb '{}', '$.a')"),
    (17, "SELECT JSON_VALUE(jsonb '{\"a\": 1}', '$.a')"),
    (17, "SELECT JSON_SCALAR(1)"),
    (
        17,
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a RETURNING t.id",
    ),
    (17, "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE"),
    (17, "ALTER TABLE g ALTER COLUMN d SET EXPRESSION AS (a * 3)"),
    (17, "SELECT to_bin(5)"),
    (17, "GRANT MAINTAIN ON t TO PUBLIC"),
    (18, "CREATE TABLE gv (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL)"),
    (18, "CREATE TABLE gv (a int, b int GENERATED ALWAYS AS (a * 2))"),
    (18, "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) NOT ENFORCED"),
    (18, "CREATE TABLE fk (a int REFERENCES t NOT ENFORCED)"),
    (
        18,
        "CREATE TABLE wo (id int, valid tstzrange, PRIMARY KEY (id, valid WITHOUT OVERLAPS))",
    ),
    (18, "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID"),
    (18, "SELECT uuidv7()"),
    (18, "SELECT uuidv4()"),
    (18, "SELECT casefold('A')"),
    (18, "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a"),
    (18, "ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) ENFORCED"),
    (
        18,
        "CREATE TABLE wp (id int, valid tstzrange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));\n"
        "CREATE TABLE wf (id int, valid tstzrange, "
        "FOREIGN KEY (id, PERIOD valid) REFERENCES wp (id, PERIOD valid))",
    ),
    (11, "CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';\nCALL pr()"),
    (17, "COPY t FROM '/dev/null' (FORMAT csv, ON_ERROR ignore)"),
    (
        18,
        "ALTER TABLE t ADD CONSTRAINT t_fk FOREIGN KEY (a) REFERENCES t;\n"
        "ALTER TABLE t ALTER CONSTRAINT t_fk NOT ENFORCED",
    ),
    (
        18,
        "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a;\n"
        "ALTER TABLE t ALTER CONSTRAINT t_a_nn NO INHERIT",
    ),
]


def reported(sql: str, major: int) -> bool:
    migration = MigrationSource(
        "20240101_0000_case",
        SourceFile("case.up.sql", sql + ";", "up"),
        SourceFile("case.down.sql", "SELECT 1;", "down"),
    )
    options = LintOptions(version=ServerVersion.from_major(major))
    result = lint_migrations([migration], options=options)
    return any(f.rule == "unsupported-feature" for f in result.findings)


@pytest.mark.parametrize(("since", "sql"), SAMPLES)
def test_feature_boundaries_match_the_server(database, since, sql):
    assert reported(sql, since - 1), "the major before lacks it"
    assert not reported(sql, since), "the major that added it has it"
    assert reported(sql, database.major) == (database.major < since)
    with psycopg.connect(database.url, autocommit=True) as conn:
        for statement in SETUP.split(";\n"):
            conn.execute(statement)
        try:
            if "CONCURRENTLY" not in sql:
                conn.execute("BEGIN")
            for statement in parse_script(sql).statements:
                conn.execute(statement.text)
            accepted = True
        except psycopg.Error:
            accepted = False
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
    assert accepted == (database.major >= since)


def test_function_table_matches_pg_proc(database):
    rows = database.execute(
        "SELECT DISTINCT proname FROM pg_proc "
        "WHERE pronamespace = 'pg_catalog'::regnamespace AND proname = ANY (%s)",
        (list(FUNCTIONS),),
    )
    present = {name for (name,) in rows}
    assert present == {n for n, since in FUNCTIONS.items() if since <= database.major}
