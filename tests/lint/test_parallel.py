"""Linting a large file on two processes gives exactly the findings of one process."""

from __future__ import annotations

import json
import os

import pytest

import atomig.lint.engine as engine
from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.lint.registry import all_rules

# Every rule's bad examples in one file (history first), plus suppressions that are used,
# unused and invalid: findings from both processes, finishers and meta rules all show.
HISTORY = "\n".join(
    example.before for rule in all_rules().values() for example in rule.bad
)
BODY = "\n".join(
    example.sql
    for rule in all_rules().values()
    for example in rule.bad
    if example.direction == "up" and rule.id != "syntax-error"
)
SUPPRESSIONS = (
    "-- atomig-ignore: long-lock-hold table is tiny\n"
    "ALTER TABLE accounts ADD COLUMN flag boolean;\n"
    "UPDATE accounts SET flag = true WHERE id = 1;\n"
    "-- atomig-ignore: prefer-text\n"
    "ALTER TABLE accounts ADD COLUMN label varchar(20);\n"
    "-- atomig-ignore: drop-table never fires here\n"
    "CREATE INDEX accounts_flag_idx ON accounts (flag);\n"
)


def _migrations() -> list[MigrationSource]:
    return [
        MigrationSource(
            "20240101_0000_history",
            SourceFile("history.up.sql", HISTORY, "up"),
            SourceFile("history.down.sql", "SELECT 1;", "down"),
            report=(),
        ),
        MigrationSource(
            "20240102_0000_all",
            SourceFile("all.up.sql", BODY + "\n" + SUPPRESSIONS, "up"),
            SourceFile("all.down.sql", BODY, "down"),
        ),
    ]


@pytest.fixture
def forks(monkeypatch, fork_calls):
    """Split every file (whatever its size) and count the forks."""
    monkeypatch.setattr(engine, "PARALLEL_MIN_STATEMENTS", 0)
    return fork_calls


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("runner", ["atomig", "other"])
def test_two_processes_same_findings(forks, runner):
    options = LintOptions(runner=runner)
    one = lint_migrations(_migrations(), options=options)
    assert not forks
    two = lint_migrations(_migrations(), options=options, workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    assert two == one
    rules = {f.rule for f in one.findings}
    assert {"long-lock-hold", "prefer-text", "unused-ignore"} <= rules
    assert one.suppressed == two.suppressed > 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_failed_child_is_redone_in_the_parent(forks, monkeypatch):
    one = lint_migrations(_migrations())
    parent = os.getpid()
    real = engine.Engine.collect_tagged

    def collect_tagged(self, ctx, keep):
        if os.getpid() != parent:
            raise RuntimeError("child dies")
        return real(self, ctx, keep)

    monkeypatch.setattr(engine.Engine, "collect_tagged", collect_tagged)
    two = lint_migrations(_migrations(), workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    assert two == one


def test_console_script_on_a_large_file(offline_project):
    """The real command on a file large enough to be split: the whole report, the exit
    code, the same findings as in one process (the command ends without freeing)."""
    statements = [
        f"ALTER TABLE t0 ADD COLUMN c{i} varchar(10);\n"
        f"CREATE INDEX t0_c{i}_idx ON t0 (c{i});\n"
        f"UPDATE t0 SET c{i} = 'x';"
        for i in range(engine.PARALLEL_MIN_STATEMENTS // 3 + 1)
    ]
    path = offline_project.dir / "big.sql"
    path.write_text("\n".join(statements) + "\n")
    done = offline_project.run("lint", str(path), "--format", "json")
    one = lint_migrations([], [SourceFile(str(path), path.read_text())])
    assert one.errors
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["statements"] == one.statements >= engine.PARALLEL_MIN_STATEMENTS
    assert [(f["rule"], f["line"], f["column"]) for f in report["findings"]] == [
        (f.rule, f.line, f.column) for f in one.findings
    ]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parent_error_ends_the_child(forks, monkeypatch):
    """An error in the parent while the child waits to send a large result: the child is
    ended and reaped, and the error reaches the caller (no hang)."""
    statements = "\n".join(
        f"CREATE TABLE t{i} (id bigint PRIMARY KEY, p bigint REFERENCES t{i} (id));"
        for i in range(3000)
    )
    parent = os.getpid()
    real = engine.Engine.collect_tagged

    def collect_tagged(self, ctx, keep):
        found = real(self, ctx, keep)
        if os.getpid() == parent:
            raise RuntimeError("parent fails")
        return found

    monkeypatch.setattr(engine.Engine, "collect_tagged", collect_tagged)
    with pytest.raises(RuntimeError, match="parent fails"):
        lint_migrations([], [SourceFile("big.sql", statements)], workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    with pytest.raises(ChildProcessError):
        os.waitpid(forks[0], os.WNOHANG)  # reaped already


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_each_process_judges_its_own_hits(forks, monkeypatch):
    # Judging (positions: underlining an element scans its statement) is split too: the
    # parent never judges the child's hits, and the suppressions the child used are not
    # reported unused (SUPPRESSIONS silences long-lock-hold, a child rule).
    from atomig.lint.judge import Judge
    from atomig.lint.parallel import CHILD_RULES

    parent = os.getpid()
    judged_here: list[str] = []
    real = Judge.findings

    def findings(self, raw):
        raw = list(raw)
        if os.getpid() == parent:
            judged_here.extend(rule.id for rule, _, _ in raw)
        return real(self, raw)

    one = lint_migrations(_migrations())
    monkeypatch.setattr(Judge, "findings", findings)
    two = lint_migrations(_migrations(), workers=2)
    if not forks:
        pytest.skip("another thread runs in this process: no fork")
    assert two == one
    assert "long-lock-hold" in {f.rule for f in one.findings}
    assert judged_here and not set(judged_here) & CHILD_RULES
