"""Pre-flight: a migration that would create an object that already exists (made by hand:
drift) is refused before anything runs. Its down file would drop that object — directly
after an ``IF NOT EXISTS`` skipped it (``atomig down``), or in the rollback of a later
failure — an index in use, a column and its data. Refused: nothing written, schema as it
was, exit 4, the object and the statement named."""

import json

import pytest

from tests.integration.helpers import schema_snapshot

BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\n",
    "DROP TABLE IF EXISTS t;\n",
)
VERSION = "20261102_0900"

# kind: (made by hand, up, down, what the message names, line of the statement)
CASES = {
    "index, third step": (
        "CREATE INDEX idx_z ON t (a)",
        "ALTER TABLE t ADD COLUMN b int;\n"
        "CREATE INDEX CONCURRENTLY idx_b ON t (b);\n"
        "CREATE INDEX CONCURRENTLY idx_z ON t (a);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_z;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS idx_b;\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\n",
        "index idx_z on t",
        3,
    ),
    "index if not exists": (
        "CREATE INDEX idx_z ON t (a)",
        "CREATE INDEX IF NOT EXISTS idx_z ON t (a);\n",
        "DROP INDEX IF EXISTS idx_z;\n",
        "index idx_z on t",
        1,
    ),
    "column if not exists": (
        "ALTER TABLE t ADD COLUMN z text; INSERT INTO t VALUES (1, 1, 'keep me')",
        "SELECT 1;\nALTER TABLE t ADD COLUMN IF NOT EXISTS z text;\n",
        "ALTER TABLE t DROP COLUMN IF EXISTS z;\n",
        "column t.z",
        2,
    ),
    "table if not exists": (
        "CREATE TABLE z (id int)",
        "CREATE TABLE IF NOT EXISTS z (id int);\n",
        "DROP TABLE IF EXISTS z;\n",
        "table z",
        1,
    ),
    "check constraint": (
        "ALTER TABLE t ADD CONSTRAINT a_positive CHECK (a > 0)",
        "ALTER TABLE t ADD CONSTRAINT a_positive CHECK (a > 0) NOT VALID;\n",
        "ALTER TABLE t DROP CONSTRAINT IF EXISTS a_positive;\n",
        "constraint t.a_positive",
        1,
    ),
    "unique constraint named like an index": (
        "CREATE UNIQUE INDEX t_a_key ON t (a)",
        "ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a);\n",
        "ALTER TABLE t DROP CONSTRAINT IF EXISTS t_a_key;\n",
        "constraint t_a_key on t",
        1,
    ),
    "enum type": (
        "CREATE TYPE mood AS ENUM ('ok')",
        "CREATE TYPE mood AS ENUM ('ok');\n",
        "DROP TYPE IF EXISTS mood;\n",
        "type mood",
        1,
    ),
    "domain": (
        "CREATE DOMAIN positive AS int CHECK (VALUE > 0)",
        "CREATE DOMAIN positive AS int CHECK (VALUE > 0);\n",
        "DROP DOMAIN IF EXISTS positive;\n",
        "domain positive",
        1,
    ),
    "schema if not exists": (
        "CREATE SCHEMA app; CREATE TABLE app.keep (id int)",
        "CREATE SCHEMA IF NOT EXISTS app;\n",
        "DROP SCHEMA IF EXISTS app CASCADE;\n",
        "schema app",
        1,
    ),
    "extension if not exists": (
        "SELECT 1",  # plpgsql is in every database
        "CREATE EXTENSION IF NOT EXISTS plpgsql;\n",
        "DROP EXTENSION IF EXISTS plpgsql;\n",
        "extension plpgsql",
        1,
    ),
    "view": (
        "CREATE VIEW v AS SELECT 1 AS one",
        "CREATE VIEW v AS SELECT 1 AS one;\n",
        "DROP VIEW IF EXISTS v;\n",
        "view v",
        1,
    ),
    "sequence if not exists": (
        "CREATE SEQUENCE s",
        "CREATE SEQUENCE IF NOT EXISTS s;\n",
        "DROP SEQUENCE IF EXISTS s;\n",
        "sequence s",
        1,
    ),
    "materialized view if not exists": (
        "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1 AS one;\n",
        "DROP MATERIALIZED VIEW IF EXISTS mv;\n",
        "materialized view mv",
        1,
    ),
}


def _ledger(db):
    return (
        db.execute(
            "SELECT version, status, steps_done FROM atomig.migrations ORDER BY 1"
        ),
        db.scalar("SELECT count(*) FROM atomig.history"),
        db.scalar("SELECT count(*) FROM atomig.journal"),
    )


