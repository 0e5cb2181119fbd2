"""SIGINT / SIGTERM / SIGHUP during a migration: cancel the running statement, then finish
cleanly.

Python's default turns Ctrl-C into ``KeyboardInterrupt`` wherever the interpreter happens to
be — possibly between a step's commit and its ledger update. While a migration runs, atomig
instead records the signal, asks the server to cancel the statement in flight (the step fails
with ``query_canceled`` and its transaction rolls back), and lets the runner apply the failure
policy (roll back, or stop resumable) before it exits. SIGHUP (the terminal closed, an ssh
session dropped: the commonest way a 3 a.m. run loses its operator) is handled the same way,
unless it is ignored (``nohup``: the run then goes on without its terminal) or the
embedding program handles it;
by default it would end the process between any two instructions, as ``kill -9`` does, and
leave the statement in flight running on the server. A second signal does not interrupt
that; ``kill -9`` does, and the next ``atomig up`` or ``atomig recover`` picks up from the
ledger.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

_SLICE_S = 0.05


class Interrupt:
    """Whether a stop was requested, and a sleep that wakes up when it is."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.cancel: Callable[[], None] | None = None
        self.shielded = False

    @property
    def received(self) -> bool:
        """A SIGINT or SIGTERM arrived (even while shielded)."""
        return self.signal_name is not None

    @property
    def requested(self) -> bool:
        """A SIGINT or SIGTERM arrived and the work in progress should stop."""
        return self.signal_name is not None and not self.shielded

    @contextmanager
    def shield(self) -> Iterator[None]:
        """Finish the block (a rollback) even if a stop was requested."""
        previous, self.shielded = self.shielded, True
        try:
            yield
        finally:
            self.shielded = previous

    @contextmanager
    def cancellable(self, cancel: Callable[[], None]) -> Iterator[None]:
        """Within the block, a stop request cancels the statement in flight with
        ``cancel`` (outside it, ledger writes and catalog reads are never cancelled)."""
        previous, self.cancel = self.cancel, cancel
        try:
            yield
        finally:
            self.cancel = previous

    def request(self, name: str) -> None:
        """Record a stop request and cancel the statement in flight (if any)."""
        first = self.signal_name is None
        self.signal_name = self.signal_name or name
        if first and not self.shielded and self.cancel is not None:
            # Best effort: the runner checks the flag between statements anyway.
            with suppress(Exception):
                self.cancel()

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; return False (early) when a stop is requested."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(_SLICE_S, left))
        return False


@contextmanager
def handle_signals(
    interrupt: Interrupt, on_signal: Callable[[str, bool], None]
) -> Iterator[Interrupt]:
    """Route SIGINT, SIGTERM and SIGHUP to ``interrupt`` for the duration of the block.

    ``on_signal(name, first)`` is called for each signal (to tell the user). Outside the main
    thread signals cannot be handled; the block then runs with Python's defaults.
    """
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return
    previous: dict[signal.Signals, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = not interrupt.received
        on_signal(name, first and not interrupt.shielded)
        interrupt.request(name)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signum == signal.SIGHUP and signal.getsignal(signum) != signal.SIG_DFL:
            # Ignored (nohup: the operator asked for the run to outlive the terminal), or
            # handled by the program that embeds atomig (a configuration reload): only the
            # default, which would end the process mid-step, is replaced.
            continue
        previous[signum] = signal.signal(signum, handler)
    try:
        yield interrupt
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
