"""The step engine on real servers: mixed transaction and CONCURRENTLY steps, each in the
right mode, all or nothing (rollback with a verified fingerprint, or resume)."""

import contextlib
import json
import time

import psycopg

from atomig.verify.fingerprint import take_fingerprint
from tests.integration.helpers import log_statements, logged

BASE = (
    "20261101_0900_base",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"
    "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, note text);\n"
    "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 50) g;\n"
    "INSERT INTO orders SELECT g, g, NULL FROM generate_series(1, 500) g;\n",
    "DROP TABLE IF EXISTS orders;\nDROP TABLE IF EXISTS users;\n",
)

# The mission's style: session SETs on top, a BEGIN … COMMIT block, a VALIDATE, then
# CREATE INDEX CONCURRENTLY — twice, to show several concurrent statements in one file.
MISSION_UP = """\
SET lock_timeout = '3s';
SET statement_timeout = '20min';
BEGIN;
ALTER TABLE orders ADD COLUMN user_id bigint;
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_user_id ON orders (user_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_total ON orders (total);
"""
MISSION_DOWN = """\
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_total;
DROP INDEX CONCURRENTLY IF EXISTS idx_orders_user_id;
ALTER TABLE orders DROP CONSTRAINT IF EXISTS fk_orders_user;
ALTER TABLE orders DROP COLUMN IF EXISTS user_id;
"""
MISSION = ("20261102_0900_orders_user", MISSION_UP, MISSION_DOWN)


def fingerprint(db):
    with db.connect() as conn:
        return take_fingerprint(conn, "atomig")


def journal(db, version=None):
    return db.execute(
        "SELECT direction, step_index, step_kind, outcome, attempt, backend_pid"
        " FROM atomig.journal WHERE %s::text IS NULL OR version = %s ORDER BY id",
        (version, version),
    )


def invalid_indexes(db):
    return db.execute(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid"
    )


