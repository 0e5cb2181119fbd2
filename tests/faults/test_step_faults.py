"""Fault injection: the runner SIGKILLed at every step boundary and inside a long step, its
backend terminated mid-step, a blocker outlasting the retry budget. After each, and after the
recovery path, the schema fingerprint is exactly the pre- or the post-migration one, no
INVALID index remains, the ledger and journal agree with the catalog, and re-running
converges."""

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.faults.common import fingerprint
from tests.integration.test_steps import BASE, MISSION, MISSION_DOWN, MISSION_UP

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
APP = "migration:20261102_0900_orders_user"


def invalid_indexes(db):
    return db.execute(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid"
    )


def ledger_row(db):
    rows = db.execute(
        "SELECT status, steps_done, step_count FROM atomig.migrations WHERE version = %s",
        (VERSION,),
    )
    return rows[0] if rows else None


def open_journal_rows(db):
    return db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL")


def prepare(project):
    """Base applied; the mission migration applied and reverted once to learn the post
    fingerprint. Returns (pre, post)."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = fingerprint(db)
    project.add(*MISSION)
    assert project.cli("up").exit_code == 0
    post = fingerprint(db)
    assert project.cli("down").exit_code == 0
    assert fingerprint(db) == pre
    return pre, post


def assert_consistent(project, pre, post):
    """Exactly pre or post, no INVALID index, and the ledger says which."""
    db = project.database
    state = fingerprint(db)
    assert state in (pre, post), (
        "the schema is neither the pre- nor the post-migration one"
    )
    assert invalid_indexes(db) == []
    assert open_journal_rows(db) == 0
    row = ledger_row(db)
    if state == post:
        assert row is not None and row[0] == "applied" and row[1] == row[2]
    else:
        assert row is None
    return state


def converge(project, post):
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert fingerprint(project.database) == post
    assert ledger_row(project.database)[0] == "applied"
    assert "nothing to apply" in project.cli("up").output


def run_driver(project, event, step=None):
    args = [
        sys.executable,
        "-m",
        "tests.faults.driver",
        str(project.dir),
        project.url,
        event,
    ]
    if step is not None:
        args.append(str(step))
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


BOUNDARIES = [
    ("migration.start", None),
    ("step.start", 1),
    ("step.done", 1),
    ("step.start", 2),
    ("step.done", 2),
    ("step.start", 3),
    ("step.done", 3),
    ("step.start", 4),
    ("step.done", 4),
]


@pytest.mark.parametrize(("event", "step"), BOUNDARIES)
def test_sigkill_at_every_step_boundary(project, event, step):
    pre, post = prepare(project)
    killed = run_driver(project, event, step)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    row = ledger_row(project.database)
    status = project.cli("status", "--check")
    if row is not None and row[0] != "applied":
        # The interrupted migration is detected from the ledger: partial, needs attention.
        assert status.exit_code == 4
        document = json.loads(project.cli("status", "--json").stdout)
        assert document["migrations"][1]["reason"] == "interrupted"
        # Recovery: alternate the two ways out across boundaries.
        action = "--rollback" if (step or 0) % 2 else "--resume"
        explained = project.cli("recover", "--dry-run")
        assert "interrupted" in explained.stdout
        result = project.cli("recover", action)
        assert result.exit_code == 0, result.stderr
        state = assert_consistent(project, pre, post)
        assert state == (pre if action == "--rollback" else post)
    else:
        assert_consistent(project, pre, post)
    converge(project, post)


def test_sigkill_then_plain_up_applies_the_policy_and_converges(project):
    pre, post = prepare(project)
    killed = run_driver(project, "step.done", 2)
    assert killed.returncode == -signal.SIGKILL
    # The dry run says what a plain `up` / `recover` will do, before it is done.
    explained = project.cli("recover", "--dry-run")
    assert "next: `atomig recover` (or `atomig up`) rolls it back" in explained.stdout
    assert "failure policy rollback" in explained.stdout
    found = json.loads(project.cli("recover", "--dry-run", "--json").stdout)
    assert found["migrations"][0]["default_action"] == "rollback"
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    # Default policy: the interrupted run is rolled back (verified), then applied again.
    assert "rolled back 20261102_0900_orders_user" in result.stderr
    events = [
        r[0]
        for r in project.database.execute(
            "SELECT event FROM atomig.history WHERE version = %s ORDER BY id",
            (VERSION,),
        )
    ]
    assert events[-4:] == [
        "started",
        "recover_rollback",
        "rolled_back",
        "applied",
    ] or events[-5:] == [
        "started",
        "recover_rollback",
        "rolled_back",
        "started",
        "applied",
    ]
    assert fingerprint(project.database) == post
    assert_consistent(project, pre, post)


class Snapshot:
    """An old REPEATABLE READ transaction: CREATE INDEX CONCURRENTLY waits for it."""

    def __init__(self, db):
        self.conn = db.connect(autocommit=False)
        self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        self.conn.execute("SELECT 1")

    def release(self):
        self.conn.rollback()
        self.conn.close()


def reap(*procs):
    """Kill what still runs and close every pipe (no ResourceWarning leaks into later
    tests, whatever assertion failed first)."""
    for proc in procs:
        if proc is None:
            continue
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def build_waiting(db):
    """The migration's CREATE INDEX CONCURRENTLY, waiting for old snapshots: its pid."""
    return db.scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        " AND query LIKE 'CREATE INDEX CONCURRENTLY%%' AND wait_event = 'virtualxid'",
        (APP,),
    )


