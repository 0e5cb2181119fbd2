"""Pacing: adaptive batch size, sleeps, replication-lag pauses, lock-waiter back-off, and
the retry back-off of a batch that lost a lock race.

The size policy and the back-off are pure; :class:`Pacer` does the waiting (its clock and
sleep are injectable, so tests need not wait).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import psycopg

from atomig.db.catalog import replication_lag_ms
from atomig.events import Event, Reporter
from atomig.plan.backfill import BackfillOptions

Conn = psycopg.Connection[Any]

# How far one batch may move the size: a single slow batch (a checkpoint, a vacuum) must not
# collapse it, nor a single fast one balloon it.
_MAX_STEP = 2.0
# Lag is re-read at most this often (a pg_stat_replication read per batch is cheap, but the
# figure moves slowly); while paused, the wait between reads grows to _MAX_POLL_S.
_LAG_CHECK_S = 0.25
_MIN_POLL_S = 0.1
_MAX_POLL_S = 2.0
_PAUSE_REPORT_S = 10.0
# The load figure is smoothed over batches (one sample per batch is noisy): the weight of the
# newest sample.
_LOAD_WEIGHT = 0.3


class BatchSizer:
    """The next window's size, steered toward ``target_duration`` within the bounds.

    >>> sizer = BatchSizer(BackfillOptions(batch_size=1000, target_duration_ms=200))
    >>> sizer.record(keys=1000, duration_ms=50, waiters=0)   # 4x too fast: at most doubles
    2000
    >>> sizer.record(keys=2000, duration_ms=400, waiters=0)  # 2x too slow: halves
    1000
    >>> sizer.record(keys=1000, duration_ms=200, waiters=3)  # others waited on us: halves
    500
    >>> sizer.record(keys=500, duration_ms=100, waiters=0, busy=True)  # busy: 50 ms target
    250
    """

    def __init__(self, options: BackfillOptions) -> None:
        self.options = options
        self.size = self._bound(options.batch_size)

    def _bound(self, size: float) -> int:
        low, high = self.options.min_batch_size, self.options.max_batch_size
        return int(min(max(size, low), high))

    @staticmethod
    def target_ms_of(options: BackfillOptions, busy: bool) -> int:
        """The batch duration to steer toward: shorter while the server is busy.

        >>> BatchSizer.target_ms_of(BackfillOptions(), busy=True)
        50
        """
        target = options.target_duration_ms
        return min(target, options.busy_target_duration_ms) if busy else target

    def record(
        self, keys: int, duration_ms: float, waiters: int, *, busy: bool = False
    ) -> int:
        """Account for a committed batch of ``keys`` keys; returns the next size."""
        if waiters and self.options.lock_wait_pause_ms:
            self.size = self._bound(self.size / 2)
            return self.size
        if keys <= 0:
            return self.size
        ideal = keys * self.target_ms_of(self.options, busy) / max(duration_ms, 1.0)
        step = min(max(ideal, self.size / _MAX_STEP), self.size * _MAX_STEP)
        self.size = self._bound(step)
        return self.size

    def shrink(self) -> int:
        """Halve the size (after a batch lost a lock race); returns it."""
        self.size = self._bound(self.size / 2)
        return self.size


def backoff_ms(
    attempt: int,
    initial_ms: int,
    max_ms: int,
    rand: Callable[[], float] = random.random,
) -> float:
    """Exponential back-off with full jitter: uniform in ``[0, min(max, initial·2^(n-1))]``.

    >>> backoff_ms(1, 100, 5000, rand=lambda: 1.0)
    100.0
    >>> backoff_ms(10, 100, 5000, rand=lambda: 1.0)
    5000.0
    >>> backoff_ms(3, 100, 5000, rand=lambda: 0.5)
    200.0
    """
    ceiling = min(float(max_ms), initial_ms * 2.0 ** max(attempt - 1, 0))
    return ceiling * rand()


class Pacer:
    """Waits between batches: the configured sleep, the pause after others waited on our
    locks, the share yielded to a busy server, and pauses while replication lags."""

    def __init__(
        self,
        options: BackfillOptions,
        report: Reporter,
        backfill_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        lag: Callable[[Conn], int | None] = replication_lag_ms,
    ) -> None:
        self.options = options
        self.report = report
        self.backfill_id = backfill_id
        self.sleep = sleep
        self.clock = clock
        # A stop request (a signal) ends a replication-lag pause: the backfill stops there.
        self.stopped: Callable[[], bool] = lambda: False
        self.lag = lag
        self._next_lag_check = 0.0
        self.paused_ms = 0.0
        self.pauses = 0
        self.yielded_ms = 0.0
        self.load: float | None = None
        self._reported_busy = False
        self._next_load_report = 0.0

    def wait_for_replicas(self, conn: Conn) -> float:
        """Block while a standby or subscriber lags more than allowed; returns ms waited."""
        limit = self.options.max_replication_lag_ms
        now = self.clock()
        if not limit or now < self._next_lag_check:
            return 0.0
        self._next_lag_check = now + _LAG_CHECK_S
        lag = self.lag(conn)
        if lag is None or lag <= limit:
            return 0.0
        started = now
        poll = _MIN_POLL_S
        next_report = started
        self.pauses += 1
        while lag is not None and lag > limit and not self.stopped():
            if self.clock() >= next_report:
                self.report(
                    Event(
                        "backfill.paused",
                        f"backfill {self.backfill_id}: paused, replication lag "
                        f"{lag / 1000:.1f}s > {limit / 1000:g}s",
                        level="warning",
                        data={
                            "name": self.backfill_id,
                            "reason": "replication_lag",
                            "lag_ms": lag,
                            "max_replication_lag_ms": limit,
                        },
                    )
                )
                next_report = self.clock() + _PAUSE_REPORT_S
            self.sleep(poll)
            poll = min(poll * 2, _MAX_POLL_S)
            lag = self.lag(conn)
        waited = (self.clock() - started) * 1000
        self.paused_ms += waited
        if lag is not None and lag > limit:
            return waited  # stopped while it lagged: nothing resumes
        self.report(
            Event(
                "backfill.resumed",
                f"backfill {self.backfill_id}: replication caught up after "
                f"{waited / 1000:.1f}s, resuming",
                data={"name": self.backfill_id, "paused_ms": round(waited)},
            )
        )
        return waited

    def after_batch(
        self, waiters: int, batch_ms: float = 0.0, active: int | None = None
    ) -> float:
        """Sleep between batches; returns ms. ``active``: other sessions running a query at
        the batch's end (``None``: not read, so not busy). On a busy server the backfill
        yields ``nice_ratio`` times the batch's duration, so the application keeps most of
        the server (gh-ost's nice-ratio, applied only under load, so an idle server
        backfills at full speed)."""
        return self.pause_after(waiters, batch_ms, busy=self.observe_load(active))

    def pause_after(self, waiters: int, batch_ms: float, *, busy: bool) -> float:
        """Sleep between batches, ``busy`` being the verdict of :meth:`observe_load` on the
        batch just committed; returns ms."""
        pause = float(self.options.sleep_ms)
        if waiters and self.options.lock_wait_pause_ms:
            pause += self.options.lock_wait_pause_ms
        if busy and self.options.nice_ratio:
            share = self.options.nice_ratio * batch_ms
            pause += share
            self.yielded_ms += share
        if pause:
            self.sleep(pause / 1000)
            self.paused_ms += pause
        return pause

    def observe_load(self, active: int | None) -> bool:
        """Whether the server is busy, from the smoothed count of other sessions running a
        query at each batch's end (``None``: not read — ``nice_ratio`` 0 and no shorter
        busy target — so not busy)."""
        if active is None:
            return False
        load = float(active)
        self.load = (
            load if self.load is None else self.load + _LOAD_WEIGHT * (load - self.load)
        )
        busy = self.load >= self.options.busy_sessions
        # Transitions are reported at most every _PAUSE_REPORT_S (a load near the threshold
        # flips often); a flip back within that time is reported when the time is up.
        if busy != self._reported_busy and self.clock() >= self._next_load_report:
            self._next_load_report = self.clock() + _PAUSE_REPORT_S
            self._reported_busy = busy
            self.report(
                Event(
                    "backfill.load",
                    f"backfill {self.backfill_id}: "
                    + (
                        f"the server is busy (~{self.load:.1f} other sessions running "
                        f"queries): {self._busy_policy()}"
                        if busy
                        else "the server is no longer busy: full speed"
                    ),
                    data={
                        "name": self.backfill_id,
                        "busy": busy,
                        "sessions": round(self.load, 1),
                        "busy_sessions": self.options.busy_sessions,
                        "nice_ratio": self.options.nice_ratio,
                        "target_duration_ms": BatchSizer.target_ms_of(
                            self.options, busy
                        ),
                    },
                )
            )
        return busy

    def _busy_policy(self) -> str:
        options = self.options
        target = BatchSizer.target_ms_of(options, True)
        parts = []
        if target < options.target_duration_ms:
            parts.append(f"batches of ~{target} ms")
        if options.nice_ratio:
            parts.append(f"yielding {options.nice_ratio:g}x each batch's time to them")
        return ", ".join(parts) or "full speed all the same (nice_ratio 0)"
