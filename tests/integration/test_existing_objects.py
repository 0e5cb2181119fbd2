"""A step that fails because what it creates already exists (an index or a column added by
hand in production, drift) must not be "rolled back" with the down file: the down file's
DROP … IF EXISTS would drop the object that was there before the migration — an index the
application needs, a column with its data. atomig stops the migration partial instead,
leaving the existing object alone, and says so."""

import pytest

BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\n",
    "DROP TABLE IF EXISTS t;\n",
)
CASES = {
    "index": (
        "ALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY idx_x ON t (b);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS idx_x;\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS b;\n",
        "CREATE INDEX idx_x ON t (a)",
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_x'",
    ),
    "column": (
        "CREATE INDEX CONCURRENTLY idx_y ON t (a);\n"
        "ALTER TABLE t ADD COLUMN note text;\n",
        "ALTER TABLE t DROP COLUMN IF EXISTS note;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS idx_y;\n",
        "ALTER TABLE t ADD COLUMN note text; INSERT INTO t VALUES (1, 1, 'keep me')",
        "SELECT count(*) FROM t WHERE note = 'keep me'",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_step_that_collides_with_an_existing_object_does_not_drop_it(project, case):
    db = project.database
    up, down, existing, survives = CASES[case]
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute(existing)  # drift: made by hand before the migration ships
    project.add("20261102_0900_change", up, down)
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert "already exists" in result.stderr
    assert "did not run the down file" in result.stderr
    assert db.scalar(survives) == 1
    [(status, steps_done)] = db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = '20261102_0900'"
    )
    assert (status, steps_done) == ("partial", 1)
