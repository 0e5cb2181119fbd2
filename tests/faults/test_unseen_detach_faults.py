"""A ``DETACH PARTITION … CONCURRENTLY`` that finished, but whose end nobody recorded: the
runner SIGKILLed, or its connection dropped, between the statement's success and the
journal/ledger write that says so. Sent again, the statement fails (``relation "m1" is not
a partition of relation "m"``, PG 15 and 18), so a resume must count the step done from the
catalog (``pg_inherits``), as for a concurrent index; a rollback re-attaches the partition
and ends at exactly the pre-migration schema."""

import pytest

from tests.faults.common import fingerprint, ledger_row, run_faulted

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\n"
    "CREATE TABLE m (id int, k int) PARTITION BY RANGE (k);\n"
    "CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (10);\n"
    "CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (10) TO (20);\n",
    "DROP TABLE IF EXISTS m;\nDROP TABLE IF EXISTS m1;\nDROP TABLE IF EXISTS t;\n",
)
UP = (
    "ALTER TABLE t ADD COLUMN b int;\n"
    "ALTER TABLE m DETACH PARTITION m1 CONCURRENTLY;\n"
    "ALTER TABLE t ADD COLUMN c int;\n"
)
# Safe on any partial state: the DO block attaches m1 only when it is detached; the detach
# left its partition constraint behind as the CHECK m1_k_check, which must go too.
DOWN = (
    "ALTER TABLE t DROP COLUMN IF EXISTS c;\n"
    "DO $$ BEGIN\n"
    "  IF NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = 'm1'::regclass) THEN\n"
    "    ALTER TABLE m ATTACH PARTITION m1 FOR VALUES FROM (0) TO (10);\n"
    "  END IF;\n"
    "END $$;\n"
    "ALTER TABLE m1 DROP CONSTRAINT IF EXISTS m1_k_check;\n"
    "ALTER TABLE t DROP COLUMN IF EXISTS b;\n"
)


def prepare(project, policy):
    """Base applied; the change applied and reverted once. Returns (pre, post)."""
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = fingerprint(db)
    project.add(f"{VERSION}_detach", f"-- atomig: on_failure={policy}\n" + UP, DOWN)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    post = fingerprint(db)
    result = project.cli("down")
    assert result.exit_code == 0, result.output
    assert fingerprint(db) == pre
    return pre, post


def ledger(db):
    return ledger_row(db, VERSION)


def detached(db):
    return not db.execute("SELECT 1 FROM pg_inherits WHERE inhrelid = 'm1'::regclass")


def assert_clean(db):
    assert (
        db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL") == 0
    )


@pytest.mark.parametrize("kind", ["committed.drop", "committed.kill"])
def test_resume_counts_the_unrecorded_detach_done(project, kind):
    db = project.database
    pre, post = prepare(project, "resume")
    faulted = run_faulted(project, kind)
    assert f"fault {kind} at step 2" in faulted.stdout, faulted.stderr
    assert detached(db)
    if kind == "committed.kill":
        assert ledger(db) == ("running", 1)
    else:
        # The runner reconnected, saw the partition detached and recorded the step.
        assert faulted.returncode == 1, faulted.stderr
        assert "finished before the connection was lost" in faulted.stdout
        assert "m1 is detached from m" in faulted.stdout
        assert ledger(db) == ("partial", 2)
    assert fingerprint(db) not in (pre, post)  # step 1 and 2 done, step 3 not
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert fingerprint(db) == post
    assert ledger(db) == ("applied", 3)
    assert_clean(db)
    # And back: the down file re-attaches the partition, exactly as before.
    assert project.cli("down").exit_code == 0
    assert fingerprint(db) == pre


def test_recover_resume_counts_the_unrecorded_detach_done(project):
    db = project.database
    _, post = prepare(project, "rollback")
    faulted = run_faulted(project, "committed.kill")
    assert "fault committed.kill at step 2" in faulted.stdout, faulted.stderr
    assert ledger(db) == ("running", 1)
    result = project.cli("recover", "--resume")
    assert result.exit_code == 0, result.output
    assert "m1 is detached from m" in result.output
    assert fingerprint(db) == post
    assert ledger(db) == ("applied", 3)
    assert_clean(db)


@pytest.mark.parametrize("how", ["policy", "recover"])
def test_rollback_after_an_unseen_detach_is_exactly_pre(project, how):
    db = project.database
    pre, post = prepare(project, "rollback")
    if how == "policy":
        # The connection drops: the runner records the detach done, and step 3's failure
        # policy (rollback) never comes: the lost connection is the failure.
        faulted = run_faulted(project, "committed.drop")
        assert faulted.returncode == 1, faulted.stderr
        assert "was rolled back" in faulted.stderr
    else:
        faulted = run_faulted(project, "committed.kill")
        assert "fault committed.kill at step 2" in faulted.stdout, faulted.stderr
        result = project.cli("recover", "--rollback")
        assert result.exit_code == 0, result.output
    assert fingerprint(db) == pre
    assert not detached(db)
    assert ledger(db) is None
    assert_clean(db)
    assert project.cli("up").exit_code == 0
    assert fingerprint(db) == post
