"""Plans: a migration as ordered steps, each with its kind, envelope and retry policy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from atomig.plan.envelope import SessionEnvelope
from atomig.source.model import MigrationId
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
    """One unit of execution: a transaction, an autocommit statement, or a backfill."""

    index: int
    kind: StepKind
    statements: tuple[Statement, ...]
    envelope: SessionEnvelope
    retry: RetryPolicy

    @property
    def statement_hash(self) -> str:
        """SHA-256 of the step's statements (journaled, to match a journal row to a step)."""
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

    @property
    def is_single_transaction(self) -> bool:
        """True when the whole migration is one transaction step (or empty)."""
        return (
            all(step.kind is StepKind.TRANSACTION for step in self.steps)
            and len(self.steps) <= 1
        )
