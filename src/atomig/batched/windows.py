"""Key windows: pure arithmetic of the keyset walk, its progress and its ETA.

A backfill walks the table's key in half-open windows ``(lower, upper]``. The first window
has no lower bound; each next one starts where the last committed one ended (the
checkpoint's ``last_key``). A window's upper bound is found by keyset pagination — the
``size``-th key after the cursor, or the last key when fewer remain — so windows hold
``size`` keys whatever the key's type or density, and a window is always a range of the key:
rows inserted into it after discovery are covered too. A window that found fewer than
``size`` keys reached the end of the table as it was then: it is the walk's last, so that a
table with steady inserts cannot keep a paced walk chasing its tail for ever.

Keys here are tuples of any mutually comparable values; the batcher uses the text forms
PostgreSQL prints, the tests use integers and strings. Tuples compare like PostgreSQL's row
comparison ``(a, b) > (x, y)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=tuple[Any, ...])


@dataclass(frozen=True, slots=True)
class Probe(Generic[K]):
    """What window discovery found after the cursor.

    Attributes:
        nth: the ``size``-th key after the cursor, when at least ``size`` keys remain.
        last: otherwise the last key (``None``: no key remains).
        remaining: otherwise how many keys remain (fewer than ``size``).
    """

    nth: K | None
    last: K | None = None
    remaining: int = 0


@dataclass(frozen=True, slots=True)
class Window(Generic[K]):
    """The keys ``lower < key <= upper`` (``lower`` ``None``: from the first key);
    ``last`` when discovery found no more keys after ``upper`` (the walk's end).

    >>> w = Window(None, (10,), 10)
    >>> w.contains((1,)), w.contains((11,))
    (True, False)
    """

    lower: K | None
    upper: K
    keys: int
    last: bool = False

    def contains(self, key: K) -> bool:
        """True when ``key`` falls in the window."""
        return (self.lower is None or key > self.lower) and key <= self.upper

    def params(self) -> tuple[Any, ...]:
        """The bounds as statement parameters: lower columns (if any), then upper.

        >>> Window((1, "a"), (5, "b"), 3).params()
        (1, 'a', 5, 'b')
        """
        return (*(self.lower or ()), *self.upper)


def next_window(cursor: K | None, size: int, probe: Probe[K]) -> Window[K] | None:
    """The window after ``cursor`` given what discovery found, or ``None`` when done.

    >>> next_window(None, 3, Probe((3,)))
    Window(lower=None, upper=(3,), keys=3, last=False)
    >>> next_window((3,), 3, Probe(None, (4,), 1))
    Window(lower=(3,), upper=(4,), keys=1, last=True)
    >>> next_window((4,), 3, Probe(None)) is None
    True
    """
    if size < 1:
        raise ValueError(f"a window holds at least one key, not {size}")
    if probe.nth is not None:
        return Window(cursor, probe.nth, size)
    if probe.last is None:
        return None
    return Window(cursor, probe.last, max(probe.remaining, 1), last=True)


def discover(keys: list[K], cursor: K | None, size: int) -> Probe[K]:
    """Window discovery over a sorted list: what the keyset queries return on a table.

    It is the reference the SQL is tested against, and the model the property tests walk.

    >>> discover([(1,), (2,), (5,)], (1,), 5)
    Probe(nth=None, last=(5,), remaining=2)
    """
    after = [k for k in keys if cursor is None or k > cursor]
    if len(after) >= size:
        return Probe(after[size - 1])
    return Probe(None, after[-1] if after else None, len(after))


def fraction_done(done: int, total: int) -> float | None:
    """Share of the work done, from rows scanned and the estimated total (``None`` when the
    total is unknown); never above 1, since estimates can be low.

    >>> fraction_done(50, 200)
    0.25
    >>> fraction_done(300, 200)
    1.0
    """
    if total <= 0:
        return None
    return min(done / total, 1.0)


def key_fraction(first: float, last: float, cursor: float) -> float:
    """Share of a numeric key range ``[first, last]`` walked once ``cursor`` is done.

    >>> key_fraction(1, 101, 51)
    0.5
    """
    if last <= first:
        return 1.0
    return min(max((cursor - first) / (last - first), 0.0), 1.0)


def eta_seconds(
    start: float, fraction: float | None, active_seconds: float
) -> float | None:
    """Seconds left at this run's pace: it went from ``start`` to ``fraction`` in
    ``active_seconds`` (``None`` before there is a pace).

    >>> eta_seconds(0.0, 0.25, 10.0)
    30.0
    >>> eta_seconds(0.5, 0.75, 10.0)
    10.0
    """
    if fraction is None or fraction <= start or active_seconds <= 0:
        return None
    return active_seconds * (1 - fraction) / (fraction - start)
