"""up / down / status against real servers (PG 15 and PG 18)."""

import json

from tests.integration.helpers import applied_versions, ledger_rows, schema_snapshot

USERS = (
    "20261101_0900_create_users",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
    "DROP TABLE IF EXISTS users;",
)
ORDERS = (
    "20261102_0900_create_orders",
    "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL);",
    "DROP TABLE IF EXISTS orders;",
)
ORDERS_USER = (
    "20261103_0900_orders_user_id",
    "ALTER TABLE orders ADD COLUMN user_id bigint;\n"
    "ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user;\n",
    "ALTER TABLE orders DROP CONSTRAINT IF EXISTS fk_orders_user;\nALTER TABLE orders DROP COLUMN IF EXISTS user_id;\n",
)


def shop(project):
    for migration in (USERS, ORDERS, ORDERS_USER):
        project.add(*migration)


def test_up_applies_everything_in_order_and_records_it(project):
    shop(project)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert applied_versions(project.database) == [
        "20261101_0900",
        "20261102_0900",
        "20261103_0900",
    ]
    assert (
        project.database.scalar(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'user_id'"
        )
        == 1
    )
    rows = project.database.execute(
        "SELECT status, applied_by, application_name, duration_ms >= 0, step_count, length(up_sql) > 0 FROM atomig.migrations ORDER BY order_key"
    )
    assert rows[0][0] == "applied"
    assert rows[2][2] == "migration:20261103_0900_orders_user_id"
    assert all(r[3] and r[5] for r in rows)
    journal = project.database.execute(
        "SELECT version, direction, outcome, attempt, backend_pid IS NOT NULL FROM atomig.journal ORDER BY id"
    )
    # The VALIDATE is a step of its own: the ADD … NOT VALID commits before the scan.
    assert journal == [
        (v, "up", "committed", 1, True)
        for v in ("20261101_0900", "20261102_0900", "20261103_0900", "20261103_0900")
    ]
    again = project.cli("up")
    assert again.exit_code == 0 and "nothing to apply" in again.output


def test_up_to_and_down_steps_and_to(project):
    shop(project)
    assert project.cli("up", "--to", "20261102_0900").exit_code == 0
    assert applied_versions(project.database) == ["20261101_0900", "20261102_0900"]
    assert project.cli("up").exit_code == 0
    assert project.cli("down").exit_code == 0
    assert applied_versions(project.database) == ["20261101_0900", "20261102_0900"]
    assert (
        project.database.scalar(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'user_id'"
        )
        == 0
    )
    assert project.cli("up").exit_code == 0
    assert project.cli("down", "--steps", "2").exit_code == 0
    assert applied_versions(project.database) == ["20261101_0900"]
    assert project.cli("up").exit_code == 0
    assert project.cli("down", "--to", "20261101_0900").exit_code == 0
    assert applied_versions(project.database) == ["20261101_0900"]
    assert project.cli("down", "--to", "0").exit_code == 0
    assert applied_versions(project.database) == []
    assert project.database.scalar("SELECT to_regclass('users')") is None
    history = [
        r[0]
        for r in project.database.execute(
            "SELECT event FROM atomig.history ORDER BY id"
        )
    ]
    assert history.count("applied") == 6 and history.count("reverted") == 6


def test_down_usage_errors(project):
    shop(project)
    project.cli("up")
    both = project.cli("down", "--to", "20261101_0900", "--steps", "1")
    assert both.exit_code == 2 and "either --to or --steps" in both.stderr
    unknown = project.cli("down", "--to", "20991231_0000")
    assert unknown.exit_code == 2 and "no migration with version" in unknown.stderr
    assert applied_versions(project.database) == [
        "20261101_0900",
        "20261102_0900",
        "20261103_0900",
    ]


def test_status_check_and_json_shapes(project):
    shop(project)
    pending = project.cli("status", "--check")
    assert pending.exit_code == 3
    document = json.loads(project.cli("status", "--json").stdout)
    assert document["version"] == 1
    assert document["summary"] == {
        "applied": 0,
        "pending": 3,
        "partial": 0,
        "running": 0,
        "edited": 0,
        "missing": 0,
        "broken": 0,
    }
    assert set(document) >= {
        "database",
        "server_version",
        "ledger_schema",
        "migrations",
        "needs_attention",
    }
    assert document["server_version"].startswith(str(project.database.major))
    project.cli("up", "--to", "20261101_0900")
    document = json.loads(project.cli("status", "--json").stdout)
    first = document["migrations"][0]
    assert set(first) == {
        "version",
        "slug",
        "state",
        "applied_at",
        "started_at",
        "duration_ms",
        "applied_by",
        "edited_files",
        "out_of_order",
        "steps_done",
        "step_count",
        "last_failure",
        "reason",
        "failure",
        "baseline",
    }
    assert [m["state"] for m in document["migrations"]] == [
        "applied",
        "pending",
        "pending",
    ]
    up = json.loads(project.cli("up", "--json").stdout)
    assert up["direction"] == "up"
    assert [m["version"] for m in up["migrations"]] == [
        "20261102_0900",
        "20261103_0900",
    ]
    assert set(up["migrations"][0]) == {
        "version",
        "slug",
        "status",
        "duration_ms",
        "steps",
    }
    assert project.cli("status", "--check").exit_code == 0
    down = json.loads(project.cli("down", "--json").stdout)
    assert down["direction"] == "down" and down["migrations"][0]["status"] == "reverted"


