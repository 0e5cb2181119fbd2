"""Retry policy for lock-bound steps: per-attempt lock timeouts and jittered backoff. Pure.

A step that loses a race for a lock (``lock_not_available`` 55P03, ``deadlock_detected``
40P01, ``serialization_failure`` 40001) rolled back and is simply run again. Two numbers
shape each retry:

* the attempt's ``lock_timeout``: short (``attempt_lock_timeout``, tens of milliseconds) so
  that a waiting ALTER never sits long at the head of a lock queue, where every later reader
  of the table queues behind it. It doubles only after an attempt that lost to *short*
  lock holders (queries, not transactions that are idle or old — those are waited for
  without queueing), never beyond the configured ``lock_timeout``, which stays the ceiling
  of any single wait;
* the pause before the next attempt: exponential backoff with full jitter
  (``uniform(0, min(max_delay, initial_delay * 2**(n-1)))``), so that several runners or
  retrying clients do not synchronise.

Attempts stop at ``max_attempts`` or when the total ``budget`` is spent, whichever is first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from atomig.plan.model import RetryPolicy

# SQLSTATEs worth retrying: the statement lost a race for a lock, nothing is wrong with it.
RETRYABLE_SQLSTATES = frozenset(
    {
        "55P03",  # lock_not_available (lock_timeout)
        "40P01",  # deadlock_detected
        "40001",  # serialization_failure
    }
)


def backoff_ms(policy: RetryPolicy, failures: int, rng: random.Random) -> int:
    """The pause after the ``failures``-th failed attempt: full jitter, capped.

    >>> policy = RetryPolicy(10, 100, 5000, 60000, 50, 1000, 30000)
    >>> rng = random.Random(1)
    >>> all(0 <= backoff_ms(policy, n, rng) <= min(5000, 100 * 2 ** (n - 1))
    ...     for n in range(1, 20))
    True
    """
    ceiling = min(
        policy.max_delay_ms, policy.initial_delay_ms * 2 ** min(failures - 1, 30)
    )
    return round(rng.uniform(0, ceiling))


@dataclass(slots=True)
class AttemptTimeout:
    """The ``lock_timeout`` of the next attempt: starts short, doubles up to the ceiling.

    >>> timeout = AttemptTimeout(start_ms=50, ceiling_ms=2000)
    >>> [timeout.current_ms, timeout.escalate(), timeout.escalate()]
    [50, 100, 200]
    >>> AttemptTimeout(start_ms=5000, ceiling_ms=2000).current_ms
    2000
    """

    start_ms: int
    ceiling_ms: int
    current_ms: int = 0

    def __post_init__(self) -> None:
        ceiling = self.ceiling_ms if self.ceiling_ms > 0 else self.start_ms
        self.ceiling_ms = ceiling
        self.current_ms = min(self.start_ms, ceiling) if self.start_ms > 0 else ceiling

    def escalate(self) -> int:
        """Double the timeout (bounded by the ceiling) and return it."""
        self.current_ms = min(self.ceiling_ms, self.current_ms * 2)
        return self.current_ms


def exhausted(
    policy: RetryPolicy, attempts: int, elapsed_ms: float, next_pause_ms: int = 0
) -> str | None:
    """Why no further attempt may be made, or ``None`` when one may.

    >>> policy = RetryPolicy(3, 100, 5000, 1000, 50, 1000, 30000)
    >>> exhausted(policy, 3, 10)
    'all 3 attempts failed'
    >>> exhausted(policy, 1, 990, 20)
    'the retry budget of 1s is spent'
    >>> exhausted(policy, 1, 10) is None
    True
    """
    from atomig.units import format_duration_ms

    if attempts >= policy.max_attempts:
        return f"all {attempts} attempts failed"
    if elapsed_ms + next_pause_ms >= policy.budget_ms:
        return f"the retry budget of {format_duration_ms(policy.budget_ms)} is spent"
    return None
