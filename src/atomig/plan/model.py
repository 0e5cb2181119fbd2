"""Plans: a migration as ordered steps, each with its kind, envelope and retry policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from atomig.plan.envelope import SessionEnvelope
from atomig.source.model import MigrationId
from atomig.sql.facts import RelationLock
from atomig.sql.parse import Statement


class StepKind(Enum):
    """How a step runs.

    TRANSACTION: its statements run in one transaction with the journal row.
    AUTOCOMMIT: one statement that PostgreSQL refuses inside a transaction block
    (``CREATE INDEX CONCURRENTLY`` …), sent alone.
    BACKFILL: a data change run in key-window batches, each its own transaction.
    """

    TRANSACTION = "transaction"
    AUTOCOMMIT = "autocommit"
    BACKFILL = "backfill"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retry of lock-bound failures (see :class:`atomig.config.RetrySettings`)."""

    max_attempts: int
    initial_delay_ms: int
    max_delay_ms: int
    budget_ms: int
    attempt_lock_timeout_ms: int
    blocker_age_ms: int
    blocker_wait_ms: int


@dataclass(frozen=True, slots=True)
class Step:
    """One unit of execution: a transaction, an autocommit statement, or a backfill.

    ``locks`` are the table locks the step is known to take on relations that exist before
    the migration (a relation created earlier in the same migration conflicts with nobody);
    the runner waits for conflicting holders of those before it queues for them.
    ``concurrent`` marks a CONCURRENTLY statement, whose waits block neither reads nor
    writes: it runs with the full lock_timeout rather than short attempts.
    """

    index: int
    kind: StepKind
    statements: tuple[Statement, ...]
    envelope: SessionEnvelope
    retry: RetryPolicy
    locks: tuple[RelationLock, ...] = ()
    concurrent: bool = False

    @property
    def short_attempts(self) -> bool:
        """Lock waits of this step can stall other sessions' reads or writes, so it
        acquires its locks in short attempts (``retry.attempt_lock_timeout_ms`` at first)."""
        return not self.concurrent and self.kind is not StepKind.BACKFILL

    @property
    def first_attempt_lock_timeout_ms(self) -> int:
        """The ``lock_timeout`` of the step's first attempt."""
        ceiling = self.envelope.lock_timeout_ms
        if not self.short_attempts:
            return ceiling
        start = self.retry.attempt_lock_timeout_ms
        return min(start, ceiling) if ceiling > 0 else start

    @property
    def last_attempt_lock_timeout_ms(self) -> int:
        """The longest ``lock_timeout`` an attempt gets: the envelope's (0: none), except
        that short attempts never go beyond the first one when the envelope sets none, so
        a step that can stall other sessions never waits for a lock without limit."""
        ceiling = self.envelope.lock_timeout_ms
        if not self.short_attempts or ceiling > 0:
            return ceiling
        return self.first_attempt_lock_timeout_ms

    @property
    def statement_hash(self) -> str:
        """SHA-256 of the step's statements (journaled, to match a journal row to a step)."""
        # hashlib loads OpenSSL (3-8 ms): lint plans files but never hashes a step.
        import hashlib

        digest = hashlib.sha256()
        for statement in self.statements:
            digest.update(statement.text.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()

    @property
    def first_line(self) -> int:
        """Line of the step's first statement in its file."""
        return self.statements[0].span.line if self.statements else 0


@dataclass(frozen=True, slots=True)
class Plan:
    """A migration (one direction of it) as ordered steps."""

    migration: MigrationId
    direction: str
    path: str
    steps: tuple[Step, ...]
    envelope: SessionEnvelope
    on_failure: str = "rollback"

    @property
    def is_single_transaction(self) -> bool:
        """True when the whole migration is one transaction step (or empty)."""
        return (
            all(step.kind is StepKind.TRANSACTION for step in self.steps)
            and len(self.steps) <= 1
        )
