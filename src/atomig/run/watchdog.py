"""The lock-queue watchdog: never stay the head of a long lock queue.

While a step's attempt runs, a second connection watches ``pg_stat_activity`` and
``pg_blocking_pids`` for sessions waiting behind the migration's backend — directly, or
further down a lock queue it heads — and shows them live. When one of them has waited
longer than ``max_blocked_wait``, the watchdog cancels the attempt (``pg_cancel_backend``
semantics, through libpq's cancel request): its transaction rolls back, the waiting
sessions go through, and the step engine retries the step later, as after a lock timeout
(backoff with jitter, within the retry budget). The cancel is journaled with who was
waiting.

Only transaction steps are cancelled: an autocommit step is a ``CREATE INDEX
CONCURRENTLY`` or the like, whose locks block neither reads nor writes and whose cancel
would throw away the whole build; sessions waiting behind one are shown, not acted on.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from typing import Any

import psycopg

from atomig.db.activity import Waiter, waiting_behind
from atomig.db.connect import connect
from atomig.plan.model import Step, StepKind
from atomig.run.context import RunContext
from atomig.verify.config import WatchdogSettings


class Watch:
    """Watches one attempt of one step (a context manager around the attempt).

    ``cancelled`` says why the watchdog cancelled the attempt (``None``: it did not).
    """

    def __init__(self, watchdog: Watchdog | None, ctx: RunContext, step: Step) -> None:
        self.watchdog, self.ctx, self.step = watchdog, ctx, step
        self.cancelled: str | None = None
        self.waiters: list[Waiter] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> Watch:
        if self.watchdog is not None:
            pid = self.ctx.conn.info.backend_pid
            self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        if self.cancelled and exc[0] is None:
            # The attempt finished just as the cancel was sent: a cancel request that
            # arrives later would hit the next query instead. PostgreSQL ignores one that
            # arrives while the backend is idle; this absorbs one that does not.
            with suppress(psycopg.errors.QueryCanceled):
                self.ctx.conn.execute(b"SELECT 1")

    def _run(self, pid: int) -> None:
        assert self.watchdog is not None
        try:
            self.watchdog.watch(self, pid)
        except Exception as exc:  # the watchdog must never break the step it watches
            self._error = exc
            self.ctx.say(
                "watchdog.error",
                f"the lock-queue watchdog stopped: {exc}",
                level="warning",
            )

    @property
    def stopped(self) -> bool:
        """The attempt ended."""
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when the attempt ended meanwhile."""
        return not self._stop.wait(seconds)


class Watchdog:
    """One per run: its settings and its own connection (opened on first use)."""

    def __init__(self, ctx: RunContext, settings: WatchdogSettings) -> None:
        self.settings = settings
        self._target = ctx.target
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._ctx = ctx

    def _connection(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = connect(self._target, application_name="atomig:watchdog")
                self._ctx.opened.append(self._conn)
            return self._conn

    def watch(self, watch: Watch, pid: int) -> None:
        """The loop of one attempt: look, show, and cancel when it is time."""
        settings, ctx, step = self.settings, watch.ctx, watch.step
        label = f"step {step.index + 1}"
        may_cancel = step.kind is StepKind.TRANSACTION and not step.concurrent
        conn = self._connection()
        last_said = 0.0
        shown: set[int] = set()
        while watch.wait(settings.poll_ms / 1000):
            waiters = waiting_behind(conn, pid)
            if not waiters:
                continue
            watch.waiters = waiters
            longest = waiters[0]
            now = time.monotonic()
            new = {w.pid for w in waiters} - shown
            if new or now - last_said >= settings.report_every_ms / 1000:
                last_said, shown = now, shown | new
                listed = "; ".join(w.describe() for w in waiters[:3])
                more = f" (+{len(waiters) - 3} more)" if len(waiters) > 3 else ""
                ctx.say(
                    "watchdog.waiting",
                    f"{label}: {len(waiters)} session(s) waiting behind the migration: "
                    f"{listed}{more}",
                    level="warning",
                    step=step.index + 1,
                    waiting=[w.to_dict() for w in waiters],
                )
            clients = [w for w in waiters if w.backend_type == "client backend"]
            worst = max((w.wait_ms for w in clients), default=0)
            if (
                may_cancel
                and worst >= settings.max_blocked_wait_ms
                and not watch.cancelled
            ):
                watch.cancelled = (
                    f"{len(clients)} session(s) waited behind it, the longest "
                    f"{worst / 1000:.1f}s (over max_blocked_wait "
                    f"{settings.max_blocked_wait_ms / 1000:g}s): {longest.describe()}"
                )
                ctx.say(
                    "watchdog.cancel",
                    f"{label}: cancelling the attempt so the queue behind it can drain; "
                    f"{watch.cancelled}; the step is retried later",
                    level="warning",
                    step=step.index + 1,
                    waiting=[w.to_dict() for w in waiters],
                )
                ctx.conn.cancel_safe()
                return


def watchdog_for(ctx: RunContext, settings: WatchdogSettings) -> None:
    """Install the watchdog on ``ctx`` (every later step attempt is watched)."""
    if not settings.enabled:
        return
    watchdog = Watchdog(ctx, settings)
    ctx.step_watch = lambda c, step: Watch(watchdog, c, step)
