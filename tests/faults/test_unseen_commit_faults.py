"""A concurrent index step that finished, but whose end nobody recorded: the runner
SIGKILLed, or its connection dropped, between the statement's success and the journal/ledger
write that says so (the journal says ``started``, the catalog says done). Without ``IF [NOT]
EXISTS`` the step cannot run again, so a resume must count it done from the catalog; either
way out ends exactly at the pre- or the post-migration schema, the ledger agreeing."""

import pytest

from tests.faults.common import fingerprint, ledger_row, run_faulted

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE INDEX idx_old ON t (a);\n",
    "DROP TABLE IF EXISTS t;\n",
)
CHANGES = {
    "create": (
        "ALTER TABLE t ADD COLUMN b int;\n"
        "CREATE INDEX CONCURRENTLY idx_b ON t (b);\n"
        "ALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN IF EXISTS c;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS idx_b;\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\n",
    ),
    "drop": (
        "ALTER TABLE t ADD COLUMN b int;\n"
        "DROP INDEX CONCURRENTLY idx_old;\n"
        "ALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN IF EXISTS c;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_old ON t (a);\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\n",
    ),
}


def prepare(project, change, policy):
    """Base applied; the change applied and reverted once. Returns (pre, post)."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = fingerprint(db)
    up, down = CHANGES[change]
    project.add(f"{VERSION}_change", f"-- atomig: on_failure={policy}\n" + up, down)
    assert project.cli("up").exit_code == 0
    post = fingerprint(db)
    assert project.cli("down").exit_code == 0
    assert fingerprint(db) == pre
    return pre, post


def ledger(db):
    return ledger_row(db, VERSION)


@pytest.mark.parametrize("kind", ["committed.drop", "committed.kill"])
@pytest.mark.parametrize("change", ["create", "drop"])
def test_resume_counts_the_unrecorded_step_done(project, change, kind):
    db = project.database
    pre, post = prepare(project, change, "resume")
    faulted = run_faulted(project, kind)
    assert f"fault {kind} at step 2" in faulted.stdout, faulted.stderr
    if kind == "committed.kill":
        assert ledger(db) == ("running", 1)
    else:
        # The runner reconnected, saw the step done in the catalog and recorded it.
        assert faulted.returncode == 1
        assert "finished before the connection was lost" in faulted.stdout
        assert ledger(db) == ("partial", 2)
    assert fingerprint(db) not in (pre, post)  # step 1 and 2 done, step 3 not
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert fingerprint(db) == post
    assert ledger(db) == ("applied", 3)
    assert db.execute("SELECT 1 FROM pg_index WHERE NOT indisvalid") == []
    assert (
        db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL") == 0
    )


def test_rollback_policy_after_an_unseen_build_is_exactly_pre(project):
    db = project.database
    pre, post = prepare(project, "create", "rollback")
    faulted = run_faulted(project, "committed.drop")
    assert faulted.returncode == 1, faulted.stderr
    assert "was rolled back" in faulted.stderr
    assert fingerprint(db) == pre
    assert ledger(db) is None
    assert project.cli("up").exit_code == 0
    assert fingerprint(db) == post
