"""The session envelope is in force inside every migration (read back via current_setting)."""

import pytest

CAPTURE = (
    "CREATE TABLE envelope AS SELECT current_setting('lock_timeout') AS lock_timeout,"
    " current_setting('statement_timeout') AS statement_timeout,"
    " current_setting('idle_in_transaction_session_timeout') AS idle,"
    " current_setting('application_name') AS application_name,"
    " current_setting('search_path') AS search_path;"
)


def captured(project):
    return project.database.execute(
        "SELECT lock_timeout, statement_timeout, idle, application_name, search_path FROM envelope"
    )[0]


def test_default_envelope(project):
    project.add("20261101_0900_capture", CAPTURE, "DROP TABLE IF EXISTS envelope;")
    assert project.cli("up").exit_code == 0
    # The first attempt waits for locks at most the short per-attempt lock_timeout (50ms);
    # the configured 2s is the ceiling later attempts may grow to.
    assert captured(project)[:4] == (
        "50ms",
        "15min",
        "1min",
        "migration:20261101_0900_capture",
    )
    details = project.database.scalar("SELECT details FROM atomig.journal")
    assert details["lock_timeout_ms"] == 50


# With a per-attempt lock_timeout above the configured one, the configured one (the
# ceiling of any single wait) is what a step runs with: these tests read it back.
LONG_ATTEMPTS = '[retry]\nattempt_lock_timeout = "1min"\n'


def test_project_and_migration_overrides(project):
    (project.dir / "atomig.toml").write_text(
        '[session]\nlock_timeout = "3s"\nstatement_timeout = "1h"\n' + LONG_ATTEMPTS
    )
    project.add(
        "20261101_0900_capture",
        "-- atomig: lock_timeout=5s\n" + CAPTURE,
        "DROP TABLE IF EXISTS envelope;",
    )
    assert project.cli("up").exit_code == 0
    assert captured(project)[:3] == ("5s", "1h", "1min")


def test_leading_sets_become_the_envelope_and_do_not_leak(project):
    (project.dir / "atomig.toml").write_text(LONG_ATTEMPTS)
    project.add(
        "20261101_0900_capture",
        "SET lock_timeout = '7s';\nSET search_path = app, public;\nCREATE SCHEMA app;\n"
        + CAPTURE,
        "DROP TABLE IF EXISTS app.envelope;\nDROP SCHEMA IF EXISTS app;",
    )
    project.add(
        "20261102_0900_second",
        "SET work_mem = '8MB';\nCREATE TABLE public.after AS SELECT current_setting('lock_timeout') AS lt,"
        " current_setting('search_path') AS sp, current_setting('work_mem') AS wm;",
        "DROP TABLE IF EXISTS public.after;",
    )
    assert project.cli("up").exit_code == 0
    row = project.database.execute(
        "SELECT lock_timeout, search_path FROM app.envelope"
    )[0]
    assert row == ("7s", "app, public")
    # The next migration starts from the defaults again.
    after = project.database.execute("SELECT lt, sp, wm FROM public.after")[0]
    assert after[0] == "2s" and "app" not in after[1] and after[2] == "8MB"


def test_mid_file_session_set_does_not_leak_into_next_migration(project):
    project.add(
        "20261101_0900_a",
        "CREATE TABLE a (id int);\nSET statement_timeout = '3min';",
        "DROP TABLE IF EXISTS a;",
    )
    project.add(
        "20261102_0900_b",
        "CREATE TABLE b AS SELECT current_setting('statement_timeout') AS st;",
        "DROP TABLE IF EXISTS b;",
    )
    assert project.cli("up").exit_code == 0
    assert project.database.scalar("SELECT st FROM b") == "15min"


@pytest.mark.parametrize(
    "statement", ["CREATE INDEX CONCURRENTLY i ON t (id)", "VACUUM t"]
)
def test_non_transactional_statement_runs_as_its_own_autocommit_step(
    project, statement
):
    """The step engine runs what PostgreSQL refuses in a transaction block as a step of its
    own, outside any transaction, after the transaction step before it committed."""
    project.add(
        "20261101_0900_t", "CREATE TABLE t (id int);", "DROP TABLE IF EXISTS t;"
    )
    project.add(
        "20261102_0900_idx",
        f"CREATE TABLE u (id int);\n{statement};",
        "DROP TABLE IF EXISTS u;",
    )
    result = project.cli("up")
    assert result.exit_code == 0, result.stderr
    journal = project.database.execute(
        "SELECT version, step_index, step_kind, outcome, finished_at >= started_at"
        " FROM atomig.journal ORDER BY id"
    )
    assert journal == [
        ("20261101_0900", 0, "transaction", "committed", True),
        ("20261102_0900", 0, "transaction", "committed", True),
        ("20261102_0900", 1, "autocommit", "done", True),
    ]
    assert project.database.execute(
        "SELECT status, step_count, steps_done FROM atomig.migrations ORDER BY order_key"
    ) == [("applied", 1, 1), ("applied", 2, 2)]
    if "INDEX" in statement:
        assert project.database.scalar(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'i'::regclass"
        )
