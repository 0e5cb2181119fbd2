"""Backfill steps inside migrations (PG 15 and PG 18): journaled, resumable from their
checkpoint after a kill, and rolled back with the migration when a batch fails."""

import json
import signal
import time

import pytest

from atomig.verify.fingerprint import take_fingerprint

ROWS = 20_000
BASE = (
    "20261101_0900_base",
    "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL, n int NOT NULL DEFAULT 0);\n"
    f"INSERT INTO orders SELECT g, g FROM generate_series(1, {ROWS}) g;\n",
    "DROP TABLE IF EXISTS orders;\n",
)
FILL_UP = """\
ALTER TABLE orders ADD COLUMN total_cents bigint;
-- atomig: backfill batch_size=1000 min_batch_size=1000 max_batch_size=1000
UPDATE orders SET total_cents = total * 100, n = n + 1 WHERE total_cents IS NULL;
ALTER TABLE orders ADD CONSTRAINT total_cents_set CHECK (total_cents IS NOT NULL) NOT VALID;
"""
FILL_DOWN = """\
ALTER TABLE orders DROP CONSTRAINT IF EXISTS total_cents_set;
ALTER TABLE orders DROP COLUMN IF EXISTS total_cents;
UPDATE orders SET n = 0;
"""
FILL = ("20261102_0900_fill", FILL_UP, FILL_DOWN)


def journal(db):
    return db.execute(
        "SELECT direction, step_index, step_kind, outcome, details"
        " FROM atomig.journal WHERE version = '20261102_0900' ORDER BY id"
    )


def fingerprint(db):
    with db.connect() as conn:
        return take_fingerprint(conn, "atomig").digest


def checkpoints(db):
    return db.execute(
        "SELECT id, status, batches, rows_affected, runs FROM atomig.backfills ORDER BY id"
    )


def batches_done(db) -> int:
    return db.scalar("SELECT coalesce(max(batches), 0) FROM atomig.backfills")


