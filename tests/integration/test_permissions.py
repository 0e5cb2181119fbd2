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


def test_a_role_that_may_read_but_not_write_the_ledger_gets_a_clear_error(project):
    db = project.database
    role = f"reader_{db.name}"
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    project.add(*MIGRATION)
    # The ledger exists (created by its owner), the role may only read it.
    assert project.cli("status").exit_code == 0
    assert project.cli("backfills").exit_code == 0
    from atomig.run.ledger_schema import ensure_ledger

    with db.connect() as conn:
        ensure_ledger(conn, "atomig")
    db.execute(f"CREATE ROLE {role} LOGIN")
    try:
        db.execute(f"GRANT CONNECT, CREATE ON DATABASE {db.name} TO {role}")
        db.execute(f"ALTER TABLE t OWNER TO {role}")
        db.execute(f"GRANT USAGE ON SCHEMA atomig TO {role}")
        db.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA atomig TO {role}")
        url = f"postgresql://{role}@{db.cluster.host}:{db.cluster.port}/{db.name}"
        result = project.cli("--database-url", url, "up")
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert f"role {role} may not write atomig's ledger (schema atomig)" in (
            result.stderr
        )
        assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA" in (
            result.stderr
        )
        assert db.scalar("SELECT count(*) FROM atomig.migrations") == 0
        assert (
            db.scalar(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = 't'::regclass"
                " AND attname = 'x'"
            )
            == 0
        )
    finally:
        db.execute(f"DROP OWNED BY {role}")
        db.execute(f"DROP ROLE {role}")


def test_the_advised_grant_quotes_a_role_name_that_needs_it(project):
    """The hint is SQL the user pastes: a role called Deploy-Bot must be "Deploy-Bot" in it
    (unquoted, PostgreSQL reads deploy, a minus, and fails)."""
    db = project.database
    role = f"Deploy-Bot-{db.name}"
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    db.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        db.execute(f'GRANT CONNECT ON DATABASE {db.name} TO "{role}"')
        db.execute(f'ALTER TABLE t OWNER TO "{role}"')
        project.add(*MIGRATION)
        url = f"postgresql://{role}@{db.cluster.host}:{db.cluster.port}/{db.name}"
        result = project.cli("--database-url", url, "up")
        assert result.exit_code == 2, result.output
        assert f'GRANT CREATE ON DATABASE {db.name} TO "{role}"' in result.stderr
        assert f'AUTHORIZATION "{role}"' in result.stderr
        # The advice works as written.
        hint = result.stderr.split("hint: ", 1)[1]
        db.execute(hint.split(" (once", 1)[0])
        again = project.cli("--database-url", url, "up")
        assert again.exit_code == 0, again.output
        assert _schemas(db) == ["atomig"]
    finally:
        db.execute(f'DROP OWNED BY "{role}"')
        db.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_role_without_usage_on_the_existing_ledger_schema_gets_its_own_advice(
    project, command
):
    """The ledger exists and the role may write its tables, but not reach into its schema
    (no USAGE): not "cannot create the ledger" with a GRANT CREATE ON DATABASE that changes
    nothing, but the GRANT USAGE that fixes it, quoted, working as pasted."""
    db = project.database
    role = f"Deploy-Bot-{db.name}"
    schema = "Ledger-Schema"
    (project.dir / "atomig.toml").write_text(f'ledger_schema = "{schema}"\n')
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    project.add(*MIGRATION)
    assert project.cli("status").exit_code == 0
    from atomig.run.ledger_schema import ensure_ledger

    with db.connect() as conn:
        ensure_ledger(conn, schema)
    db.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        db.execute(f'GRANT CONNECT, CREATE ON DATABASE {db.name} TO "{role}"')
        db.execute(f'ALTER TABLE t OWNER TO "{role}"')
        db.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}"'
            f' TO "{role}"'
        )
        db.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')
        url = f"postgresql://{role}@{db.cluster.host}:{db.cluster.port}/{db.name}"
        result = project.cli("--database-url", url, *command)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert "cannot create" not in result.stderr
        assert (
            f"role {role} may not use atomig's ledger schema {schema}: it exists "
            "(owner postgres) but the role lacks USAGE on it" in result.stderr
        )
        hint = result.stderr.split("hint: ", 1)[1]
        assert hint.startswith(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        db.execute(hint.split(" (as", 1)[0])
        again = project.cli("--database-url", url, *command)
        assert "ledger" not in again.stderr, again.output
        if command == ("up",):
            assert again.exit_code == 0, again.output
    finally:
        db.execute(f'DROP OWNED BY "{role}"')
        db.execute(f'DROP ROLE "{role}"')
