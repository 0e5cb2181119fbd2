"""atomig history: the ledger's record read back (PG 15 and 18)."""

from __future__ import annotations

import json

USERS = (
    "20261101_0900_create_users",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
    "DROP TABLE IF EXISTS users;",
)
# Three steps; the third fails, so the runner rolls the first two back.
BROKEN = (
    "20261102_0900_users_email",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n"
    "ALTER TABLE users ADD CONSTRAINT users_email_len CHECK (length(email) < 300)"
    " NOT VALID;\n"
    "ALTER TABLE users VALIDATE CONSTRAINT users_email_missing;",
    "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_len;\n"
    "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx;",
)


def test_an_empty_ledger_says_so_and_creates_nothing(project):
    result = project.cli("history")
    assert result.exit_code == 0, result.stderr
    assert "the ledger records nothing yet" in result.stdout
    assert project.database.scalar("SELECT to_regnamespace('atomig')") is None


def test_history_tells_what_happened_with_every_step_attempt(project):
    project.add(*USERS)
    project.add(*BROKEN)
    assert project.cli("up").exit_code != 0  # the second fails and is rolled back
    text = project.cli("history").stdout
    lines = text.splitlines()
    assert [line.split()[3] for line in lines] == [
        "applied",
        "started",
        "failed",
        "rolled_back",
    ]
    assert "20261101_0900_create_users  applied" in lines[0]
    assert 'constraint "users_email_missing"' in lines[2]
    # Both migrations ran in one `up` (one run): each one's steps under its own events.
    every = project.cli("history", "--steps").stdout.splitlines()
    started = every.index(next(line for line in every if "  started  " in line))
    assert "up step 1 (transaction) attempt 1: committed" in every[1], every
    assert any(
        "up step 3 (transaction) attempt 1: failed" in x for x in every[started:]
    )
    steps = project.cli("history", "20261102_0900", "--steps").stdout
    assert "up step 3 (transaction) attempt 1: failed" in steps
    assert "rollback step" in steps
    assert "create_users" not in steps  # only that migration's events
    document = json.loads(project.cli("history", "--steps", "--json").stdout)
    assert [e["event"] for e in document["events"]] == [
        "applied",
        "started",
        "failed",
        "rolled_back",
    ]
    failed = [s for s in document["steps"] if s["outcome"] == "failed"]
    assert [(s["version"], s["step"], s["sqlstate"]) for s in failed] == [
        ("20261102_0900", 3, "42704")
    ]
    newest = json.loads(project.cli("history", "--limit", "1", "--json").stdout)
    assert [e["event"] for e in newest["events"]] == ["rolled_back"]
    assert "steps" not in newest


def test_bad_arguments_are_usage_errors(project):
    assert project.cli("history", "--limit", "0").exit_code == 2
    bad = project.cli("history", "yesterday")
    assert bad.exit_code == 2 and "is not a migration version" in bad.stderr
