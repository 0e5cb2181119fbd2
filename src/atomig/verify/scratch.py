"""Scratch databases: a throwaway database on which proofs, traces and dry runs run for real.

A scratch database is created empty (``TEMPLATE template0``) on the target's server — or on
the server of ``--scratch-url`` / ``[verify] scratch_url``, or the embedded PostgreSQL —
filled by replaying migrations with the real runner, and dropped afterwards whatever
happens: an error, Ctrl-C or SIGTERM (``DROP DATABASE … WITH (FORCE)``). Only ``kill -9``
can leave one behind; each carries a comment with its creation time, and scratch databases
older than an hour with nobody connected are dropped by the next scratch run on that server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from atomig.config import Settings
from atomig.db.connect import connect, server_version
from atomig.db.dsn import Target, mask_dsn, parse_target
from atomig.errors import ConfigError, VerificationFailed
from atomig.events import Event, Reporter
from atomig.run import ledger_schema
from atomig.run.context import RunContext, current_actor, prepare_work_session
from atomig.run.interrupt import Interrupt

Conn = psycopg.Connection[Any]
PREFIX = "atomig_scratch_"
_COMMENT = "atomig scratch database, created at epoch {epoch}; safe to drop"
_STALE_AFTER_S = 3600

# Scratch databases of earlier runs that nobody is connected to and whose comment says
# they are older than %s seconds.
_STALE = """
    SELECT d.datname FROM pg_database d
    WHERE d.datname LIKE 'atomig\\_scratch\\_%%'
      AND shobj_description(d.oid, 'pg_database')
          LIKE 'atomig scratch database, created at epoch %%'
      AND split_part(split_part(shobj_description(d.oid, 'pg_database'), 'epoch ', 2), ';', 1)
          ::bigint < extract(epoch FROM now()) - %s
      AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)
"""


def scratch_server(
    settings: Settings, target: Target, scratch_url: str | None
) -> Target:
    """Where scratch databases are created: ``scratch_url`` (``"embedded"`` for the
    embedded PostgreSQL), else the target's server."""
    if scratch_url == "embedded":
        from atomig.db.embedded import ensure_embedded

        server = ensure_embedded(settings.embedded_dir)
        return parse_target(server.conninfo, "embedded scratch server", embedded=True)
    if scratch_url:
        return parse_target(scratch_url, "--scratch-url / [verify] scratch_url")
    return target


def _database_target(server: Target, dbname: str) -> Target:
    conninfo = make_conninfo(server.conninfo, dbname=dbname)
    shown = {k: v for k, v in conninfo_to_dict(conninfo).items() if k != "password"}
    return Target(
        conninfo=conninfo,
        display=mask_dsn(shown),
        source=f"scratch database on {server.display}",
        password=server.password,
        embedded=server.embedded,
    )


def _drop(conn: Conn, name: str) -> None:
    ident = sql.Identifier(name)
    if conn.info.server_version >= 130000:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        return
    # Before PostgreSQL 13 there is no FORCE: end the sessions first.
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        (name,),
    )
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))


def _drop_stale(conn: Conn, report: Reporter) -> None:
    try:
        stale = [str(r[0]) for r in conn.execute(_STALE, (_STALE_AFTER_S,)).fetchall()]
        for name in stale:
            _drop(conn, name)
            report(
                Event(
                    "scratch.stale",
                    f"dropped {name}, a scratch database an earlier run left behind",
                    level="warning",
                )
            )
    except psycopg.Error:
        return  # someone else's, or no privilege: not ours to insist on


@contextmanager
def scratch_database(server: Target, report: Reporter) -> Iterator[Target]:
    """Create an empty scratch database on ``server``; drop it when the block ends.

    Raises:
        ConfigError: the role may not create databases there (with the ways out).
    """
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    admin = connect(server, application_name="atomig:scratch")
    try:
        _drop_stale(admin, report)
        try:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                    sql.Identifier(name)
                )
            )
        except psycopg.errors.InsufficientPrivilege:
            raise ConfigError(
                f"cannot create a scratch database on {server.display}: the role may "
                "not create databases",
                hint="GRANT CREATEDB to it, point --scratch-url (or [verify] scratch_url) "
                "at a server where it may, or use --scratch-url embedded",
            ) from None
        comment = _COMMENT.format(epoch=int(time.time()))
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal(comment)
            )
        )
    except BaseException:
        admin.close()
        raise
    try:
        yield _database_target(server, name)
    finally:
        try:
            _drop(admin, name)
        except (psycopg.Error, OSError) as exc:
            report(
                Event(
                    "scratch.leftover",
                    f"could not drop the scratch database {name} on {server.display}: "
                    f"{exc}; drop it by hand (DROP DATABASE {name})",
                    level="error",
                )
            )
        finally:
            admin.close()


def scratch_context(
    settings: Settings,
    target: Target,
    report: Reporter,
    interrupt: Interrupt | None = None,
) -> RunContext:
    """A runner context on the scratch database ``target`` (ledger created there)."""
    conn = connect(target, application_name="atomig:scratch")
    version = server_version(conn)
    prepare_work_session(conn, settings, version)
    ledger_schema.ensure_ledger(conn, settings.ledger_schema)
    ctx = RunContext(
        conn=conn,
        target=target,
        settings=settings,
        server_version=version,
        run_id=str(uuid.uuid4()),
        actor=current_actor(),
        report=report,
    )
    if interrupt is not None:
        ctx.interrupt = interrupt
    ctx.interrupt.cancel = conn.cancel_safe
    return ctx


def close_context(ctx: RunContext) -> None:
    """Close a scratch context's connections."""
    with suppress(Exception):
        ctx.conn.close()
    ctx.close_opened()


def create_schema(conn: Conn, schema_sql: str, what: str, hint: str) -> None:
    """Create a schema from SQL (``atomig schema``'s script of the target, or the
    configured ``base_schema``) on a scratch database, in one transaction.

    Raises:
        VerificationFailed: it does not build there (with PostgreSQL's message).
    """
    try:
        with conn.transaction():
            conn.execute(schema_sql.encode("utf-8"))
    except psycopg.Error as exc:
        message = (exc.diag.message_primary or str(exc)).strip()
        raise VerificationFailed(
            f"creating {what} on the scratch database failed: {message}",
            hint="the scratch server needs what the schema uses (extensions, roles, "
            f"tablespaces); {hint}",
        ) from None