SLOW_BUILD_CONFIG = (
    # The runner must start the build despite the old snapshot (so that it is in flight
    # when killed), and the build must wait for it rather than time out.
    '[retry]\nblocker_age = "1h"\nblocker_wait = "20s"\n'
)


def start_slow_build(project, check_interval="1s"):
    (project.dir / "atomig.toml").write_text(
        SLOW_BUILD_CONFIG
        + f'[session]\nlock_timeout = "60s"\nclient_connection_check_interval = "{check_interval}"\n'
    )
    pre, post = prepare(project)
    snapshot = Snapshot(project.database)
    runner = project.popen("up")
    try:
        pid = wait_for(
            lambda: build_waiting(project.database), what="the build to wait"
        )
    except BaseException:
        reap(runner)
        snapshot.release()
        raise
    return pre, post, snapshot, runner, pid


def test_sigkill_inside_a_long_concurrent_build_server_cancels_it(project):
    db = project.database
    pre, post, snapshot, runner, pid = start_slow_build(project)
    try:
        # While the runner lives, status says the migration is running (not partial).
        live = json.loads(project.cli("status", "--json").stdout)
        assert live["migrations"][1]["state"] == "running"
        assert live["needs_attention"] is False
        assert project.cli("status", "--check").exit_code == 3
        runner.send_signal(signal.SIGKILL)
        runner.communicate(timeout=30)
        # client_connection_check_interval: the server notices the vanished runner and
        # cancels the build itself, leaving an INVALID index.
        wait_for(
            lambda: (
                not db.scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
                )
            ),
            what="the orphaned build to be cancelled by the server",
        )
        assert invalid_indexes(db) == [("idx_orders_user_id",)]
        assert ledger_row(db)[:2] == ("running", 2)
        result = project.cli("recover")
        assert result.exit_code == 0, result.stderr
        assert "dropping INVALID index public.idx_orders_user_id" in result.stderr
        assert assert_consistent(project, pre, post) == pre
    finally:
        reap(runner)
        snapshot.release()
    converge(project, post)


def test_sigkill_inside_a_long_build_orphan_is_terminated_before_rollback(project):
    db = project.database
    pre, post, snapshot, runner, pid = start_slow_build(project, check_interval="0")
    try:
        runner.send_signal(signal.SIGKILL)
        runner.communicate(timeout=30)
        time.sleep(0.5)
        # Without the check, the orphaned backend keeps waiting to finish the build.
        assert build_waiting(db) == pid
        result = project.cli("recover", "--rollback")
        assert result.exit_code == 0, result.stderr
        assert f"orphaned backend of an earlier runner: pid {pid}" in result.stderr
        assert f"terminating orphaned backend pid {pid}" in result.stderr
        assert not db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
        )
        assert assert_consistent(project, pre, post) == pre
    finally:
        reap(runner)
        snapshot.release()
    converge(project, post)


