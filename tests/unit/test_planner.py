"""The planner: steps, envelope from leading SETs and directives, transaction blocks."""

from pathlib import Path

import pytest

from atomig.config import Settings
from atomig.errors import SourceError
from atomig.plan import StepKind, plan_migration
from atomig.source.directives import parse_directives
from atomig.source.model import MigrationId
from atomig.sql import ServerVersion, parse_script

MID = MigrationId(20261124153000, "20261124_1530", "add_fk")
SETTINGS = Settings(project_dir=Path("/p"), migrations_dir=Path("/p/migrations"))


def make_plan(text: str, version: int = 15, settings: Settings = SETTINGS):
    script = parse_script(text, "m.up.sql")
    directives = parse_directives(text, Path("m.up.sql"))
    return plan_migration(
        MID, "up", script, directives, settings, ServerVersion.from_major(version)
    )


def kinds(plan):
    return [
        (step.kind, [s.text.split()[0].upper() for s in step.statements])
        for step in plan.steps
    ]


def test_simple_migration_is_one_transaction_step():
    plan = make_plan("CREATE TABLE a (id int);\nCREATE TABLE b (id int);")
    assert kinds(plan) == [(StepKind.TRANSACTION, ["CREATE", "CREATE"])]
    assert plan.is_single_transaction


def test_mission_style_file_runs_as_intended():
    text = """
SET lock_timeout = '3s';
SET statement_timeout = '20min';
BEGIN;
ALTER TABLE orders ADD COLUMN user_id bigint;
ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user;
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_user_id ON orders (user_id);
"""
    plan = make_plan(text)
    assert kinds(plan) == [
        (StepKind.TRANSACTION, ["ALTER", "ALTER"]),
        (StepKind.TRANSACTION, ["ALTER"]),
        (StepKind.AUTOCOMMIT, ["CREATE"]),
    ]
    # The leading SETs are the envelope of every step, not statements that do nothing.
    assert plan.envelope.lock_timeout_ms == 3000
    assert plan.envelope.statement_timeout_ms == 20 * 60_000
    assert all(step.envelope.lock_timeout_ms == 3000 for step in plan.steps)
    # A concurrent build is not capped by the 15-minute (here 20) statement timeout.
    assert plan.steps[2].envelope.statement_timeout_ms == 0


def test_several_concurrent_statements_are_each_their_own_step():
    plan = make_plan(
        "CREATE INDEX CONCURRENTLY a ON t (a);\nCREATE INDEX CONCURRENTLY b ON t (b);\n"
        "ALTER TABLE t ADD COLUMN c int;\nDROP INDEX CONCURRENTLY c;"
    )
    assert [s.kind for s in plan.steps] == [
        StepKind.AUTOCOMMIT,
        StepKind.AUTOCOMMIT,
        StepKind.TRANSACTION,
        StepKind.AUTOCOMMIT,
    ]


def test_validate_outside_a_block_gets_a_transaction_of_its_own():
    """ADD … NOT VALID holds its lock until its transaction ends: a VALIDATE sharing that
    transaction would scan the table under it. Outside BEGIN … COMMIT the planner splits
    before a VALIDATE (and only there); inside a block it keeps what was written."""
    add = "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n"
    validate = "ALTER TABLE t VALIDATE CONSTRAINT c;\n"
    after = "COMMENT ON TABLE t IS 'checked';\n"
    plan = make_plan(add + validate + after)
    assert [[s.text.split()[3] for s in step.statements] for step in plan.steps] == [
        ["ADD"],
        ["VALIDATE", "t"],
    ]
    assert all(step.kind is StepKind.TRANSACTION for step in plan.steps)
    # First statement of a run: nothing to split from.
    assert len(make_plan(validate + after).steps) == 1
    # In an explicit block the file says what shares a transaction (lint reports it).
    assert len(make_plan(f"BEGIN;\n{add}{validate}COMMIT;").steps) == 1


def test_default_envelope_is_the_missions():
    plan = make_plan("SELECT 1;")
    settings = dict(plan.envelope.settings())
    assert settings == {
        "lock_timeout": "2s",
        "statement_timeout": "15min",
        "idle_in_transaction_session_timeout": "1min",
        "application_name": "migration:20261124_1530_add_fk",
    }


def test_directives_override_defaults_and_conflict_with_other_sets():
    plan = make_plan(
        "-- atomig: lock_timeout=5s concurrent_statement_timeout=2h\nCREATE INDEX CONCURRENTLY i ON t (a);"
    )
    assert plan.envelope.lock_timeout_ms == 5000
    assert plan.steps[0].envelope.statement_timeout_ms == 2 * 3_600_000
    with pytest.raises(SourceError, match="set both by a directive"):
        make_plan("-- atomig: lock_timeout=5s\nSET lock_timeout = '1s';\nSELECT 1;")


