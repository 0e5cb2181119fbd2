"""Dry runs of ``atomig up``: what would happen, without changing the target.

* On a scratch database (``up --dry-run``): the pending migrations run for real, every step
  of them, with the runner, on a copy of the schema built by replaying the applied
  migrations; the scratch database is dropped afterwards (:mod:`atomig.verify.scratch`).
* On the target (``up --dry-run=target``): the transaction steps of every pending migration
  run statement by statement inside ONE transaction that is always rolled back, each under
  a tight ``lock_timeout`` and a capped ``statement_timeout``, so that the real data, sizes
  and constraints answer. Statements PostgreSQL refuses in a transaction block
  (``CREATE INDEX CONCURRENTLY`` …) cannot be tried this way and are skipped, said so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from atomig.plan.envelope import application_name_for
from atomig.plan.model import Plan, StepKind
from atomig.run.executor import apply_envelope, failure_from
from atomig.sql.classify import statement_facts
from atomig.sql.versions import ServerVersion

Conn = psycopg.Connection[Any]
OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True, slots=True)
class DryRunStatement:
    """One statement tried on the target."""

    step: int
    line: int
    column: int
    text: str
    outcome: str
    duration_ms: int = 0
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "step": self.step,
            "line": self.line,
            "column": self.column,
            "statement": self.text,
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class DryRunMigration:
    """One migration's dry run: its outcome, how long, and (on the target) each statement."""

    version: str
    slug: str
    outcome: str
    duration_ms: int
    steps: int
    message: str | None = None
    location: str | None = None
    step_durations_ms: tuple[int, ...] = ()
    statements: tuple[DryRunStatement, ...] = ()

    @property
    def name(self) -> str:
        """``<version>_<slug>``."""
        return f"{self.version}_{self.slug}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": self.version,
            "slug": self.slug,
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
            "steps": self.steps,
            "message": self.message,
            "location": self.location,
            "step_durations_ms": list(self.step_durations_ms),
            "statements": [s.to_dict() for s in self.statements],
        }


def _why(exc: psycopg.Error, lock_timeout_ms: int, statement_timeout_ms: int) -> str:
    message = (exc.diag.message_primary or str(exc)).strip()
    if exc.sqlstate == "55P03":
        return (
            f"{message}: its lock was not granted within {lock_timeout_ms} ms (the dry "
            "run's limit) — the table is in use; a real run waits without queueing and "
            "retries"
        )
    if exc.sqlstate == "57014":
        return (
            f"{message}: it ran longer than {statement_timeout_ms} ms (the dry run's "
            "limit) and was cancelled, holding its locks meanwhile"
        )
    return message


def _statement_text(text: str) -> str:
    one = " ".join(text.split())
    return one[:200] + (" …" if len(one) > 200 else "")


def dry_run_on_target(
    conn: Conn,
    plans: list[Plan],
    version: ServerVersion,
    *,
    lock_timeout_ms: int,
    statement_timeout_ms: int,
) -> list[DryRunMigration]:
    """Try the transaction steps of ``plans`` on the target in one transaction that is
    always rolled back (``conn`` must be idle, in autocommit mode).

    **Never commits**: the transaction is rolled back whatever happens, and a statement that
    would end it (transaction control) is refused rather than run.
    """
    results: list[DryRunMigration] = []
    conn.execute(b"BEGIN")
    try:
        for plan in plans:
            result = _try_plan(
                conn, plan, version, lock_timeout_ms, statement_timeout_ms
            )
            results.append(result)
            if result.outcome == FAILED:
                break  # the later migrations build on this one
    finally:
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.execute(b"ROLLBACK")
    return results


def _try_plan(
    conn: Conn,
    plan: Plan,
    version: ServerVersion,
    lock_timeout_ms: int,
    statement_timeout_ms: int,
) -> DryRunMigration:
    started = time.monotonic()
    tried: list[DryRunStatement] = []
    migration = plan.migration
    failure: tuple[str, str] | None = None
    name = application_name_for(migration.version, f"dry_run_{migration.slug}")
    for step in plan.steps:
        for statement in step.statements:
            where = (step.index + 1, statement.span.line, statement.span.column)
            text = _statement_text(statement.text)
            if step.kind is StepKind.AUTOCOMMIT:
                tried.append(
                    DryRunStatement(
                        *where,
                        text,
                        SKIPPED,
                        message="cannot run inside a transaction block, so it cannot "
                        "be tried and rolled back: not run",
                    )
                )
                continue
            if statement_facts(statement, version).transaction_control:
                tried.append(DryRunStatement(*where, text, SKIPPED, message="not run"))
                continue
            envelope = replace(
                step.envelope,
                lock_timeout_ms=lock_timeout_ms,
                statement_timeout_ms=min(
                    statement_timeout_ms,
                    step.envelope.statement_timeout_ms or statement_timeout_ms,
                ),
                application_name=name,
            )
            apply_envelope(conn, envelope, local=True)
            began = time.monotonic()
            try:
                conn.execute(statement.text.encode("utf-8"))
            except psycopg.Error as exc:
                took = round((time.monotonic() - began) * 1000)
                why = _why(exc, lock_timeout_ms, envelope.statement_timeout_ms)
                tried.append(DryRunStatement(*where, text, FAILED, took, why))
                located = failure_from(exc, statement, plan.path).location
                failure = (why, str(located))
                break
            took = round((time.monotonic() - began) * 1000)
            if conn.info.transaction_status != TransactionStatus.INTRANS:
                # Nothing a migration statement does may end our transaction; if one did,
                # say so as loudly as we can.
                raise RuntimeError(
                    f"{plan.path}:{statement.span.line}: the dry run's transaction ended "
                    "after this statement: its effects may have been COMMITTED"
                )
            tried.append(DryRunStatement(*where, text, OK, took))
        if failure is not None:
            break
    return DryRunMigration(
        migration.version,
        migration.slug,
        FAILED if failure else OK,
        round((time.monotonic() - started) * 1000),
        len(plan.steps),
        failure[0] if failure else None,
        failure[1] if failure else None,
        statements=tuple(tried),
    )
