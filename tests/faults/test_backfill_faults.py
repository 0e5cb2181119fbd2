"""Exactly-once under faults: a backfill killed with SIGKILL at random moments (and one whose
backend is terminated) resumes each time, and at the end every row changed exactly once and
the checkpoint's totals equal the rows changed."""

import json
import os
import queue
import random
import signal
import threading
import time

import pytest

ROWS = 200_000
ARGS = (
    "backfill",
    "--sql",
    "UPDATE t SET counter = counter + 1",
    "--name",
    "counter",
    "--json",
    "--batch-size",
    "500",
    "--min-batch-size",
    "500",
    "--max-batch-size",
    "500",
    "--sleep",
    "10ms",
)


def make_table(database):
    with database.connect() as conn:
        conn.execute(
            "CREATE TABLE t (id bigint PRIMARY KEY, counter int NOT NULL DEFAULT 0)"
        )
        conn.execute(f"INSERT INTO t (id) SELECT g FROM generate_series(1, {ROWS}) g")
        conn.execute("VACUUM ANALYZE t")


def lines_of(proc):
    """Lines of the child's stdout, read in a thread so the test can time its kill."""
    out: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            out.put(line)
        out.put(None)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    proc.pump = thread
    return out


def kill(proc):
    proc.kill()
    proc.wait()
    proc.pump.join(timeout=10)
    proc.stdout.close()
    proc.stderr.close()


def wait_for_batch(lines, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.05)
        except queue.Empty:
            continue
        if line is None:
            return False
        if json.loads(line)["event"] == "backfill.batch":
            return True
    raise AssertionError("no batch within the timeout")


