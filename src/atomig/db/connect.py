"""The single place connections are made."""

from __future__ import annotations

import logging

import psycopg

from atomig.db.dsn import Target
from atomig.errors import DatabaseUnavailable
from atomig.sql.versions import ServerVersion

log = logging.getLogger("atomig.db")

CONNECT_TIMEOUT_S = 10


def connect(
    target: Target, *, application_name: str, autocommit: bool = True
) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection; failures become :class:`DatabaseUnavailable` with a masked DSN.

    The connection is in autocommit mode unless asked otherwise: atomig opens every
    transaction explicitly, so nothing runs in an implicit one by accident.
    """
    log.debug("connecting to %s (%s)", target.display, application_name)
    try:
        return psycopg.connect(
            target.conninfo,
            autocommit=autocommit,
            application_name=application_name,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except psycopg.OperationalError as exc:
        reason = target.scrub(str(exc).strip()).splitlines()
        detail = " ".join(line.strip() for line in reason if line.strip())
        raise DatabaseUnavailable(
            f"cannot connect to {target.display} (from {target.source}): {detail}",
            hint="check the URL, that the server is up, and the credentials",
        ) from None


def server_version(conn: psycopg.Connection[tuple[object, ...]]) -> ServerVersion:
    """The server's ``server_version_num``, known from the connection handshake."""
    return ServerVersion(conn.info.server_version)