def test_failing_migration_leaves_schema_and_ledger_untouched(project):
    project.add(*USERS)
    project.cli("up")
    schema_before = schema_snapshot(project.database)
    ledger_before = ledger_rows(project.database)
    project.add(
        "20261104_0900_broken",
        "CREATE TABLE audit (id int);\nALTER TABLE users ADD COLUMN name text;\n"
        "CREATE INDEX audit_id ON audit (id);\nINSERT INTO users (id) VALUES (1);\n",
        "DROP TABLE IF EXISTS audit;\nALTER TABLE users DROP COLUMN IF EXISTS name;\n",
    )
    result = project.cli("up")
    assert result.exit_code == 1
    assert "20261104_0900_broken.up.sql:4:" in result.stderr
    assert 'null value in column "email"' in result.stderr
    assert "nothing was applied" in result.stderr
    assert schema_snapshot(project.database) == schema_before
    assert ledger_rows(project.database) == ledger_before
    failed = project.database.execute(
        "SELECT outcome, sqlstate FROM atomig.journal WHERE version = '20261104_0900'"
    )
    assert failed == [("failed", "23502")]
    status = json.loads(project.cli("status", "--json").stdout)
    assert status["migrations"][1]["state"] == "pending"
    assert status["migrations"][1]["last_failure"]["sqlstate"] == "23502"


def test_syntax_error_in_any_pending_file_changes_nothing(project):
    project.add(*USERS)
    project.add(
        "20261102_0900_bad",
        "CREATE TABLE ok (id int);\nCREAT TABLE nope (id int);",
        "DROP TABLE IF EXISTS ok;",
    )
    result = project.cli("up")
    assert result.exit_code == 2
    assert (
        '20261102_0900_bad.up.sql:2:1: syntax error at or near "CREAT"' in result.stderr
    )
    assert project.database.scalar("SELECT to_regclass('users')") is None
    assert applied_versions(project.database) == []


def test_syntax_error_in_a_pending_down_file_is_caught_before_up(project):
    project.add("20261101_0900_a", "CREATE TABLE a (id int);", "DROP TABLE IF EXIST a;")
    result = project.cli("up")
    assert result.exit_code == 2 and "20261101_0900_a.down.sql:1:" in result.stderr
    assert project.database.scalar("SELECT to_regclass('a')") is None


def test_edited_applied_migration_is_refused_with_diff_and_accept(project):
    shop(project)
    project.cli("up", "--to", "20261102_0900")
    path = project.migrations / "20261101_0900_create_users.up.sql"
    path.write_text(path.read_text().replace("email text", "email varchar(320)"))
    status = project.cli("status", "--check")
    assert status.exit_code == 4 and "edited" in status.stdout
    result = project.cli("up")
    assert result.exit_code == 4
    assert (
        "changed on disk since they were applied: 20261101_0900_create_users"
        in result.stderr
    )
    assert (
        "atomig diff 20261101_0900" in result.stderr
        and "atomig accept 20261101_0900" in result.stderr
    )
    assert applied_versions(project.database) == ["20261101_0900", "20261102_0900"]
    diff = project.cli("diff", "20261101_0900")
    assert (
        "-CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);"
        in diff.stdout
    )
    assert (
        "+CREATE TABLE users (id bigint PRIMARY KEY, email varchar(320) NOT NULL);"
        in diff.stdout
    )
    as_json = json.loads(project.cli("diff", "20261101_0900", "--json").stdout)
    up_file, down_file = as_json["files"]
    assert as_json["edited"] and as_json["version"] == "20261101_0900"
    assert (up_file["direction"], up_file["edited"]) == ("up", True)
    assert (
        "+CREATE TABLE users (id bigint PRIMARY KEY, email varchar(320)"
        in (up_file["diff"])
    )
    assert (down_file["direction"], down_file["edited"], down_file["diff"]) == (
        "down",
        False,
        "",
    )
    no_reason = project.cli("accept", "20261101_0900", "--reason", " ")
    assert no_reason.exit_code == 2
    accepted = project.cli(
        "accept", "20261101_0900", "--reason", "widened in review, same schema"
    )
    assert accepted.exit_code == 0
    assert project.cli("up").exit_code == 0
    event = project.database.execute(
        "SELECT details->>'reason' FROM atomig.history WHERE event = 'accepted_edit'"
    )
    assert event == [("widened in review, same schema",)]


def test_missing_applied_file_needs_attention(project):
    shop(project)
    project.cli("up")
    for suffix in ("up", "down"):
        (project.migrations / f"20261103_0900_orders_user_id.{suffix}.sql").unlink()
    assert project.cli("status", "--check").exit_code == 4
    result = project.cli("down")
    assert result.exit_code == 4 and "missing" in result.stderr


