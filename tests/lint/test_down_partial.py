"""down-incomplete on partial ups: the down file compared at each step boundary of its up
(as atomig's runner runs it when the next step fails), offline. tests/integration/
test_lint_down_incomplete_verify.py holds the same forms against `atomig verify`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atomig.lint import (
    LintOptions,
    MigrationSource,
    SourceFile,
    down_partial,
    lint_migrations,
)

EVENTS = (
    "CREATE TABLE events (id bigint, at date NOT NULL, kind text) "
    "PARTITION BY RANGE (at);\n"
    "CREATE TABLE events_a PARTITION OF events "
    "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
    "CREATE TABLE events_b PARTITION OF events "
    "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n"
)
KIND = (
    "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events (kind);\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_a_kind_idx ON events_a (kind);\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_b_kind_idx ON events_b (kind);\n"
    "ALTER INDEX events_kind_idx ATTACH PARTITION events_a_kind_idx;\n"
    "ALTER INDEX events_kind_idx ATTACH PARTITION events_b_kind_idx;\n"
)
TABLE = "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text);\n"


def _migrations(*pairs: tuple[str, str]) -> list[MigrationSource]:
    return [
        MigrationSource(
            f"2026010{n}_0900_m{n}",
            SourceFile(f"m{n}.up.sql", up, "up"),
            SourceFile(f"m{n}.down.sql", down, "down"),
        )
        for n, (up, down) in enumerate(pairs, 1)
    ]


def down_incomplete(*pairs: tuple[str, str], runner: str = "atomig") -> list[str]:
    """The down-incomplete messages on the last migration's down file."""
    migrations = _migrations(*pairs)
    result = lint_migrations(migrations, options=LintOptions(runner=runner))
    last = f"m{len(pairs)}.down.sql"
    return [
        f.message
        for f in result.findings
        if f.rule == "down-incomplete" and f.path == last
    ]


def test_the_partition_indexes_left_when_a_build_fails_are_named_once_each():
    found = down_incomplete(
        (EVENTS, "DROP TABLE IF EXISTS events;"),
        (KIND, "DROP INDEX IF EXISTS events_kind_idx;"),
    )
    assert found == [
        "when step 3/4 fails, index events_a_kind_idx (created by the up, line 2) is "
        "left after the down: it is dropped with events_kind_idx only once attached "
        "(line 4)",
        "when step 4/4 fails, index events_b_kind_idx (created by the up, line 3) is "
        "left after the down: it is dropped with events_kind_idx only once attached "
        "(line 5)",
    ]


def test_the_advised_fix_placed_after_the_parent_drop_draws_nothing():
    result = lint_migrations(
        _migrations(
            (EVENTS, "DROP TABLE IF EXISTS events;"),
            (KIND, "DROP INDEX IF EXISTS events_kind_idx;"),
        )
    )
    [first, _] = [f for f in result.findings if f.rule == "down-incomplete"]
    assert first.fix == (
        "add `DROP INDEX CONCURRENTLY IF EXISTS events_a_kind_idx;` to the down file "
        "after line 1 (while attached, PostgreSQL drops it only with events_kind_idx)"
    )
    down = (
        "DROP INDEX IF EXISTS events_kind_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS events_a_kind_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS events_b_kind_idx;\n"
    )
    assert down_incomplete((EVENTS, "DROP TABLE IF EXISTS events;"), (KIND, down)) == []


def test_a_down_dropping_the_parent_table_takes_everything_at_each_boundary():
    up = EVENTS + KIND
    assert down_incomplete((up, "DROP TABLE IF EXISTS events;")) == []


LATER_STEPS = [
    pytest.param(
        "ALTER TABLE t ADD CONSTRAINT t_a_new CHECK (a > 0) NOT VALID;\n"
        "ALTER TABLE t VALIDATE CONSTRAINT t_a_new;\n"
        "ALTER TABLE t RENAME CONSTRAINT t_a_new TO t_a_check;\n",
        "ALTER TABLE t DROP CONSTRAINT IF EXISTS t_a_check;",
        "when step 2/2 fails, constraint t_a_new of table t (added by the up, line "
        "1) is left after the down: the down undoes it by the name a later step "
        "gives it, t_a_check (line 3)",
        id="constraint-renamed-later",
    ),
    pytest.param(
        "CREATE TABLE tags_new (id bigint PRIMARY KEY);\n"
        "CREATE INDEX CONCURRENTLY tags_new_id ON tags_new (id);\n"
        "ALTER TABLE tags_new RENAME TO tags;\n",
        "DROP TABLE IF EXISTS tags;",
        "when step 2/3 fails, table tags_new (created by the up, line 1) is left "
        "after the down: the down undoes it by the name a later step gives it, tags "
        "(line 3)",
        id="table-renamed-later",
    ),
    pytest.param(
        "CREATE INDEX CONCURRENTLY t_a_tmp ON t (a);\n"
        "CREATE INDEX CONCURRENTLY t_a_idx ON t (a, id);\n"
        "DROP INDEX CONCURRENTLY IF EXISTS t_a_tmp;\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;",
        "when step 2/3 fails, index t_a_tmp (created by the up, line 1) is left "
        "after the down: the down undoes it only once a later step has run (line 3)",
        id="dropped-by-a-later-step",
    ),
    pytest.param(
        "CREATE UNIQUE INDEX CONCURRENTLY t_b_key ON t (b);\n"
        "ALTER TABLE t ADD CONSTRAINT t_b_key UNIQUE USING INDEX t_b_key;\n",
        "ALTER TABLE t DROP CONSTRAINT IF EXISTS t_b_key;",
        "when step 2/2 fails, index t_b_key (created by the up, line 1) is left "
        "after the down: it is dropped with constraint t_b_key only once a later "
        "step makes it that constraint's index (line 2)",
        id="made-a-constraint-later",
    ),
    pytest.param(
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\n"
        "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);\n"
        "ALTER TABLE t ADD COLUMN b text;\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;",
        "when step 2/3 fails, column t.b (dropped by the up, line 1) is not created "
        "again by the down: the down undoes it only once a later step has run (line "
        "3)",
        id="dropped-then-made-again",
    ),
]


