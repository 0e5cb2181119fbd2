"""A role that may not create atomig's ledger, and a read-only database: every command that
needs the ledger fails with a clear error (what, which role and database, how to fix), no
traceback, and changes nothing."""

import pytest

MIGRATION = (
    "20261101_0900_add_x",
    "ALTER TABLE t ADD COLUMN x int;",
    "ALTER TABLE t DROP COLUMN IF EXISTS x;",
)
COMMANDS = (
    ("up",),
    ("recover",),
    ("backfill", "--sql", "DELETE FROM t", "--name", "b"),
)


def _schemas(db) -> list[str]:
    return [
        r[0]
        for r in db.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = 'atomig' ORDER BY 1"
        )
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_role_without_create_on_the_database_gets_a_clear_error(project, command):
    db = project.database
    role = f"nocreate_{db.name}"
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    db.execute(f"CREATE ROLE {role} LOGIN")
    try:
        db.execute(f"GRANT CONNECT ON DATABASE {db.name} TO {role}")
        db.execute(f"GRANT SELECT, DELETE ON t TO {role}")
        project.add(*MIGRATION)
        url = f"postgresql://{role}@{db.cluster.host}:{db.cluster.port}/{db.name}"
        result = project.cli("--database-url", url, *command)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert "cannot create atomig's ledger (schema atomig)" in result.stderr
        assert "permission denied for database" in result.stderr
        assert f"GRANT CREATE ON DATABASE {db.name} TO {role}" in result.stderr
        assert _schemas(db) == []
    finally:
        db.execute(f"DROP OWNED BY {role}")
        db.execute(f"DROP ROLE {role}")


def test_a_read_only_database_gets_a_clear_error(project):
    db = project.database
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    db.execute(f"ALTER DATABASE {db.name} SET default_transaction_read_only = on")
    project.add(*MIGRATION)
    result = project.cli("up")
    assert result.exit_code == 2, result.output
    assert "cannot create atomig's ledger (schema atomig)" in result.stderr
    assert "read-only transaction" in result.stderr
    assert _schemas(db) == []
