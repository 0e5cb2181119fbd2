"""Run (or resume) a backfill: its checkpoint and lock, the walk over key windows
(:class:`atomig.batched.walk.BackfillRun`, where each batch is described), the progress
events and the result.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import psycopg

from atomig.batched import checkpoint
from atomig.batched.discovery import Prefetch, build_queries
from atomig.batched.job import BackfillJob, BackfillResult
from atomig.batched.walk import BackfillRun, Cancellable, rollback_if_open
from atomig.errors import AtomigError
from atomig.events import Event, Reporter

Conn = psycopg.Connection[Any]
_STOP_POLL_S = 0.05

OnComplete = Callable[[Conn, checkpoint.Checkpoint], None]


def run_backfill(
    conn: Conn,
    job: BackfillJob,
    report: Reporter,
    *,
    side: Conn | None = None,
    stop: Callable[[], bool] | None = None,
    on_complete: OnComplete | None = None,
    cancellable: Cancellable | None = None,
) -> BackfillResult:
    """Run (or resume) a backfill to its end on ``conn`` (autocommit).

    **Commits once per window**: each batch is its own transaction, with its checkpoint.
    With ``side`` (a second autocommit connection to the same database), the next window
    is discovered on it while the current batch runs. ``stop()`` is asked before each batch
    (true: raise :class:`BackfillStopped`); each batch runs within ``cancellable()``, so a
    stop request cancels the batch in flight (it rolls back with its checkpoint, and
    :class:`BackfillStopped` is raised); ``on_complete(conn, checkpoint)`` runs inside the
    transaction that marks the checkpoint completed (a migration step's ledger writes).

    Raises:
        SourceError: the statement cannot be batched (not UPDATE/DELETE, no key, updates
            the key, unknown table).
        BackfillChanged: the checkpoint belongs to another statement.
        BackfillFailed: a batch failed (not a lost lock race, or out of retries).
        RunnerBusy: another session runs the same backfill.
    """
    # No server-side prepared statements: psycopg prepares a query on its fifth run, and a
    # PREPARE sent inside a batch that is then rolled back is lost while psycopg still
    # counts on it. Every batch is planned afresh anyway (force_custom_plan).
    threshold = conn.prepare_threshold
    conn.prepare_threshold = None
    try:
        return _run_backfill(conn, job, report, side, stop, on_complete, cancellable)
    finally:
        conn.prepare_threshold = threshold


def _run_backfill(
    conn: Conn,
    job: BackfillJob,
    report: Reporter,
    side: Conn | None,
    stop: Callable[[], bool] | None,
    on_complete: OnComplete | None,
    cancellable: Cancellable | None,
) -> BackfillResult:
    run = BackfillRun(conn, job, report, side)
    run.stop, run.cancellable = stop, cancellable
    if stop is not None:
        # Pauses (sleep, nice ratio, replication lag) end early on a stop request.
        run.pacer.stopped = stop
        run.pacer.sleep = _sleep_unless(stop)
    target, table, key = run.prepare()
    queries = build_queries(target, table, key)
    key_names = [c.name for c in key.columns]
    with checkpoint.backfill_lock(conn, job.ledger_schema, job.id, job.lock_wait_ms):
        state = checkpoint.begin(
            conn,
            job.ledger_schema,
            job.id,
            relation=str(table.name),
            key_columns=key_names,
            statement_hash=job.statement_hash,
            statement=job.statement.text,
            run_id=job.run_id,
            restart=job.restart,
        )
        if state.status == "completed":
            if on_complete is not None:
                with conn.transaction():
                    on_complete(conn, state)
            report(
                Event(
                    "backfill.done",
                    f"backfill {job.id} already completed "
                    f"({state.rows_affected} rows in {state.batches} batches): nothing to do",
                    data={"name": job.id, "already_completed": True},
                )
            )
            return _result(
                state, run, "already_completed", resumed=False, analyzed=False
            )
        cursor = tuple(state.last_key) if state.last_key is not None else None
        resumed = state.batches > 0
        run.measure(table, key, queries)
        where = f"resuming after key {list(cursor)}" if cursor else "from the first key"
        report(
            Event(
                "backfill.start",
                f"backfill {job.id} on {table.name} by {key.index} "
                f"({', '.join(key_names)}): {where}, ~{run.estimate} rows",
                data={
                    "name": job.id,
                    "relation": str(table.name),
                    "key": key_names,
                    "index": key.index,
                    "resumed": resumed,
                    "last_key": list(cursor) if cursor else None,
                    "estimate": run.estimate,
                    "options": job.options.to_dict(),
                },
            )
        )
        if side is not None:
            run.prefetch = Prefetch(side, queries, run.settings)
        try:
            run.walk(queries, cursor, state.rows_scanned)
        except (AtomigError, psycopg.Error):
            raise
        except BaseException as exc:
            # Ctrl-C (or a signal turned exception): say how to resume.
            _interrupted(conn, job, report, exc)
            raise
        finally:
            if run.prefetch is not None:
                run.prefetch.close()
        with conn.transaction():
            checkpoint.finish(conn, job.ledger_schema, job.id, "completed")
            if on_complete is not None:
                done = checkpoint.load(conn, job.ledger_schema, job.id)
                assert done is not None
                on_complete(conn, done)
        analyzed = run.analyze(table) if job.options.analyze else False
        final = checkpoint.load(conn, job.ledger_schema, job.id)
    assert final is not None
    result = _result(final, run, "completed", resumed=resumed, analyzed=analyzed)
    report(
        Event(
            "backfill.done",
            f"backfill {job.id} completed: {result.rows_affected} rows in "
            f"{result.batches} batches"
            + (f" (this run: {result.run_rows_affected} rows)" if resumed else "")
            + (f", {table.name} analyzed" if analyzed else "")
            + (
                f"; yielded {result.yielded_ms / 1000:.1f}s to a busy server"
                if result.yielded_ms >= 100
                else ""
            ),
            data=result.to_dict(),
        )
    )
    return result


def _sleep_unless(stop: Callable[[], bool]) -> Callable[[float], None]:
    """``time.sleep``, in slices, ending early once ``stop()`` is true."""

    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(_STOP_POLL_S, left))

    return sleep


def _interrupted(
    conn: Conn, job: BackfillJob, report: Reporter, exc: BaseException | None
) -> None:
    """Roll back the batch in flight (best effort) and say how to resume."""
    with contextlib.suppress(psycopg.Error):
        rollback_if_open(conn)
    report(
        Event(
            "backfill.interrupted",
            f"backfill {job.id} interrupted ({type(exc).__name__}): committed batches are "
            "kept; run it again to resume",
            level="warning",
            data={"name": job.id},
        )
    )


def _result(
    state: checkpoint.Checkpoint,
    run: BackfillRun,
    status: str,
    *,
    resumed: bool,
    analyzed: bool,
) -> BackfillResult:
    return BackfillResult(
        id=state.id,
        relation=state.relation,
        key_columns=tuple(state.key_columns),
        status=status,
        batches=state.batches,
        rows_affected=state.rows_affected,
        rows_scanned=state.rows_scanned,
        retries=state.retries,
        runs=state.runs,
        resumed=resumed,
        run_batches=run.run_batches,
        run_rows_affected=run.run_rows,
        duration_ms=round((time.monotonic() - run.started) * 1000),
        paused_ms=round(run.pacer.paused_ms),
        yielded_ms=round(run.pacer.yielded_ms),
        analyzed=analyzed,
        batch_ms=tuple(run.batch_ms),
    )
