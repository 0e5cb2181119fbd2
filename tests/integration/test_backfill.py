"""Backfills against real servers (PG 15 and PG 18): key types, sparse keys, empty matches,
concurrent writers, rows inserted meanwhile, refusals, resume, retries, and the plans."""

import itertools
import json
import threading
import time

import psycopg
import pytest

from atomig import api
from atomig.batched.checkpoint import BackfillChanged
from atomig.batched.discovery import build_queries
from atomig.batched.job import BackfillFailed
from atomig.db.catalog import REPLICATION_LAG, resolve_table, table_key
from atomig.errors import SourceError
from atomig.events import EventLog
from atomig.sql import QualifiedName, parse_script
from atomig.sql.backfill import backfill_statement

FIXED = {"batch_size": 100, "min_batch_size": 100, "max_batch_size": 100}

KEY_TYPES = {
    "integer": (
        "CREATE TABLE t (id integer PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);"
        "INSERT INTO t (id) SELECT g FROM generate_series(1, 1000) g"
    ),
    "bigint": (
        "CREATE TABLE t (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);"
        "INSERT INTO t (id) SELECT g * 4000000000 FROM generate_series(-500, 499) g"
    ),
    "uuid": (
        "CREATE TABLE t (id uuid PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);"
        "INSERT INTO t (id) SELECT md5(g::text)::uuid FROM generate_series(1, 1000) g"
    ),
    "text": (
        'CREATE TABLE t (id text COLLATE "C" PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);'
        "INSERT INTO t (id) SELECT 'k' || g || ' ''q''' FROM generate_series(1, 1000) g"
    ),
    "composite": (
        "CREATE TABLE t (tenant text, seq int, n int NOT NULL DEFAULT 0, pad text,"
        " PRIMARY KEY (tenant, seq));"
        "INSERT INTO t (tenant, seq) SELECT 'tenant ' || (g % 7), g FROM generate_series(1, 1000) g"
    ),
    "sparse": (
        "CREATE TABLE t (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);"
        "INSERT INTO t (id) SELECT (g * g * 37) - 5000000 FROM generate_series(1, 1000) g"
    ),
    "unique-not-null": (
        "CREATE TABLE t (code text NOT NULL, n int NOT NULL DEFAULT 0, pad text);"
        "CREATE UNIQUE INDEX t_code ON t (code);"
        "INSERT INTO t (code) SELECT 'c' || g FROM generate_series(1, 1000) g"
    ),
}


def setup(database, ddl: str) -> None:
    with database.connect() as conn:
        for statement in ddl.split(";"):
            conn.execute(statement)


def settings_for(project, **session):
    settings = project.settings()
    if session:
        settings = settings.with_overrides(
            session=type(settings.session)(**{**_session(settings), **session})
        )
    return settings


def _session(settings):
    s = settings.session
    return {
        "lock_timeout_ms": s.lock_timeout_ms,
        "statement_timeout_ms": s.statement_timeout_ms,
        "idle_in_transaction_session_timeout_ms": s.idle_in_transaction_session_timeout_ms,
        "concurrent_statement_timeout_ms": s.concurrent_statement_timeout_ms,
    }


def counters(database):
    return database.execute("SELECT n, count(*) FROM t GROUP BY n ORDER BY n")


@pytest.mark.parametrize("kind", sorted(KEY_TYPES))
def test_every_key_type_is_walked_exactly_once(project, kind):
    setup(project.database, KEY_TYPES[kind])
    log = EventLog()
    result = api.backfill(
        project.settings(),
        "UPDATE t SET n = n + 1",
        name="bump",
        options=FIXED,
        report=log,
    )
    assert counters(project.database) == [(1, 1000)]
    assert (result.status, result.rows_affected, result.rows_scanned) == (
        "completed",
        1000,
        1000,
    )
    assert result.batches == 10
    batches = [e.data for e in log.events if e.kind == "backfill.batch"]
    assert [b["keys"] for b in batches] == [100] * 10
    # Windows are contiguous: each starts where the previous ended.
    assert batches[0]["lower"] is None
    for before, after in itertools.pairwise(batches):
        assert after["lower"] == before["upper"]
    assert result.analyzed


