"""Planner additions of the step engine: locks per step, concurrent steps, unnamed
concurrent indexes, and rollback safety of down files on a partial state."""

from dataclasses import replace

import pytest

from atomig.errors import SourceError
from atomig.plan.model import StepKind
from atomig.plan.rollback import needs_partial_rollback, require_safe_rollback
from atomig.sql import LockMode, ServerVersion, parse_script
from atomig.sql.guards import partial_state_hazard
from tests.unit.test_planner import make_plan

V15 = ServerVersion.from_major(15)


def test_unnamed_concurrent_index_is_rejected_with_its_location():
    with pytest.raises(SourceError, match="without an index name") as info:
        make_plan("SELECT 1;\nCREATE INDEX CONCURRENTLY ON t (a);")
    assert (info.value.location.line, info.value.location.column) == (2, 1)
    assert "IF NOT EXISTS <name>" in info.value.hint


def test_step_locks_skip_relations_created_earlier_in_the_migration():
    plan = make_plan(
        "CREATE TABLE fresh (id int);\n"
        "ALTER TABLE fresh ADD COLUMN a int;\n"
        "ALTER TABLE orders ADD COLUMN b int;\n"
        "CREATE INDEX CONCURRENTLY i_fresh ON fresh (a);\n"
        "CREATE INDEX CONCURRENTLY i_orders ON orders (b);"
    )
    first, build_fresh, build_orders = plan.steps
    assert [(str(lock.relation), lock.mode) for lock in first.locks] == [
        ("orders", LockMode.ACCESS_EXCLUSIVE)
    ]
    assert build_fresh.locks == () and build_fresh.concurrent
    assert [(str(lock.relation), lock.mode) for lock in build_orders.locks] == [
        ("orders", LockMode.SHARE_UPDATE_EXCLUSIVE)
    ]


def test_short_attempts_for_transaction_steps_full_timeout_for_concurrent_ones():
    plan = make_plan(
        "-- atomig: lock_timeout=3s\nALTER TABLE t ADD COLUMN a int;\n"
        "CREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;"
    )
    tx, build, vacuum = plan.steps
    assert tx.short_attempts and tx.first_attempt_lock_timeout_ms == 50
    assert not build.short_attempts and build.first_attempt_lock_timeout_ms == 3000
    # VACUUM cannot run in a transaction but is not CONCURRENTLY: short attempts.
    assert vacuum.kind is StepKind.AUTOCOMMIT and vacuum.short_attempts


def test_failure_policy_from_directive_or_settings():
    assert make_plan("SELECT 1;").on_failure == "rollback"
    assert make_plan("-- atomig: on_failure=resume\nSELECT 1;").on_failure == "resume"


