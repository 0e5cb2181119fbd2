"""Execute statements inside their session envelope, and map failures by SQLSTATE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from atomig.db.compose import set_config_params, set_config_query
from atomig.errors import SourceLocation
from atomig.plan.envelope import SessionEnvelope
from atomig.run.retry import RETRYABLE_SQLSTATES
from atomig.sql.parse import Statement

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class StatementFailure:
    """A statement that failed: which one, where in the file, and PostgreSQL's diagnosis."""

    statement: Statement
    sqlstate: str | None
    message: str
    detail: str | None
    hint: str | None
    location: SourceLocation

    @property
    def retryable(self) -> bool:
        """True when retrying may succeed (lock timeout, deadlock, serialization failure)."""
        return self.sqlstate in RETRYABLE_SQLSTATES

    def describe(self) -> str:
        """PostgreSQL's message with its SQLSTATE, detail and hint."""
        text = self.message
        if self.sqlstate:
            text += f" [SQLSTATE {self.sqlstate}]"
        if self.detail:
            text += f"\nDETAIL: {self.detail}"
        if self.hint:
            text += f"\nHINT: {self.hint}"
        return text


class StatementError(Exception):
    """Raised by :func:`run_statements` with the failure attached."""

    def __init__(self, failure: StatementFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def apply_envelope(conn: Conn, envelope: SessionEnvelope, *, local: bool) -> None:
    """Apply the envelope: ``SET LOCAL`` semantics inside a transaction, session otherwise."""
    pairs = envelope.settings()
    conn.execute(set_config_query(len(pairs)), set_config_params(pairs, local=local))


def failure_from(
    exc: psycopg.Error, statement: Statement, path: str
) -> StatementFailure:
    """Locate a server error in the migration file (``file:line:column``)."""
    diag = exc.diag
    line, column = statement.span.line, statement.span.column
    position = diag.statement_position
    if position and position.isdigit():
        offset = int(position) - 1
        before = statement.text[:offset]
        newlines = before.count("\n")
        line += newlines
        column = (offset - before.rfind("\n")) if newlines else column + offset
    message = diag.message_primary or str(exc).strip()
    return StatementFailure(
        statement=statement,
        sqlstate=exc.sqlstate,
        message=message,
        detail=diag.message_detail,
        hint=diag.message_hint,
        location=SourceLocation(path, line, column),
    )


def run_statements(conn: Conn, statements: tuple[Statement, ...], path: str) -> None:
    """Run statements one at a time (so a failure names its statement).

    Each statement is sent as bytes: the text comes from a migration file, not from code,
    and is executed as written, with no parameter interpolation.

    Raises:
        StatementError: on the first failing statement.
    """
    for statement in statements:
        try:
            conn.execute(statement.text.encode("utf-8"))
        except psycopg.Error as exc:
            raise StatementError(failure_from(exc, statement, path)) from exc


Query = sql.Composed | bytes


def run_transaction_pipelined(
    conn: Conn,
    envelope: SessionEnvelope,
    statements: tuple[Statement, ...],
    path: str,
    tail: Sequence[tuple[Query, Sequence[Any] | None]] = (),
) -> None:
    """Run ``BEGIN``, the envelope, the statements, ``tail`` (ledger writes) and ``COMMIT``
    as one pipeline: one network round trip for the whole transaction.

    If anything fails, the server skips the rest of the pipeline (so ``COMMIT`` never runs)
    and the transaction is rolled back here. The failing statement is the first one whose
    cursor got no result.

    Raises:
        StatementError: when a migration statement failed.
        psycopg.Error: when the envelope or a ``tail`` query failed.
    """
    cursors: list[psycopg.Cursor[Any]] = []
    failed: psycopg.Error | None = None
    try:
        with conn.pipeline():
            try:
                conn.execute(b"BEGIN")
                pairs = envelope.settings()
                conn.execute(
                    set_config_query(len(pairs)), set_config_params(pairs, local=True)
                )
                for statement in statements:
                    cursor = conn.cursor()
                    cursor.execute(statement.text.encode("utf-8"))
                    cursors.append(cursor)
                for query, params in tail:
                    conn.execute(query, params)
                conn.execute(b"COMMIT")
            except psycopg.Error as exc:
                # A long step: psycopg read the error while statements were still being
                # queued. Stop queueing and leave the block normally; raising through it
                # would make psycopg log "error ignored terminating <Pipeline>" on stderr
                # when its exit fails with "pipeline aborted", as it then does.
                failed = exc
    except psycopg.Error as exc:
        failed = failed or exc
    if failed is None:
        return
    if conn.info.transaction_status in (
        TransactionStatus.INERROR,
        TransactionStatus.INTRANS,
    ):
        conn.execute(b"ROLLBACK")
    # The failing statement is the first queued one without a result (statements after
    # it may not have been queued at all).
    for statement, cursor in zip(statements, cursors, strict=False):
        if cursor.statusmessage is None:
            raise StatementError(failure_from(failed, statement, path)) from failed
    raise failed
