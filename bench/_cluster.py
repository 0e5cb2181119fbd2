"""A throwaway PostgreSQL for benchmarks: the embedded 18 (default) or the system 15."""

from __future__ import annotations

import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from atomig.db.cluster import LocalCluster
from atomig.db.embedded import embedded_bin_dir

PG15_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class BenchServer:
    host: str
    port: int
    bin_dir: Path

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user=postgres dbname={dbname}"

    def fresh_database(self, name: str) -> str:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


@contextmanager
def bench_server(
    major: int = 18, settings: dict[str, str] | None = None
) -> Iterator[BenchServer]:
    """Start a cluster with default durability settings (fsync on): what users run.

    A benchmark killed with SIGTERM (or a closed terminal's SIGHUP) stops its server too:
    the signal becomes SystemExit while the server runs, so the ``finally`` below runs (by
    default those signals end Python on the spot, leaving a postmaster behind)."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(
                signum, lambda number, frame: sys.exit(128 + number)
            )
    try:
        with _bench_server(major, settings) as server:
            yield server
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _bench_server(major: int, settings: dict[str, str] | None) -> Iterator[BenchServer]:
    bin_dir = PG15_BIN if major == 15 else embedded_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="atomig-bench-"))
    root.chmod(0o755)
    cluster = LocalCluster(
        bin_dir, root / "data", root / "log" / "pg.log", root / "run"
    )
    cluster.initdb(no_sync=True)
    server = cluster.start({"max_connections": "200", **(settings or {})})
    try:
        yield BenchServer(server.host, server.port, bin_dir)
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