@pytest.mark.parametrize(
    "statement",
    [
        "DROP INDEX CONCURRENTLY IF EXISTS i",
        "DROP TABLE IF EXISTS t",
        "ALTER TABLE orders DROP COLUMN IF EXISTS c, DROP CONSTRAINT IF EXISTS k",
        "ALTER TABLE orders ALTER COLUMN c SET DEFAULT 0, ALTER COLUMN d DROP NOT NULL",
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS c int",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON orders (c)",
        "CREATE TABLE IF NOT EXISTS t (id int)",
        "CREATE OR REPLACE VIEW v AS SELECT 1",
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
        "DO $$ BEGIN IF true THEN NULL; END IF; END $$",
        "UPDATE orders SET c = 0",
        "SET lock_timeout = '1s'",
        "COMMENT ON TABLE orders IS 'x'",
        # a relation renamed (or moved) back only when the up got as far (PG 15, 18)
        "ALTER TABLE IF EXISTS orders_v2 RENAME TO orders",
        "ALTER INDEX IF EXISTS orders_v2_pkey RENAME TO orders_pkey",
        "ALTER SEQUENCE IF EXISTS s2 RENAME TO s",
        "ALTER VIEW IF EXISTS v2 RENAME TO v",
        "ALTER MATERIALIZED VIEW IF EXISTS m2 RENAME TO m",
        "ALTER TABLE IF EXISTS archive.orders SET SCHEMA public",
        # cluster-wide objects: a notice when missing (PG 15, 18)
        "DROP DATABASE IF EXISTS reports",
        "DROP DATABASE IF EXISTS reports WITH (FORCE)",
        "DROP TABLESPACE IF EXISTS fast",
        "DROP SUBSCRIPTION IF EXISTS feed",
    ],
)
def test_statements_safe_on_a_partial_state(statement):
    (parsed,) = parse_script(statement).statements
    assert partial_state_hazard(parsed) is None


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("DROP INDEX i", "DROP … needs IF EXISTS"),
        ("ALTER TABLE orders DROP COLUMN c", "DROP COLUMN … needs IF EXISTS"),
        ("ALTER TABLE orders ADD COLUMN c int", "ADD COLUMN … needs IF NOT EXISTS"),
        (
            "ALTER TABLE orders ADD CONSTRAINT k CHECK (c > 0)",
            "AddConstraint cannot be",
        ),
        ("CREATE INDEX i ON orders (c)", "needs IF NOT EXISTS"),
        ("CREATE VIEW v AS SELECT 1", "needs OR REPLACE"),
        ("ALTER TABLE orders RENAME TO o", "needs IF EXISTS"),
        ("ALTER TABLE orders SET SCHEMA archive", "needs IF EXISTS"),
        # IF EXISTS guards the table, not the column or constraint (PG 15, 18)
        ("ALTER TABLE IF EXISTS o RENAME COLUMN a TO b", "cannot be guarded"),
        ("ALTER TABLE IF EXISTS o RENAME CONSTRAINT a TO b", "cannot be guarded"),
        ("CREATE TYPE mood AS ENUM ('a')", "CREATE TYPE … cannot be guarded"),
        ("DROP DATABASE reports", "DROP … needs IF EXISTS"),
        ("DROP TABLESPACE fast", "DROP … needs IF EXISTS"),
        ("DROP SUBSCRIPTION feed", "DROP … needs IF EXISTS"),
        ("CREATE DATABASE reports", "cannot be guarded"),
    ],
)
def test_statements_unsafe_on_a_partial_state(statement, reason):
    (parsed,) = parse_script(statement).statements
    assert reason in partial_state_hazard(parsed)


def test_statements_on_tables_the_up_creates_need_guards():
    from atomig.sql import QualifiedName

    created = {QualifiedName(None, "fresh")}
    alter, guarded, update = parse_script(
        "ALTER TABLE fresh DROP COLUMN IF EXISTS a;"
        "ALTER TABLE IF EXISTS fresh DROP COLUMN IF EXISTS a;"
        "UPDATE fresh SET a = 1"
    ).statements
    assert "needs IF EXISTS" in partial_state_hazard(alter, created)
    assert partial_state_hazard(guarded, created) is None
    assert "which the up creates" in partial_state_hazard(update, created)


def _down(text):
    from atomig.plan import plan_migration
    from atomig.source.model import Directives
    from tests.unit.test_planner import MID, SETTINGS

    return plan_migration(
        MID, "down", parse_script(text, "m.down.sql"), Directives(), SETTINGS, V15
    )


def test_rollback_safety_is_required_only_when_a_partial_state_is_possible():
    single = make_plan("ALTER TABLE t ADD COLUMN a int;")
    multi = make_plan(
        "ALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY i ON t (a);"
    )
    unsafe = _down("DROP INDEX i;\nALTER TABLE t DROP COLUMN a;")
    assert not needs_partial_rollback(single) and needs_partial_rollback(multi)
    require_safe_rollback(single, unsafe, V15)
    require_safe_rollback(replace(multi, on_failure="resume"), unsafe, V15)
    with pytest.raises(SourceError, match="not safe there") as info:
        require_safe_rollback(multi, unsafe, V15)
    assert str(info.value.location) == "m.down.sql:1:1"


