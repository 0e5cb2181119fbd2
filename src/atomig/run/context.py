"""What every step of one ``atomig up`` / ``down`` / ``recover`` invocation shares."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

from atomig.config import Settings
from atomig.db.connect import connect
from atomig.db.dsn import Target
from atomig.events import Event, Reporter
from atomig.run.interrupt import Interrupt
from atomig.sql.versions import ServerVersion

Conn = psycopg.Connection[Any]


def current_actor() -> str:
    """``<os user>@<host>``: who applied a migration."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def prepare_work_session(
    conn: Conn, settings: Settings, version: ServerVersion
) -> None:
    """Session settings of a runner's work connection (before any migration runs)."""
    interval = settings.session.client_connection_check_interval_ms
    if interval and version.client_connection_check:
        # Not supported on every server platform (it needs POLLRDHUP): orphans are then
        # found and terminated by recovery instead.
        with suppress(psycopg.errors.InvalidParameterValue):
            conn.execute(
                "SELECT set_config('client_connection_check_interval', %s, false)",
                (f"{interval}ms",),
            )


class StepWatch(Protocol):
    """Watches one attempt of a step (entered around it); ``cancelled`` says why it
    cancelled the attempt, if it did (the step engine then retries the step)."""

    cancelled: str | None

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> None: ...


@dataclass(slots=True)
class RunContext:
    """The work connection (replaced if it is lost), the runner lock's connection, settings,
    the run's identity, where events go, and whether a stop was requested."""

    conn: Conn
    target: Target
    settings: Settings
    server_version: ServerVersion
    run_id: str
    actor: str
    report: Reporter
    lock_conn: Conn | None = None
    interrupt: Interrupt = field(default_factory=Interrupt)
    opened: list[Conn] = field(default_factory=list)
    # The extension point of the lock-queue watchdog (atomig.run.watchdog): called with
    # the step before each attempt; None: attempts are not watched.
    step_watch: Callable[[RunContext, Any], StepWatch] | None = None

    @property
    def schema(self) -> str:
        """The ledger schema."""
        return self.settings.ledger_schema

    def owner(self) -> dict[str, Any]:
        """Who runs this migration: recorded so that recovery can find what it left."""
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "actor": self.actor,
            "backend_pid": self.conn.info.backend_pid,
            "lock_backend_pid": self.lock_conn.info.backend_pid
            if self.lock_conn
            else None,
        }

    def say(
        self, event: str, message: str, /, level: str = "info", **data: Any
    ) -> None:
        """Emit one event (``event`` is its stable kind, ``data`` its structured payload)."""
        self.report(Event(event, message, level=level, data=data))

    def reset_session(self) -> None:
        """Forget session settings a migration left (envelope of autocommit steps, plain
        SETs), keeping the runner's own."""
        self.conn.execute(b"RESET ALL")
        prepare_work_session(self.conn, self.settings, self.server_version)

    def connection_lost(self) -> bool:
        """The work connection is closed or broken."""
        return self.conn.closed or self.conn.broken

    def reconnect(self) -> Conn:
        """Open a new work connection after the old one was lost (closed with the run)."""
        conn = connect(self.target, application_name="atomig")
        prepare_work_session(conn, self.settings, self.server_version)
        self.opened.append(conn)
        self.conn = conn
        return conn

    def close_opened(self) -> None:
        """Close the connections :meth:`reconnect` opened."""
        for conn in self.opened:
            conn.close()