def test_out_of_order_pending_migration(project):
    project.add(*USERS)
    project.add(*ORDERS)
    project.cli("up")
    project.add(
        "20261101_1000_late_branch",
        "CREATE TABLE late (id int);",
        "DROP TABLE IF EXISTS late;",
    )
    status = json.loads(project.cli("status", "--json").stdout)
    late = next(m for m in status["migrations"] if m["slug"] == "late_branch")
    assert late["state"] == "pending" and late["out_of_order"]
    refused = project.cli("up")
    assert refused.exit_code == 4 and "older than the latest applied" in refused.stderr
    assert project.cli("up", "--allow-out-of-order").exit_code == 0
    assert "20261101_1000" in applied_versions(project.database)


def test_plan_command(project):
    shop(project)
    text = project.cli("plan")
    assert text.exit_code == 0 and "step 1: transaction" in text.stdout
    document = json.loads(project.cli("plan", "--json").stdout)
    assert [p["migration"] for p in document["plans"]] == [
        m[0] for m in (USERS, ORDERS, ORDERS_USER)
    ]
    steps = document["plans"][2]["steps"]
    assert [step["kind"] for step in steps] == ["transaction", "transaction"]
    assert steps[0]["envelope"]["lock_timeout"] == "2s"
    # ADD COLUMN and ADD CONSTRAINT … NOT VALID commit before VALIDATE scans the table.
    assert [[s["line"] for s in step["statements"]] for step in steps] == [[1, 2], [3]]


def test_custom_ledger_schema(project):
    (project.dir / "atomig.toml").write_text('ledger_schema = "Ops Ledger"\n')
    project.add(*USERS)
    assert project.cli("up").exit_code == 0
    assert ledger_rows(project.database, "Ops Ledger")[0][0] == "20261101_0900"
    assert project.database.scalar("SELECT to_regnamespace('atomig')") is None


def test_ledger_changes_apply_even_when_a_lower_number_lands_late(project):
    """Ledger changes are tracked as a set: an entry merged after a higher-numbered one
    still runs on databases that already have the higher one."""
    from atomig.run import ledger_schema

    project.add(*USERS)
    assert project.cli("up").exit_code == 0
    db = project.database
    known = sorted(n for n, _ in ledger_schema._LEDGER_MIGRATIONS)
    assert db.execute("SELECT applied FROM atomig.ledger_version")[0][0] == known
    # Simulate a database upgraded by a build that did not have entry 2 yet.
    db.execute(
        "UPDATE atomig.ledger_version SET applied = %s", ([n for n in known if n != 2],)
    )
    with db.connect() as conn:
        assert not ledger_schema.ledger_up_to_date(conn, "atomig")
        ledger_schema.ensure_ledger(
            conn, "atomig"
        )  # entry 2 is idempotent DDL (IF NOT EXISTS)
        assert ledger_schema.ledger_up_to_date(conn, "atomig")
    # A ledger from before the set existed: everything up to its version counts as applied.
    db.execute("UPDATE atomig.ledger_version SET applied = NULL, version = 1")
    with db.connect() as conn:
        assert ledger_schema.applied_ledger_changes(conn, "atomig") == {1}


def test_a_nul_byte_in_a_file_is_a_clear_error_and_changes_nothing(project):
    project.add(*USERS)
    (project.migrations / "20261101_0900_create_users.up.sql").write_bytes(
        b"CREATE TABLE users (id bigint PRIMARY KEY);\x00\n"
    )
    for command in (("up",), ("lint",)):
        result = project.cli(*command)
        assert result.exit_code == 2, result.output
        assert "holds a NUL character (line 1, column 44)" in result.stderr
    assert project.database.scalar("SELECT to_regclass('public.users')") is None


def test_status_lists_broken_migrations_instead_of_stopping(project):
    shop(project)
    project.cli("up", "--to", "20261101_0900")
    migrations = project.migrations
    # An applied migration lost its down file; a pending one has names that disagree; a
    # stray file's name does not parse.
    applied_down = next(migrations.glob("20261101_0900_*.down.sql"))
    applied_down.unlink()
    pending_down = next(migrations.glob("20261102_0900_*.down.sql"))
    pending_down.rename(migrations / "20261102_0900_other.down.sql")
    (migrations / "notes[draft].sql").write_text("SELECT 1;")
    result = project.cli("status")
    assert result.exit_code == 0, result.stderr
    assert "1 pending, 2 broken" in result.stdout
    assert "up file has no down file" in result.stdout
    assert "up and down files disagree" in result.stdout
    assert "notes[draft].sql: file name does not parse" in result.stdout
    document = json.loads(project.cli("status", "--json").stdout)
    states = {
        m["version"]: (m["state"], m["applied_at"] is not None)
        for m in document["migrations"]
    }
    assert states == {
        "20261101_0900": ("broken", True),
        "20261102_0900": ("broken", False),
        "20261103_0900": ("pending", False),
    }
    assert document["needs_attention"] is True
    assert project.cli("status", "--check").exit_code == 4
    # The commands that change the database still refuse, naming the first problem.
    refused = project.cli("up")
    assert refused.exit_code == 2 and "file name does not parse" in refused.stderr
