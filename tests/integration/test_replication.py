"""Preflight against real replication: a streaming standby (pg_basebackup -R) of the test
cluster, its replay paused so that it falls behind (PG 15 and 18)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from atomig.db.cluster import LocalCluster
from tests.integration.helpers import applied_versions
from tests.integration.test_preflight import ADD, BASE, configure


@pytest.fixture
def standby(database):
    primary = database.cluster
    root = Path(tempfile.mkdtemp(prefix="atomig-standby-"))
    root.chmod(0o755)
    cluster = LocalCluster(
        bin_dir=primary.cluster.bin_dir,
        data_dir=root / "data",
        log_file=root / "log" / "postgres.log",
        socket_dir=root / "run",
    )
    for directory in (cluster.data_dir, cluster.log_file.parent, cluster.socket_dir):
        directory.mkdir(parents=True, mode=0o700)
    cluster._own(cluster.data_dir, cluster.log_file.parent, cluster.socket_dir)
    copied = cluster._run(
        [
            str(cluster.bin_dir / "pg_basebackup"),
            *("-h", primary.host, "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(cluster.data_dir), "-R", "-X", "stream", "-c", "fast"),
        ]
    )
    assert copied.returncode == 0, copied.stderr
    # Replies every second, so that the primary learns of replay progress promptly.
    server = cluster.start(
        {
            "cluster_name": "standby1",
            "wal_receiver_status_interval": "1s",
            "max_connections": "200",  # as on the primary: a standby may not have fewer
        }
    )
    with primary.connect() as conn:
        deadline = time.monotonic() + 30
        while not conn.execute(
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby never streamed"
            time.sleep(0.05)
    url = f"postgresql://postgres@{server.host}:{server.port}/{database.name}"
    try:
        yield url
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def bytes_behind(db):
    return db.scalar(
        "SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) FROM pg_stat_replication"
    )


def test_a_lagging_standby_stops_or_delays_the_run(project, standby):
    db = project.database
    project.add(*BASE)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert "1 standby(s) within the lag limits" in db.scalar(
        "SELECT message FROM atomig.checks WHERE name = 'replication' ORDER BY id DESC LIMIT 1"
    )
    # Pause replay on the standby, then write a few megabytes of WAL on the primary.
    with psycopg.connect(standby, autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        db.execute(
            "CREATE TABLE ballast AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g"
        )
        deadline = time.monotonic() + 30
        while (bytes_behind(db) or 0) < 2_000_000:
            assert time.monotonic() < deadline, "the standby never fell behind"
            time.sleep(0.05)
        project.add(*ADD)
        configure(
            project,
            '[preflight]\nreplication_lag = "abort"\nmax_replication_lag_bytes = 1000000\n',
        )
        result = project.cli("up")
        assert result.exit_code == 1
        assert "preflight failed, nothing was applied: replication" in result.stderr
        assert "standby1 (127.0.0.1, streaming)" in result.stderr
        assert "MB behind" in result.stderr
        assert applied_versions(db) == ["20260101_0900"]
        # Waiting: replay resumes after a second, the standby catches up, the run goes on.
        configure(
            project,
            '[preflight]\nreplication_lag = "wait"\nwait = "30s"\n'
            "max_replication_lag_bytes = 1000000\n",
        )
        timer = threading.Timer(
            1.0, lambda: replica.execute("SELECT pg_wal_replay_resume()")
        )
        started = time.monotonic()
        timer.start()
        result = project.cli("up")
        timer.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 1.0
    assert "waiting up to 30s" in result.stderr
    message = db.scalar(
        "SELECT message FROM atomig.checks WHERE name = 'replication' ORDER BY id DESC LIMIT 1"
    )
    assert "after waiting" in message
    assert applied_versions(db) == ["20260101_0900", "20260102_0900"]


def test_a_standby_target_is_refused(project, standby):
    project.add(*BASE)
    result = project.cli("--database-url", standby, "up")
    assert result.exit_code == 1
    assert "is a standby (in recovery): it accepts no writes" in result.stderr
    assert "point atomig at the primary" in result.stderr
    # Every command that writes starts the same way: down and recover are refused too.
    for command in (["down"], ["recover", "--rollback"]):
        result = project.cli("--database-url", standby, *command)
        assert result.exit_code == 1, (command, result.stderr)
        assert "is a standby (in recovery)" in result.stderr, command
