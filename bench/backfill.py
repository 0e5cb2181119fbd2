"""Backfill: one plain UPDATE vs atomig's batched backfill of the same change.

On a table of 1M rows (``id bigint PRIMARY KEY``), the change ``counter = counter + 1`` is run
as one ``UPDATE`` and as ``atomig.backfill(...)``, each on a fresh copy of the table, while a
separate process updates single random rows in a loop and times each update. Printed side by
side: throughput (rows/s) and the ratio, the p99 and longest batch (for the plain UPDATE, the
statement itself), and the p99 and longest wait of the concurrent single-row writer. Median
of ``--runs`` runs; the table is vacuumed, analyzed and checkpointed before each.

    .venv/bin/python bench/backfill.py [--rows 1000000] [--runs 5] [--pg 18]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import BenchServer, bench_server

import atomig
from atomig.config import load_settings

CHANGE = "UPDATE items SET counter = counter + 1"
WRITE_EVERY_S = 0.002
PAUSED: list[int] = []


def load(server: BenchServer, rows: int) -> str:
    url = server.fresh_database("backfill_bench")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, counter int NOT NULL DEFAULT 0,"
            " note text NOT NULL DEFAULT 'a row of an ordinary width, about sixty bytes')"
        )
        conn.execute(
            "INSERT INTO items (id) SELECT g FROM generate_series(1, %s) g", (rows,)
        )
        conn.execute("VACUUM ANALYZE items")
        conn.execute("CHECKPOINT")
    return url


def writer(url: str, rows: int, stop, out) -> None:
    """Update one random row about every 2 ms until told to stop; send back how long each
    update waited (its own duration, in ms)."""
    rng = random.Random(42)
    waits: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET application_name = 'bench-writer'")
        query = "UPDATE items SET note = note WHERE id = %s"
        conn.execute(query, (1,), prepare=True)
        out.send("ready")
        while not stop.is_set():
            key = rng.randint(1, rows)
            t0 = time.perf_counter()
            conn.execute(query, (key,), prepare=True)
            waits.append((time.perf_counter() - t0) * 1000)
            time.sleep(WRITE_EVERY_S)
    out.send(waits)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def with_writer(url: str, rows: int, work) -> tuple[float, list[float], list[float]]:
    """Run ``work()`` (returning its batch durations) while the writer runs."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=writer, args=(url, rows, stop, theirs))
    proc.start()
    assert mine.recv() == "ready"
    time.sleep(0.3)
    t0 = time.perf_counter()
    batches = work()
    elapsed = time.perf_counter() - t0
    stop.set()
    waits = mine.recv()
    proc.join()
    return elapsed, batches, waits


def plain(url: str) -> list[float]:
    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        conn.execute(CHANGE)
        return [(time.perf_counter() - t0) * 1000]


def batched(url: str, root: Path, options: dict[str, object]) -> list[float]:
    settings = load_settings(root, database_url=url, environ={})
    result = atomig.backfill(
        settings, CHANGE, name=f"bench-{time.time_ns()}", options=options
    )
    PAUSED.append(result.paused_ms)
    return list(result.batch_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", type=int, default=18, choices=(15, 18))
    parser.add_argument("--max-batch-size", type=int, default=None)
    parser.add_argument("--target-duration", default=None)
    parser.add_argument("--lock-wait-pause", default=None)
    parser.add_argument(
        "--no-writer", action="store_true", help="Time both without the writer."
    )
    args = parser.parse_args()
    options: dict[str, object] = {"analyze": False}
    if args.max_batch_size:
        options["max_batch_size"] = args.max_batch_size
    if args.target_duration:
        options["target_duration"] = args.target_duration
    if args.lock_wait_pause:
        options["lock_wait_pause"] = args.lock_wait_pause
    root = Path(__file__).resolve().parent / ".bench-project"
    root.mkdir(exist_ok=True)
    figures: dict[str, list[tuple[float, list[float], list[float]]]] = {
        "plain UPDATE": [],
        "atomig backfill": [],
    }
    with bench_server(args.pg) as server:
        for run in range(args.runs):
            for name, work in (
                ("plain UPDATE", plain),
                ("atomig backfill", lambda u: batched(u, root, options)),
            ):
                url = load(server, args.rows)
                if args.no_writer:
                    t0 = time.perf_counter()
                    batches = work(url)
                    elapsed, waits = time.perf_counter() - t0, [0.0]
                else:
                    elapsed, batches, waits = with_writer(
                        url, args.rows, lambda u=url, w=work: w(u)
                    )
                figures[name].append((elapsed, batches, waits))
                print(
                    f"run {run + 1} {name:16} {args.rows / elapsed:>10,.0f} rows/s"
                    f"  {len(batches)} batches"
                    f"  writer wait p99 {percentile(waits, 99):.1f} ms"
                    f" max {max(waits):.0f} ms",
                    file=sys.stderr,
                )
    print(
        f"\n{args.rows:,} rows, PostgreSQL {args.pg}, median of {args.runs} runs,"
        f" options {options}\n"
    )
    header = (
        f"{'':18}{'rows/s':>12}{'batches':>9}{'batch p99':>11}{'batch max':>11}"
        f"{'writes':>8}{'wait p99':>10}{'wait max':>10}"
    )
    print(header)
    rates = {}
    for name, runs in figures.items():
        pick = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
        elapsed, batches, waits = pick
        rates[name] = args.rows / elapsed
        print(
            f"{name:18}{rates[name]:>12,.0f}{len(batches):>9}"
            f"{percentile(batches, 99):>9.0f}ms{max(batches):>9.0f}ms"
            f"{len(waits):>8}{percentile(waits, 99):>8.1f}ms{max(waits):>8.0f}ms"
        )
    print(f"atomig paused (sleep, lock-wait pauses) per run: {PAUSED} ms")
    print(
        "\nwait: how long each single-row update of the concurrent writer took (one"
        " about every 2 ms, random rows)"
    )
    # Each run times both back to back: the median of the per-run ratios is steadier on a
    # shared machine than the ratio of medians.
    ratios = sorted(
        plain[0] / mine[0]
        for plain, mine in zip(
            figures["plain UPDATE"], figures["atomig backfill"], strict=True
        )
    )
    print(
        f"throughput ratio atomig / plain UPDATE: {ratios[len(ratios) // 2]:.2f}"
        f" (median of {len(ratios)} paired runs: {', '.join(f'{r:.2f}' for r in ratios)};"
        " target >= 0.95)"
    )


if __name__ == "__main__":
    main()
