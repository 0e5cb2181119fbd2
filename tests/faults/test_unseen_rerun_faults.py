"""The autocommit steps that can simply run again after they finished unseen (the runner
SIGKILLed, or its connection dropped, between their success and the journal write):
``REINDEX … CONCURRENTLY``, ``VACUUM``, ``ALTER SYSTEM``. Nothing in the catalog says they
ran, so the resume sends them again; the migration ends applied, exactly as after the up,
and rolls back to exactly before."""

import pytest

from tests.faults.common import fingerprint, ledger_row, run_faulted

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE INDEX idx_a ON t (a);\n",
    "DROP TABLE IF EXISTS t;\n",
)
STEPS = {
    "reindex_index": ("REINDEX INDEX CONCURRENTLY idx_a;\n", ""),
    "reindex_table": ("REINDEX TABLE CONCURRENTLY t;\n", ""),
    "vacuum": ("VACUUM (ANALYZE) t;\n", ""),
    "alter_system": (
        "ALTER SYSTEM SET work_mem = '7MB';\n",
        "ALTER SYSTEM RESET work_mem;\n",
    ),
}


def ledger(db):
    return ledger_row(db, VERSION)


def work_mem_file(db):
    """work_mem as postgresql.auto.conf says (what ALTER SYSTEM writes)."""
    return db.scalar(
        "SELECT setting FROM pg_file_settings WHERE name = 'work_mem' "
        "AND sourcefile LIKE '%%postgresql.auto.conf'"
    )


@pytest.mark.parametrize("kind", ["committed.drop", "committed.kill"])
@pytest.mark.parametrize("step", sorted(STEPS))
def test_resume_runs_the_step_again(project, step, kind):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = fingerprint(db)
    statement, undo = STEPS[step]
    project.add(
        f"{VERSION}_change",
        "-- atomig: on_failure=resume\nALTER TABLE t ADD COLUMN b int;\n"
        f"{statement}ALTER TABLE t ADD COLUMN c int;\n",
        f"ALTER TABLE t DROP COLUMN IF EXISTS c;\n{undo}"
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\n",
    )
    try:
        faulted = run_faulted(project, kind)
        assert f"fault {kind} at step 2" in faulted.stdout, faulted.stderr
        assert ledger(db) == (
            ("running", 1) if kind == "committed.kill" else ("partial", 1)
        )
        result = project.cli("up")
        assert result.exit_code == 0, result.output
        assert ledger(db) == ("applied", 3)
        post = fingerprint(db)
        assert post != pre
        assert db.execute("SELECT 1 FROM pg_index WHERE NOT indisvalid") == []
        if step == "alter_system":
            assert work_mem_file(db) == "7MB"
        assert project.cli("down").exit_code == 0
        assert fingerprint(db) == pre
        assert work_mem_file(db) is None
    finally:
        db.execute("ALTER SYSTEM RESET work_mem")
