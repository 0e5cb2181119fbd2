"""The runner's output stream closing under it (``atomig up 2>&1 | head``, a log collector
that dies, a lost ssh session's pipe) must not abort a migration half-way: the progress
stops, the work goes on to its end."""

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.faults

UP = (
    "CREATE TABLE t (id int PRIMARY KEY, v int);\n"
    "CREATE INDEX CONCURRENTLY t_v ON t (v);\n"
    "SELECT pg_sleep(1);\n"
    "ALTER TABLE t ADD COLUMN w int;\n"
)


def test_progress_stream_closed_mid_migration_does_not_abort_it(project):
    db = project.database
    project.add("20261101_0900_t", UP, "DROP TABLE IF EXISTS t;\n")
    process = project.popen("up")
    try:
        assert process.stderr.readline()  # the first progress line
        # Nobody reads the progress any more: every later line written hits EPIPE.
        process.stderr.close()
        stdout = process.stdout.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()
    assert process.returncode == 0, stdout
    assert "applied 1 migration(s)" in stdout
    assert db.scalar("SELECT status FROM atomig.migrations") == "applied"
    assert db.scalar(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass"
        " AND attname = 'w'"
    )


def test_backfill_json_consumer_gone_does_not_stop_the_backfill(project):
    db = project.database
    db.execute("CREATE TABLE b (id int PRIMARY KEY, v int)")
    db.execute("INSERT INTO b SELECT g, 0 FROM generate_series(1, 3000) g")
    process = project.popen(
        "backfill",
        "--sql",
        "UPDATE b SET v = 1 WHERE v = 0",
        "--name",
        "b",
        "--batch-size",
        "100",
        "--max-batch-size",
        "100",
        "--sleep",
        "20ms",
        "--json",
    )
    try:
        assert process.stdout.readline()  # backfill.start
        process.stdout.close()
        stderr = process.stderr.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()
    assert db.scalar("SELECT count(*) FROM b WHERE v = 0") == 0, stderr
    assert db.scalar("SELECT status FROM atomig.backfills") == "completed"


def test_sighup_ignored_by_nohup_stays_ignored(project):
    """Under nohup (SIGHUP ignored), a hangup must not stop the migration: the operator
    asked for the run to survive the terminal."""
    db = project.database
    project.add(
        "20261101_0900_t",
        UP.replace("pg_sleep(1)", "pg_sleep(2)"),
        "DROP TABLE IF EXISTS t;\n",
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "atomig", "-C", str(project.dir)),
            *("--database-url", project.url, "up"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not db.scalar(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE query LIKE 'SELECT pg_sleep(2)%' AND state = 'active'"
        ):
            time.sleep(0.05)
        process.send_signal(signal.SIGHUP)
        _out, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "SIGHUP" not in stderr
    assert db.scalar("SELECT status FROM atomig.migrations") == "applied"


def test_a_sighup_handler_of_the_embedding_program_is_left_alone():
    """A program that calls the library and handles SIGHUP itself (a configuration reload)
    keeps its handler during a run; only the default disposition is replaced."""
    from atomig.run.interrupt import Interrupt, handle_signals

    def reload(signum, frame):
        pass

    previous = signal.signal(signal.SIGHUP, reload)
    try:
        with handle_signals(Interrupt(), lambda name, first: None):
            assert signal.getsignal(signal.SIGHUP) is reload
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        with handle_signals(Interrupt(), lambda name, first: None):
            assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, reload)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, previous)


def piped(project, command: str, reader: str) -> subprocess.CompletedProcess[str]:
    """``atomig COMMAND 2>&1 | READER`` in a real shell; the exit code is atomig's."""
    atomig = f"{sys.executable} -m atomig -C {project.dir}"
    if project.url:
        atomig += f" --database-url '{project.url}'"
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    return subprocess.run(
        ["bash", "-c", f"{atomig} {command} 2>&1 | {reader}; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_output_reader_gone_leaves_each_commands_exit_code(project):
    """`atomig up 2>&1 | head -1` exits 0 when the migration applied (click made it 1);
    `status --check` and `lint` keep their verdicts; the pg_sleep makes sure the later
    lines are written after head has gone."""
    db = project.database
    project.add(
        "20261101_0900_t",
        "CREATE TABLE t (id int);\nSELECT pg_sleep(1);\n",
        "SELECT pg_sleep(1);\nDROP TABLE IF EXISTS t;\n",
    )
    up = piped(project, "up", "head -1")
    assert up.returncode == 0, up.stdout
    assert len(up.stdout.splitlines()) == 1
    assert db.scalar("SELECT status FROM atomig.migrations") == "applied"

    project.add("20261102_0900_u", "CREATE TABLE u (id int);\n", "DROP TABLE u;\n")
    # `true` reads nothing: every line status writes finds the reader gone.
    assert piped(project, "status --check", "true").returncode == 3
    assert piped(project, "status", "true").returncode == 0
    assert piped(project, "status --check --json", "true").returncode == 3

    down = piped(project, "down --to 0", "head -1")
    assert down.returncode == 0, down.stdout
    assert db.scalar("SELECT count(*) FROM atomig.migrations") == 0
    assert db.scalar("SELECT to_regclass('t')") is None

    # lint's exit code is its verdict, read or not.
    assert piped(project, "lint --no-database", "true").returncode == 0
    project.add(
        "20261103_0900_i", "CREATE INDEX i ON u (id);\n", "DROP INDEX IF EXISTS i;\n"
    )
    assert piped(project, "lint --no-database", "head -1").returncode == 1
    assert piped(project, "lint --no-database --json", "true").returncode == 1
    # An error's own exit code survives too (a usage error: 2).
    assert piped(project, "up --to nope", "true").returncode == 2
