"""What a backfill is asked to do (:class:`BackfillJob`) and what it did
(:class:`BackfillResult`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from atomig.errors import AtomigError
from atomig.plan.backfill import BackfillOptions
from atomig.plan.envelope import SessionEnvelope
from atomig.plan.model import RetryPolicy
from atomig.sql.parse import Statement


class BackfillFailed(AtomigError):
    """A backfill stopped on an error; committed windows stay, the next run resumes."""

    exit_code = 1
    kind = "backfill-failed"


class BackfillStopped(Exception):
    """The caller asked the backfill to stop (a signal); committed batches are kept."""


@dataclass(frozen=True, slots=True)
class BackfillJob:
    """One backfill to run: the statement, its identity, and how to pace it.

    Attributes:
        id: the checkpoint's name (``--name``, or ``<version>:<direction>:<step>`` in a
            migration).
        statement: the ``UPDATE``/``DELETE`` as parsed from its file.
        path: that file (for messages).
        params: values for the statement's own ``$1 … $n``.
        restart: forget an existing checkpoint and start from the first key.
        lock_wait_ms: how long to wait for another runner of the same backfill.
    """

    id: str
    statement: Statement
    path: str
    options: BackfillOptions
    envelope: SessionEnvelope
    retry: RetryPolicy
    ledger_schema: str
    run_id: str
    params: tuple[Any, ...] = ()
    restart: bool = False
    lock_wait_ms: int = 30_000

    @property
    def statement_hash(self) -> str:
        """SHA-256 of the statement text: a checkpoint resumes only the same statement."""
        return hashlib.sha256(self.statement.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What a backfill did: this run, and the totals over every run of it."""

    id: str
    relation: str
    key_columns: tuple[str, ...]
    status: str
    batches: int
    rows_affected: int
    rows_scanned: int
    retries: int
    runs: int
    resumed: bool
    run_batches: int
    run_rows_affected: int
    duration_ms: int
    paused_ms: int
    analyzed: bool
    yielded_ms: int = 0
    batch_ms: tuple[float, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of a backfill's outcome."""
        return {
            "name": self.id,
            "relation": self.relation,
            "key_columns": list(self.key_columns),
            "status": self.status,
            "resumed": self.resumed,
            "totals": {
                "batches": self.batches,
                "rows_affected": self.rows_affected,
                "rows_scanned": self.rows_scanned,
                "retries": self.retries,
                "runs": self.runs,
            },
            "this_run": {
                "batches": self.run_batches,
                "rows_affected": self.run_rows_affected,
                "duration_ms": self.duration_ms,
                "paused_ms": self.paused_ms,
                "yielded_ms": self.yielded_ms,
            },
            "analyzed": self.analyzed,
        }
