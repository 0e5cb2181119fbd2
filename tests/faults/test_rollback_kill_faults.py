"""The rollback itself faulted: the runner SIGKILLed while the down file runs, then again
while `atomig recover` runs it; a down file that fails half-way. Once a down step ran, the
up steps it undid are gone: the migration can only be rolled back (a resume would skip them
and record it applied without them); recovery then ends exactly at the pre-migration schema,
and the migration applies afresh."""

import json

import pytest

from tests.faults.common import fingerprint, run_faulted

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE TABLE flag (ok int);\n",
    "DROP TABLE IF EXISTS flag;\nDROP TABLE IF EXISTS t;\n",
)
# Step 3 fails until the table "missing" exists: the rollback policy runs the down file.
UP = (
    "ALTER TABLE t ADD COLUMN b int;\n"
    "CREATE INDEX CONCURRENTLY idx_b ON t (b);\n"
    "ALTER TABLE t ADD CONSTRAINT b_fk FOREIGN KEY (b) REFERENCES missing (id);\n"
)
DOWN = (
    "ALTER TABLE t DROP CONSTRAINT IF EXISTS b_fk;\n"
    "DROP INDEX CONCURRENTLY IF EXISTS idx_b;\n"
    "ALTER TABLE t DROP COLUMN IF EXISTS b;\n"
)
# Its third step fails (division by zero) while the table "flag" is empty.
FAILING_DOWN = DOWN.replace(
    "ALTER TABLE t DROP COLUMN",
    "SELECT 1 / (SELECT count(*) FROM flag);\nALTER TABLE t DROP COLUMN",
)


def driver(project, event, step, **env):
    return run_faulted(project, event, str(step), **env)


def ledger(db):
    rows = db.execute(
        "SELECT status, failure->>'attention' FROM atomig.migrations WHERE version = %s",
        (VERSION,),
    )
    return rows[0] if rows else None


def assert_pre(db, pre):
    assert fingerprint(db) == pre
    assert ledger(db) is None
    assert db.execute("SELECT 1 FROM pg_index WHERE NOT indisvalid") == []
    assert (
        db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL") == 0
    )


def start(project, down):
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = fingerprint(project.database)
    project.add(f"{VERSION}_change", UP, down)
    return pre


def converge(project, db):
    db.execute("CREATE TABLE missing (id int PRIMARY KEY)")
    applied = project.cli("up")
    assert applied.exit_code == 0, applied.output
    assert ledger(db) == ("applied", None)


def refuses_resume(project, db, ran):
    state = fingerprint(db)
    for command in (("recover", "--resume"), ("up", "--on-failure", "resume")):
        refused = project.cli(*command)
        assert refused.exit_code == 4, refused.output
        assert (
            f"cannot be resumed: its rollback already ran {ran} down step(s)"
            in refused.output
        )
        assert "Traceback" not in refused.output
    assert fingerprint(db) == state


def test_killed_in_the_rollback_then_in_recover_only_rolls_back(project):
    db = project.database
    pre = start(project, DOWN)
    # step.done of step 2, second time: the rollback's down step 2 (the index dropped).
    killed = driver(project, "step.done", 2, ATOMIG_DRIVER_NTH="2")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert "rolling back" in killed.stdout
    assert ledger(db) == ("rolling_back", None)
    explained = project.cli("recover", "--dry-run")
    assert "its rollback already ran 2 down step(s)" in explained.output
    assert "--resume" not in explained.output
    as_json = json.loads(project.cli("recover", "--dry-run", "--json").stdout)
    assert [m["rollback_steps_run"] for m in as_json["migrations"]] == [2]
    # Now fixable, but the index is gone: resuming at step 3 would record it applied.
    db.execute("CREATE TABLE missing (id int PRIMARY KEY)")
    refuses_resume(project, db, 2)
    db.execute("DROP TABLE missing")  # (not in the schema taken before the migration)
    # A second kill, inside `atomig recover`'s own run of the down file.
    killed = driver(project, "step.done", 1, ATOMIG_DRIVER_COMMAND="recover")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert ledger(db) == ("rolling_back", None)
    recovered = project.cli("recover")
    assert recovered.exit_code == 0, recovered.output
    assert_pre(db, pre)
    converge(project, db)
    assert db.scalar(
        "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_b'::regclass"
    )


def test_a_down_file_failing_half_way_is_recorded_and_only_rolls_back(project):
    db = project.database
    pre = start(project, FAILING_DOWN)
    failed = project.cli("up")
    assert failed.exit_code == 4, failed.output
    assert "rolling back 20261102_0900_change failed at down step 3/3" in failed.output
    assert "division by zero" in failed.output
    assert "it cannot be resumed: 2 down step(s) ran" in failed.output
    assert ledger(db) == ("partial", "rollback_failed")
    assert project.cli("status", "--check").exit_code == 4
    db.execute("CREATE TABLE missing (id int PRIMARY KEY)")
    refuses_resume(project, db, 2)
    db.execute("DROP TABLE missing")
    db.execute("INSERT INTO flag VALUES (1)")
    recovered = project.cli("recover", "--rollback")
    assert recovered.exit_code == 0, recovered.output
    assert_pre(db, pre)
    converge(project, db)
