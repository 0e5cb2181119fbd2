"""A long step's progress, reported while it runs (PG 15 and 18): the phase and share done
of an index build from pg_stat_progress_create_index, the time a statement without a
progress view has run."""

from __future__ import annotations

import threading
import time

from atomig.db.progress import BackendProgress, backend_progress


def test_a_long_statement_reports_how_long_it_has_run(project):
    (project.dir / "atomig.toml").write_text(
        '[watchdog]\npoll = "50ms"\nprogress_every = "300ms"\n'
    )
    project.add("20260101_0900_slow", "SELECT pg_sleep(1.2);", "SELECT 1;")
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "running for" in line]
    assert said, result.stderr
    assert said[0].startswith("step 1 (transaction) running for ")
    # (no progress view for it: what it waits on, here the sleep itself)
    assert said[0].endswith("running (waiting on Timeout: PgSleep)"), said[0]


def test_no_progress_is_reported_when_switched_off(project):
    (project.dir / "atomig.toml").write_text('[watchdog]\nprogress_every = "0s"\n')
    project.add("20260101_0900_slow", "SELECT pg_sleep(0.5);", "SELECT 1;")
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert "running for" not in result.stderr


def test_an_index_build_shows_its_phase_and_share_done(database):
    database.execute("CREATE TABLE big (id bigint, v text)")
    database.execute(
        "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 400000) g"
    )
    with database.connect() as builder, database.connect() as watcher:
        pid = builder.info.backend_pid
        build = threading.Thread(
            target=builder.execute, args=("CREATE INDEX big_v ON big (v)",)
        )
        seen: list[BackendProgress] = []
        build.start()
        while build.is_alive():
            found = backend_progress(watcher, pid)
            if found is not None and found.phase:
                seen.append(found)
            time.sleep(0.005)
        build.join()
    assert seen, "the build ended before any look"
    assert {p.command for p in seen} == {"CREATE INDEX"}
    described = [p.describe() for p in seen]
    assert all(d.startswith("create index: ") for d in described), described
    counted = [p for p in seen if p.percent is not None]
    assert counted and all(0 <= p.percent <= 100 for p in counted)
    with database.connect() as conn:
        assert backend_progress(conn, 2**31 - 1) is None  # no such backend


def test_a_lock_wait_names_the_holder():
    waiting = BackendProgress("active", "Lock", "relation", [4242])
    assert waiting.describe() == "waiting for a lock (relation) held by pid 4242"
    building = BackendProgress(
        "active",
        None,
        None,
        [],
        "CREATE INDEX CONCURRENTLY",
        "building index: scanning table",
        50,
        200,
    )
    assert building.describe() == (
        "create index concurrently: building index: scanning table, 25% (50 of 200 blocks)"
    )
    assert building.to_dict()["percent"] == 25.0
