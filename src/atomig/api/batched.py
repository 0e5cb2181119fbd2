"""Backfill verbs: run one batched, checkpointed data change outside a migration, and list
the checkpoints.

**A backfill commits once per batch.** It is resumable, not atomic: a failure or a kill keeps
every committed window, and running it again (same name, same statement) continues after the
last one.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atomig.batched import checkpoint
from atomig.batched.batcher import run_backfill
from atomig.batched.checkpoint import Checkpoint
from atomig.batched.job import BackfillFailed, BackfillJob, BackfillResult
from atomig.config import Settings
from atomig.db.connect import connect
from atomig.errors import Interrupted, SourceError, SourceLocation, UsageError
from atomig.events import Event, Reporter, null_reporter
from atomig.plan.backfill import backfill_options
from atomig.plan.envelope import SessionEnvelope
from atomig.plan.model import RetryPolicy
from atomig.run import journal, ledger_schema
from atomig.run.interrupt import Interrupt, handle_signals
from atomig.run.runner import current_actor
from atomig.run.runner_lock import runner_lock
from atomig.run.session import open_session
from atomig.sql.parse import Statement, parse_script

__all__ = ["BackfillResult", "backfill", "backfill_status"]

_MAX_NAME = 200
# The ledger version that created the backfills table (entry 3 of _LEDGER_MIGRATIONS).
_CHECKPOINTS_SINCE = 3


def _statement(sql_text: str | None, file: Path | None) -> tuple[Statement, str]:
    if (sql_text is None) == (file is None):
        raise UsageError(
            "give the backfill's SQL either as a file or as --sql, not both"
        )
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{file}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{file}: cannot read: {exc}") from None
        path = str(file)
    else:
        text, path = str(sql_text), "<sql>"
    script = parse_script(text, path)
    if not script.statements:
        raise SourceError(f"{path}: no statement to run")
    if len(script.statements) > 1:
        extra = script.statements[1]
        raise SourceError(
            "a backfill runs exactly one UPDATE or DELETE; this is a second statement",
            location=SourceLocation(path, extra.span.line, extra.span.column),
            hint="put each backfill in its own file (or migration step)",
        )
    return script.statements[0], path


def _name(name: str | None, file: Path | None) -> str:
    if name is None:
        if file is None:
            raise UsageError(
                "--name is required with --sql: it is what a resumed run finds its "
                "checkpoint by"
            )
        name = file.stem
    name = name.strip()
    if not name or len(name) > _MAX_NAME:
        raise UsageError(f"a backfill name has 1 to {_MAX_NAME} characters")
    return name


def _ensure_ledger(settings: Settings, session: Any, report: Reporter) -> None:
    """Create or upgrade the ledger, under the runner lock, only when it is needed (a
    running migration holds that lock; a backfill need not wait for it otherwise)."""
    schema = settings.ledger_schema
    if ledger_schema.ledger_ready(session.conn, schema):
        return
    with runner_lock(session.target, schema, settings.runner_lock_wait_ms, report):
        ledger_schema.ensure_ledger(session.conn, schema)


def backfill(
    settings: Settings,
    sql: str | None = None,
    *,
    file: Path | str | None = None,
    name: str | None = None,
    params: Sequence[Any] = (),
    options: Mapping[str, Any] | None = None,
    restart: bool = False,
    report: Reporter = null_reporter,
) -> BackfillResult:
    """Run an ``UPDATE``/``DELETE`` in key-window batches, resumable by ``name``.

    **Commits once per batch** (each window is its own transaction, with its checkpoint).

    Args:
        settings: the project's settings (``atomig.load_settings()``).
        sql: the statement; or ``file``, a file holding it (its stem is the default name).
        name: the checkpoint's name: running the same name again resumes (or, when it
            completed, does nothing).
        params: values for the statement's ``$1 … $n`` placeholders, sent as parameters.
        options: backfill options by name (``batch_size``, ``sleep`` …), over the config's
            ``[backfill]`` and the statement's directive.
        restart: forget the checkpoint and start again from the first key.

    Raises:
        UsageError, SourceError, ConfigError: before anything runs.
        BackfillFailed: a batch failed; committed batches are kept.
        BackfillChanged: ``name`` has a checkpoint for another statement.
        RunnerBusy: another session runs the same backfill.
        Interrupted: SIGINT, SIGTERM or SIGHUP stopped it; the batch in flight was
            cancelled and rolled back with its checkpoint (committed batches stay).
    """
    path_arg = Path(file) if file is not None else None
    statement, path = _statement(sql, path_arg)
    backfill_id = _name(name, path_arg)
    chosen = backfill_options(settings, statement, path, options)
    session_defaults = settings.session
    application_name = f"backfill:{backfill_id}".encode()[:63].decode(errors="ignore")
    envelope = SessionEnvelope(
        lock_timeout_ms=session_defaults.lock_timeout_ms,
        statement_timeout_ms=session_defaults.statement_timeout_ms,
        idle_in_transaction_session_timeout_ms=session_defaults.idle_in_transaction_session_timeout_ms,
        application_name=application_name,
    )
    r = settings.retry
    retry = RetryPolicy(
        max_attempts=r.max_attempts,
        initial_delay_ms=r.initial_delay_ms,
        max_delay_ms=r.max_delay_ms,
        budget_ms=r.budget_ms,
        attempt_lock_timeout_ms=r.attempt_lock_timeout_ms,
        blocker_age_ms=r.blocker_age_ms,
        blocker_wait_ms=r.blocker_wait_ms,
    )
    job = BackfillJob(
        id=backfill_id,
        statement=statement,
        path=path,
        options=chosen,
        envelope=envelope,
        retry=retry,
        ledger_schema=settings.ledger_schema,
        run_id=str(uuid.uuid4()),
        params=tuple(params),
        restart=restart,
        lock_wait_ms=settings.runner_lock_wait_ms,
    )
    interrupt = Interrupt()
    with open_session(settings, report, application_name=application_name) as session:
        _ensure_ledger(settings, session, report)
        started = datetime.now(UTC)
        # A second connection finds the next window while a batch runs.
        side = connect(session.target, application_name=application_name)
        try:
            # SIGINT, SIGTERM, SIGHUP: cancel the batch in flight (it rolls back with its
            # checkpoint) rather than die and leave the server running it for nobody.
            with handle_signals(interrupt, _on_signal(report)):
                result = run_backfill(
                    session.conn,
                    job,
                    report,
                    side=side,
                    stop=lambda: interrupt.requested,
                    cancellable=lambda: interrupt.cancellable(session.conn.cancel_safe),
                )
        except Exception as exc:
            if not interrupt.requested:
                if isinstance(exc, BackfillFailed):
                    _journal(
                        session.conn, job, started, "failed", exc.details, exc.message
                    )
                raise
            with contextlib.suppress(Exception):  # the session may be gone too
                _journal(session.conn, job, started, "interrupted", {})
            raise Interrupted(
                f"backfill {job.id} stopped by {interrupt.signal_name}: its committed "
                "batches are kept; a batch in flight was cancelled and rolled back with "
                "its checkpoint",
                hint="every committed batch is kept in its checkpoint; run the same "
                "command again to resume after the last one",
            ) from None
        finally:
            side.close()
        if result.status == "completed":
            _journal(session.conn, job, started, "completed", result.to_dict())
        return result


def _on_signal(report: Reporter) -> Callable[[str, bool], None]:
    def on_signal(name: str, first: bool) -> None:
        report(
            Event(
                "interrupt",
                f"{name}: cancelling the batch in flight (it rolls back with its "
                "checkpoint; committed batches are kept)"
                if first
                else f"{name}: already stopping",
                level="warning",
            )
        )

    return on_signal


def _journal(
    conn: Any,
    job: BackfillJob,
    started: datetime,
    outcome: str,
    details: dict[str, Any],
    message: str | None = None,
) -> None:
    """The run's totals in the journal (``version`` ``backfill:<name>``)."""
    if conn.closed or conn.broken:
        return
    entry = journal.JournalEntry(
        run_id=job.run_id,
        version=f"backfill:{job.id}",
        direction="backfill",
        step_index=0,
        step_kind="backfill",
        statement_hash=job.statement_hash,
        attempt=1,
        started_at=started,
        outcome=outcome,
        sqlstate=details.get("sqlstate"),
        message=message,
        details={**details, "actor": current_actor()},
    )
    with conn.transaction():
        journal.insert_journal(conn, job.ledger_schema, entry)


def backfill_status(
    settings: Settings, name: str | None = None, *, report: Reporter = null_reporter
) -> list[Checkpoint]:
    """Checkpoints of backfills (one, by ``name``), newest first. Reads only."""
    with open_session(settings, report) as session:
        schema = settings.ledger_schema
        if _CHECKPOINTS_SINCE not in ledger_schema.applied_ledger_changes(
            session.conn, schema
        ):
            return []
        if name is not None:
            found = checkpoint.load(session.conn, schema, name)
            if found is None:
                raise UsageError(f"no backfill named {name!r}")
            return [found]
        return checkpoint.list_checkpoints(session.conn, schema)
