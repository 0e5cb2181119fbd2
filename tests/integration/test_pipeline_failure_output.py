"""A pipelined transaction step whose statement fails while later ones are still being
queued (a long file: psycopg reads the error before the block ends) prints the failure once,
as atomig's error, with no psycopg "error ignored terminating <psycopg.Pipeline ...>" noise on
stderr at the moment an operator reads it."""

UP = "CREATE TABLE pz (id int);\nSELECT 1/0;\n" + "".join(
    f"INSERT INTO pz VALUES ({i});\n" for i in range(10_000)
)


def test_a_failing_long_step_prints_its_error_once_and_no_psycopg_noise(project):
    db = project.database
    project.add("20261101_0900_pz", UP, "DROP TABLE IF EXISTS pz;\n")
    result = project.run("up")
    assert result.returncode == 1, result.stderr
    assert "error ignored" not in result.stderr
    assert "psycopg.Pipeline" not in result.stderr
    assert "20261101_0900_pz.up.sql:2:1" in result.stderr
    assert "division by zero" in result.stderr
    assert db.scalar("SELECT to_regclass('public.pz')") is None
    assert project.cli("up").exit_code == 1  # the session is usable: same failure again


def test_a_failed_statement_shows_postgresql_detail(project):
    # The row at fault is in PostgreSQL's DETAIL; an operator should not need --json for it.
    project.add(
        "20261101_0900_dup",
        "CREATE TABLE dup (k int);\nINSERT INTO dup VALUES (7), (7);\n"
        "ALTER TABLE dup ADD CONSTRAINT dup_k UNIQUE (k);\n",
        "DROP TABLE IF EXISTS dup;\n",
    )
    result = project.run("up")
    assert result.returncode == 1, result.stderr
    assert "DETAIL: Key (k)=(7) is duplicated." in result.stderr


def test_a_failed_statement_shows_postgresql_hint(project):
    project.add(
        "20261101_0901_hint",
        "SELECT * FROM pg_class WHERE relname = 1;\n",
        "SELECT 1;\n",
    )
    result = project.run("up")
    assert result.returncode == 1, result.stderr
    assert "HINT (PostgreSQL): No operator matches" in result.stderr, result.stderr
