"""A migrations project on disk, bound to a test database, driven through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from atomig.cli.main import cli
from atomig.config import Settings, load_settings
from tests.fix_pg import Database


@dataclass
class Project:
    """A project directory with a ``migrations/`` folder and a database URL."""

    dir: Path
    url: str | None
    database: Database | None = None

    @property
    def migrations(self) -> Path:
        return self.dir / "migrations"

    def add(self, name: str, up: str, down: str = "") -> None:
        """Write ``<name>.up.sql`` and ``<name>.down.sql`` (name = version_slug)."""
        self.migrations.mkdir(exist_ok=True)
        (self.migrations / f"{name}.up.sql").write_text(up, encoding="utf-8")
        (self.migrations / f"{name}.down.sql").write_text(down, encoding="utf-8")

    def settings(self, **overrides) -> Settings:
        settings = load_settings(self.dir, database_url=self.url, environ={})
        return settings.with_overrides(**overrides) if overrides else settings

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run the CLI in-process (``--database-url`` set when the project has one)."""
        prefix = ["-C", str(self.dir)]
        if self.url:
            prefix += ["--database-url", self.url]
        runner = CliRunner()
        return runner.invoke(cli, [*prefix, *args], env=env, catch_exceptions=False)

    def run(
        self, *args: str, env: dict[str, str] | None = None, **kwargs
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a real process (for signals and concurrency)."""
        full_env = {
            k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")
        }
        full_env.update(env or {})
        prefix = ["-C", str(self.dir)]
        if self.url:
            prefix += ["--database-url", self.url]
        return subprocess.run(
            [sys.executable, "-m", "atomig", *prefix, *args],
            capture_output=True,
            text=True,
            env=full_env,
            **kwargs,
        )

    def popen(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        full_env = {
            k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")
        }
        full_env.update(env or {})
        prefix = ["-C", str(self.dir)]
        if self.url:
            prefix += ["--database-url", self.url]
        return subprocess.Popen(
            [sys.executable, "-m", "atomig", *prefix, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )


@pytest.fixture
def project(tmp_path: Path, database: Database) -> Iterator[Project]:
    (tmp_path / "migrations").mkdir()
    yield Project(tmp_path, database.url, database)


@pytest.fixture
def offline_project(tmp_path: Path) -> Project:
    """A project with no database (for pure commands)."""
    (tmp_path / "migrations").mkdir()
    return Project(tmp_path, None)