def test_sigkill_inside_a_long_build_resume_waits_for_the_orphan_to_finish(project):
    db = project.database
    pre, post, snapshot, runner, _pid = start_slow_build(project, check_interval="0")
    released = False
    procs = [runner]
    try:
        runner.send_signal(signal.SIGKILL)
        runner.communicate(timeout=30)
        recover = project.popen("recover", "--resume")
        procs.append(recover)
        for line in recover.stderr:
            if "waiting up to" in line:
                # The orphan finishes its build once the old transaction ends.
                snapshot.release()
                released = True
                break
        _out, err = recover.communicate(timeout=60)
        assert recover.returncode == 0, err
        assert released
        assert "finished after its runner died" in err
        assert assert_consistent(project, pre, post) == post
        journal = db.execute(
            "SELECT step_index, outcome FROM atomig.journal WHERE version = %s"
            " AND direction = 'up' ORDER BY id",
            (VERSION,),
        )
        # This run's build of step 3 was interrupted, finished by the orphan, and never
        # started again: steps 1-2 done, 3 interrupted, 4 done.
        assert journal[-4:] == [
            (0, "committed"),
            (1, "committed"),
            (2, "interrupted"),
            (3, "done"),
        ]
    finally:
        reap(*procs)
        if not released:
            snapshot.release()
    converge(project, post)


def test_backend_terminated_mid_step_rolls_back(project):
    db = project.database
    pre, post, snapshot, runner, pid = start_slow_build(project)
    try:
        with db.connect() as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        _out, err = runner.communicate(timeout=60)
        assert runner.returncode == 1, err
        assert "lost the database connection" in err
        assert "rolled back" in err
        assert assert_consistent(project, pre, post) == pre
    finally:
        reap(runner)
        snapshot.release()
    converge(project, post)


def test_blocker_beyond_the_retry_budget_rolls_back_and_names_it(project):
    db = project.database
    project.add(
        "20261101_0800_audit",
        "CREATE TABLE audit (id bigint PRIMARY KEY);",
        "DROP TABLE IF EXISTS audit;",
    )
    pre, post = prepare(project)
    # A fifth step needs SHARE UPDATE EXCLUSIVE on audit, where a transaction holds SHARE
    # for longer than the 3-second budget: steps 1-4 commit, step 5 never gets its lock.
    # (The down file does not touch audit, so the rollback is not blocked as well; the
    # project budget bounds the test if it were.)
    (project.dir / "atomig.toml").write_text('[retry]\nbudget = "20s"\n')
    project.add(
        "20261102_0900_orders_user",
        "-- atomig: retry_budget=3s\n" + MISSION_UP + "ANALYZE audit;\n",
        MISSION_DOWN,
    )
    blocker = db.connect(autocommit=False, application_name="nightly report")
    blocker.execute("LOCK TABLE audit IN SHARE MODE")
    started = time.monotonic()
    try:
        result = project.cli("up")
    finally:
        blocker.rollback()
        blocker.close()
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.stderr
    assert (
        "step 5/5" in result.stderr
        and "the retry budget of 3s is spent" in result.stderr
    )
    assert (
        "waiting (not queued) for pid" in result.stderr
        and "nightly report" in result.stderr
    )
    assert 3 <= elapsed < 30
    assert assert_consistent(project, pre, post) == pre
    last = db.execute(
        "SELECT step_index, outcome, sqlstate, details FROM atomig.journal WHERE version = %s"
        " AND direction = 'up' ORDER BY id DESC LIMIT 1",
        (VERSION,),
    )
    step_index, outcome, sqlstate, details = last[0]
    assert (step_index, outcome, sqlstate) == (4, "failed", "55P03")
    assert [b["application_name"] for b in details["blocked_by"]] == ["nightly report"]
    assert details["blocked_by"][0]["mode"] == "ShareLock"
    project.add(*MISSION)
    converge(project, post)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupt_cancels_the_running_statement_and_rolls_back(project, signum):
    db = project.database
    pre, post, snapshot, runner, _pid = start_slow_build(project)
    name = signal.Signals(signum).name
    try:
        runner.send_signal(signum)
        _out, err = runner.communicate(timeout=60)
        assert runner.returncode == 130, err
        assert f"{name}: cancelling the running statement" in err
        assert "rolled back" in err
        assert assert_consistent(project, pre, post) == pre
        assert f"interrupted by {name}" in json.dumps(
            db.scalar(
                "SELECT details FROM atomig.history WHERE version = %s AND event = 'rolled_back'",
                (VERSION,),
            )
        )
    finally:
        reap(runner)
        snapshot.release()
    converge(project, post)


def test_recover_with_nothing_to_do(project):
    prepare(project)
    result = project.cli("recover")
    assert result.exit_code == 0
    assert "nothing to recover" in result.stdout
