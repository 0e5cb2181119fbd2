"""``atomig history``: what the ledger recorded, for the person asking "what happened?" at
3 a.m.: each run's outcome (who, when, how long, why it failed or was rolled back), and
with ``steps`` every step attempt (lock timeouts retried, the statement that failed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atomig.config import Settings
from atomig.errors import UsageError
from atomig.events import Reporter, null_reporter
from atomig.run.history import LoggedEvent, LoggedStep, read_events, read_steps
from atomig.run.session import open_session
from atomig.source.layout import parse_version

__all__ = ["HistoryReport", "history"]


@dataclass(frozen=True, slots=True)
class HistoryReport:
    """Ledger events, oldest first, and (when asked) the step attempts of their runs."""

    database: str
    ledger_schema: str
    events: tuple[LoggedEvent, ...]
    steps: tuple[LoggedStep, ...] = field(default=())
    with_steps: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": 1,
            "database": self.database,
            "ledger_schema": self.ledger_schema,
            "events": [_event_dict(e) for e in self.events],
            **(
                {"steps": [_step_dict(s) for s in self.steps]}
                if self.with_steps
                else {}
            ),
        }


def history(
    settings: Settings,
    *,
    version: str | None = None,
    limit: int = 50,
    steps: bool = False,
    report: Reporter = null_reporter,
) -> HistoryReport:
    """The newest ``limit`` ledger events (of one migration with ``version``), and with
    ``steps`` the step attempts of their runs. Reads only; never creates the ledger."""
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    wanted = None
    if version is not None:
        try:
            wanted, _ = parse_version(version)
        except ValueError:
            raise UsageError(
                f"{version!r} is not a migration version",
                hint="versions look like 20261124_1530 (`atomig status` lists them)",
            ) from None
    with open_session(settings, report) as session:
        schema = settings.ledger_schema
        events = read_events(session.conn, schema, version=wanted, limit=limit)
        found = (
            read_steps(session.conn, schema, events, limit=limit * 20) if steps else []
        )
        return HistoryReport(
            database=session.target.display,
            ledger_schema=schema,
            events=tuple(events),
            steps=tuple(found),
            with_steps=steps,
        )


def _event_dict(event: LoggedEvent) -> dict[str, Any]:
    return {
        "run_id": event.run_id,
        "version": event.version,
        "slug": event.slug,
        "event": event.event,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "duration_ms": event.duration_ms,
        "details": event.details,
    }


def _step_dict(step: LoggedStep) -> dict[str, Any]:
    return {
        "run_id": step.run_id,
        "version": step.version,
        "direction": step.direction,
        "step": step.step_index + 1,
        "kind": step.step_kind,
        "attempt": step.attempt,
        "started_at": step.started_at.isoformat(),
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
        "outcome": step.outcome,
        "sqlstate": step.sqlstate,
        "message": step.message,
        "details": step.details,
    }