def test_a_down_may_create_what_it_dropped_if_exists_before():
    """DROP … IF EXISTS x then CREATE x (no guard) cannot meet x whatever the up left: the
    way to put back a view whose columns the up changed (CREATE OR REPLACE cannot drop
    one), so it is not refused. The names must match as written."""
    up = make_plan(
        "CREATE OR REPLACE VIEW v AS SELECT id, a, b FROM t;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (b);"
    )
    recreate = _down(
        "DROP INDEX CONCURRENTLY IF EXISTS i;\n"
        "DROP VIEW IF EXISTS v;\nCREATE VIEW v AS SELECT id, a FROM t;\n"
        "DROP TABLE IF EXISTS app.log;\nCREATE TABLE app.log (id bigint);"
    )
    require_safe_rollback(up, recreate, V15)
    for unsafe in (
        "CREATE VIEW v AS SELECT id, a FROM t;",
        "DROP VIEW IF EXISTS v;\nCREATE VIEW w AS SELECT id FROM t;",
        "DROP TABLE IF EXISTS log;\nCREATE TABLE app.log (id bigint);",
        "CREATE VIEW v AS SELECT id, a FROM t;\nDROP VIEW IF EXISTS v;",
    ):
        with pytest.raises(SourceError, match=r"needs OR REPLACE|needs IF NOT EXISTS"):
            require_safe_rollback(up, _down(unsafe), V15)


def test_a_lock_timeout_of_zero_never_lengthens_short_attempts():
    # SET lock_timeout = 0 (a pg_dump header) turns the envelope's timeout off: a step that
    # can stall other sessions still tries at 50 ms every time (the runner's AttemptTimeout
    # keeps the first attempt's timeout as the ceiling), and the plan says so.
    from atomig.cli.render import _step_lines
    from atomig.run.retry import AttemptTimeout

    plan = make_plan(
        "SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN a int;\n"
        "CREATE INDEX CONCURRENTLY i ON t (a);"
    )
    tx, build = plan.steps
    assert (tx.first_attempt_lock_timeout_ms, tx.last_attempt_lock_timeout_ms) == (
        50,
        50,
    )
    attempts = AttemptTimeout(
        tx.first_attempt_lock_timeout_ms, tx.last_attempt_lock_timeout_ms
    )
    assert [attempts.current_ms, attempts.escalate(), attempts.escalate()] == [
        50,
        50,
        50,
    ]
    assert "lock_timeout 50ms at every attempt" in _step_lines(tx)[0]
    # A CONCURRENTLY build waits as the envelope says (none): its lock queues no traffic.
    assert build.last_attempt_lock_timeout_ms == 0
    assert "lock_timeout none" in _step_lines(build)[0]
    two_seconds = make_plan("ALTER TABLE t ADD COLUMN a int;").steps[0]
    assert "lock_timeout 50ms first, doubling to 2s" in _step_lines(two_seconds)[0]


def test_a_guarded_down_drop_of_a_relation_the_up_moves_aside_late_is_refused():
    # The up builds an index, then swaps in a new orders table; if it stops after step 1,
    # 'DROP TABLE IF EXISTS orders' in the down would drop the ORIGINAL orders.
    swap = (
        "CREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);\n"
        "ALTER TABLE orders RENAME TO orders_old;\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, a int);"
    )
    down = _down(
        "DROP TABLE IF EXISTS orders;\n"
        "ALTER TABLE IF EXISTS orders_old RENAME TO orders;\n"
        "DROP INDEX IF EXISTS orders_a_idx;"
    )
    with pytest.raises(SourceError, match="removes the original orders") as info:
        require_safe_rollback(make_plan(swap), down, V15)
    assert str(info.value.location) == "m.down.sql:1:1"
    assert "first step" in (info.value.hint or "")
    # Moved aside in the first step: any partial state has it moved already.
    first = make_plan(
        "ALTER TABLE orders RENAME TO orders_old;\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, a int);\n"
        "CREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);"
    )
    require_safe_rollback(first, down, V15)


