"""The lock-queue watchdog: never stay the head of a long lock queue.

While a step's attempt runs, a second connection watches ``pg_stat_activity`` and
``pg_blocking_pids`` for sessions waiting behind the migration's backend — directly, or
further down a lock queue it heads — and shows them live. When one of them has waited
longer than ``max_blocked_wait``, the watchdog cancels the attempt (libpq's cancel
request, as ``pg_cancel_backend`` would): its transaction rolls back, the waiting sessions
go through, and the step engine retries the step later, as after a lock timeout (backoff
with jitter, within the retry budget). The cancel is journaled with who was waiting.

Only transaction steps are cancelled: an autocommit step is a ``CREATE INDEX
CONCURRENTLY`` or the like, whose locks block neither reads nor writes and whose cancel
would throw away the whole build; sessions waiting behind one are shown, not acted on.

It also says what a step that has run for ``progress_every`` is doing: its phase and
share done, where PostgreSQL tracks them (index builds, CLUSTER, VACUUM FULL), else what
it waits on (:mod:`atomig.db.progress`).

One thread per run does the watching; an attempt only hands it over (no thread is started
per attempt, and an attempt shorter than ``poll`` costs no query at all).
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from typing import Any

import psycopg

from atomig.db.activity import waiting_behind
from atomig.db.connect import connect
from atomig.db.progress import backend_progress
from atomig.plan.model import Step, StepKind
from atomig.run.context import RunContext
from atomig.units import format_elapsed
from atomig.verify.config import WatchdogSettings

_IDLE_EXIT_S = 2.0


class Watch:
    """One attempt of one step, as the watchdog sees it (a context manager around the
    attempt). ``cancelled`` says why the watchdog cancelled the attempt, if it did."""

    def __init__(self, watchdog: Watchdog, ctx: RunContext, step: Step) -> None:
        self.watchdog, self.ctx, self.step = watchdog, ctx, step
        self.cancelled: str | None = None
        self.pid = 0
        self.since = 0.0
        self.started = 0.0
        self.progressed = 0.0  # when progress was last reported

    def __enter__(self) -> Watch:
        self.pid = self.ctx.conn.info.backend_pid
        self.since = self.started = self.progressed = time.monotonic()
        self.watchdog.begin(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.watchdog.end(self)
        if self.cancelled and exc[0] is None:
            # The attempt finished just as the cancel was sent: a cancel request that
            # arrives later would hit the next query instead. PostgreSQL ignores one that
            # arrives while the backend is idle; this absorbs one that does not.
            with suppress(psycopg.errors.QueryCanceled):
                self.ctx.conn.execute(b"SELECT 1")


class Watchdog:
    """One per run: its settings, its connection and thread (both started on first use)."""

    def __init__(self, ctx: RunContext, settings: WatchdogSettings) -> None:
        self.settings = settings
        self._ctx = ctx
        self._cond = threading.Condition()
        self._current: Watch | None = None
        self._acting: Watch | None = None
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None

    def begin(self, watch: Watch) -> None:
        """An attempt starts: watch it (the thread looks once it ran for ``poll``)."""
        with self._cond:
            self._current = watch
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True)
                self._thread.start()

    def end(self, watch: Watch) -> None:
        """The attempt ended: stop watching it (after a cancel in flight is sent)."""
        with self._cond:
            self._current = None
            while self._acting is watch:
                self._cond.wait()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = connect(self._ctx.target, application_name="atomig:watchdog")
            self._ctx.opened.append(self._conn)
        return self._conn

    def _next(self) -> Watch | None:
        """The attempt to look at next, once it has run for a poll interval; ``None``
        after a while without attempts (the next attempt starts a new thread)."""
        poll = self.settings.poll_ms / 1000
        idle = 0.0
        while True:
            # Polling, not notified: an attempt costs the runner two lock acquisitions.
            time.sleep(poll)
            with self._cond:
                watch = self._current
                if watch is None:
                    idle += poll
                    if idle > _IDLE_EXIT_S:
                        self._thread = None
                        return None
                    continue
                idle = 0.0
                if time.monotonic() - watch.since >= poll:
                    self._acting = watch
                    return watch

    def _loop(self) -> None:
        shown: dict[int, set[int]] = {}
        said: dict[int, float] = {}
        while (watch := self._next()) is not None:
            try:
                self._look(watch, shown.setdefault(id(watch), set()), said)
            except (
                Exception
            ) as exc:  # the watchdog must never break the step it watches
                watch.ctx.say(
                    "watchdog.error",
                    f"the lock-queue watchdog could not look: {exc}",
                    level="warning",
                )
            finally:
                with self._cond:
                    self._acting = None
                    watch.since = time.monotonic()  # next look after another interval
                    self._cond.notify_all()

    def _look(self, watch: Watch, shown: set[int], said: dict[int, float]) -> None:
        settings, ctx, step = self.settings, watch.ctx, watch.step
        if watch.cancelled:
            return
        label = f"step {step.index + 1}"
        now = time.monotonic()
        every = settings.progress_every_ms / 1000
        if every and now - watch.progressed >= every:
            watch.progressed = now
            self._progress(watch, label, now)
        waiters = waiting_behind(self._connection(), watch.pid)
        if not waiters:
            return
        new = {w.pid for w in waiters} - shown
        if new or now - said.get(id(watch), 0.0) >= settings.report_every_ms / 1000:
            said[id(watch)] = now
            shown |= new
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
        may_cancel = step.kind is StepKind.TRANSACTION and not step.concurrent
        if not may_cancel or worst < settings.max_blocked_wait_ms:
            return
        watch.cancelled = (
            f"{len(clients)} session(s) waited behind it, the longest {worst / 1000:.1f}s "
            f"(over max_blocked_wait {settings.max_blocked_wait_ms / 1000:g}s): "
            f"{clients[0].describe()}"
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

    def _progress(self, watch: Watch, label: str, now: float) -> None:
        """Say what a step that has run for a while is doing (its phase and share done,
        or the lock it waits for)."""
        found = backend_progress(self._connection(), watch.pid)
        if found is None or found.state.startswith("idle"):
            return  # between statements: the next look tells
        elapsed = round((now - watch.started) * 1000)
        watch.ctx.say(
            "step.progress",
            f"{label} ({watch.step.kind.value}) running for "
            f"{format_elapsed(elapsed)}: {found.describe()}",
            step=watch.step.index + 1,
            elapsed_ms=elapsed,
            progress=found.to_dict(),
        )


def watchdog_for(ctx: RunContext, settings: WatchdogSettings) -> None:
    """Install the watchdog on ``ctx`` (every later step attempt is watched)."""
    if not settings.enabled:
        return
    watchdog = Watchdog(ctx, settings)
    ctx.step_watch = lambda c, step: Watch(watchdog, c, step)
