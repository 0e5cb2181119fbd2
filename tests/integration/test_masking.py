"""No password from a DSN appears in any output or log."""

import logging
from urllib.parse import quote

from tests.fix_pg import PASSWORD, PASSWORD_ROLE


def url_with_password(db, password=PASSWORD, port=None):
    return f"postgresql://{PASSWORD_ROLE}:{quote(password, safe='')}@127.0.0.1:{port or db.cluster.port}/{db.name}"


def assert_no_password(*texts):
    for text in texts:
        assert PASSWORD not in text
        assert quote(PASSWORD, safe="") not in text


def test_successful_run_never_prints_the_password(project, caplog):
    project.url = url_with_password(project.database)
    project.add(
        "20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXISTS a;"
    )
    caplog.set_level(logging.DEBUG)
    for args in (
        ("status",),
        ("up",),
        ("status", "--json"),
        ("plan", "--json"),
        ("down", "--json"),
    ):
        result = project.cli(*args)
        assert result.exit_code == 0, result.output
        assert_no_password(result.stdout, result.stderr)
        if args[0] != "plan":
            assert (
                f"postgresql://{PASSWORD_ROLE}@127.0.0.1"
                in result.stdout + result.stderr
            )
    assert_no_password(caplog.text)


def test_wrong_password_and_unreachable_server(project):
    project.add(
        "20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXISTS a;"
    )
    project.url = url_with_password(project.database, password="wr@ng:pass")
    wrong = project.cli("up", "--json")
    assert wrong.exit_code == 2
    assert "password authentication failed" in wrong.stderr
    assert (
        "wr@ng:pass" not in wrong.stdout + wrong.stderr
        and "wr%40ng" not in wrong.stdout + wrong.stderr
    )
    project.url = url_with_password(project.database, port=1)
    down = project.cli("status")
    assert down.exit_code == 2 and "cannot connect to" in down.stderr
    assert_no_password(down.stdout, down.stderr)


def test_password_from_environment_and_debug_logging(project):
    project.add(
        "20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXISTS a;"
    )
    url = url_with_password(project.database)
    project.url = None
    result = project.run(
        "--debug", "up", env={"DATABASE_URL": url, "ATOMIG_LOG": "debug"}
    )
    assert result.returncode == 0, result.stderr
    assert (
        "connecting to postgresql://atomig_pw@127.0.0.1" in result.stderr
    )  # the debug log
    assert_no_password(result.stdout, result.stderr)
    bad = project.run(
        "status", env={"DATABASE_URL": url.replace("postgresql://", "postgresq://")}
    )
    assert (
        bad.returncode == 2 and "invalid database URL (from DATABASE_URL)" in bad.stderr
    )
    assert_no_password(bad.stdout, bad.stderr)
