"""An OLTP-like application workload for benchmarks: K client processes doing primary-key
reads, inserts and single-row updates, every transaction recorded (start, latency, outcome).

Processes, not threads: each client has its own interpreter and connection, so one client's
wait never delays another's measurements (no shared GIL).

Two modes. Closed loop (``rate=0``): each client sends its next transaction as soon as the last
one returns — the server runs flat out, so any extra work (a migration's index build) shows
up as CPU contention. Fixed rate (``rate`` transactions per second per client, as pgbench
``-R``): transactions are scheduled at fixed intervals and each one's latency counts from its
*scheduled* start, so a client held up by a lock is charged for every transaction it could
not send meanwhile (no coordinated omission).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import random
import time
from dataclasses import dataclass

import psycopg

KINDS = ("read", "insert", "update")
WEIGHTS = (6, 2, 2)

READ = "SELECT id, amount, status FROM orders WHERE id = %s"
INSERT = "INSERT INTO orders (customer_ref, amount, status) VALUES (%s, %s, 'new')"
UPDATE = "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = %s"


@dataclass(frozen=True, slots=True)
class Txn:
    """One application transaction: when it started (seconds since the run's epoch), how
    long it took, what it was, and its SQLSTATE when it failed."""

    start: float
    latency: float
    kind: str
    error: str | None

    @property
    def end(self) -> float:
        return self.start + self.latency


def _client(
    conninfo: str,
    rows: int,
    customers: int,
    epoch: float,
    stop,
    results,
    seed: int,
    app_timeout: str,
    rate: float,
) -> None:
    rng = random.Random(seed)
    interval = 1.0 / rate if rate > 0 else 0.0
    # A random phase, so that the clients' schedules do not fire in lockstep.
    scheduled = time.perf_counter() + rng.random() * interval
    records: list[tuple[float, float, int, str | None]] = []
    conn = psycopg.connect(conninfo, autocommit=True, application_name="app")
    if app_timeout:
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false)", (app_timeout,)
        )
    kinds = rng.choices(range(3), weights=WEIGHTS, k=200_000)
    i = 0
    parent = os.getppid()
    while not stop.is_set():
        kind = kinds[i % len(kinds)]
        i += 1
        if i % 1000 == 0 and os.getppid() != parent:
            return  # the benchmark was killed: do not keep loading the server
        if interval:
            wait = scheduled - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            started = scheduled
            scheduled += interval
        else:
            started = time.perf_counter()
        error = None
        try:
            if kind == 0:
                conn.execute(READ, (rng.randint(1, rows),)).fetchall()
            elif kind == 1:
                conn.execute(
                    INSERT, (rng.randint(1, customers), rng.randint(1, 10_000))
                )
            else:
                conn.execute(UPDATE, (rng.randint(1, rows),))
        except psycopg.Error as exc:
            error = exc.sqlstate or "connection"
            if conn.closed or conn.broken:
                conn = psycopg.connect(
                    conninfo, autocommit=True, application_name="app"
                )
        finished = time.perf_counter()
        records.append((started - epoch, finished - started, kind, error))
    conn.close()
    results.put(records)


class Workload:
    """Start ``clients`` processes against ``conninfo``; ``stop()`` returns every transaction."""

    def __init__(
        self,
        conninfo: str,
        *,
        rows: int,
        customers: int,
        clients: int = 8,
        app_timeout: str = "",
        rate: float = 0.0,
    ) -> None:
        self._ctx = mp.get_context("spawn")
        self._stop = self._ctx.Event()
        self._results = self._ctx.Queue()
        self.epoch = time.perf_counter()
        self._procs = [
            self._ctx.Process(
                target=_client,
                args=(
                    conninfo,
                    rows,
                    customers,
                    self.epoch,
                    self._stop,
                    self._results,
                    n,
                    app_timeout,
                    rate,
                ),
                daemon=True,
            )
            for n in range(clients)
        ]
        for proc in self._procs:
            proc.start()

    def now(self) -> float:
        """Seconds since the workload's epoch (the clock transactions are recorded in)."""
        return time.perf_counter() - self.epoch

    def stop(self) -> list[Txn]:
        self._stop.set()
        txns: list[Txn] = []
        for _ in self._procs:
            for start, latency, kind, error in self._results.get(timeout=120):
                txns.append(Txn(start, latency, KINDS[kind], error))
        for proc in self._procs:
            proc.join(timeout=10)
        txns.sort(key=lambda t: t.start)
        return txns


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def longest_stall(txns: list[Txn], start: float, end: float) -> tuple[float, str]:
    """The longest interval inside [start, end] during which a transaction of some kind was
    in progress and none of that kind completed successfully. Returns (seconds, kind)."""
    worst, worst_kind = 0.0, ""
    for kind in KINDS:
        mine = [t for t in txns if t.kind == kind]
        # Clients issue transactions back to back (or, at a fixed rate, one of each kind is due
        # every few milliseconds), so a gap between consecutive successful completions is a
        # stall of that kind.
        ends = sorted(
            t.end for t in mine if t.error is None and start - 60 <= t.end <= end + 60
        )
        in_flight = [t for t in mine if t.start <= end and t.end >= start]
        if not in_flight:
            continue
        points = [start, *[e for e in ends if start < e < end], end]
        for a, b in itertools.pairwise(points):
            gap = b - a
            if gap > worst:
                worst, worst_kind = gap, kind
    return worst, worst_kind


def summarize(
    txns: list[Txn], before: tuple[float, float], during: tuple[float, float]
) -> dict:
    def window(lo: float, hi: float) -> list[Txn]:
        return [t for t in txns if lo <= t.start < hi]

    def stats(chunk: list[Txn]) -> dict:
        ok = [t.latency * 1000 for t in chunk if t.error is None]
        return {
            "transactions": len(chunk),
            "ok": len(ok),
            "failed": sum(1 for t in chunk if t.error is not None),
            "p50_ms": round(percentile(ok, 50), 2),
            "p99_ms": round(percentile(ok, 99), 2),
            "max_ms": round(max(ok, default=0.0), 2),
            "tps": round(
                len(chunk)
                / max(
                    1e-9,
                    (
                        max((t.end for t in chunk), default=0)
                        - min((t.start for t in chunk), default=0)
                    ),
                ),
                1,
            ),
        }

    # "During" also counts transactions that were in flight when the migration started.
    during_txns = [t for t in txns if t.end >= during[0] and t.start < during[1]]
    stall, stall_kind = longest_stall(txns, *during)
    errors: dict[str, int] = {}
    for t in txns:
        if t.error:
            errors[t.error] = errors.get(t.error, 0) + 1
    return {
        "before": stats(window(*before)),
        "during": stats(during_txns),
        "all": {
            "ok": sum(1 for t in txns if t.error is None),
            "failed": sum(1 for t in txns if t.error),
            "errors": errors,
        },
        "longest_stall_ms": round(stall * 1000, 1),
        "longest_stall_kind": stall_kind,
    }