def assert_exactly_once(database, runs):
    assert database.execute("SELECT counter, count(*) FROM t GROUP BY 1") == [(1, ROWS)]
    row = database.execute(
        "SELECT status, rows_affected, rows_scanned, batches, runs FROM atomig.backfills"
        " WHERE id = 'counter'"
    )[0]
    assert row == ("completed", ROWS, ROWS, ROWS // 500, runs)


@pytest.mark.faults
def test_sigkill_at_random_moments_then_resume_changes_every_row_once(project):
    make_table(project.database)
    seed = int(os.environ.get("ATOMIG_FAULT_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    kills = mid_walk = 0
    progress = []
    while kills < 10:
        proc = project.popen(*ARGS)
        lines = lines_of(proc)
        try:
            if kills % 2:
                # Anywhere: start-up, ledger, checkpoint, a batch, a commit.
                time.sleep(rng.uniform(0.0, 0.8))
            else:
                # Inside the walk: after the first batch of this run.
                assert wait_for_batch(lines), f"finished before the kill (seed {seed})"
                time.sleep(rng.uniform(0.0, 0.15))
            ended = proc.poll() is not None
        finally:
            kill(proc)
        assert not ended, f"the run ended before kill {kills + 1} (seed {seed})"
        kills += 1
        done = project.database.scalar("SELECT count(*) FROM t WHERE counter = 1")
        assert project.database.scalar("SELECT count(*) FROM t WHERE counter > 1") == 0
        mid_walk += 0 < done < ROWS
        progress.append(done)
    assert mid_walk >= 5, (progress, seed)
    final = project.run(*ARGS, timeout=120)
    assert final.returncode == 0, final.stderr
    result = json.loads(final.stdout.splitlines()[-1])
    assert result["event"] == "result" and result["resumed"]
    runs = project.database.scalar("SELECT runs FROM atomig.backfills")
    assert (
        runs >= kills - (kills // 2) + 1
    )  # every run that got as far as its checkpoint
    assert_exactly_once(project.database, runs)


@pytest.mark.faults
def test_terminated_backend_fails_resumably_and_resumes_exactly_once(project):
    make_table(project.database)
    rng = random.Random(7)
    failures = 0
    for _ in range(4):
        proc = project.popen(*ARGS)
        lines = lines_of(proc)
        try:
            assert wait_for_batch(lines)
            time.sleep(rng.uniform(0.0, 0.1))
            project.database.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'backfill:counter'"
            )
            proc.wait(timeout=60)
            err = proc.stderr.read()
        finally:
            kill(proc)
        assert proc.returncode == 1, err
        assert "connection was lost" in err or "terminat" in err
        failures += 1
    final = project.run(*ARGS, timeout=120)
    assert final.returncode == 0, final.stderr
    assert_exactly_once(project.database, failures + 1)


def backfill_backends(database, name: str) -> list[tuple]:
    return database.execute(
        "SELECT pid, state, wait_event_type FROM pg_stat_activity"
        " WHERE application_name = %s AND state <> 'idle'",
        (f"backfill:{name}",),
    )


@pytest.mark.faults
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_signal_cancels_the_batch_in_flight_on_the_server(project, signum):
    """A standalone backfill stopped by a signal leaves no batch running on the server:
    SIGTERM/SIGHUP cancel it (exit 130), and after a SIGKILL the server notices the client
    is gone (client_connection_check_interval). The batch rolls back with its checkpoint;
    the same command resumes."""
    db = project.database
    db.execute("CREATE TABLE s (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0)")
    db.execute("INSERT INTO s (id) SELECT g FROM generate_series(1, 100) g")
    # The batch waits on a row the test holds, for as long as the test wants.
    (project.dir / "atomig.toml").write_text('[session]\nlock_timeout = "10min"\n')
    args = ("backfill", "--sql", "UPDATE s SET v = v + 1", "--name", "sv", "--json")
    args += ("--batch-size", "10", "--min-batch-size", "10", "--max-batch-size", "10")
    with db.connect(autocommit=False) as holder:
        holder.execute("SELECT 1 FROM s WHERE id = 45 FOR UPDATE")
        proc = project.popen(*args)
        try:
            deadline = time.monotonic() + 60
            while not any(w == "Lock" for _, _, w in backfill_backends(db, "sv")):
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "the batch never waited"
                time.sleep(0.05)
            sent = time.monotonic()
            proc.send_signal(signum)
            while backfill_backends(db, "sv"):
                assert time.monotonic() - sent < 2.5, backfill_backends(db, "sv")
                time.sleep(0.02)
            gone_after = time.monotonic() - sent
            proc.wait(timeout=30)
            err = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        holder.rollback()
    print(
        f"{signum.name}: no backfill query on the server {gone_after * 1000:.0f} ms after"
    )
    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, err
        assert "cancel" in err and "run the same command again" in err
    # Four batches committed with their checkpoint; the fifth rolled back with its own.
    assert db.scalar("SELECT count(*) FROM s WHERE v = 1") == 40
    assert db.execute("SELECT rows_affected, batches FROM atomig.backfills") == [
        (40, 4)
    ]
    final = project.run(*args, timeout=60)
    assert final.returncode == 0, final.stderr
    assert db.execute("SELECT v, count(*) FROM s GROUP BY v") == [(1, 100)]
    assert db.execute("SELECT rows_affected, status FROM atomig.backfills") == [
        (100, "completed")
    ]


@pytest.mark.faults
def test_a_signal_during_a_pause_between_batches_stops_at_once(project):
    """A backfill pausing between batches (--sleep, a busy server's share, a lagging
    standby) stops when signalled, not when the pause is over."""
    db = project.database
    db.execute("CREATE TABLE p (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0)")
    db.execute("INSERT INTO p (id) SELECT g FROM generate_series(1, 100) g")
    args = ("backfill", "--sql", "UPDATE p SET v = 1", "--name", "pv", "--json")
    args += ("--batch-size", "10", "--min-batch-size", "10", "--max-batch-size", "10")
    proc = project.popen(*args, "--sleep", "60s")
    lines = lines_of(proc)
    try:
        assert wait_for_batch(lines)
        time.sleep(0.2)  # into the 60 s pause
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        kill(proc)
    assert proc.returncode == 130
    assert took < 5, took
    assert db.execute("SELECT batches, status FROM atomig.backfills") == [
        (1, "running")
    ]
