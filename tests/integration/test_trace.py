"""atomig trace: locks from pg_locks of our own backend, rewrites from relfilenode, on a
scratch database (PG 15 and 18). Lock modes as the PostgreSQL docs list them
(explicit-locking.html, "Table-Level Locks")."""

from __future__ import annotations

import json

from tests.integration.test_verify import scratch_databases

BASE = (
    "20260101_0900_base",
    "CREATE TABLE p (id bigint PRIMARY KEY);\n"
    "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, s varchar(10), p_id bigint);\n"
    "ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;\n"
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n",
    "DROP FUNCTION touch();\nDROP TABLE t;\nDROP TABLE p;\n",
)

# (statement, relation, lock mode the docs list for it, rewrites)
CASES = [
    ("ALTER TABLE t ADD COLUMN c int", "public.t", "ACCESS EXCLUSIVE", ()),
    ("CREATE INDEX t_a_idx ON t (a)", "public.t", "SHARE", ()),
    (
        "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
        "public.t",
        "SHARE UPDATE EXCLUSIVE",
        (),
    ),
    (
        "ALTER TABLE t ALTER COLUMN a TYPE bigint",
        "public.t",
        "ACCESS EXCLUSIVE",
        # Every index of the table is rebuilt with it (t_a_idx: the second case).
        (
            "rewrote table public.t",
            "rebuilt index public.t_a_idx",
            "rebuilt index public.t_pkey",
        ),
    ),
    ("ALTER TABLE t ALTER COLUMN s TYPE text", "public.t", "ACCESS EXCLUSIVE", ()),
    (
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p NOT VALID",
        "public.p",
        "SHARE ROW EXCLUSIVE",
        (),
    ),
    (
        "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()",
        "public.t",
        "SHARE ROW EXCLUSIVE",
        (),
    ),
    ("UPDATE t SET a = 1 WHERE id = 1", "public.t", "ROW EXCLUSIVE", ()),
    (
        "CREATE INDEX CONCURRENTLY t_b_idx ON t (b)",
        "public.t",
        "SHARE UPDATE EXCLUSIVE",
        (),
    ),
]


def add_cases(project):
    project.add(*BASE)
    for number, (text, *_rest) in enumerate(CASES, 2):
        project.add(f"20260102_{number:04d}_case", text + ";\n", "SELECT 1;\n")


def trace_json(project, *args):
    result = project.cli("trace", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_lock_modes_and_rewrites_match_the_docs(project):
    add_cases(project)
    document = trace_json(project)
    traced = document["migrations"][1:]
    assert len(traced) == len(CASES)
    for migration, (text, relation, mode, rewrites) in zip(traced, CASES, strict=True):
        [statement] = migration["statements"]
        assert statement["statement"] == text
        taken = {
            lock["mode"]
            for lock in statement["locks"]
            if lock["relation"] == relation and lock["held_since_line"] is None
        }
        strongest = max(taken, key=lambda m: ORDER.index(m))
        assert strongest == mode, (text, statement["locks"])
        assert all(lock["granted"] for lock in statement["locks"])
        assert tuple(statement["rewrites"]) == rewrites, text
        # atomig's static lock facts (what lint and the planner use) agree.
        assert f"{mode} on {relation.split('.')[1]}" in statement["predicted_locks"]
    # The target itself was not touched, and the scratch database is gone.
    db = project.database
    assert db.scalar("SELECT to_regclass('public.t')") is None
    assert scratch_databases(db) == []


ORDER = [
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
]


def test_locks_are_held_until_the_step_commits(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_long",
        "ALTER TABLE t ADD COLUMN c int;\n"
        "SELECT pg_sleep(0.3);\n"
        "CREATE INDEX CONCURRENTLY t_c_idx ON t (c);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_c_idx;\nALTER TABLE t DROP COLUMN IF EXISTS c;\n",
    )
    assert project.cli("up", "--to", "20260101_0900").exit_code == 0
    document = trace_json(project)
    [migration] = document["migrations"]
    add, sleep, index = migration["statements"]
    [lock] = [x for x in add["locks"] if x["relation"] == "public.t"]
    assert lock["mode"] == "ACCESS EXCLUSIVE"
    # Held through the sleep until the transaction step commits.
    assert lock["held_ms"] >= 300 > add["duration_ms"]
    assert sleep["duration_ms"] >= 300
    assert (index["step"], index["step_kind"]) == (2, "autocommit")
    assert {(x["relation"], x["mode"]) for x in index["locks"]} >= {
        ("public.t", "SHARE UPDATE EXCLUSIVE")
    }
    # Text output: the ACCESS EXCLUSIVE lock and its hold time.
    text = project.cli("trace")
    assert text.exit_code == 0
    assert "ACCESS EXCLUSIVE on public.t (table), held" in text.stdout
    assert "blocks reads and writes" in text.stdout


def test_trace_a_down_file_and_a_failing_statement(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_col",
        "ALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN c;\nALTER TABLE t DROP COLUMN nope;\n",
    )
    document = json.loads(
        project.cli("trace", "20260102_0900", "--down", "--json").stdout
    )
    [migration] = document["migrations"]
    assert migration["direction"] == "down"
    first, second = migration["statements"]
    assert [x["mode"] for x in first["locks"] if x["relation"] == "public.t"] == [
        "ACCESS EXCLUSIVE"
    ]
    assert 'column "nope" of relation "t" does not exist' in second["error"]
    assert migration["error"].endswith(second["error"])
    result = project.cli("trace", "20260102_0900", "--down")
    assert result.exit_code == 1
    assert "failed:" in result.stdout


def test_scale_from_target_seeds_row_counts_from_statistics(project):
    db = project.database
    project.add(
        "20260101_0900_base",
        "CREATE TYPE mood AS ENUM ('ok', 'sad');\n"
        "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(20) UNIQUE NOT NULL,"
        " mood mood NOT NULL, born date, seen timestamptz, score numeric(6,2),"
        " data jsonb, flags boolean, tags text[], uid uuid);\n"
        "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " user_id bigint NOT NULL REFERENCES users, total numeric NOT NULL DEFAULT 0);\n",
        "DROP TABLE orders;\nDROP TABLE users;\nDROP TYPE mood;\n",
    )
    assert project.cli("up").exit_code == 0
    db.execute(
        "INSERT INTO users (id, email, mood) SELECT g, 'u' || g, 'ok' FROM generate_series(1, 3000) g"
    )
    db.execute(
        "INSERT INTO orders (user_id) SELECT 1 + g % 3000 FROM generate_series(1, 9000) g"
    )
    db.execute("ANALYZE users")
    db.execute("ANALYZE orders")
    project.add(
        "20260102_0900_idx",
        "CREATE INDEX orders_total ON orders (total);\n",
        "SELECT 1;\n",
    )
    document = trace_json(project, "--scale-from-target")
    seeded = {s["table"]: s for s in document["seeded"]}
    assert seeded["public.users"]["rows"] == 3000
    assert seeded["public.orders"]["rows"] == 9000
    assert all(s["note"] is None for s in seeded.values())
    [statement] = document["migrations"][0]["statements"]
    assert {(x["relation"], x["mode"]) for x in statement["locks"]} >= {
        ("public.orders", "SHARE")
    }
    # Nothing was written to the target.
    assert db.scalar("SELECT count(*) FROM orders") == 9000
    assert db.scalar("SELECT to_regclass('public.orders_total')") is None
