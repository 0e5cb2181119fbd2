"""The runner lock's connection dies while its runner is alive (a DBA terminating the idle
"atomig runner" session, as RunnerBusy's hint suggests for a gone runner; an idle-session
timeout; a NAT dropping an idle connection during a long build). A second runner may then
take the lock and recover the migration. The first must not act any more: rolling back as
well would run the down file concurrently with the new runner's recovery and re-apply."""

import time

import pytest

pytestmark = pytest.mark.faults

UP = (
    "CREATE TABLE k (id int PRIMARY KEY);\n"
    "CREATE INDEX CONCURRENTLY k_id ON k (id);\n"
    "SELECT pg_sleep(4);\n"
    "ALTER TABLE k ADD COLUMN w int;\n"
)
DOWN = "DROP TABLE IF EXISTS k;\n"
LOCK_HOLDER = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def wait_for(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_runner_whose_lock_was_taken_over_stops_without_rolling_back(project):
    db = project.database
    project.add("20261101_0900_k", UP, DOWN)
    first = project.popen("up")
    second = None
    try:
        wait_for(
            lambda: db.scalar(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE query = 'SELECT pg_sleep(4)' AND state = 'active'"
            ),
            "the first runner's step 3",
        )
        holder = db.scalar(LOCK_HOLDER)
        db.execute("SELECT pg_terminate_backend(%s)", (holder,))
        wait_for(lambda: db.scalar(LOCK_HOLDER) is None, "the lock to be released")
        second = project.popen("up", "--wait", "30")
        _out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
    finally:
        for process in (first, second):
            if process is not None:
                if process.poll() is None:
                    process.kill()
                process.communicate()
    assert first.returncode == 4, err1
    assert "lost the runner lock's connection" in err1
    assert "rolling back" not in err1, err1
    assert second.returncode == 0, err2
    assert "applied 1 migration(s)" in out2
    assert db.scalar("SELECT status FROM atomig.migrations") == "applied"
    assert db.scalar(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 'k'::regclass"
        " AND attname = 'w'"
    )