def test_a_where_matching_nothing_walks_the_table_and_changes_nothing(project):
    setup(project.database, KEY_TYPES["integer"])
    result = api.backfill(
        project.settings(),
        "UPDATE t SET n = 99 WHERE pad = 'none'",
        name="none",
        options=FIXED,
    )
    assert result.rows_affected == 0 and result.rows_scanned == 1000
    assert counters(project.database) == [(0, 1000)]


def test_an_empty_table_completes_with_no_batch(project):
    setup(project.database, "CREATE TABLE t (id int PRIMARY KEY, n int)")
    result = api.backfill(project.settings(), "DELETE FROM t", name="empty")
    assert (result.status, result.batches) == ("completed", 0)


def test_delete_in_batches_with_python_parameters(project):
    setup(project.database, KEY_TYPES["integer"])
    result = api.backfill(
        project.settings(),
        "DELETE FROM t WHERE id % $1 = $2 AND pad IS NOT DISTINCT FROM $3",
        name="thin",
        params=[3, 0, None],
        options=FIXED,
    )
    assert result.rows_affected == 333
    assert project.database.scalar("SELECT count(*) FROM t") == 667


def test_concurrent_writers_keep_their_changes_and_rows_change_once(project):
    setup(project.database, KEY_TYPES["integer"].replace("1000", "20000"))
    stop = threading.Event()
    writes = [0]

    def writer(seed):
        with project.database.connect() as conn:
            i = seed
            while not stop.is_set():
                i = (i * 7919 + 13) % 20000 + 1
                conn.execute(
                    "UPDATE t SET pad = coalesce(pad, '') || 'w' WHERE id = %s", (i,)
                )
                writes[0] += 1

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 2)]
    for thread in threads:
        thread.start()
    try:
        result = api.backfill(
            project.settings(),
            "UPDATE t SET n = n + 1",
            name="busy",
            options={"batch_size": 500, "min_batch_size": 100, "max_batch_size": 500},
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert writes[0] > 0
    assert counters(project.database) == [(1, 20000)]
    assert result.rows_affected == 20000
    # The writers' updates were not lost to the backfill's (row locks, READ COMMITTED).
    written = project.database.scalar(
        "SELECT sum(length(pad)) FROM t WHERE pad IS NOT NULL"
    )
    assert written == writes[0]


def test_rows_inserted_during_the_backfill_are_covered_ahead_of_it_only(project):
    """Documented behaviour: a window is a key range found when it runs, and the walk goes on
    until no key is left after the last window. A row inserted with a key beyond the current
    window is updated; one inserted behind it (a smaller key) is not."""
    setup(project.database, KEY_TYPES["integer"])
    inserted = []

    def report(event):
        if event.kind == "backfill.batch" and event.data["batch"] == 3:
            project.database.execute("INSERT INTO t (id) VALUES (5000), (-1)")
            inserted.append(event.data["upper"])

    api.backfill(
        project.settings(),
        "UPDATE t SET n = n + 1",
        name="grow",
        options=FIXED,
        report=report,
    )
    assert inserted == [["300"]]
    n = dict(
        project.database.execute("SELECT id, n FROM t WHERE id IN (5000, -1, 151)")
    )
    assert n[5000] == 1  # ahead of the walk: covered
    assert n[-1] == 0  # behind it: not covered (rerun, or handle new rows in the app)
    assert n[151] == 1


def test_a_backfill_ends_while_the_application_keeps_inserting(project):
    """Rows keep arriving at the end of the key while a paced backfill runs: the walk ends
    at the first window that found fewer keys than its size, instead of chasing them."""
    setup(project.database, KEY_TYPES["integer"])
    stop = threading.Event()
    inserted = [0]

    give_up = time.monotonic() + 30  # so that a walk that chases them fails, not hangs

    def insert_forever():
        with project.database.connect() as conn:
            key = 10_000
            while not stop.is_set() and time.monotonic() < give_up:
                conn.execute("INSERT INTO t (id) VALUES (%s)", (key,))
                key += 1
                inserted[0] += 1
                time.sleep(0.001)

    writer = threading.Thread(target=insert_forever)
    writer.start()
    try:
        result = api.backfill(
            project.settings(),
            "UPDATE t SET n = n + 1",
            name="tail",
            options={**FIXED, "sleep": "20ms"},
        )
        still_inserting = writer.is_alive()
    finally:
        stop.set()
        writer.join()
    assert still_inserting
    assert result.status == "completed"
    assert inserted[0] > 0
    assert (
        project.database.scalar("SELECT count(*) FROM t WHERE id <= 1000 AND n = 1")
        == 1000
    )


def _busy_sessions(
    database, count: int, stop: threading.Event
) -> list[threading.Thread]:
    """``count`` sessions that keep running a query (pg_sleep) until ``stop``."""

    def busy():
        with database.connect() as conn:
            while not stop.is_set():
                conn.execute("SELECT pg_sleep(0.05)")

    threads = [threading.Thread(target=busy) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize(
    ("options", "yields", "busy"),
    [
        ({"busy_sessions": 2, "nice_ratio": 1}, True, True),
        # Busy, but no yield: only the batches aim shorter (busy_target_duration).
        ({"busy_sessions": 2, "nice_ratio": 0}, False, True),
        ({"busy_sessions": 5, "nice_ratio": 1}, False, False),
        # Nothing changes under load: the load is not even read.
        (
            {"busy_sessions": 2, "nice_ratio": 0, "busy_target_duration": "200ms"},
            False,
            False,
        ),
    ],
)
def test_a_backfill_yields_to_a_busy_server(project, options, yields, busy):
    """Three other sessions keep running queries: the backfill counts them at each batch's
    end and, when they reach busy_sessions, sleeps nice_ratio x each batch's time and
    steers its batches toward busy_target_duration."""
    setup(project.database, KEY_TYPES["integer"])
    stop = threading.Event()
    threads = _busy_sessions(project.database, 3, stop)
    try:
        # Wait until the three are seen running (their connections take a moment).
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and project.database.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"
                " AND state = 'active'"
            )
            < 3
        ):
            time.sleep(0.01)
        log = EventLog()
        result = api.backfill(
            project.settings(),
            "UPDATE t SET n = n + 1",
            name="busy",
            options={**FIXED, **options},
            report=log,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    loads = [e for e in log.events if e.kind == "backfill.load"]
    batches = [e for e in log.events if e.kind == "backfill.batch"]
    assert result.rows_affected == 1000
    if yields:
        assert result.yielded_ms > 0
        assert result.to_dict()["this_run"]["yielded_ms"] == result.yielded_ms
    else:
        assert result.yielded_ms == 0
    if busy:
        assert loads and loads[0].data["busy"] is True
        assert loads[0].data["sessions"] >= 2
        assert loads[0].data["target_duration_ms"] == 50
        assert "batches of ~50 ms" in loads[0].message
        assert ("yielding" in loads[0].message) is yields
        assert batches[-1].data["busy"] is True
    else:
        assert not loads
        assert not any(e.data["busy"] for e in batches)


def test_resume_after_an_interruption_continues_after_the_last_committed_batch(project):
    setup(project.database, KEY_TYPES["composite"])

    def stop_at_four(event):
        if event.kind == "backfill.batch" and event.data["batch"] == 4:
            raise KeyboardInterrupt

    log = EventLog()
    with pytest.raises(KeyboardInterrupt):
        api.backfill(
            project.settings(),
            "UPDATE t SET n = n + 1",
            name="k",
            options=FIXED,
            report=lambda e: (log(e), stop_at_four(e)),
        )
    assert "backfill.interrupted" in log.kinds()
    assert counters(project.database) == [(0, 600), (1, 400)]
    result = api.backfill(
        project.settings(), "UPDATE t SET n = n + 1", name="k", options=FIXED
    )
    assert result.resumed and result.runs == 2
    assert (result.rows_affected, result.run_rows_affected, result.batches) == (
        1000,
        600,
        10,
    )
    assert counters(project.database) == [(1, 1000)]
    again = api.backfill(project.settings(), "UPDATE t SET n = n + 1", name="k")
    assert again.status == "already_completed"
    assert counters(project.database) == [(1, 1000)]


def test_a_changed_statement_under_the_same_name_is_refused_until_restart(project):
    setup(project.database, KEY_TYPES["integer"])

    def stop(event):
        if event.kind == "backfill.batch":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.backfill(
            project.settings(),
            "UPDATE t SET n = 1",
            name="x",
            options=FIXED,
            report=stop,
        )
    with pytest.raises(BackfillChanged, match="another statement"):
        api.backfill(project.settings(), "UPDATE t SET n = 2", name="x", options=FIXED)
    result = api.backfill(
        project.settings(), "UPDATE t SET n = 2", name="x", options=FIXED, restart=True
    )
    assert result.rows_affected == 1000 and result.runs == 1
    assert counters(project.database) == [(2, 1000)]


def test_a_completed_backfill_refuses_another_statement_under_its_name(project):
    # "already completed: nothing to do" would report a change that never ran as done.
    setup(project.database, KEY_TYPES["integer"])
    api.backfill(project.settings(), "UPDATE t SET n = 1", name="y", options=FIXED)
    result = project.cli("backfill", "--sql", "UPDATE t SET n = 2", "--name", "y")
    assert result.exit_code == 2
    assert "already completed another statement" in result.stderr
    assert "--restart" in result.stderr
    assert counters(project.database) == [(1, 1000)]
    again = api.backfill(
        project.settings(), "UPDATE t SET n = 2", name="y", options=FIXED, restart=True
    )
    assert again.rows_affected == 1000
    assert counters(project.database) == [(2, 1000)]


def test_refusals_are_clear(project):
    setup(
        project.database,
        "CREATE TABLE nokey (a int, n int); CREATE VIEW v AS SELECT 1 AS a",
    )
    with pytest.raises(
        SourceError, match="no primary key and no unique index on NOT NULL"
    ):
        api.backfill(project.settings(), "UPDATE nokey SET n = 1", name="a")
    with pytest.raises(SourceError, match="does not exist"):
        api.backfill(project.settings(), "UPDATE missing SET n = 1", name="b")
    with pytest.raises(SourceError, match="not a table"):
        api.backfill(project.settings(), "UPDATE v SET a = 1", name="c")
    for sql in ("INSERT INTO nokey VALUES (1)", "SELECT 1", "TRUNCATE nokey"):
        result = project.cli("backfill", "--sql", sql, "--name", "d")
        assert result.exit_code == 2
        assert "a backfill must be an UPDATE or DELETE" in result.stderr
    result = project.cli("backfill", "--sql", "UPDATE nokey SET n = 1")
    assert result.exit_code == 2 and "--name is required with --sql" in result.stderr
    result = project.cli(
        "backfill", "--sql", "UPDATE nokey SET n = 1; DELETE FROM nokey", "--name", "e"
    )
    assert result.exit_code == 2 and "exactly one UPDATE or DELETE" in result.stderr


def test_a_lost_lock_race_is_retried_with_backoff_then_succeeds(project):
    setup(project.database, KEY_TYPES["integer"])
    holder = project.database.connect()
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM t WHERE id = 250 FOR UPDATE")
    release = threading.Timer(1.0, lambda: holder.execute("ROLLBACK"))
    release.start()
    log = EventLog()
    started = time.monotonic()
    result = api.backfill(
        settings_for(project, lock_timeout_ms=100),
        "UPDATE t SET n = n + 1",
        name="race",
        options=FIXED | {"min_batch_size": 10},
        report=log,
    )
    release.join()
    holder.close()
    retries = [e.data for e in log.events if e.kind == "backfill.retry"]
    assert retries and all(r["sqlstate"] == "55P03" for r in retries)
    assert result.retries == len(retries)
    assert time.monotonic() - started >= 0.9
    assert counters(project.database) == [(1, 1000)]
    # A retried window shrinks, bounded by min_batch_size.
    assert retries[0]["size"] == 50


def test_a_failing_batch_stops_the_backfill_resumably(project):
    setup(
        project.database,
        KEY_TYPES["integer"] + "; ALTER TABLE t ADD CHECK (n < 1 OR id < 420)",
    )
    with pytest.raises(BackfillFailed, match="violates check constraint") as info:
        api.backfill(
            project.settings(), "UPDATE t SET n = n + 1", name="f", options=FIXED
        )
    assert info.value.details["last_key"] == ["400"]
    assert "resumes with that window" in info.value.hint
    row = project.database.execute(
        "SELECT status, batches, rows_affected, error FROM atomig.backfills WHERE id = 'f'"
    )[0]
    assert row[:3] == ("failed", 4, 400) and "check constraint" in row[3]
    journal = project.database.execute(
        "SELECT outcome, sqlstate FROM atomig.journal WHERE version = 'backfill:f'"
    )
    assert journal == [("failed", "23514")]


def test_sessions_waiting_on_a_batch_shrink_the_next_one(project):
    # Row 450's update sleeps, so its batch holds the lock on row 449 for half a second while
    # a writer waits on it: the batch sees the waiter before committing.
    setup(project.database, KEY_TYPES["integer"])
    started = threading.Event()

    def writer():
        with project.database.connect() as conn:
            started.wait()
            time.sleep(0.15)
            conn.execute("UPDATE t SET pad = 'w' WHERE id = 449")

    thread = threading.Thread(target=writer)
    thread.start()
    log = EventLog()

    def report(event):
        log(event)
        if event.kind == "backfill.batch" and event.data["batch"] == 4:
            started.set()

    api.backfill(
        project.settings(),
        "UPDATE t SET n = n + 1 + CASE WHEN id = 450 THEN length(pg_sleep(0.6)::text) ELSE 0 END",
        name="w",
        options={"batch_size": 100, "min_batch_size": 25, "max_batch_size": 100},
        report=report,
    )
    thread.join()
    batch = next(
        e.data
        for e in log.events
        if e.kind == "backfill.batch" and e.data["batch"] == 5
    )
    assert batch["waiters"] >= 1
    assert batch["next_size"] == 50
    assert counters(project.database) == [(1, 1000)]


def test_cli_json_prints_one_line_per_batch_and_the_result(project):
    setup(project.database, KEY_TYPES["integer"])
    (project.dir / "fix.sql").write_text(
        "-- atomig: backfill batch_size=250 min_batch_size=250 max_batch_size=250\n"
        "UPDATE t SET n = n + 1 WHERE id > 0;\n"
    )
    result = project.cli(
        "backfill", str(project.dir / "fix.sql"), "--json", "--sleep", "1ms"
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    batches = [line for line in lines if line["event"] == "backfill.batch"]
    assert len(batches) == 4
    for line in batches:
        assert {
            "lower",
            "upper",
            "rows",
            "duration_ms",
            "retries",
            "keys",
        } <= line.keys()
    assert lines[-1]["event"] == "result"
    assert lines[-1]["name"] == "fix" and lines[-1]["totals"]["rows_affected"] == 1000
    listed = project.cli("backfills", "--json")
    assert json.loads(listed.stdout)["backfills"][0]["status"] == "completed"
    text = project.cli("backfill", str(project.dir / "fix.sql"))
    assert text.exit_code == 0 and "already completed" in text.stdout


def test_every_batch_is_an_index_range_scan(project):
    """EXPLAIN the windowed statement and the window discovery on a 100k-row table: both are
    range scans of the key's index, never a sequential scan (the trap of "select the next N
    keys" queries), for a single and a composite key."""
    setup(
        project.database,
        "CREATE TABLE t (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0);"
        "INSERT INTO t (id) SELECT g FROM generate_series(1, 100000) g;"
        "CREATE TABLE c (tenant text, seq int, n int NOT NULL DEFAULT 0, PRIMARY KEY (tenant, seq));"
        "INSERT INTO c SELECT 'tenant ' || (g % 50), g FROM generate_series(1, 100000) g;"
        "ANALYZE t; ANALYZE c",
    )
    cases = [
        ("UPDATE t SET n = n + 1 WHERE n = 0", "t_pkey"),
        ("DELETE FROM c WHERE n > 5", "c_pkey"),
    ]
    with project.database.connect() as conn:
        for text, index in cases:
            target = backfill_statement(parse_script(text).statements[0], "f.sql")
            table = resolve_table(conn, target.relation)
            key = table_key(conn, table.oid)
            q = build_queries(target, table, key)
            # Windows of 5 000 keys as the walk finds them: the first, and one mid-table.
            first = list(conn.execute(q.first_nth, [4999]).fetchone())
            middle = list(conn.execute(q.first_nth, [50_000]).fetchone())
            upper = list(conn.execute(q.after_nth, [*middle, 4999]).fetchone())
            for query, params in (
                (q.windowed_first, first),
                (q.windowed_after, [*middle, *upper]),
            ):
                plan = explain(
                    conn, b"EXPLAIN (FORMAT JSON) " + query, params, raw=True
                )
                assert_index_range(plan, index)
            for query, params in (
                (q.after_nth, [*middle, 4999]),
                (q.first_nth, [4999]),
            ):
                plan = explain(
                    conn, b"EXPLAIN (FORMAT JSON) " + query.as_bytes(conn), params
                )
                assert_index_range(plan, index, discovery=True)


def explain(conn, query, params, raw=False):
    cursor = psycopg.RawCursor(conn) if raw else conn.cursor()
    cursor.execute(query, params)
    return cursor.fetchone()[0][0]["Plan"]


def nodes(plan):
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def assert_index_range(plan, index, discovery=False):
    types = [n["Node Type"] for n in nodes(plan)]
    assert "Seq Scan" not in types and "Sort" not in types, types
    scans = [n for n in nodes(plan) if n.get("Index Name") == index]
    assert scans, types
    kinds = (
        {"Index Only Scan", "Index Scan"}
        if discovery
        else {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
    )
    assert scans[0]["Node Type"] in kinds
    if not discovery or "Index Cond" in scans[0]:
        assert "Index Cond" in scans[0]


def test_replication_lag_probe_runs_without_standbys(database):
    with database.connect() as conn:
        assert conn.execute(REPLICATION_LAG).fetchone()[0] is None
        assert resolve_table(conn, QualifiedName(None, "nope")) is None


def test_readme_examples_python_values_and_cli_params(project):
    setup(
        project.database,
        "CREATE TABLE users (id bigint PRIMARY KEY, tier text);"
        "INSERT INTO users SELECT g, 'free' FROM generate_series(1, 500) g;"
        "CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz NOT NULL);"
        "INSERT INTO events SELECT g, timestamptz '2024-12-01' + g * interval '1 day'"
        " FROM generate_series(1, 100) g",
    )
    vip_ids = [17, 42, 99]
    result = api.backfill(
        project.settings(),
        "UPDATE users SET tier = $1 WHERE id = ANY ($2) AND tier IS DISTINCT FROM $1",
        name="vip-tier",
        params=["vip", vip_ids],
        options={"max_batch_size": 5000},
    )
    assert result.rows_affected == 3
    assert project.database.execute(
        "SELECT id FROM users WHERE tier = 'vip' ORDER BY id"
    ) == [(17,), (42,), (99,)]
    cli = project.cli(
        "backfill",
        "--sql",
        "DELETE FROM events WHERE at < $1",
        "--name",
        "purge",
        "-p",
        "2025-01-01",
    )
    assert cli.exit_code == 0, cli.stderr
    assert "30 rows changed" in cli.stdout
    assert project.database.scalar("SELECT count(*) FROM events") == 70
