"""A step that fails because what it creates already exists — made by someone else after
the pre-flight check (test_preexisting_objects.py) passed, before the step ran — must not be
"rolled back" with the down file: the down file's DROP … IF EXISTS would drop the object that
is not the migration's — an index the application needs, a column with its data. atomig
stops the migration partial instead (steps committed: a human decides), or, when no step
committed yet, records it failed with nothing applied."""

import time

import pytest

BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\n",
    "DROP TABLE IF EXISTS t;\n",
)
VERSION = "20261102_0900"
# The other session creates idx_x in a transaction that holds a SHARE lock on t: invisible
# to the pre-flight check; the steps wait for it, then collide once it commits.
HAND_MADE = "CREATE INDEX idx_x ON t (a)"
CASES = {
    "second step": (
        "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY idx_x ON t (b);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_x;\nALTER TABLE t DROP COLUMN IF EXISTS b;\n",
    ),
    "first step": (
        "CREATE INDEX CONCURRENTLY idx_x ON t (a);\nALTER TABLE t ADD COLUMN b int;\n",
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\nDROP INDEX CONCURRENTLY IF EXISTS idx_x;\n",
    ),
}


def _wait_until_running(db, proc, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        status = db.scalar(
            "SELECT status FROM atomig.migrations WHERE version = %s", (VERSION,)
        )
        if status == "running":
            return
        time.sleep(0.05)
    raise AssertionError("the migration was never recorded running")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_step_that_collides_at_run_time_does_not_drop_the_object(project, case):
    db = project.database
    up, down = CASES[case]
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(f"{VERSION}_change", up, down)
    with db.connect(autocommit=False) as other:
        other.execute(HAND_MADE)  # uncommitted: the pre-flight check cannot see it
        proc = project.popen("up")
        _wait_until_running(db, proc)  # past the pre-flight check, waiting for the lock
        other.commit()
    _out, err = proc.communicate(timeout=120)
    assert "already exists" in err, err
    assert db.scalar("SELECT to_regclass('idx_x')") is not None
    assert "idx_x ON public.t USING btree (a)" in db.scalar(
        "SELECT pg_get_indexdef('idx_x'::regclass)"
    )
    rows = db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = %s",
        (VERSION,),
    )
    if case == "second step":
        assert proc.returncode == 4, err
        assert "did not run the down file" in err
        assert rows == [("partial", 1)]
        return
    # Nothing committed: nothing to resume or undo.
    assert proc.returncode == 1, err
    assert "nothing was applied and no down file ran" in err
    assert rows == []
    assert db.scalar(
        "SELECT to_regclass('t') IS NOT NULL AND NOT EXISTS (SELECT FROM pg_attribute "
        "WHERE attrelid = 't'::regclass AND attname = 'b')"
    )
    event, details = db.execute(
        "SELECT event, details FROM atomig.history WHERE version = %s "
        "ORDER BY id DESC LIMIT 1",
        (VERSION,),
    )[0]
    assert event == "failed"
    assert details["nothing_applied"] is True
    assert details["sqlstate"] == "42P07"
