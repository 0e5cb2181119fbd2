"""Opening the database a command works on: configured URL or the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from atomig.config import Settings
from atomig.db.connect import connect, server_version
from atomig.db.dsn import Target, parse_target
from atomig.events import Event, Reporter
from atomig.sql.versions import ServerVersion


@dataclass(frozen=True, slots=True)
class Session:
    """An open work connection and what we learned at connect time."""

    target: Target
    conn: psycopg.Connection[Any]
    server_version: ServerVersion


def resolve_target(settings: Settings, report: Reporter) -> Target:
    """The configured database, or the embedded one (started if needed, said in one line)."""
    if settings.database_url:
        return parse_target(settings.database_url, settings.database_url_source)
    from atomig.db.embedded import ensure_embedded  # not imported with a database URL

    server = ensure_embedded(settings.embedded_dir)
    try:
        where = server.data_dir.relative_to(settings.project_dir)
    except ValueError:
        where = server.data_dir
    verb = "started" if server.started else "using"
    report(
        Event(
            "embedded",
            f"no database configured: {verb} the embedded PostgreSQL {server.version} "
            f"(data in {where})",
            data={"data_dir": str(server.data_dir), "started": server.started},
        )
    )
    return parse_target(server.conninfo, "embedded default", embedded=True)


@contextmanager
def open_session(
    settings: Settings, report: Reporter, *, application_name: str = "atomig"
) -> Iterator[Session]:
    """Connect to the command's database for the duration of the block."""
    target = resolve_target(settings, report)
    conn = connect(target, application_name=application_name)
    try:
        yield Session(target=target, conn=conn, server_version=server_version(conn))
    finally:
        conn.close()
