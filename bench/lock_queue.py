"""Lock queue: what an ALTER waiting for a lock does to the readers of a busy table.

A long transaction holds ACCESS SHARE on a table (a report, an idle-in-transaction session)
while readers query it in a loop. An ALTER that needs ACCESS EXCLUSIVE is then applied:

* (a) with plain psql: the ALTER waits in the lock queue for as long as the blocker lives,
  and every reader queues behind it;
* (b) with a fixed 2 s lock_timeout, retried with backoff (the common practice:
  strong_migrations-style): each attempt stalls the readers for up to 2 s;
* (c) with atomig: short attempts, then waiting for the blocker *without* queueing.

We print the readers' worst and 99th-percentile latency in each case, when the migration
completed (relative to the blocker's end), and the ratios. Target for atomig: readers' worst
latency under 100 ms, and the migration completes once the blocker ends.

    .venv/bin/python bench/lock_queue.py [--pg 18] [--blocker 6] [--readers 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import BenchServer, bench_server

VENV_BIN = Path(sys.executable).parent
ALTER = "ALTER TABLE accounts ADD COLUMN note text"


@dataclass
class Outcome:
    worst_ms: float
    p99_ms: float
    queries: int
    done_after_blocker_s: float


def reader(url: str, stop: threading.Event, out: list[float]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            started = time.perf_counter()
            conn.execute("SELECT balance FROM accounts WHERE id = 42").fetchone()
            out.append(time.perf_counter() - started)
            time.sleep(0.005)


def apply_psql(server: BenchServer, url: str, project: Path) -> None:
    psql = shutil.which("psql") or str(server.bin_dir / "psql")
    subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", ALTER], check=True
    )


def apply_fixed_timeout(server: BenchServer, url: str, project: Path) -> None:
    # lock_timeout 2s, retried with exponential backoff (0.5s doubling, capped at 5s).
    with psycopg.connect(url, autocommit=True) as conn:
        for attempt in range(30):
            try:
                with conn.transaction():
                    conn.execute("SET LOCAL lock_timeout = '2s'")
                    conn.execute(ALTER)
                return
            except psycopg.errors.LockNotAvailable:
                time.sleep(min(5.0, 0.5 * 2**attempt))
    raise SystemExit("fixed-timeout retries gave up")


def apply_atomig(server: BenchServer, url: str, project: Path) -> None:
    subprocess.run(
        [
            str(VENV_BIN / "atomig"),
            "-q",
            "-C",
            str(project),
            "--database-url",
            url,
            "up",
        ],
        check=True,
        capture_output=True,
        env={k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
    )


MODES = {
    "psql": apply_psql,
    "fixed 2s retry": apply_fixed_timeout,
    "atomig": apply_atomig,
}


def run_once(
    server: BenchServer,
    mode: str,
    project: Path,
    blocker_s: float,
    readers: int,
    n: int,
) -> Outcome:
    url = server.fresh_database(f"lockq_{n}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE accounts AS SELECT g AS id, 0::numeric AS balance"
            " FROM generate_series(1, 10000) g"
        )
        conn.execute("ALTER TABLE accounts ADD PRIMARY KEY (id)")
    # The long transaction: a report that has read the table and is still open.
    blocker = psycopg.connect(url, application_name="nightly report")
    blocker.execute("SELECT count(*) FROM accounts").fetchone()
    stop = threading.Event()
    latencies: list[float] = []
    threads = [
        threading.Thread(target=reader, args=(url, stop, latencies), daemon=True)
        for _ in range(readers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    released_at: list[float] = []

    def release() -> None:
        blocker.rollback()
        released_at.append(time.perf_counter())

    timer = threading.Timer(blocker_s, release)
    timer.start()
    MODES[mode](server, url, project)
    done = time.perf_counter()
    timer.join()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    blocker.close()
    ordered = sorted(latencies)
    return Outcome(
        worst_ms=ordered[-1] * 1000,
        p99_ms=ordered[int(len(ordered) * 0.99)] * 1000,
        queries=len(ordered),
        done_after_blocker_s=done - released_at[0],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", type=int, default=18, choices=(15, 18))
    parser.add_argument(
        "--blocker", type=float, default=6.0, help="seconds the blocker lives"
    )
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    project = Path(tempfile.mkdtemp(prefix="atomig-lockq-"))
    (project / "migrations").mkdir()
    (project / "migrations" / "20260101_0000_note.up.sql").write_text(ALTER + ";\n")
    (project / "migrations" / "20260101_0000_note.down.sql").write_text(
        "ALTER TABLE accounts DROP COLUMN IF EXISTS note;\n"
    )
    results: dict[str, list[Outcome]] = {mode: [] for mode in MODES}
    n = 0
    with bench_server(args.pg) as server:
        for _ in range(args.runs):
            for mode in MODES:
                n += 1
                results[mode].append(
                    run_once(server, mode, project, args.blocker, args.readers, n)
                )
    shutil.rmtree(project, ignore_errors=True)
    print(
        f"\nALTER needing ACCESS EXCLUSIVE while a {args.blocker:g}s transaction holds ACCESS "
        f"SHARE; {args.readers} readers in a loop; PostgreSQL {args.pg}; median of "
        f"{args.runs} runs"
    )
    print(
        f"{'mode':<15} {'worst ms':>9} {'p99 ms':>8} {'queries':>8} "
        f"{'done after blocker s':>21}  worst ÷ atomig's"
    )
    medians = {
        mode: Outcome(
            statistics.median(o.worst_ms for o in outcomes),
            statistics.median(o.p99_ms for o in outcomes),
            round(statistics.median(o.queries for o in outcomes)),
            statistics.median(o.done_after_blocker_s for o in outcomes),
        )
        for mode, outcomes in results.items()
    }
    atomig = medians["atomig"]
    for mode, m in medians.items():
        print(
            f"{mode:<15} {m.worst_ms:>9.1f} {m.p99_ms:>8.1f} {m.queries:>8} "
            f"{m.done_after_blocker_s:>21.2f}  {m.worst_ms / atomig.worst_ms:>8.1f}"
        )
    verdict = "met" if atomig.worst_ms < 100 else "MISSED"
    print(f"target: atomig readers' worst latency < 100 ms: {verdict}")
    completes = all(o.done_after_blocker_s < 5 for o in results["atomig"])
    print(
        "target: atomig completes once the blocker ends: "
        + ("met" if completes else "MISSED")
    )


if __name__ == "__main__":
    main()
