"""The lock-queue watchdog: a reader blocked behind a migration step makes the step cancel
and retry later (PG 15 and 18)."""

from __future__ import annotations

import threading
import time

from tests.integration.helpers import applied_versions

BASE = (
    "20260101_0900_base",
    "CREATE TABLE t (id bigint PRIMARY KEY);\n"
    "INSERT INTO t SELECT generate_series(1, 10);\n"
    "CREATE SEQUENCE attempts;\n",
    "DROP SEQUENCE attempts;\nDROP TABLE t;\n",
)


def slow_first_attempt(seconds):
    # nextval is not transactional: the first attempt sleeps while it holds ACCESS
    # EXCLUSIVE on t; a retry does not.
    return (
        "20260102_0900_add",
        "ALTER TABLE t ADD COLUMN c int;\n"
        f"SELECT pg_sleep(CASE WHEN nextval('attempts') = 1 THEN {seconds} ELSE 0 END);\n",
        "ALTER TABLE t DROP COLUMN c;\n",
    )


def blocked_reader(db, out):
    """Wait until the migration holds ACCESS EXCLUSIVE on t, then read t (and block)."""

    def run():
        with db.connect(application_name="reader") as conn:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                held = conn.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                    " WHERE l.relation = 't'::regclass AND l.mode = 'AccessExclusiveLock'"
                    " AND l.granted AND a.application_name LIKE 'migration:%'"
                ).fetchone()[0]
                if held:
                    break
                time.sleep(0.01)
            out["asked"] = time.monotonic()
            out["rows"] = conn.execute("SELECT count(*) FROM t").fetchone()[0]
            out["answered"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_blocked_reader_makes_the_step_cancel_and_retry(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    (project.dir / "atomig.toml").write_text(
        '[watchdog]\nmax_blocked_wait = "500ms"\npoll = "50ms"\n'
    )
    project.add(*slow_first_attempt(20))
    out = {}
    reader = blocked_reader(db, out)
    started = time.monotonic()
    result = project.cli("up")
    elapsed = time.monotonic() - started
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    # The reader waited about max_blocked_wait, not the 20 s the first attempt would hold
    # its lock: the watchdog cancelled the attempt, and the retry applied the migration.
    waited = out["answered"] - out["asked"]
    assert 0.4 <= waited < 10, waited
    assert out["rows"] == 10
    assert elapsed < 15
    assert applied_versions(db) == ["20260101_0900", "20260102_0900"]
    assert (
        db.scalar(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'c'"
        )
        == 1
    )
    rows = db.execute(
        "SELECT attempt, outcome, sqlstate, details ->> 'cancelled_by_watchdog'"
        " FROM atomig.journal WHERE version = '20260102_0900' ORDER BY id"
    )
    assert [r[:3] for r in rows] == [(1, "retried", "57014"), (2, "committed", None)]
    assert "session(s) waited behind it" in rows[0][3]
    assert "pid" in rows[0][3] and "reader" in rows[0][3]
    # Shown live, then acted on.
    assert "session(s) waiting behind the migration: pid" in result.stderr
    assert "cancelling the attempt so the queue behind it can drain" in result.stderr
    assert "attempt 1 cancelled by the lock-queue watchdog" in result.stderr


def test_without_the_watchdog_the_reader_waits_for_the_whole_statement(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    (project.dir / "atomig.toml").write_text("[watchdog]\nenabled = false\n")
    project.add(*slow_first_attempt(1.5))
    out = {}
    reader = blocked_reader(db, out)
    result = project.cli("up")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert out["answered"] - out["asked"] >= 1.0
    rows = db.execute(
        "SELECT attempt, outcome FROM atomig.journal WHERE version = '20260102_0900'"
    )
    assert rows == [(1, "committed")]
