"""What the pre-flight check asks the catalog about (pure: no server): the named objects
the steps still to run create, minus what the run drops or renames away first, what it
creates itself, CREATE OR REPLACE, and IF NOT EXISTS objects its down file keeps."""

from dataclasses import replace

from atomig.run.collisions import Pending, planned_creations
from atomig.source.model import MigrationId
from atomig.sql import parse_script
from atomig.sql.objects import created_objects, removed_objects
from tests.unit.test_planner import make_plan


def asked(up: str, down: str = "SELECT 1;", own_steps: int = 0) -> list[str]:
    pending = Pending(make_plan(up), make_plan(down), own_steps)
    return [str(c.creation.object) for c in planned_creations([pending])]


def test_each_kind_of_named_object_is_asked_about():
    up = (
        "CREATE TABLE a (id int);\n"
        "CREATE INDEX i ON s.t (x);\n"
        "ALTER TABLE t ADD COLUMN c int CONSTRAINT c_fk REFERENCES a (id), "
        "ADD CONSTRAINT t_pk PRIMARY KEY (id), ADD CONSTRAINT ck CHECK (c > 0);\n"
        "CREATE TYPE mood AS ENUM ('x');\nCREATE DOMAIN d AS int;\n"
        "CREATE TYPE comp AS (x int);\nCREATE SCHEMA sch;\nCREATE EXTENSION e;\n"
        "CREATE VIEW v AS SELECT 1;\nCREATE SEQUENCE q;\n"
        "CREATE MATERIALIZED VIEW mv AS SELECT 1;\n"
        "CREATE INDEX ON t (x);\nALTER TABLE t ADD CHECK (x > 0);\n"
    )
    assert asked(up) == [
        "table a",
        "index s.i on s.t",
        "column t.c",
        "constraint t.c_fk",
        "constraint t_pk on t",
        "constraint t.ck",
        "type mood",
        "domain d",
        "type comp",
        "schema sch",
        "extension e",
        "view v",
        "sequence q",
        "materialized view mv",
    ]


def test_exemptions():
    up = (
        "DROP INDEX IF EXISTS i;\nCREATE INDEX i ON t (x);\n"  # dropped first
        "ALTER TABLE u RENAME TO u_old;\nCREATE TABLE u (id int);\n"  # renamed away
        "CREATE OR REPLACE VIEW v AS SELECT 1;\n"  # replaces
        "CREATE TABLE n (id int);\nALTER TABLE n ADD COLUMN c int;\n"  # its own table
        "ALTER TABLE t DROP COLUMN IF EXISTS z, ADD COLUMN z int;\n"
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;\n"  # the down file keeps it
        "CREATE INDEX n_idx ON n (c);\n"  # an index name must be free schema-wide
    )
    assert asked(up, "DROP TABLE IF EXISTS n;\nDROP INDEX IF EXISTS i;") == [
        "table n",
        "index n_idx on n",
    ]


def test_if_not_exists_is_asked_about_only_when_the_down_file_drops_it():
    up = "CREATE INDEX IF NOT EXISTS i ON t (x);\nCREATE SCHEMA IF NOT EXISTS s;\n"
    assert asked(up, "DROP INDEX IF EXISTS i;") == ["index i on t"]
    assert asked(up, "DROP SCHEMA IF EXISTS s CASCADE;") == ["schema s"]
    assert asked(up, "DROP TABLE IF EXISTS t;") == ["index i on t"]
    # A DO block may drop anything.
    assert asked(up, "DO $$ BEGIN EXECUTE 'DROP SCHEMA s'; END $$;") == [
        "index i on t",
        "schema s",
    ]


def test_the_steps_done_of_a_resumed_migration_are_its_own():
    up = (
        "CREATE INDEX CONCURRENTLY i ON t (x);\n"
        "ALTER TABLE t ADD COLUMN c int;\nCREATE INDEX CONCURRENTLY i2 ON t (c);\n"
    )
    assert asked(up) == ["index i on t", "column t.c", "index i2 on t"]
    assert asked(up, own_steps=1) == ["column t.c", "index i2 on t"]
    assert asked(up, own_steps=3) == []


def test_an_earlier_migration_of_the_run_drops_what_a_later_one_creates():
    first = Pending(make_plan("DROP INDEX i;"), make_plan("SELECT 1;"))
    second = Pending(make_plan("CREATE INDEX i ON t (x);"), make_plan("DROP INDEX i;"))
    assert planned_creations([first, second]) == []
    assert [str(c.creation.object) for c in planned_creations([second, first])] == [
        "index i on t"
    ]


def test_removals_of_statements():
    script = parse_script(
        "DROP TABLE a, s.b;\nDROP TYPE IF EXISTS s.m;\nDROP SCHEMA x CASCADE;\n"
        "ALTER TABLE t DROP COLUMN c, DROP CONSTRAINT k;\nALTER SCHEMA y RENAME TO z;\n"
        "DO $$ BEGIN END $$;\nSELECT 1;",
        "m.sql",
    )
    removed = [removed_objects(s) for s in script.statements]
    assert [[(r.kind, str(r.name)) for r in found] for found in removed[:5]] == [
        [("relation", "a"), ("relation", "s.b")],
        [("type", "s.m")],
        [("schema", "x")],
        [("column", "c"), ("constraint", "k")],
        [("schema", "y")],
    ]
    assert removed[5] is None  # a DO block: unknown
    assert removed[6] == ()
    assert created_objects(script.statements[6]) == ()


def migration(name: str, up: str, down: str) -> Pending:
    mid = MigrationId(int(name[:8]), name[:8], name[9:])
    return Pending(
        replace(make_plan(up), migration=mid), replace(make_plan(down), migration=mid)
    )


def test_an_object_an_earlier_migration_of_the_run_creates_is_a_known_collision():
    first = migration("20260101_a", "CREATE TABLE n (id int);", "DROP TABLE n;")
    adopts = migration(
        "20260102_b",
        "CREATE TABLE IF NOT EXISTS n (id int);\nALTER TABLE n ADD COLUMN c int;",
        "DROP TABLE IF EXISTS n;",
    )
    asked, found = planned_creations([first, adopts])  # the first: asked of the catalog
    assert (str(asked.creation.object), asked.made_by) == ("table n", None)
    assert (str(found.creation.object), found.made_by) == ("table n", "20260101_a")
    assert found.why().startswith(
        "20260101_a creates it earlier in this run: IF NOT EXISTS would skip it"
    )
    # Its down file keeps it: harmless.
    keeps = migration(
        "20260102_c", "CREATE TABLE IF NOT EXISTS n (id int);", "SELECT 1;"
    )
    assert planned_creations([first, keeps]) == [asked]
    # Dropped by a migration in between: created afresh.
    drops = migration("20260102_d", "DROP TABLE n;", "SELECT 1;")
    assert planned_creations([first, drops, adopts]) == [asked]