def test_a_guarded_down_drop_of_a_column_the_up_drops_late_and_adds_again_is_refused():
    # "Change a column's type by drop and re-add": if the up stops before its second
    # step, the down's DROP COLUMN IF EXISTS drops the ORIGINAL column's data, and the
    # re-added column makes the schema look restored.
    up = make_plan(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
        "ALTER TABLE users DROP COLUMN status;\n"
        "ALTER TABLE users ADD COLUMN status int;"
    )
    down = _down(
        "ALTER TABLE users DROP COLUMN IF EXISTS status;\n"
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS status text;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;"
    )
    with pytest.raises(
        SourceError, match=r"removes the original users\.status and its"
    ):
        require_safe_rollback(up, down, V15)
    # A column the up only adds is the up's own: dropping it is the rollback.
    only_adds = make_plan(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
        "ALTER TABLE users ADD COLUMN nick text;"
    )
    require_safe_rollback(
        only_adds,
        _down(
            "ALTER TABLE users DROP COLUMN IF EXISTS nick;\n"
            "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;"
        ),
        V15,
    )


def test_what_the_up_makes_first_is_its_own_to_drop():
    # change-column-type's own shape: score_new is the up's (added in step 1) even when
    # a later step renames it into place; the down may drop it on any partial state.
    up = make_plan(
        "ALTER TABLE orders ADD COLUMN score_new bigint;\n"
        "CREATE INDEX CONCURRENTLY orders_score_new ON orders (score_new);\n"
        "ALTER TABLE orders RENAME COLUMN score TO score_old;\n"
        "ALTER TABLE orders RENAME COLUMN score_new TO score;"
    )
    require_safe_rollback(
        up, _down("ALTER TABLE orders DROP COLUMN IF EXISTS score_new;"), V15
    )
    # But the original score, renamed aside in step 3 and replaced by a rename into
    # place, is not the down's to drop.
    with pytest.raises(SourceError, match=r"removes the original orders\.score"):
        require_safe_rollback(
            up, _down("ALTER TABLE orders DROP COLUMN IF EXISTS score;"), V15
        )


def test_a_down_naming_a_column_the_up_adds_after_its_first_step_is_refused():
    # If the up stops before step 2, users.nick does not exist: the down's UPDATE and
    # CREATE INDEX (IF NOT EXISTS guards only the index name) fail (42703).
    up = make_plan(
        "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
        "ALTER TABLE users ADD COLUMN nick text;\n"
        "ALTER TABLE users RENAME COLUMN email TO mail;"
    )
    for statement in (
        "UPDATE users SET email = nick;",
        "UPDATE users u SET note = u.nick FROM orders o WHERE o.user_id = u.id;",
        "CREATE INDEX IF NOT EXISTS users_nick ON users (lower(nick));",
        "ALTER TABLE users ALTER COLUMN nick DROP DEFAULT;",
        "COMMENT ON COLUMN users.mail IS 'x';",
    ):
        with pytest.raises(SourceError, match=r"the up adds in step [23]") as info:
            require_safe_rollback(up, _down(statement), V15)
        assert "first step" in (info.value.hint or ""), statement
    # Safe on every partial state: guarded drops, a DO block, a bare name another
    # relation of the statement may have, and a column added in the first step.
    require_safe_rollback(
        up,
        _down(
            "ALTER TABLE users DROP COLUMN IF EXISTS nick;\n"
            "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_nick_key;\n"
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_attribute WHERE attname = 'nick') "
            "THEN UPDATE users SET email = nick; END IF; END $$;\n"
            "UPDATE users SET email = 'x' WHERE id IN (SELECT id FROM t WHERE nick);\n"
            "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;"
        ),
        V15,
    )
    first = make_plan(
        "ALTER TABLE users ADD COLUMN nick text;\n"
        "CREATE INDEX CONCURRENTLY users_nick_idx ON users (nick);"
    )
    require_safe_rollback(first, _down("UPDATE users SET email = nick;"), V15)
