"""Lock retries on real servers: a blocker that goes away after a few seconds, readers that
keep reading meanwhile (never stuck behind the migration's lock request for longer than the
lock timeout), and each attempt journaled with what blocked it."""

import threading
import time

MIGRATION = (
    "20261102_0900_orders_note",
    "ALTER TABLE orders ADD COLUMN note text;",
    "ALTER TABLE orders DROP COLUMN IF EXISTS note;",
)


class Readers:
    """A reader querying the table in a loop, measuring each query's latency."""

    def __init__(self, db):
        self.db = db
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        with self.db.connect() as conn:
            while not self.stop.is_set():
                started = time.monotonic()
                conn.execute("SELECT count(*) FROM orders").fetchone()
                self.latencies.append(time.monotonic() - started)
                time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)


def test_blocker_releasing_after_seconds_readers_never_wait_long(project):
    db = project.database
    project.add(
        "20261101_0900_orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "INSERT INTO orders SELECT generate_series(1, 1000);",
        "DROP TABLE IF EXISTS orders;",
    )
    assert project.cli("up").exit_code == 0
    project.add(*MIGRATION)
    blocker = db.connect(autocommit=False, application_name="long report")
    blocker.execute("SELECT count(*) FROM orders")  # holds ACCESS SHARE until it ends
    blocker_pid = blocker.info.backend_pid
    release = threading.Timer(3.0, blocker.rollback)
    with Readers(db) as readers:
        time.sleep(0.3)
        started = time.monotonic()
        release.start()
        result = project.cli("up")
        elapsed = time.monotonic() - started
        time.sleep(0.2)
    release.join()
    blocker.close()
    assert result.exit_code == 0, result.stderr
    assert elapsed >= 2.5, "the migration cannot finish before the blocker ends"
    assert f"waiting (not queued) for pid {blocker_pid} (long report" in result.stderr
    worst = max(readers.latencies)
    print(f"worst reader latency {worst:.3f}s over {len(readers.latencies)} queries")
    # The readers' worst wait is bounded by one short attempt, far below lock_timeout (2s).
    assert len(readers.latencies) > 50
    assert worst < 2.0 + 0.5, f"a reader waited {worst:.3f}s"
    assert worst < 1.0, (
        f"a reader waited {worst:.3f}s (expected about one 50 ms attempt)"
    )
    attempts = db.execute(
        "SELECT attempt, outcome, sqlstate, details FROM atomig.journal"
        " WHERE version = '20261102_0900' ORDER BY id"
    )
    assert attempts[0][1:3] == ("retried", "55P03")
    assert attempts[0][3]["blocked_by"][0]["pid"] == blocker_pid
    assert attempts[-1][1] == "committed" and attempts[-1][0] == len(attempts)
    assert attempts[-1][3]["waited_ms"] >= 1000
    assert (
        db.scalar(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'note'"
        )
        == 1
    )


def test_short_lock_holders_are_outlasted_with_escalating_attempts(project):
    """Queries that each hold the lock a little longer than one short attempt (no old
    transaction to wait for): the attempt timeout doubles until it gets past them."""
    db = project.database
    project.add(
        "20261101_0900_orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY);",
        "DROP TABLE IF EXISTS orders;",
    )
    assert project.cli("up").exit_code == 0
    project.add(*MIGRATION)
    stop = threading.Event()

    def busy(offset):
        time.sleep(offset)
        with db.connect() as conn:
            while not stop.is_set():
                # Each query holds ACCESS SHARE for 150 ms; three of them overlap, so the
                # table is never free, yet no holder is a transaction worth waiting for.
                conn.execute("SELECT count(*), pg_sleep(0.15) FROM orders")

    workers = [
        threading.Thread(target=busy, args=(i * 0.05,), daemon=True) for i in range(3)
    ]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.2)
        result = project.cli("up")
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    timeouts = [
        row[0]["lock_timeout_ms"]
        for row in db.execute(
            "SELECT details FROM atomig.journal WHERE version = '20261102_0900' ORDER BY id"
        )
    ]
    print("attempt timeouts", timeouts)
    assert timeouts[0] == 50 and len(timeouts) >= 2
    assert timeouts == sorted(timeouts) and timeouts[-1] > 50 and max(timeouts) <= 2000
