"""atomig's own ledger write fails with an error class the runner does not expect (disk
full, SQLSTATE 53100, raised here by a trigger on the journal): after a transaction step's
statements, inside its transaction, and after an autocommit step's statement ran. The runner
stops with a clear message (no traceback, exit 4), the ledger records the migration
unfinished where the catalog is, and once the cause is gone `atomig up` converges."""

import pytest

from tests.faults.common import fingerprint

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\n",
    "DROP TABLE IF EXISTS t;\n",
)
UP = (
    "ALTER TABLE t ADD COLUMN b int;\n"
    "CREATE INDEX CONCURRENTLY idx_b ON t (b);\n"
    "ALTER TABLE t ADD COLUMN c int;\n"
)
DOWN = (
    "ALTER TABLE t DROP COLUMN IF EXISTS c;\n"
    "DROP INDEX CONCURRENTLY IF EXISTS idx_b;\n"
    "ALTER TABLE t DROP COLUMN IF EXISTS b;\n"
)
DISK_FULL = """
CREATE FUNCTION atomig.disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.direction = 'up' AND NEW.step_index = %(step)s
     AND NEW.outcome IN ('committed', 'done') THEN
    RAISE EXCEPTION 'could not extend file: No space left on device'
      USING ERRCODE = 'disk_full';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON atomig.journal
  FOR EACH ROW EXECUTE FUNCTION atomig.disk_full();
"""


@pytest.mark.parametrize(("step", "kind"), [(1, "autocommit"), (2, "transaction")])
def test_a_failing_ledger_write_stops_clearly_and_recovers(project, step, kind):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    pre = fingerprint(db)
    project.add(f"{VERSION}_change", UP, DOWN)
    assert project.cli("up").exit_code == 0
    post = fingerprint(db)
    assert project.cli("down").exit_code == 0
    with db.connect() as conn:
        conn.execute(DISK_FULL.replace("%(step)s", str(step)))
    failed = project.run("up")
    assert failed.returncode == 4, failed.stderr
    assert "Traceback" not in failed.stderr
    assert (
        f"step {step + 1}/3 ({kind}) of {VERSION}_change: a statement of atomig's own"
        in failed.stderr
    )
    assert "No space left on device [SQLSTATE 53100]" in failed.stderr
    assert "`atomig recover` (or `atomig up`) finishes it" in failed.stderr
    # Steps before it are recorded done; a transaction step rolled back with its write.
    assert db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = %s",
        (VERSION,),
    ) == [("running", step)]
    assert project.cli("status", "--check").exit_code == 4
    assert fingerprint(db) not in (pre, post)
    with db.connect() as conn:
        conn.execute("DROP TRIGGER disk_full ON atomig.journal")
    converged = project.cli("up")
    assert converged.exit_code == 0, converged.output
    assert fingerprint(db) == post
    assert db.execute("SELECT 1 FROM pg_index WHERE NOT indisvalid") == []
    assert (
        db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL") == 0
    )