@pytest.mark.parametrize(("up", "down", "message"), LATER_STEPS)
def test_what_a_later_step_makes_right_is_found_at_the_boundary_before(
    up, down, message
):
    assert down_incomplete((TABLE, "DROP TABLE IF EXISTS t;"), (up, down)) == [message]


def test_what_the_whole_up_reports_is_not_reported_again():
    # (after the whole up: the constraint is left; part-way, its index: one object)
    up = (
        "CREATE UNIQUE INDEX CONCURRENTLY t_b_key ON t (b);\n"
        "ALTER TABLE t ADD CONSTRAINT t_b_key UNIQUE USING INDEX t_b_key;\n"
    )
    [message] = down_incomplete((TABLE, "DROP TABLE IF EXISTS t;"), (up, "SELECT 1;"))
    assert message.startswith("constraint t_b_key of table t, added by the up")


@pytest.mark.parametrize(
    ("directive", "runner"),
    [("-- atomig: on_failure=resume\n", "atomig"), ("", "other")],
    ids=["resume", "other-runner"],
)
def test_no_down_runs_after_a_failed_step_nothing_is_reported(directive, runner):
    up = directive + KIND
    found = down_incomplete(
        (EVENTS, "DROP TABLE IF EXISTS events;"),
        (up, "DROP INDEX IF EXISTS events_kind_idx;"),
        runner=runner,
    )
    assert [m for m in found if m.startswith("when step")] == []


def test_a_migration_the_replay_cannot_know_is_not_compared():
    up = "SELECT rebuild_kind_indexes();\n" + KIND
    found = down_incomplete(
        (EVENTS, "DROP TABLE IF EXISTS events;"),
        (up, "DROP INDEX IF EXISTS events_kind_idx;"),
    )
    assert found == []


def test_session_settings_before_the_first_step_are_no_boundary():
    # The planner takes the leading SET into the envelope: one step, no boundary.
    up = "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY t_a_tmp ON t (a);\n"
    found = down_incomplete(
        (TABLE, "DROP TABLE IF EXISTS t;"),
        (up, "DROP INDEX CONCURRENTLY IF EXISTS t_a_tmp;"),
    )
    assert found == []


def _bench_directory(tmp_path: Path, downs: list[str]) -> list[MigrationSource]:
    sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
    try:
        from lint_speed import generate_directory
    finally:
        sys.path.pop(0)
    generate_directory(tmp_path / "m", 300)
    migrations = []
    for n, up in enumerate(sorted((tmp_path / "m").glob("*.up.sql"))):
        down = downs[n % len(downs)]
        migrations.append(
            MigrationSource(
                up.name.removesuffix(".up.sql"),
                SourceFile(up.name, up.read_text(), "up"),
                SourceFile(up.name.replace(".up.", ".down."), down, "down"),
            )
        )
    return migrations


def test_boundaries_skipped_as_after_the_whole_up_find_what_comparing_finds(
    tmp_path, monkeypatch
):
    # The comparison is not run where it can only find what the whole up draws
    # (_as_after_whole_up): the findings are those of running it at every boundary.
    migrations = _bench_directory(tmp_path, ["SELECT 1;", "SELECT 1;\nSELECT 2;"])
    # (and ups a later step of which makes right, with downs that change nothing)
    ups = [TABLE, *(case.values[0] for case in LATER_STEPS)]
    for n, up in enumerate(ups):
        name = f"20300101_{n:04d}_later"
        migrations.append(
            MigrationSource(
                name,
                SourceFile(f"{name}.up.sql", str(up), "up"),
                SourceFile(f"{name}.down.sql", "SELECT 1;", "down"),
            )
        )
    options = LintOptions()
    skipped = lint_migrations(migrations, options=options).findings
    monkeypatch.setattr(down_partial, "_as_after_whole_up", lambda *_: False)
    compared = lint_migrations(migrations, options=options).findings
    assert skipped == compared
    assert sum(f.message.startswith("when step") for f in compared) >= 3
