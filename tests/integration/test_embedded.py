"""The embedded default: no database configured → a PostgreSQL 18 under .atomig/."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.fix_project import Project


@pytest.fixture(scope="module")
def embedded_project():
    # A short path of its own: the embedded server keeps its socket next to its data.
    root = Path(tempfile.mkdtemp(prefix="atomig-emb-"))
    root.chmod(0o755)
    project = Project(root, None)
    project.add(
        "20261101_0900_create_users",
        "CREATE TABLE users (id int PRIMARY KEY);",
        "DROP TABLE IF EXISTS users;",
    )
    yield project
    project.run("embedded", "stop")
    shutil.rmtree(root, ignore_errors=True)


def test_first_command_starts_the_embedded_server_and_says_so(embedded_project):
    env = {k: v for k, v in os.environ.items() if "DATABASE_URL" not in k}
    first = embedded_project.run("up", env=env)
    assert first.returncode == 0, first.stderr
    assert "no database configured: started the embedded PostgreSQL 18" in first.stderr
    assert first.stderr.count("embedded PostgreSQL") == 1
    assert (
        embedded_project.dir / ".atomig" / "pgdata" / "PG_VERSION"
    ).read_text().strip() == "18"
    again = embedded_project.run("status", env=env)
    assert again.returncode == 0
    assert "using the embedded PostgreSQL 18" in again.stderr
    assert "applied" in again.stdout
    info = embedded_project.run("embedded", "status")
    assert info.stdout.startswith("running: host=127.0.0.1")
    document = json.loads(embedded_project.run("embedded", "status", "--json").stdout)
    assert document["running"] is True
    assert document["conninfo"].startswith("host=127.0.0.1")
    assert document["data_dir"] == str(embedded_project.dir / ".atomig" / "pgdata")


def test_embedded_stop_and_restart_keeps_data(embedded_project):
    stopped = embedded_project.run("embedded", "stop", "--json")
    assert json.loads(stopped.stdout) == {"version": 1, "stopped": True}
    assert "not running" in embedded_project.run("embedded", "status").stdout
    document = json.loads(embedded_project.run("embedded", "status", "--json").stdout)
    assert (document["running"], document["conninfo"]) == (False, None)
    assert embedded_project.run("embedded", "stop").stdout.strip() == "was not running"
    result = embedded_project.run("status", "--json")
    assert result.returncode == 0
    assert '"applied": 1' in result.stdout
    assert "started the embedded" in result.stderr