def test_mission_style_file_runs_each_step_in_its_mode(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    log_statements(db)
    project.add(*MISSION)
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    rows = journal(db, "20261102_0900")
    assert [r[1:5] for r in rows] == [
        (0, "transaction", "committed", 1),
        (1, "transaction", "committed", 1),
        (2, "autocommit", "done", 1),
        (3, "autocommit", "done", 1),
    ]
    assert db.execute(
        "SELECT status, step_count, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    ) == [("applied", 4, 4)]
    assert db.scalar(
        "SELECT convalidated FROM pg_constraint WHERE conname = 'fk_orders_user'"
    )
    assert invalid_indexes(db) == []
    # What the server received from the migration's session, in order: each transaction
    # step is BEGIN … COMMIT (pipelined, extended protocol); each CREATE INDEX CONCURRENTLY
    # arrives alone as a simple query, outside any transaction block.
    received = logged(db, {r[5] for r in rows})
    begins = [i for i, e in enumerate(received) if e.endswith(": BEGIN")]
    commits = [i for i, e in enumerate(received) if e.endswith(": COMMIT")]
    cic = [i for i, e in enumerate(received) if "CREATE INDEX CONCURRENTLY" in e]
    assert len(cic) == 2
    for i in cic:
        assert received[i].startswith("statement: CREATE INDEX CONCURRENTLY")
        assert received[i].count(";") == 0  # one statement in the message
        inside = [b for b in begins if b < i and not any(b < c < i for c in commits)]
        assert inside == [], f"{received[i]!r} was sent inside a transaction block"
    validate = next(i for i, e in enumerate(received) if "VALIDATE CONSTRAINT" in e)
    add_column = next(i for i, e in enumerate(received) if "ADD COLUMN user_id" in e)
    # The two transaction steps are separate transactions, in file order.
    assert any(add_column < c < validate for c in commits)
    assert add_column < validate < cic[0] < cic[1]
    # The leading SETs became the envelope of every step (not statements that do nothing).
    assert not any(e.endswith("SET lock_timeout = '3s'") for e in received)


def test_later_step_fails_and_the_migration_is_rolled_back_exactly(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    # Step 3 builds a UNIQUE index on duplicate values: it fails after steps 1-2 committed,
    # leaving an INVALID index behind, which must not survive.
    up = MISSION_UP.replace(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_user_id ON orders (user_id);",
        "UPDATE orders SET note = 'x';\n"
        "CREATE UNIQUE INDEX CONCURRENTLY idx_orders_note ON orders (note);",
    )
    down = "DROP INDEX CONCURRENTLY IF EXISTS idx_orders_note;\n" + MISSION_DOWN
    project.add("20261102_0900_orders_user", up, down)
    result = project.cli("up")
    assert result.exit_code == 1, result.stderr
    assert "rolled back" in result.stderr
    assert "20261102_0900_orders_user.up.sql:9:1" in result.stderr
    after = fingerprint(db)
    assert after.diff(before) == []
    assert after.digest == before.digest
    assert invalid_indexes(db) == []
    assert (
        db.scalar(
            "SELECT count(*) FROM atomig.migrations WHERE version = '20261102_0900'"
        )
        == 0
    )
    event, details = db.execute(
        "SELECT event, details FROM atomig.history WHERE version = '20261102_0900' ORDER BY id DESC LIMIT 1"
    )[0]
    assert event == "rolled_back"
    assert details["cause"]["sqlstate"] == "23505" and details["cause"]["step"] == 3
    kinds = [(r[0], r[2], r[3]) for r in journal(db, "20261102_0900")]
    assert kinds[:3] == [
        ("up", "transaction", "committed"),
        ("up", "transaction", "committed"),
        ("up", "autocommit", "failed"),
    ]
    assert all(k[0] == "rollback" and k[2] in ("done", "committed") for k in kinds[3:])
    status = json.loads(project.cli("status", "--json").stdout)
    assert status["migrations"][1]["state"] == "pending"
    assert status["migrations"][1]["last_failure"]["event"] == "rolled_back"
    # The text status names the cause of the rollback, not an empty note.
    text = project.cli("status").stdout
    assert "last attempt rolled_back: " in text
    assert "could not create unique index" in text
    # Fixing the file and re-running converges.
    project.add("20261102_0900_orders_user", MISSION_UP, MISSION_DOWN)
    assert project.cli("up").exit_code == 0
    assert invalid_indexes(db) == []


def test_resume_policy_stops_partial_and_up_resumes_at_the_failed_step(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    broken = MISSION_UP.replace("ON orders (total)", "ON orders (no_such_column)")
    project.add(
        "20261102_0900_orders_user",
        "-- atomig: on_failure=resume\n" + broken,
        MISSION_DOWN,
    )
    result = project.cli("up")
    assert result.exit_code == 4, result.stderr
    assert (
        "stopped at step 4/4" in result.stderr and "resume at step 4" in result.stderr
    )
    document = json.loads(project.cli("status", "--json").stdout)
    second = document["migrations"][1]
    assert (second["state"], second["steps_done"], second["reason"]) == (
        "partial",
        3,
        "failed",
    )
    # Not applied: no "applied at"; when the run started instead.
    started = db.scalar(
        "SELECT applied_at FROM atomig.migrations WHERE version = '20261102_0900'"
    )
    assert second["applied_at"] is None
    assert second["started_at"] == started.isoformat()
    assert document["migrations"][0]["started_at"] is None
    assert document["migrations"][0]["applied_at"] is not None
    text = project.cli("status")
    assert text.exit_code == 0
    [line] = [x for x in text.stdout.splitlines() if "orders_user" in x]
    when = started.strftime("%Y-%m-%d %H:%M:%S")
    assert line.count(when) == 1 and f"started {when}, steps 3/4" in line
    assert project.cli("status", "--check").exit_code == 4
    # Steps 1-3 stay done; a later `up` after the fix runs only step 4.
    project.add(
        "20261102_0900_orders_user",
        "-- atomig: on_failure=resume\n" + MISSION_UP,
        MISSION_DOWN,
    )
    before = len(journal(db, "20261102_0900"))
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    ran = journal(db, "20261102_0900")[before:]
    assert [(r[1], r[3]) for r in ran] == [(3, "done")]
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    ) == [("applied", 4)]
    events = [r[0] for r in db.execute("SELECT event FROM atomig.history ORDER BY id")]
    assert events[-4:] == ["started", "partial", "resumed", "applied"]


def test_resume_refuses_when_a_done_step_changed(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    broken = MISSION_UP.replace("ON orders (total)", "ON orders (no_such_column)")
    project.add("20261102_0900_orders_user", broken, MISSION_DOWN)
    assert project.cli("up", "--on-failure", "resume").exit_code == 4
    edited = MISSION_UP.replace(
        "ADD COLUMN user_id bigint", "ADD COLUMN user_id integer"
    )
    project.add("20261102_0900_orders_user", edited, MISSION_DOWN)
    result = project.cli("up")
    assert result.exit_code == 4
    assert (
        "step 1 (line 4)" in result.stderr and "changed since it ran" in result.stderr
    )
    # The explicit way out: roll back (the down file is guarded), then apply the new text.
    result = project.cli("recover", "--rollback")
    assert result.exit_code == 0, result.stderr
    assert (
        db.scalar(
            "SELECT count(*) FROM atomig.migrations WHERE version = '20261102_0900'"
        )
        == 0
    )
    assert project.cli("up").exit_code == 0
    assert (
        db.scalar(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'user_id'"
        )
        == "integer"
    )


def test_down_file_unsafe_on_a_partial_state_is_refused_before_anything_runs(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    unsafe = MISSION_DOWN.replace(
        "DROP COLUMN IF EXISTS user_id", "DROP COLUMN user_id"
    )
    project.add("20261102_0900_orders_user", MISSION_UP, unsafe)
    result = project.cli("up")
    assert result.exit_code == 2
    assert "20261102_0900_orders_user.down.sql:4:1" in result.stderr
    assert "DROP COLUMN … needs IF EXISTS" in result.stderr
    assert "on_failure=resume" in result.stderr
    assert db.scalar("SELECT count(*) FROM pg_attribute WHERE attname = 'user_id'") == 0
    # With the resume policy the down file is never run on a partial state: accepted.
    assert project.cli("up", "--on-failure", "resume").exit_code == 0


def test_multi_step_down_and_status_fingerprint(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = json.loads(project.cli("status", "--json", "--fingerprint").stdout)
    project.add(*MISSION)
    assert project.cli("up").exit_code == 0
    post = json.loads(project.cli("status", "--json", "--fingerprint").stdout)
    assert pre["fingerprint"] != post["fingerprint"]
    added = set(post["fingerprint_objects"]) - set(pre["fingerprint_objects"])
    assert added == {
        "column public.orders.user_id",
        "constraint public.orders.fk_orders_user",
        "index public.idx_orders_user_id",
        "index public.idx_orders_total",
    }
    text = project.cli("status", "--fingerprint").stdout
    assert f"fingerprint: {post['fingerprint']}" in text
    result = project.cli("down")
    assert result.exit_code == 0, result.stderr
    assert (
        json.loads(project.cli("status", "--json", "--fingerprint").stdout)[
            "fingerprint"
        ]
        == pre["fingerprint"]
    )
    down_rows = [r for r in journal(db, "20261102_0900") if r[0] == "down"]
    assert [(r[1], r[2], r[3]) for r in down_rows] == [
        (0, "autocommit", "done"),
        (1, "autocommit", "done"),
        (2, "transaction", "committed"),
    ]


def test_concurrent_index_self_heals_an_invalid_leftover(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    # An earlier, failed build left an INVALID index of the same name.
    with db.connect() as conn:
        conn.execute("UPDATE orders SET note = 'dup'")
        with contextlib.suppress(psycopg.errors.UniqueViolation):
            conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY idx_orders_total ON orders (note)"
            )
    assert invalid_indexes(db) == [("idx_orders_total",)]
    project.add(
        "20261102_0900_idx",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_total ON orders (total);",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_orders_total;",
    )
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    assert "dropping INVALID index public.idx_orders_total" in result.stderr
    assert invalid_indexes(db) == []
    assert "(total)" in db.scalar(
        "SELECT pg_get_indexdef('idx_orders_total'::regclass)"
    )


def test_plan_shows_kinds_envelopes_retries_and_failure_policy(project):
    project.add(*BASE)
    project.add(*MISSION)
    result = project.cli("plan", "20261102_0900")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "step 1: transaction  lock_timeout 50ms first, doubling to 3s" in out
    assert (
        "step 3: autocommit (CONCURRENTLY)  lock_timeout 3s, statement_timeout none"
        in out
    )
    assert "takes ACCESS EXCLUSIVE on orders" in out
    assert (
        "retries: lock timeouts, deadlocks and serialization failures, up to 60" in out
    )
    assert "on failure: rollback (runs the down file — safe on a partial state" in out
    document = json.loads(project.cli("plan", "20261102_0900", "--json").stdout)
    steps = document["plans"][0]["steps"]
    assert [s["kind"] for s in steps] == [
        "transaction",
        "transaction",
        "autocommit",
        "autocommit",
    ]
    assert steps[2]["envelope"]["statement_timeout"] == "0"
    assert steps[2]["retry"]["first_attempt_lock_timeout_ms"] == 3000
    assert steps[0]["retry"]["first_attempt_lock_timeout_ms"] == 50
    assert document["plans"][0]["failure"]["down_safe"] is True


def test_a_revert_that_stops_part_way_is_resumed_by_down(project):
    db = project.database
    project.add(*BASE)
    project.add(*MISSION)
    assert project.cli("up").exit_code == 0
    # Someone built a view on the new column: the down file's DROP COLUMN (step 3) fails
    # after the two index drops (steps 1-2) committed.
    db.execute("CREATE VIEW order_users AS SELECT id, user_id FROM orders")
    result = project.cli("down")
    assert result.exit_code == 4, result.stderr
    assert "stopped at down step 3/3" in result.stderr
    document = json.loads(project.cli("status", "--json").stdout)
    second = document["migrations"][1]
    assert (second["state"], second["reason"], second["steps_done"]) == (
        "partial",
        "reverting",
        2,
    )
    assert db.scalar("SELECT to_regclass('idx_orders_user_id')") is None
    assert (
        db.scalar(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'user_id'"
        )
        == 1
    )
    refused = project.cli("up")
    assert refused.exit_code == 4 and "partially reverted" in refused.stderr
    db.execute("DROP VIEW order_users")
    before = len(journal(db, "20261102_0900"))
    result = project.cli("down")
    assert result.exit_code == 0, result.stderr
    ran = journal(db, "20261102_0900")[before:]
    assert [(r[0], r[1], r[3]) for r in ran] == [("down", 2, "committed")]
    assert (
        db.scalar(
            "SELECT count(*) FROM atomig.migrations WHERE version = '20261102_0900'"
        )
        == 0
    )
    assert (
        db.scalar(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'user_id'"
        )
        == 0
    )


def test_failed_reindex_concurrently_leaves_no_ccnew_index(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("CREATE INDEX idx_orders_total ON orders (total)")
    # The runner must not wait for the old snapshot (blocker_age), and the rebuild's final
    # wait for it times out: each failed attempt leaves idx_orders_total_ccnew INVALID.
    (project.dir / "atomig.toml").write_text('[retry]\nblocker_age = "1h"\n')
    project.add(
        "20261102_0900_reindex",
        "-- atomig: lock_timeout=200ms retry_budget=1s\n"
        "REINDEX INDEX CONCURRENTLY idx_orders_total;",
        "SELECT 1;",
    )
    snapshot = db.connect(autocommit=False)
    snapshot.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    snapshot.execute("SELECT 1")
    try:
        result = project.cli("up")
    finally:
        snapshot.rollback()
        snapshot.close()
    assert result.exit_code == 1, result.stderr
    assert "dropping INVALID index public.idx_orders_total_ccnew" in result.stderr
    assert invalid_indexes(db) == []
    assert project.cli("up").exit_code == 0
    assert invalid_indexes(db) == []


# Each checked row costs 5 ms: validating 300 rows takes ~1.5 s.
SLOW_CHECK = (
    "20261103_0900_slow_check",
    "CREATE FUNCTION slow_positive(n numeric) RETURNS boolean LANGUAGE plpgsql "
    "IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.005); RETURN n > 0; END $$;\n"
    "CREATE TABLE ledger (id bigint PRIMARY KEY, amount numeric);\n"
    "INSERT INTO ledger SELECT g, g FROM generate_series(1, 300) g;\n",
    "DROP TABLE IF EXISTS ledger;\nDROP FUNCTION IF EXISTS slow_positive(numeric);\n",
)


def test_validate_written_after_not_valid_runs_without_the_add_lock(project):
    """No BEGIN/COMMIT in the file: the planner still commits the ADD … NOT VALID (ACCESS
    EXCLUSIVE for a CHECK) before the VALIDATE scans the table, so the application's writes
    keep flowing during the scan instead of queueing behind the ADD's lock."""
    db = project.database
    project.add(*SLOW_CHECK)
    assert project.cli("up").exit_code == 0
    project.add(
        "20261104_0900_ledger_positive",
        "ALTER TABLE ledger ADD CONSTRAINT ledger_positive "
        "CHECK (slow_positive(amount)) NOT VALID;\n"
        "ALTER TABLE ledger VALIDATE CONSTRAINT ledger_positive;\n",
        "ALTER TABLE ledger DROP CONSTRAINT IF EXISTS ledger_positive;\n",
    )
    runner = project.popen("up")
    try:
        # Wait for the scan, then write as the application would, with a short wait.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%VALIDATE CONSTRAINT%'"
            " AND state = 'active' AND pid <> pg_backend_pid()"
        ):
            time.sleep(0.01)
        with db.connect() as conn:
            conn.execute("SET lock_timeout = '300ms'")
            conn.execute("INSERT INTO ledger VALUES (1000, 5)")
            still_validating = db.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                "'%VALIDATE CONSTRAINT%' AND state = 'active' AND pid <> pg_backend_pid()"
            )
    finally:
        _, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, err
    assert still_validating == 1  # the insert went through during the scan
    rows = journal(db, "20261104_0900")
    assert [r[1:4] for r in rows] == [
        (0, "transaction", "committed"),
        (1, "transaction", "committed"),
    ]
    assert db.scalar(
        "SELECT convalidated FROM pg_constraint WHERE conname = 'ledger_positive'"
    )


def test_a_down_renaming_back_with_if_exists_rolls_back_a_partial_rename(project):
    """ALTER TABLE IF EXISTS … RENAME TO is skipped when the up never renamed (PG 15 and
    18): the runner accepts it in the down of a multi-step up and the rollback restores
    the name (it used to refuse the up as unguardable)."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    up = (
        "ALTER TABLE orders RENAME TO orders_v1;\n"
        "CREATE INDEX CONCURRENTLY orders_v1_note ON orders_v1 (note);\n"
        "UPDATE orders_v1 SET note = 'x';\n"
        "CREATE UNIQUE INDEX CONCURRENTLY orders_v1_note_key ON orders_v1 (note);"
    )
    down = (
        "DROP INDEX CONCURRENTLY IF EXISTS orders_v1_note_key;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS orders_v1_note;\n"
        "ALTER TABLE IF EXISTS orders_v1 RENAME TO orders;"
    )
    project.add("20261102_0900_rename", up, down)
    result = project.cli("up")
    assert result.exit_code == 1, result.stderr
    assert "rolled back" in result.stderr, result.stderr
    assert fingerprint(db).diff(before) == []
    assert db.scalar("SELECT to_regclass('orders') IS NOT NULL")


def test_a_down_recreating_a_view_it_dropped_if_exists_rolls_back_exactly(project):
    """The up adds a column to a view (CREATE OR REPLACE), then builds an index and fails;
    the down puts the old view back the only way PostgreSQL allows (CREATE OR REPLACE
    cannot drop a view column): DROP VIEW IF EXISTS, then a plain CREATE VIEW. atomig used
    to refuse the up ('CREATE … needs OR REPLACE'); the rollback restores the view."""
    db = project.database
    project.add(*BASE)
    project.add(
        "20261102_0800_view",
        "CREATE VIEW order_notes AS SELECT id, note FROM orders;",
        "DROP VIEW IF EXISTS order_notes;",
    )
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    up = (
        "CREATE OR REPLACE VIEW order_notes AS SELECT id, note, total FROM orders;\n"
        "CREATE INDEX CONCURRENTLY orders_total ON orders (total);\n"
        "SELECT 1 / 0;"
    )
    down = (
        "DROP INDEX CONCURRENTLY IF EXISTS orders_total;\n"
        "DROP VIEW IF EXISTS order_notes;\n"
        "CREATE VIEW order_notes AS SELECT id, note FROM orders;"
    )
    project.add("20261102_0900_view_total", up, down)
    result = project.cli("up")
    assert result.exit_code == 1, result.stderr
    assert "rolled back" in result.stderr, result.stderr
    assert fingerprint(db).diff(before) == []
    assert db.scalar("SELECT count(*) FROM order_notes") == 500


def test_a_guarded_down_drop_that_could_hit_the_original_table_is_refused(project):
    """An up that builds an index, then swaps in a new orders table, with the down
    'DROP TABLE IF EXISTS orders': if the swap step failed, the rollback dropped the
    original orders and its rows (seen on PG 18 before the refusal). atomig now refuses
    to start it, and nothing changes."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    up = (
        "CREATE INDEX CONCURRENTLY orders_note ON orders (note);\n"
        "ALTER TABLE orders RENAME TO orders_v1;\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, note text);\n"
        "SELECT 1 / 0;"
    )
    down = (
        "DROP TABLE IF EXISTS orders;\n"
        "ALTER TABLE IF EXISTS orders_v1 RENAME TO orders;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS orders_note;"
    )
    project.add("20261102_0900_swap", up, down)
    result = project.cli("up")
    assert result.exit_code == 2, result.stderr
    assert "removes the original orders and its rows" in result.stderr
    assert fingerprint(db).diff(before) == []
    assert db.scalar("SELECT count(*) FROM orders") == 500


def test_a_guarded_down_drop_of_a_column_that_could_hit_the_original_is_refused(
    project,
):
    """'Change a type by drop and re-add' after a first step: if the re-add step failed,
    the down's DROP COLUMN IF EXISTS dropped the original column's data and ADD COLUMN
    IF NOT EXISTS made the schema look restored. atomig now refuses to start it."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("UPDATE users SET email = 'kept'")
    up = (
        "CREATE INDEX CONCURRENTLY users_id_email ON users (id, email);\n"
        "ALTER TABLE users DROP COLUMN email;\n"
        "ALTER TABLE users ADD COLUMN email varchar(320);\n"
        "SELECT 1 / 0;"
    )
    down = (
        "ALTER TABLE users DROP COLUMN IF EXISTS email;\n"
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS email text;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS users_id_email;"
    )
    project.add("20261102_0900_retype", up, down)
    result = project.cli("up")
    assert result.exit_code == 2, result.stderr
    assert "removes the original users.email and its data" in result.stderr
    assert db.scalar("SELECT count(*) FROM users WHERE email = 'kept'") == 50


PARTITIONED = (
    "20261101_0900_events",
    "CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, PRIMARY KEY (id, at))"
    " PARTITION BY RANGE (at);\n"
    "CREATE TABLE events_2025 PARTITION OF events"
    " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
    "INSERT INTO events SELECT g, '2025-06-01' FROM generate_series(1, 100) g;\n",
    "DROP TABLE IF EXISTS events;\n",
)


def _reading(db, seconds):
    """A transaction holding a snapshot on events for ``seconds`` (in a thread); returns
    the thread, started once the snapshot is taken."""
    import threading

    reading = threading.Event()

    def reader():
        with db.connect() as conn, conn.transaction():
            conn.execute("SELECT count(*) FROM events")
            reading.set()
            time.sleep(seconds)

    thread = threading.Thread(target=reader)
    thread.start()
    reading.wait(10)
    return thread


DETACH_UP = (
    "-- atomig: lock_timeout=200ms\n-- atomig: on_failure=resume\n"
    "ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY;"
)
DETACH_DOWN = (
    "ALTER TABLE events ATTACH PARTITION events_2025"
    " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
)


def test_a_detach_cut_off_in_its_wait_is_finished_not_sent_again(project):
    """DETACH PARTITION … CONCURRENTLY commits 'pending detach', then waits for older
    snapshots; cut off there, every later run of it failed 'already pending detach' (the
    migration stopped for good). atomig now sends … FINALIZE instead."""
    db = project.database
    project.add(*PARTITIONED)
    assert project.cli("up").exit_code == 0
    reader = _reading(db, 1.0)
    with db.connect() as conn:  # cut off in its wait, as a lock_timeout does
        conn.execute("SET lock_timeout = '100ms'")
        with contextlib.suppress(psycopg.errors.LockNotAvailable):
            conn.execute("ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY")
    reader.join()
    pending = "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2025'::regclass"
    assert db.scalar(pending)
    project.add("20261102_0900_detach", DETACH_UP, DETACH_DOWN)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert "finishing it with DETACH PARTITION … FINALIZE" in result.output
    assert db.scalar(pending) is None  # detached: no longer in pg_inherits
    assert project.cli("down").exit_code == 0
    assert db.scalar("SELECT count(*) FROM events") == 100


def test_a_detach_waits_for_old_snapshots_before_it_runs(project):
    """Like a concurrent index build, the detach waits (not queued) for transactions
    holding an older snapshot, so it is not cut off in its own wait for them."""
    db = project.database
    project.add(*PARTITIONED)
    assert project.cli("up").exit_code == 0
    project.add("20261102_0900_detach", DETACH_UP, DETACH_DOWN)
    reader = _reading(db, 2.5)
    time.sleep(1.2)  # older than blocker_age (1s)
    result = project.cli("up")
    reader.join()
    assert result.exit_code == 0, result.output
    assert "waiting (not queued) for" in result.output
    assert "FINALIZE" not in result.output


def test_a_rollback_finishes_a_pending_detach_before_the_down_file(project):
    """A detach cut off for good (one attempt allowed) leaves the partition pending: still
    in pg_inherits, so the down's ATTACH would be skipped or fail. `recover --rollback`
    finishes the detach first, then the down attaches it again: exactly as before."""
    db = project.database
    project.add(*PARTITIONED)
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    # One attempt, no waiting for the reader first: the detach is cut off for good.
    (project.dir / "atomig.toml").write_text(
        '[retry]\nmax_attempts = 1\nblocker_wait = "1ms"\n'
    )
    up = (
        "-- atomig: lock_timeout=200ms\n-- atomig: on_failure=resume\n"
        "ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY;"
    )
    down = (
        "DO $$ BEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_inherits\n"
        "                 WHERE inhrelid = 'events_2025'::regclass) THEN\n"
        "    ALTER TABLE events ATTACH PARTITION events_2025\n"
        "      FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
        "  END IF;\n"
        "END $$;\n"
        # DETACH … CONCURRENTLY adds the partition constraint as a CHECK (PG 14+).
        "ALTER TABLE events_2025 DROP CONSTRAINT IF EXISTS events_2025_at_check;"
    )
    project.add("20261102_0900_detach", up, down)
    reader = _reading(db, 1.0)
    failed = project.cli("up")
    reader.join()
    assert failed.exit_code == 4, failed.output
    assert db.scalar(
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2025'::regclass"
    )
    recovered = project.cli("recover", "--rollback")
    assert recovered.exit_code == 0, recovered.output
    assert "finishing it with DETACH PARTITION … FINALIZE" in recovered.output
    assert fingerprint(db).diff(before) == []
    assert not db.scalar(
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'events_2025'::regclass"
    )
    assert db.scalar("SELECT count(*) FROM events") == 100


def test_a_rollback_finds_a_pending_detach_with_the_migrations_search_path(project):
    """The same, with the tables in a schema the migration reaches through its leading
    ``SET search_path``: the pending detach must be looked up with it, or the rollback
    misses it and the down file meets a partition still pending detach."""
    db = project.database
    project.add(
        PARTITIONED[0],
        "CREATE SCHEMA app;\nSET search_path = app;\n" + PARTITIONED[1],
        "DROP SCHEMA IF EXISTS app CASCADE;\n",
    )
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    (project.dir / "atomig.toml").write_text(
        '[retry]\nmax_attempts = 1\nblocker_wait = "1ms"\n'
    )
    up = (
        "-- atomig: lock_timeout=200ms\n-- atomig: on_failure=resume\n"
        "SET search_path = app;\n"
        "ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY;"
    )
    down = (
        "SET search_path = app;\n"
        "DO $$ BEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_inherits\n"
        "                 WHERE inhrelid = 'events_2025'::regclass) THEN\n"
        "    ALTER TABLE events ATTACH PARTITION events_2025\n"
        "      FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
        "  END IF;\n"
        "END $$;\n"
        "ALTER TABLE events_2025 DROP CONSTRAINT IF EXISTS events_2025_at_check;"
    )
    project.add("20261102_0900_detach", up, down)
    pending = (
        "SELECT inhdetachpending FROM pg_inherits "
        "WHERE inhrelid = 'app.events_2025'::regclass"
    )
    with db.connect() as conn, conn.transaction():
        conn.execute("SELECT count(*) FROM app.events")
        failed = project.cli("up")
    assert failed.exit_code == 4, failed.output
    assert db.scalar(pending)
    recovered = project.cli("recover", "--rollback")
    assert recovered.exit_code == 0, recovered.output
    assert "finishing it with DETACH PARTITION … FINALIZE" in recovered.output
    assert fingerprint(db).diff(before) == []
    assert not db.scalar(pending)
    assert db.scalar("SELECT count(*) FROM app.events") == 100


def test_a_down_naming_a_column_the_up_adds_late_is_refused(project):
    """The up adds users.nick in step 3 and its step 2 fails: the down's UPDATE … nick
    failed on that partial state (42703) and the rollback stopped part-way. atomig now
    refuses to start it (exit 2, nothing changes); the same down is accepted once the
    up adds the column in its first step, and then rolls back exactly."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("UPDATE users SET email = 'dup'")
    before = fingerprint(db)
    down = (
        "UPDATE users SET email = coalesce(nick, email);\n"
        "ALTER TABLE users DROP COLUMN IF EXISTS nick;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_key;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS users_id_email;"
    )
    late = (
        "CREATE INDEX CONCURRENTLY users_id_email ON users (id, email);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n"
        "ALTER TABLE users ADD COLUMN nick text;"
    )
    project.add("20261102_0900_nick", late, down)
    result = project.cli("up")
    assert result.exit_code == 2, result.stderr
    assert "users.nick, which the up adds in step 3" in result.stderr
    assert "first step" in result.stderr
    assert fingerprint(db).diff(before) == []
    first = (
        "ALTER TABLE users ADD COLUMN nick text;\n"
        "CREATE INDEX CONCURRENTLY users_id_email ON users (id, email);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);"
    )
    project.add("20261102_0900_nick", first, down)
    result = project.cli("up")
    assert result.exit_code == 1, result.stderr
    assert "rolled back" in result.stderr, result.stderr
    assert fingerprint(db).diff(before) == []
    assert invalid_indexes(db) == []


_EVENTS = (
    "CREATE TABLE events (id bigint, at date NOT NULL, kind text) PARTITION BY RANGE (at);\n"
    "CREATE TABLE events_a PARTITION OF events "
    "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
    "CREATE TABLE events_b PARTITION OF events "
    "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n"
    "INSERT INTO events VALUES (1, '2027-02-02', 'x'), (2, '2027-02-03', 'x');\n"
)
# Step 3 fails (duplicate kinds in events_b) after the first partition's index was built
# but before it was attached, so dropping the parent index does not take it along.
_KIND_UP = (
    "CREATE UNIQUE INDEX IF NOT EXISTS events_kind_idx ON ONLY events (kind, at);\n"
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS events_a_kind_idx "
    "ON events_a (kind, at);\n"
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS events_b_kind_idx ON events_b (kind);\n"
    "ALTER INDEX events_kind_idx ATTACH PARTITION events_a_kind_idx;\n"
    "ALTER INDEX events_kind_idx ATTACH PARTITION events_b_kind_idx;\n"
)


def test_a_down_that_leaves_part_of_a_partial_up_is_recorded_not_hidden(project):
    """A down file that runs cleanly but does not restore the schema: the migration stays
    recorded partial (never "rolled back", never gone from the ledger) with the objects
    that differ named; fixed, `recover --rollback` restores the exact schema."""
    db = project.database
    project.add("20261101_0900_events", _EVENTS, "DROP TABLE IF EXISTS events;\n")
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    project.add(
        "20261102_0900_kind", _KIND_UP, "DROP INDEX IF EXISTS events_kind_idx;\n"
    )
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert "the schema differs from before the migration" in result.stderr
    assert "index public.events_a_kind_idx" in result.stderr
    status, failure = db.execute(
        "SELECT status, failure FROM atomig.migrations WHERE version = '20261102_0900'"
    )[0]
    assert status == "partial"
    assert failure["attention"] == "rollback_mismatch"
    assert any("events_a_kind_idx" in change for change in failure["changes"])
    assert "rollback mismatch" in project.cli("status").stdout
    # The down file fixed (it drops the unattached index too), the rollback converges.
    project.add(
        "20261102_0900_kind",
        _KIND_UP,
        "DROP INDEX IF EXISTS events_kind_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS events_a_kind_idx;\n",
    )
    recovered = project.cli("recover", "--rollback")
    assert recovered.exit_code == 0, recovered.output
    assert fingerprint(db).diff(before) == []
    assert (
        db.scalar(
            "SELECT count(*) FROM atomig.migrations WHERE version = '20261102_0900'"
        )
        == 0
    )