def _objects(db):
    return db.execute(
        "SELECT 'rel', relname FROM pg_class WHERE relnamespace NOT IN "
        "('pg_catalog'::regnamespace, 'information_schema'::regnamespace, "
        "'atomig'::regnamespace) AND relnamespace::regnamespace::text NOT LIKE 'pg_toast%%' "
        "UNION ALL SELECT 'type', typname FROM pg_type WHERE typnamespace = "
        "'public'::regnamespace UNION ALL SELECT 'schema', nspname FROM pg_namespace "
        "UNION ALL SELECT 'ext', extname FROM pg_extension ORDER BY 1, 2"
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_migration_creating_an_existing_object_is_refused_before_it_runs(
    project, case
):
    db = project.database
    existing, up, down, named, line = CASES[case]
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute(existing)  # drift: made by hand before the migration ships
    project.add(f"{VERSION}_change", up, down)
    schema, objects, ledger = schema_snapshot(db), _objects(db), _ledger(db)
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert f"{VERSION}_change.up.sql:{line}:1" in result.stderr
    assert f"would create {named}" in result.stderr
    assert "already exists" in result.stderr
    assert "down file would drop it" in result.stderr
    assert "Nothing was run" in result.stderr
    assert "hint: it existed before the migration" in result.stderr
    assert schema_snapshot(db) == schema
    assert _objects(db) == objects
    assert _ledger(db) == ledger


def test_the_refusal_in_json_names_each_object_and_statement(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("CREATE INDEX idx_z ON t (a); ALTER TABLE t ADD COLUMN z int")
    project.add(
        f"{VERSION}_change",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS z int;\n"
        "CREATE INDEX IF NOT EXISTS idx_z ON t (a);\n"
        "CREATE INDEX IF NOT EXISTS idx_new ON t (id, a);\n",
        "DROP INDEX IF EXISTS idx_new;\nDROP INDEX IF EXISTS idx_z;\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS z;\n",
    )
    result = project.cli("up", "--json")
    assert result.exit_code == 4, result.output
    document = json.loads(result.stdout)
    assert document["error"] == "preexisting-objects"
    assert document["line"] == 1
    objects = document["details"]["objects"]
    assert [o["object"] for o in objects] == ["column t.z", "index idx_z on t"]
    assert [(o["line"], o["if_not_exists"]) for o in objects] == [(1, True), (2, True)]
    assert objects[1]["dropped_by"] == "DROP INDEX IF EXISTS idx_z"
    assert objects[0]["file"].endswith(f"{VERSION}_change.up.sql")
    assert db.scalar("SELECT to_regclass('idx_new')") is None


EXEMPT = {
    "dropped first": (
        "CREATE INDEX idx_z ON t (a)",
        "DROP INDEX IF EXISTS idx_z;\nCREATE INDEX idx_z ON t (id, a);\n",
        "DROP INDEX IF EXISTS idx_z;\n",
    ),
    "renamed away first": (
        "CREATE TABLE z (id int)",
        "ALTER TABLE z RENAME TO z_old;\nCREATE TABLE z (id bigint);\n",
        "DROP TABLE IF EXISTS z;\nALTER TABLE IF EXISTS z_old RENAME TO z;\n",
    ),
    "or replace": (
        "CREATE VIEW v AS SELECT 1 AS one",
        "CREATE OR REPLACE VIEW v AS SELECT 1 AS one, 2 AS two;\n",
        "CREATE OR REPLACE VIEW v AS SELECT 1 AS one;\n",
    ),
    "if not exists, kept by the down file": (
        "SELECT 1",
        "CREATE EXTENSION IF NOT EXISTS plpgsql;\nCREATE TABLE z (id int);\n",
        "DROP TABLE IF EXISTS z;\n",
    ),
    "column of a table the migration creates": (
        "ALTER TABLE t ADD COLUMN z int",
        "CREATE TABLE n (id int);\nALTER TABLE n ADD COLUMN z int;\n",
        "DROP TABLE IF EXISTS n;\n",
    ),
    "same name in another schema of the search_path": (
        "CREATE SCHEMA app; CREATE TABLE public.z (id int)",
        "SET search_path = app, public;\nCREATE TABLE z (id int);\n",
        "SET search_path = app, public;\nDROP TABLE IF EXISTS z;\n",
    ),
}


@pytest.mark.parametrize("case", sorted(EXEMPT))
def test_what_the_migration_may_create_is_not_refused(project, case):
    db = project.database
    existing, up, down = EXEMPT[case]
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute(existing)
    project.add(f"{VERSION}_change", up, down)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert (
        db.scalar("SELECT status FROM atomig.migrations WHERE version = %s", (VERSION,))
        == "applied"
    )


def test_names_resolve_with_the_migrations_search_path(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("CREATE SCHEMA app; CREATE TABLE app.z (id int)")
    project.add(
        f"{VERSION}_change",
        "SET search_path = app, public;\nCREATE TABLE IF NOT EXISTS z (id int);\n",
        "SET search_path = app, public;\nDROP TABLE IF EXISTS z;\n",
    )
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert "would create table z" in result.stderr
    assert db.scalar("SELECT to_regclass('app.z')") is not None


def test_an_earlier_pending_migration_dropping_the_object_exempts_it(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("CREATE INDEX idx_z ON t (a)")
    project.add(f"{VERSION}_drop", "DROP INDEX idx_z;\n", "SELECT 1;\n")
    project.add(
        "20261103_0900_create",
        "CREATE INDEX idx_z ON t (id);\n",
        "DROP INDEX IF EXISTS idx_z;\n",
    )
    result = project.cli("up")
    assert result.exit_code == 0, result.output


def test_a_refusal_of_a_later_migration_runs_none_of_them(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("CREATE INDEX idx_z ON t (a)")
    project.add(f"{VERSION}_first", "CREATE TABLE n (id int);\n", "DROP TABLE n;\n")
    project.add(
        "20261103_0900_second",
        "CREATE INDEX IF NOT EXISTS idx_z ON t (a);\n",
        "DROP INDEX IF EXISTS idx_z;\n",
    )
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert "20261103_0900_second.up.sql:1:1" in result.stderr
    assert db.scalar("SELECT to_regclass('n')") is None
    assert db.scalar("SELECT count(*) FROM atomig.migrations") == 1


RESUMABLE_UP = (
    "-- atomig: on_failure=resume\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_a ON t (a);\n"
    "ALTER TABLE t ADD COLUMN b int REFERENCES {target} (id);\n"
)
RESUMABLE_DOWN = (
    "ALTER TABLE t DROP COLUMN IF EXISTS b;\nDROP INDEX CONCURRENTLY IF EXISTS idx_a;\n"
)


@pytest.mark.parametrize("how", ["up", "recover"])
def test_resuming_does_not_report_what_the_done_steps_created(project, how):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(
        f"{VERSION}_change", RESUMABLE_UP.format(target="missing"), RESUMABLE_DOWN
    )
    assert project.cli("up").exit_code == 4  # step 2 fails: partial, idx_a built
    assert db.scalar("SELECT to_regclass('idx_a')") is not None
    project.add(f"{VERSION}_change", RESUMABLE_UP.format(target="t"), RESUMABLE_DOWN)
    args = ("up",) if how == "up" else ("recover", "--resume")
    result = project.cli(*args)
    assert result.exit_code == 0, result.output
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = %s",
        (VERSION,),
    ) == [("applied", 2)]


def test_resuming_still_refuses_an_object_made_by_hand_meanwhile(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(
        f"{VERSION}_change", RESUMABLE_UP.format(target="missing"), RESUMABLE_DOWN
    )
    assert project.cli("up").exit_code == 4
    db.execute("ALTER TABLE t ADD COLUMN b int")
    project.add(f"{VERSION}_change", RESUMABLE_UP.format(target="t"), RESUMABLE_DOWN)
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert "would create column t.b" in result.stderr
    assert f"{VERSION}_change.up.sql:3:1" in result.stderr
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = %s",
        (VERSION,),
    ) == [("partial", 1)]


def test_down_of_a_migration_that_created_its_objects_still_works(project):
    db = project.database
    project.add(*BASE)
    project.add(
        f"{VERSION}_change",
        "ALTER TABLE t ADD COLUMN IF NOT EXISTS z int;\n"
        "CREATE INDEX IF NOT EXISTS idx_z ON t (z);\n"
        "CREATE TABLE IF NOT EXISTS n (id int);\n",
        "DROP TABLE IF EXISTS n;\nDROP INDEX IF EXISTS idx_z;\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS z;\n",
    )
    assert project.cli("up").exit_code == 0
    before_down = schema_snapshot(db)
    assert any("idx_z" in row[1] for row in before_down)
    result = project.cli("down")
    assert result.exit_code == 0, result.output
    assert db.scalar("SELECT to_regclass('idx_z')") is None
    assert db.scalar("SELECT to_regclass('n')") is None
    assert project.cli("up").exit_code == 0


def test_a_later_migration_of_the_run_adopting_an_earlier_ones_object_is_refused(
    project,
):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(f"{VERSION}_first", "CREATE TABLE n (id int);\n", "DROP TABLE n;\n")
    project.add(
        "20261103_0900_second",
        "CREATE TABLE IF NOT EXISTS n (id int);\n",
        "DROP TABLE IF EXISTS n;\n",
    )
    result = project.cli("up", "--json")
    assert result.exit_code == 4, result.output
    [found] = json.loads(result.stdout)["details"]["objects"]
    assert found["made_by"] == f"{VERSION}_first"
    assert "20261103_0900_second.up.sql:1:1" in result.stderr
    assert f"{VERSION}_first creates it earlier in this run" in result.stderr
    assert db.scalar("SELECT to_regclass('n')") is None
