"""One runner at a time: a second runner waits, then fails naming the holder."""

import threading
import time

import psycopg

from atomig.run.runner_lock import LOCK_CLASS


def hold_runner_lock(db, application_name="atomig runner otherhost:4242"):
    conn = psycopg.connect(
        db.cluster.conninfo(db.name), autocommit=True, application_name=application_name
    )
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (LOCK_CLASS, "atomig"))
    return conn


def test_second_runner_waits_then_fails_naming_the_holder(project):
    project.add(
        "20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXISTS a;"
    )
    holder = hold_runner_lock(project.database)
    try:
        pid = holder.info.backend_pid
        started = time.monotonic()
        result = project.cli("up", "--wait", "1")
        waited = time.monotonic() - started
    finally:
        holder.close()
    assert result.exit_code == 1
    assert waited >= 1.0
    assert f"pid {pid}" in result.stderr
    assert "atomig runner otherhost:4242" in result.stderr
    assert "connected since" in result.stderr
    assert project.database.scalar("SELECT to_regclass('a')") is None


def test_waiting_runner_proceeds_when_the_holder_finishes(project):
    project.add(
        "20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXISTS a;"
    )
    holder = hold_runner_lock(project.database)
    release = threading.Timer(1.0, holder.close)
    release.start()
    try:
        result = project.cli("up", "--wait", "20")
    finally:
        release.join()
    assert result.exit_code == 0, result.stderr
    assert project.database.scalar("SELECT to_regclass('a')") is not None


def test_two_real_processes_never_both_apply(project):
    # A slow migration keeps the first runner busy; the second must not start it again.
    project.add(
        "20261101_0900_slow",
        "CREATE TABLE slow AS SELECT 1 AS s FROM pg_sleep(2);",
        "DROP TABLE IF EXISTS slow;",
    )
    first = project.popen("up")
    time.sleep(0.8)
    second = project.run("up", "--wait", "0.5")
    _out, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    assert second.returncode == 1
    assert "another atomig runner holds the migration lock" in second.stderr
    assert "migration:20261101_0900_slow" in second.stderr
    assert project.database.scalar("SELECT count(*) FROM atomig.journal") == 1


def test_lock_dies_with_a_killed_runner(project):
    project.add(
        "20261101_0900_slow",
        "CREATE TABLE slow AS SELECT 1 AS s FROM pg_sleep(30);",
        "DROP TABLE IF EXISTS slow;",
    )
    first = project.popen("up")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if project.database.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'migration:%'"
        ):
            break
        time.sleep(0.1)
    first.kill()
    first.communicate()
    # The orphaned backend keeps sleeping until it notices; terminate it as recovery would.
    project.database.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'atomig runner%' OR application_name LIKE 'migration:%'"
    )
    project.add(
        "20261101_0900_slow", "CREATE TABLE slow (s int);", "DROP TABLE IF EXISTS slow;"
    )
    result = project.cli("up", "--wait", "10")
    assert result.exit_code == 0, result.stderr


def test_a_waiting_command_says_it_waits_and_for_whom(project):
    """`atomig recover --dry-run` (like up, down, accept) waits up to runner_lock_wait
    (30 s) for a held lock: it says so at once, naming the holder, instead of hanging
    silently."""
    project.add(
        "20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXISTS a;"
    )
    assert project.cli("up").exit_code == 0
    holder = hold_runner_lock(project.database)
    proc = project.popen("recover", "--dry-run")
    try:
        started = time.monotonic()
        line = proc.stderr.readline()
        said_after = time.monotonic() - started
        assert proc.poll() is None  # still waiting
        holder.close()
        _out, err = proc.communicate(timeout=30)
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "waiting up to 30s" in line
    assert "atomig runner otherhost:4242" in line and "pid " in line
    assert said_after < 10, said_after
    assert proc.returncode == 0, err
