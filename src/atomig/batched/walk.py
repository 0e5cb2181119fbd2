"""The backfill loop: one transaction per key window, its checkpoint in the same transaction.

Each batch is three pipelined round trips in one transaction:

1. ``BEGIN``; the envelope as ``set_config(…, is_local => true)`` (``SET LOCAL`` semantics:
   nothing outlives the batch); lock the checkpoint row and read ``last_key``; find the
   window's upper bound by keyset pagination (an index-only range scan);
2. the statement rewritten with the window predicate (an index range scan on the key), and
   the count of sessions waiting on our locks;
3. the checkpoint advanced past the window; ``COMMIT``.

A batch that loses a lock race (55P03, 40P01, 40001) is rolled back and retried after an
exponential back-off with full jitter, with a smaller window. Anything else fails the
backfill; its checkpoint keeps every committed window, so the next run resumes after it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from atomig.batched import checkpoint
from atomig.batched.discovery import (
    Prefetch,
    Queries,
    nth_params,
    probe_in_transaction,
)
from atomig.batched.job import BackfillFailed, BackfillJob, BackfillStopped
from atomig.batched.throttle import BatchSizer, Pacer, backoff_ms
from atomig.batched.windows import (
    Probe,
    Window,
    eta_seconds,
    fraction_done,
    key_fraction,
    next_window,
)
from atomig.db.catalog import (
    ACTIVE_OTHERS,
    WAITERS_ON_US,
    TableKey,
    TableRef,
    resolve_table,
    table_estimate,
    table_key,
)
from atomig.db.compose import set_config_params, set_config_query
from atomig.errors import SourceError
from atomig.events import Event, Reporter
from atomig.sql.backfill import (
    BackfillStatement,
    backfill_statement,
    check_key_untouched,
)

Conn = psycopg.Connection[Any]
Key = tuple[str, ...]

RETRYABLE_SQLSTATES = frozenset({"55P03", "40P01", "40001"})
_NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "numeric", "float4", "float8"})
# Custom plans for every batch: the window bounds are parameters, and a generic plan (chosen
# by the server after a few executions of a prepared statement) cannot see how narrow the
# range is.
_BATCH_SETTINGS = (
    ("plan_cache_mode", "force_custom_plan"),
    ("synchronous_commit", "off"),
)
# PostgreSQL 14+: a batch whose client is gone (kill -9, a lost host or network) is
# cancelled within a second, instead of running to its end for nobody (the server only
# notices a closed socket when it next writes to it). Its transaction, checkpoint included,
# rolls back.
_CLIENT_CHECK = ("client_connection_check_interval", "1s")
_CLIENT_CHECK_SINCE = 140000

# A context within which a stop request cancels the statement in flight on the batch
# connection (atomig.run.interrupt.Interrupt.cancellable).
Cancellable = Callable[[], AbstractContextManager[None]]


def rollback_if_open(conn: Conn) -> None:
    """Roll back the transaction open (or failed) on ``conn``; nothing on a closed or idle
    connection."""
    if conn.closed:
        return
    if conn.info.transaction_status in (
        TransactionStatus.INTRANS,
        TransactionStatus.INERROR,
    ):
        conn.execute(b"ROLLBACK")


class BackfillRun:
    """State of one run of a backfill (the loop lives here to keep its pieces small)."""

    def __init__(
        self, conn: Conn, job: BackfillJob, report: Reporter, side: Conn | None
    ) -> None:
        self.conn = conn
        self.side = side
        self.prefetch: Prefetch | None = None
        self.stop: Callable[[], bool] | None = None
        self.cancellable: Cancellable | None = None
        self.job = job
        self.report = report
        self.schema = job.ledger_schema
        self.settings = [*job.envelope.settings(), *_BATCH_SETTINGS]
        if conn.info.server_version >= _CLIENT_CHECK_SINCE:
            self.settings.append(_CLIENT_CHECK)
        self.sizer = BatchSizer(job.options)
        self.pacer = Pacer(job.options, report, job.id)
        self.batch_ms: list[float] = []
        self.run_batches = 0
        self.run_rows = 0
        self.estimate = 0
        self.numeric_range: tuple[float, float] | None = None
        self.started = time.monotonic()
        self.elapsed_s = 0.0
        # Other sessions running a query at the last batch's end (None: not read).
        self.others_active: int | None = None

    def own_pids(self) -> list[int]:
        """Backends of this run besides the batch connection (not the server's load)."""
        return [self.side.info.backend_pid] if self.side is not None else []

    # -- set-up ---------------------------------------------------------------------

    def _in_envelope(self, query: sql.Composed | bytes, params: Any = None) -> Any:
        """Run one query in its own short transaction under the envelope."""
        conn = self.conn
        try:
            with conn.pipeline():
                conn.execute(b"BEGIN")
                conn.execute(
                    set_config_query(len(self.settings)),
                    set_config_params(self.settings, local=True),
                )
                cursor = conn.execute(query, params)
                conn.execute(b"COMMIT")
        except BaseException:
            rollback_if_open(conn)
            raise
        return cursor.fetchall() if cursor.description else None

    def prepare(self) -> tuple[BackfillStatement, TableRef, TableKey]:
        """Check the statement, find its table and key (under the envelope's search_path)."""
        job = self.job
        target = backfill_statement(job.statement, job.path)
        self.conn.execute(b"BEGIN")
        try:
            self.conn.execute(
                set_config_query(len(self.settings)),
                set_config_params(self.settings, local=True),
            )
            table = resolve_table(self.conn, target.relation)
            key = table_key(self.conn, table.oid) if table else None
        finally:
            rollback_if_open(self.conn)
        if table is None:
            raise SourceError(
                f"table {target.relation} does not exist (as resolved by search_path)",
                location=target.location,
            )
        if table.relkind not in ("r", "p"):
            raise SourceError(
                f"{table.name} is not a table (relkind {table.relkind!r}): a backfill "
                "walks a table's key",
                location=target.location,
            )
        if key is None:
            raise SourceError(
                f"{table.name} has no primary key and no unique index on NOT NULL columns: "
                "a backfill needs a key to walk in windows",
                location=target.location,
                hint=f"add a primary key to {table.name} (CREATE UNIQUE INDEX CONCURRENTLY, "
                "then ALTER TABLE … ADD PRIMARY KEY USING INDEX)",
            )
        check_key_untouched(target, key.columns)
        return target, table, key

    def measure(self, table: TableRef, key: TableKey, queries: Queries) -> None:
        """Row estimate for progress (analyzing a never-analyzed table first: without
        statistics the planner cannot see that a window is a narrow range)."""
        estimate = table_estimate(self.conn, table.oid)
        if not estimate.analyzed:
            self.report(
                Event(
                    "backfill.analyze",
                    f"{table.name} has no statistics yet: analyzing it first",
                    data={"name": self.job.id, "relation": str(table.name)},
                )
            )
            self._in_envelope(
                sql.SQL("ANALYZE {}").format(
                    sql.Identifier(table.name.schema or "", table.name.name)
                )
            )
            estimate = table_estimate(self.conn, table.oid)
        self.estimate = estimate.rows
        if len(key.columns) == 1 and key.columns[0].type.name in _NUMERIC_TYPES:
            rows = self._in_envelope(queries.ends)
            if rows and rows[0][0] is not None and rows[0][1] is not None:
                self.numeric_range = (float(rows[0][0]), float(rows[0][1]))

    # -- one batch ------------------------------------------------------------------

    def batch(
        self,
        q: Queries,
        expected: Key | None,
        size: int,
        retries: int,
        prefetched: tuple[Probe[Key], int] | None = None,
    ) -> tuple[Window[Key] | None, int, int, tuple[int, int, int], float]:
        """One window in one transaction. Returns the window (``None``: walk finished),
        rows changed, sessions that waited on us, checkpoint totals, duration in ms.

        ``prefetched`` is the window's discovery done ahead (with the size it used);
        without it, discovery runs in this transaction.
        """
        conn, job = self.conn, self.job
        t0 = time.monotonic()
        with conn.pipeline():
            conn.execute(b"BEGIN")
            conn.execute(
                set_config_query(len(self.settings)),
                set_config_params(self.settings, local=True),
            )
            locked = conn.execute(checkpoint.lock_query(self.schema), (job.id,))
            nth = (
                conn.execute(
                    q.after_nth if expected else q.first_nth,
                    nth_params(expected, size),
                )
                if prefetched is None
                else None
            )
        row = locked.fetchone()
        current = tuple(row[0]) if row and row[0] is not None else None
        if row is None or current != expected:
            rollback_if_open(conn)
            raise BackfillFailed(
                f"backfill {job.id!r}: its checkpoint moved under this run "
                f"(expected last key {expected}, found {current})",
                hint="another session is running the same backfill; let it finish",
            )
        if prefetched is None:
            assert nth is not None
            probe = probe_in_transaction(conn, q, expected, nth.fetchone())
        else:
            probe, size = prefetched
        window = next_window(expected, size, probe)
        if window is None:
            conn.execute(b"COMMIT")
            return None, 0, 0, (0, 0, 0), (time.monotonic() - t0) * 1000
        if self.prefetch is not None and not window.last:
            self.prefetch.start(window.upper, self.sizer.size)
        raw = psycopg.RawCursor(conn)
        with conn.pipeline():
            raw.execute(
                q.windowed_after if window.lower else q.windowed_first,
                [*job.params, *window.params()],
            )
            waiting = (
                conn.execute(WAITERS_ON_US) if job.options.lock_wait_pause_ms else None
            )
            load = (
                conn.execute(ACTIVE_OTHERS, (self.own_pids(),))
                if job.options.nice_ratio
                or job.options.busy_target_duration_ms < job.options.target_duration_ms
                else None
            )
        changed = max(raw.rowcount, 0)
        waiters_row = waiting.fetchone() if waiting is not None else None
        waiters = int(waiters_row[0]) if waiters_row else 0
        load_row = load.fetchone() if load is not None else None
        self.others_active = int(load_row[0]) if load_row else None
        busy_ms = round((time.monotonic() - t0) * 1000)
        with conn.pipeline():
            advanced = conn.execute(
                checkpoint.advance_query(self.schema),
                (list(window.upper), changed, window.keys, retries, busy_ms, job.id),
            )
            conn.execute(b"COMMIT")
        duration = (time.monotonic() - t0) * 1000
        totals_row = advanced.fetchone()
        totals = (
            (int(totals_row[0]), int(totals_row[1]), int(totals_row[2]))
            if totals_row
            else (0, 0, 0)
        )
        return window, changed, waiters, totals, duration

    # -- the walk -------------------------------------------------------------------

    def fraction(self, cursor: Key | None, scanned: int) -> float | None:
        """Share of the table walked: by key range for a numeric key, else by rows."""
        if cursor is None:
            return 0.0
        if self.numeric_range is not None:
            first, last = self.numeric_range
            return key_fraction(first, last, float(cursor[0]))
        return fraction_done(scanned, self.estimate)

    def _failed(self, exc: psycopg.Error, cursor: Key | None) -> BackfillFailed:
        job = self.job
        diag = exc.diag
        message = diag.message_primary or str(exc).strip() or type(exc).__name__
        sqlstate = exc.sqlstate
        described = message + (f" [SQLSTATE {sqlstate}]" if sqlstate else "")
        if diag.message_detail:
            described += f"\nDETAIL: {diag.message_detail}"
        alive = not self.conn.closed and not self.conn.broken
        if alive:
            try:
                rollback_if_open(self.conn)
                checkpoint.finish(self.conn, self.schema, job.id, "failed", described)
            except psycopg.Error:
                alive = False
        where = "from the first key" if cursor is None else f"after key {list(cursor)}"
        return BackfillFailed(
            f"backfill {job.id!r} failed on the window {where}: {message}",
            location=backfill_statement(job.statement, job.path).location,
            hint="every committed batch is kept in its checkpoint; fix the cause and run "
            "the backfill again: it resumes with that window"
            + ("" if alive else " (the connection was lost)"),
            details={
                "name": job.id,
                "sqlstate": sqlstate,
                "detail": diag.message_detail,
                "last_key": list(cursor) if cursor else None,
            },
        )

    def _one(
        self, q: Queries, cursor: Key | None
    ) -> tuple[Window[Key] | None, int, int, tuple[int, int, int], float, int]:
        """A batch with its retries: (window, rows, waiters, totals, ms, retries)."""
        retry = self.job.retry
        attempt = 0
        first_try = time.monotonic()
        prefetched = self.prefetch.take(cursor) if self.prefetch else None
        while True:
            try:
                with (
                    self.cancellable() if self.cancellable else contextlib.nullcontext()
                ):
                    result = self.batch(q, cursor, self.sizer.size, attempt, prefetched)
            except psycopg.Error as exc:
                if self.stop is not None and self.stop():
                    # The stop request cancelled the batch in flight (or it failed as
                    # the stop came): it rolled back with its checkpoint; the committed
                    # ones stay, and the next run resumes after them.
                    with contextlib.suppress(psycopg.Error):
                        rollback_if_open(self.conn)
                    raise BackfillStopped(
                        f"backfill {self.job.id} stopped: the batch in flight was "
                        "cancelled and rolled back"
                    ) from None
                if (
                    exc.sqlstate not in RETRYABLE_SQLSTATES
                    or self.conn.closed
                    or self.conn.broken
                ):
                    raise self._failed(exc, cursor) from None
                rollback_if_open(self.conn)
                prefetched = None  # rediscover with the smaller size
                if self.prefetch is not None:
                    self.prefetch.take(None)
                attempt += 1
                elapsed_ms = (time.monotonic() - first_try) * 1000
                if attempt >= retry.max_attempts or elapsed_ms >= retry.budget_ms:
                    raise self._failed(exc, cursor) from None
                delay = backoff_ms(attempt, retry.initial_delay_ms, retry.max_delay_ms)
                size = self.sizer.shrink()
                self.report(
                    Event(
                        "backfill.retry",
                        f"backfill {self.job.id}: batch lost a lock race "
                        f"({exc.sqlstate}), retry {attempt} in {delay:.0f} ms with "
                        f"{size} keys",
                        level="warning",
                        data={
                            "name": self.job.id,
                            "sqlstate": exc.sqlstate,
                            "attempt": attempt,
                            "delay_ms": round(delay),
                            "size": size,
                        },
                    )
                )
                time.sleep(delay / 1000)
                continue
            window, changed, waiters, totals, ms = result
            return window, changed, waiters, totals, ms, attempt

    def walk(self, q: Queries, cursor: Key | None, scanned: int) -> None:
        """Run windows from ``cursor`` until no key is left after the last one."""
        job = self.job
        start_fraction = self.fraction(cursor, scanned) or 0.0
        # Rate and ETA in wall-clock time: sleeps and pauses are part of the wait.
        started = time.monotonic()
        while True:
            if self.stop is not None and self.stop():
                raise BackfillStopped(f"backfill {job.id} stopped between two batches")
            self.pacer.wait_for_replicas(self.conn)
            window, changed, waiters, totals, ms, retries = self._one(q, cursor)
            self.elapsed_s = time.monotonic() - started
            if window is None:
                return
            cursor = window.upper
            batches, _, scanned = totals
            self.run_batches += 1
            self.run_rows += changed
            self.batch_ms.append(ms)
            busy = self.pacer.observe_load(self.others_active)
            size = self.sizer.record(window.keys, ms, waiters, busy=busy)
            fraction = self.fraction(cursor, scanned)
            eta = eta_seconds(start_fraction, fraction, self.elapsed_s)
            self.report(
                Event(
                    "backfill.batch",
                    f"backfill {job.id}: batch {batches}: {window.keys} keys, "
                    f"{changed} rows, {ms:.0f} ms",
                    data={
                        "name": job.id,
                        "batch": batches,
                        "lower": list(window.lower) if window.lower else None,
                        "upper": list(window.upper),
                        "keys": window.keys,
                        "rows": changed,
                        "duration_ms": round(ms, 1),
                        "retries": retries,
                        "waiters": waiters,
                        "next_size": size,
                        "busy": busy,
                        "rows_affected": totals[1],
                        "rows_scanned": scanned,
                        "estimate": self.estimate,
                        "fraction": None if fraction is None else round(fraction, 4),
                        "eta_s": None if eta is None else round(eta, 1),
                        "rate": round(self.run_rows / self.elapsed_s)
                        if self.elapsed_s
                        else None,
                    },
                )
            )
            if window.last:
                # It took every key left when it ran: rows inserted since are the
                # application's (or its trigger's) to write, as after the walk.
                return
            self.pacer.pause_after(waiters, ms, busy=busy)

    def analyze(self, table: TableRef) -> bool:
        """``ANALYZE`` the table; a failure (say, a lock timeout) is a warning only: the data
        change is committed."""
        try:
            self._in_envelope(
                sql.SQL("ANALYZE {}").format(
                    sql.Identifier(table.name.schema or "", table.name.name)
                )
            )
        except psycopg.Error as exc:
            if self.conn.closed or self.conn.broken:
                raise
            self.report(
                Event(
                    "backfill.analyze_failed",
                    f"ANALYZE {table.name} failed ({exc.sqlstate}): run it later; the "
                    "backfill itself is complete",
                    level="warning",
                    data={"name": self.job.id, "sqlstate": exc.sqlstate},
                )
            )
            return False
        return True