def test_other_leading_settings_pass_through():
    plan = make_plan(
        "SET search_path = app, \"Odd Schema\";\nSET LOCAL work_mem = '64MB';\nSELECT 1;"
    )
    assert dict(plan.envelope.extra) == {
        "search_path": 'app, "Odd Schema"',
        "work_mem": "64MB",
    }


def test_application_name_is_reserved():
    with pytest.raises(SourceError, match="application_name is set by atomig"):
        make_plan("SET application_name = 'x';\nSELECT 1;")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;", "nested BEGIN"),
        ("SELECT 1;\nCOMMIT;", "COMMIT without BEGIN"),
        ("BEGIN;\nSELECT 1;", "BEGIN without COMMIT"),
        ("BEGIN;\nSELECT 1;\nROLLBACK;", "ROLLBACK in a migration"),
        ("PREPARE TRANSACTION 'x';", "PREPARE in a migration"),
        (
            "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
            "cannot run inside a transaction block",
        ),
        (
            "-- atomig: backfill\nINSERT INTO t VALUES (1);",
            "UPDATE or DELETE statements only",
        ),
        (
            "BEGIN;\n-- atomig: backfill\nUPDATE t SET a = 1;\nCOMMIT;",
            "cannot be inside",
        ),
    ],
)
def test_transaction_control_errors_point_at_the_statement(text, message):
    with pytest.raises(SourceError, match=message) as info:
        make_plan(text)
    assert info.value.location is not None
    assert info.value.location.path == "m.up.sql"


def test_backfill_statements_become_backfill_steps():
    plan = make_plan(
        "ALTER TABLE t ADD COLUMN c int;\n-- atomig: backfill batch_size=1000\nUPDATE t SET c = 1;\nSELECT 1;"
    )
    assert [s.kind for s in plan.steps] == [
        StepKind.TRANSACTION,
        StepKind.BACKFILL,
        StepKind.TRANSACTION,
    ]


def test_enum_add_value_is_autocommit_only_before_pg12():
    assert (
        make_plan("ALTER TYPE mood ADD VALUE 'meh';", version=11).steps[0].kind
        is StepKind.AUTOCOMMIT
    )
    assert (
        make_plan("ALTER TYPE mood ADD VALUE 'meh';", version=12).steps[0].kind
        is StepKind.TRANSACTION
    )


def test_step_hash_is_stable_and_distinguishes_statements():
    a = make_plan("SELECT 1;").steps[0].statement_hash
    assert a == make_plan("SELECT 1;").steps[0].statement_hash
    assert a != make_plan("SELECT 2;").steps[0].statement_hash


def _corpus():
    """Every migration text the suite has at hand: rule examples and lint cases."""
    from atomig.lint.registry import all_rules

    for rule in all_rules().values():
        for example in (*rule.bad, *rule.good):
            yield f"{rule.id}-example", example.sql
            if example.before:
                yield f"{rule.id}-before", example.before
    cases = Path(__file__).parents[1] / "lint" / "cases"
    for path in sorted(cases.glob("*.sql")):
        for number, block in enumerate(path.read_text().split("\n\n")):
            if block.strip():
                yield f"{path.stem}-{number}", block


def test_may_refuse_is_true_of_every_file_the_planner_refuses():
    # plan-rejected trusts may_refuse to skip planning: a refusal it misses is a finding
    # lint never reports.
    from atomig.errors import SourceError as Refusal
    from atomig.plan.planner import may_refuse
    from atomig.sql import statement_facts

    refused = planned = 0
    version = ServerVersion.from_major(15)
    for name, text in _corpus():
        try:
            script = parse_script(text, "m.up.sql")
        except Refusal:
            continue  # a syntax error is not planned at all
        facts = lambda s: statement_facts(s, version)  # noqa: E731
        try:
            make_plan(text)
        except Refusal:
            refused += 1
            assert may_refuse(script, facts), name
        else:
            planned += 1
    assert refused >= 10 and planned >= 100  # the corpus exercises both outcomes


def test_a_step_needs_no_lock_on_what_the_migration_created_before():
    """Locks on a relation created earlier in the migration conflict with nobody, so the
    step's locks leave it out; names match as written (an unqualified name matches a
    qualified one of the same name, two schemas do not)."""
    plan = make_plan(
        "CREATE TABLE app.t (id bigint);\n"
        "CREATE TABLE u (id bigint);\n"
        "ALTER TABLE t ADD COLUMN a int;\n"
        "ALTER TABLE app.u ADD COLUMN a int;\n"
        "ALTER TABLE other.t ADD COLUMN a int;\n"
        "ALTER TABLE orders ADD COLUMN a int;"
    )
    [step] = plan.steps
    assert sorted(str(lock.relation) for lock in step.locks) == ["orders", "other.t"]
