"""Linting a migrations directory on two processes gives exactly the findings of one."""

from __future__ import annotations

import os

import pytest

import atomig.lint.engine as engine
from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.lint.registry import all_rules

# Every rule's bad examples, one migration each, after their history: findings that depend
# on what earlier migrations built (and on the final schema), suppressions, a syntax
# error, a missing and an empty down file all land on both sides of the split.
HIST_UP = "CREATE TABLE hist (id bigint PRIMARY KEY, code varchar(10));"
WIDEN = "ALTER TABLE hist ALTER COLUMN code TYPE varchar(20);"


def _migrations() -> list[MigrationSource]:
    # Known from the first migration only: the last one widens the column without a
    # rewrite, which a process that did not replay the history cannot know.
    found = [_migration(0, "hist", HIST_UP, "DROP TABLE IF EXISTS hist;")]
    number = 0
    for rule in all_rules().values():
        for example in rule.bad:
            if example.direction != "up":
                continue
            number += 1
            if example.before:
                found.append(_migration(number, "before", example.before, "SELECT 1;"))
                number += 1
            down = "SELECT 1;" if example.down is None else example.down
            found.append(_migration(number, rule.id, example.sql, down))
    found.append(_migration(number + 1, "broken", "ALTER TABLE;", "SELECT 1;"))
    found.append(_migration(number + 2, "no_down", "CREATE TABLE nd (id int);", None))
    found.append(
        _migration(
            number + 3,
            "suppressed",
            "-- atomig-ignore: prefer-text short codes\n"
            "ALTER TABLE accounts ADD COLUMN code varchar(8);\n",
            "",
        )
    )
    found.append(_migration(number + 4, "widen", WIDEN, "SELECT 1;"))
    return found


def _migration(number: int, slug: str, up: str, down: str | None) -> MigrationSource:
    name = f"2024{number // 1440 + 101:04d}_{number // 60 % 24:02d}{number % 60:02d}_{slug}"
    return MigrationSource(
        name,
        SourceFile(f"{name}.up.sql", up, "up"),
        None if down is None else SourceFile(f"{name}.down.sql", down, "down"),
    )


@pytest.fixture
def forks(monkeypatch, fork_calls):
    """Split every directory (whatever its size) and count the forks."""
    monkeypatch.setattr(engine, "PARALLEL_MIN_MIGRATIONS", 0)
    monkeypatch.setattr(engine, "PARALLEL_MIN_STATEMENTS", 10**9)
    return fork_calls


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("runner", ["atomig", "other"])
def test_two_processes_same_findings(forks, runner):
    options = LintOptions(runner=runner)
    migrations = _migrations()
    assert len(migrations) > 50
    one = lint_migrations(migrations, options=options)
    assert not forks
    two = lint_migrations(migrations, options=options, workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    assert two == one
    rules = {f.rule for f in one.findings}
    assert {"syntax-error", "missing-down", "foreign-key-without-index"} <= rules
    widen = migrations[-1].up
    assert widen is not None and widen.text == WIDEN
    # (history knew the old type: no rewrite)
    assert "column-type-rewrite" not in {
        f.rule for f in one.findings if f.path == widen.path
    }
    assert one.suppressed == two.suppressed > 0
    # The split falls inside the directory: both processes report findings.
    paths = sorted({f.path for f in one.findings})
    assert paths[0] < migrations[len(migrations) // 2].name < paths[-1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_failed_child_is_redone_in_the_parent(forks, monkeypatch):
    migrations = _migrations()
    one = lint_migrations(migrations)
    parent = os.getpid()
    real = engine.Engine.lint_migration

    def lint_migration(self, migration, schema, parse):
        if os.getpid() != parent:
            raise RuntimeError("child dies")
        return real(self, migration, schema, parse)

    monkeypatch.setattr(engine.Engine, "lint_migration", lint_migration)
    two = lint_migrations(migrations, workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    assert two == one


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_child_starts_from_the_history_snapshot(forks, monkeypatch):
    # The child lints its part from a snapshot taken during the final-schema replay: it
    # replays nothing itself (were it to, it would die here and the parent would lint
    # every migration).
    migrations = _migrations()
    one = lint_migrations(migrations)
    parent = os.getpid()
    real_replay, real_lint = (
        engine.Engine.replay_migration,
        engine.Engine.lint_migration,
    )
    linted_here = []

    def replay_migration(migration, schema, parse):
        if os.getpid() != parent:
            raise RuntimeError("the child replays history")
        return real_replay(migration, schema, parse)

    def lint_migration(self, migration, schema, parse):
        if os.getpid() == parent:
            linted_here.append(migration.name)
        return real_lint(self, migration, schema, parse)

    monkeypatch.setattr(
        engine.Engine, "replay_migration", staticmethod(replay_migration)
    )
    monkeypatch.setattr(engine.Engine, "lint_migration", lint_migration)
    two = lint_migrations(migrations, workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    assert two == one
    assert 0 < len(linted_here) < len(migrations)