def wait_for_batches(db, at_least: int, timeout: float = 60) -> None:
    """Until a running backfill has committed ``at_least`` batches (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and batches_done(db) < at_least:
        time.sleep(0.02)


def test_a_backfill_step_runs_in_batches_inside_the_migration(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(*FILL)
    plan = project.cli("plan", "--json")
    steps = json.loads(plan.stdout)["plans"][0]["steps"]
    assert [s["kind"] for s in steps] == ["transaction", "backfill", "transaction"]
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert db.execute("SELECT n, count(*) FROM orders GROUP BY n") == [(1, ROWS)]
    assert (
        db.scalar("SELECT count(*) FROM orders WHERE total_cents = total * 100") == ROWS
    )
    rows = journal(db)
    assert [r[:4] for r in rows] == [
        ("up", 0, "transaction", "committed"),
        ("up", 1, "backfill", "done"),
        ("up", 2, "transaction", "committed"),
    ]
    totals = rows[1][4]
    assert (totals["batches"], totals["rows_affected"]) == (ROWS // 1000, ROWS)
    assert checkpoints(db) == [
        ("migration:20261102_0900:up:2", "completed", ROWS // 1000, ROWS, 1)
    ]
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    ) == [("applied", 3)]


def test_a_failing_batch_rolls_the_migration_back(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    # Row 12345 makes its batch fail after 12 batches committed.
    db.execute(
        "CREATE FUNCTION cents(numeric) RETURNS bigint LANGUAGE sql AS"
        " $$ SELECT CASE WHEN $1 = 12345 THEN 1 / 0 ELSE ($1 * 100)::bigint END $$"
    )
    before = fingerprint(db)
    project.add(
        "20261102_0900_fill",
        FILL_UP.replace("total_cents = total * 100", "total_cents = cents(total)"),
        FILL_DOWN,
    )
    result = project.cli("up")
    assert result.exit_code == 1, result.stderr
    assert "division by zero" in result.stderr and "rolled back" in result.stderr
    assert fingerprint(db) == before
    assert db.execute("SELECT n, count(*) FROM orders GROUP BY n") == [(0, ROWS)]
    assert [r[:4] for r in journal(db)][:2] == [
        ("up", 0, "transaction", "committed"),
        ("up", 1, "backfill", "failed"),
    ]
    assert (
        checkpoints(db) == []
    )  # forgotten with the rollback: a new attempt starts over
    assert (
        db.scalar(
            "SELECT count(*) FROM atomig.migrations WHERE version = '20261102_0900'"
        )
        == 0
    )


def test_resume_policy_stops_partial_and_up_resumes_from_the_checkpoint(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("ALTER TABLE orders ADD CONSTRAINT small CHECK (n = 0 OR id <= 7500)")
    project.add(
        "20261102_0900_fill", "-- atomig: on_failure=resume\n" + FILL_UP, FILL_DOWN
    )
    result = project.cli("up")
    assert result.exit_code == 4, result.stderr
    assert "partial" in result.stderr
    assert checkpoints(db)[0][1:4] == ("failed", 7, 7000)
    db.execute("ALTER TABLE orders DROP CONSTRAINT small")
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert db.execute("SELECT n, count(*) FROM orders GROUP BY n") == [(1, ROWS)]
    assert checkpoints(db) == [
        ("migration:20261102_0900:up:2", "completed", ROWS // 1000, ROWS, 2)
    ]


@pytest.mark.faults
def test_sigkill_during_a_backfill_step_then_up_resumes_it_exactly_once(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(
        "20261102_0900_fill",
        FILL_UP.replace("max_batch_size=1000", "max_batch_size=1000 sleep=20ms"),
        FILL_DOWN,
    )
    kills = 0
    for _ in range(3):
        proc = project.popen("up")
        wait_for_batches(db, batches_done(db) + 2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        kills += 1
        assert db.scalar("SELECT count(*) FROM orders WHERE n > 1") == 0
    assert db.execute(
        "SELECT status FROM atomig.migrations WHERE version = '20261102_0900'"
    ) == [("running",)]
    explained = project.cli("recover", "--dry-run").stdout
    assert "resumes the migration at step" in explained
    assert "the backfill continues from its checkpoint" in explained
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert "resuming" in result.stderr
    assert db.execute("SELECT n, count(*) FROM orders GROUP BY n") == [(1, ROWS)]
    [(_name, status, batches, rows, runs)] = checkpoints(db)
    assert (status, batches, rows) == ("completed", ROWS // 1000, ROWS)
    assert runs == kills + 1
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    ) == [("applied", 3)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_during_a_backfill_step_keeps_its_checkpoint_and_up_resumes(
    project, signum
):
    """Ctrl-C is how an operator pauses a long backfill (a load spike, the end of a
    maintenance window): as after a kill, the committed batches are kept and `atomig up`
    resumes them, whatever the failure policy, instead of a rollback throwing them away."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(
        "20261102_0900_fill",
        FILL_UP.replace("max_batch_size=1000", "max_batch_size=1000 sleep=20ms"),
        FILL_DOWN,
    )
    proc = project.popen("up")
    try:
        wait_for_batches(db, 2)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "rolling back" not in err
    assert "atomig up" in err  # how to resume
    [(status, steps_done)] = db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    )
    assert (status, steps_done) == ("partial", 1)
    [(_name, _status, batches, rows, _runs)] = checkpoints(db)
    assert batches >= 2 and rows == batches * 1000
    assert db.scalar("SELECT count(*) FROM orders WHERE n = 1") == rows
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert "resuming" in result.stderr
    assert db.execute("SELECT n, count(*) FROM orders GROUP BY n") == [(1, ROWS)]
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    ) == [("applied", 3)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_cancels_the_batch_in_flight_of_a_backfill_step(project, signum):
    """The batch in flight is cancelled on the server (it rolls back with its checkpoint),
    not left running for nobody; the migration stops partial, and `atomig up` resumes."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    (project.dir / "atomig.toml").write_text('[session]\nlock_timeout = "10min"\n')
    project.add(
        "20261102_0900_fill",
        FILL_UP.replace("max_batch_size=1000", "max_batch_size=1000 sleep=100ms"),
        FILL_DOWN,
    )

    def waiting():
        return db.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND state = 'active'"
            " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE orders%%'"
        )

    proc = project.popen("up")
    try:
        wait_for_batches(db, 1)
        with db.connect(autocommit=False) as holder:
            # A row of a later window: its batch waits for it (lock_timeout 10 min).
            holder.execute("SELECT 1 FROM orders WHERE id = 15500 FOR UPDATE")
            deadline = time.monotonic() + 60
            while not waiting():
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "the batch never waited"
                time.sleep(0.05)
            sent = time.monotonic()
            proc.send_signal(signum)
            while waiting():
                assert time.monotonic() - sent < 2.5, waiting()
                time.sleep(0.02)
            _out, err = proc.communicate(timeout=30)
            holder.rollback()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    [(status, steps_done)] = db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    )
    assert (status, steps_done) == ("partial", 1)
    [(_name, _status, batches, rows, _runs)] = checkpoints(db)
    assert (batches, rows) == (15, 15000)
    assert db.scalar("SELECT count(*) FROM orders WHERE n = 1") == 15000
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert db.execute("SELECT n, count(*) FROM orders GROUP BY n") == [(1, ROWS)]
