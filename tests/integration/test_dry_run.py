"""atomig up --dry-run: on a scratch database, or on the target in a transaction that is
always rolled back (PG 15 and 18)."""

from __future__ import annotations

import json
import time

from atomig.verify.fingerprint import take_fingerprint
from tests.integration.helpers import applied_versions
from tests.integration.test_verify import scratch_databases

BASE = (
    "20260101_0900_base",
    "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
    "DROP TABLE users;\n",
)
UNIQUE = (
    "20260102_0900_unique_email",
    "ALTER TABLE users ADD COLUMN note text;\n"
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n"
    "CREATE INDEX CONCURRENTLY users_note ON users (note);\n",
    "DROP INDEX CONCURRENTLY IF EXISTS users_note;\n"
    "ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key;\n"
    "ALTER TABLE users DROP COLUMN IF EXISTS note;\n",
)


def fingerprint(db):
    with db.connect() as conn:
        return take_fingerprint(conn, "atomig").digest


def with_duplicates(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute(
        "INSERT INTO users SELECT g, 'same@example.com' FROM generate_series(1, 50) g"
    )
    project.add(*UNIQUE)
    return db


def test_scratch_dry_run_plans_and_runs_every_step_without_touching_the_target(project):
    db = with_duplicates(project)
    before = fingerprint(db)
    result = project.cli("up", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["dry_run"] == "scratch"
    assert [p["migration"] for p in document["plans"]] == ["20260102_0900_unique_email"]
    [migration] = document["migrations"]
    assert migration["outcome"] == "ok"
    assert migration["steps"] == 2 and len(migration["step_durations_ms"]) == 2
    # The scratch copy has the schema, not the data: the duplicates are not there.
    assert fingerprint(db) == before
    assert applied_versions(db) == ["20260101_0900"]
    assert scratch_databases(db) == []
    text = project.cli("up", "--dry-run")
    assert "step 2: autocommit (CONCURRENTLY)" in text.stdout
    assert "✓ 20260102_0900_unique_email: ok" in text.stdout


def test_target_dry_run_finds_what_only_the_data_shows_and_rolls_back(project):
    db = with_duplicates(project)
    before = fingerprint(db)
    result = project.cli("up", "--dry-run=target", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    [migration] = document["migrations"]
    assert migration["outcome"] == "failed"
    assert "could not create unique index" in migration["message"]
    assert migration["location"].endswith("20260102_0900_unique_email.up.sql:2:1")
    added, unique = migration["statements"]
    assert (added["outcome"], unique["outcome"]) == ("ok", "failed")
    # Nothing changed: no column, no constraint, no ledger row.
    assert fingerprint(db) == before
    assert db.scalar("SELECT count(*) FROM users") == 50
    assert applied_versions(db) == ["20260101_0900"]
    # It says loudly where it ran.
    text = project.cli("up", "--dry-run=target")
    assert "DRY RUN ON THE TARGET" in text.stderr
    assert "ROLLED BACK" in text.stderr
    assert "rolled back: nothing was changed" in text.stderr


def test_target_dry_run_skips_autocommit_steps_and_uses_tight_limits(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(*UNIQUE)
    result = project.cli("up", "--dry-run=target", "--json")
    assert result.exit_code == 0, result.output
    [migration] = json.loads(result.stdout)["migrations"]
    outcomes = [(s["step"], s["outcome"]) for s in migration["statements"]]
    assert outcomes == [(1, "ok"), (1, "ok"), (2, "skipped")]
    assert (
        "cannot run inside a transaction block" in migration["statements"][2]["message"]
    )
    assert db.scalar("SELECT to_regclass('users_note')") is None
    # A session holding a lock on users: the dry run gives up after its tight lock_timeout
    # instead of queueing behind it.
    with db.connect() as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT * FROM users")
        started = time.monotonic()
        result = project.cli("up", "--dry-run=target", "--json")
        elapsed = time.monotonic() - started
        holder.execute("ROLLBACK")
    assert result.exit_code == 1
    [migration] = json.loads(result.stdout)["migrations"]
    assert "not granted within 100 ms" in migration["message"]
    assert elapsed < 10
    # A statement running longer than the dry run's statement_timeout is cancelled.
    (project.dir / "atomig.toml").write_text(
        '[verify]\ntarget_statement_timeout = "200ms"\n'
    )
    project.add("20260103_0900_slow", "SELECT pg_sleep(2);\n", "SELECT 1;\n")
    result = project.cli("up", "--dry-run=target", "--to", "20260103_0900", "--json")
    migrations = json.loads(result.stdout)["migrations"]
    assert migrations[-1]["outcome"] == "failed"
    assert "ran longer than 200 ms" in migrations[-1]["message"]


def test_scratch_dry_run_reports_a_failure_and_what_was_not_tried(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_bad", "ALTER TABLE nope ADD COLUMN x int;\n", "SELECT 1;\n"
    )
    project.add("20260103_0900_after", "SELECT 1;\n", "SELECT 1;\n")
    result = project.cli("up", "--dry-run")
    assert result.exit_code == 1
    assert "✗ 20260102_0900_bad: failed" in result.stdout
    assert 'relation "nope" does not exist' in result.stdout
    assert "- 20260103_0900_after: not tried" in result.stdout
    assert project.database.scalar("SELECT to_regclass('users')") is None


def test_dry_runs_rehearse_the_preflight_without_recording_it(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(*UNIQUE)
    recorded = db.scalar("SELECT count(*) FROM atomig.checks")
    (project.dir / "atomig.toml").write_text(
        '[preflight]\nbackup_command = "echo no snapshot >&2; exit 1"\nlock_holders = "wait"\n'
    )
    with db.connect() as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM users")
        started = time.monotonic()
        result = project.cli("up", "--dry-run=target", "--json")
        elapsed = time.monotonic() - started
        holder.execute("ROLLBACK")
    assert result.exit_code == 1
    assert elapsed < 10  # "wait" does not wait in a rehearsal
    document = json.loads(result.stdout)
    outcomes = {c["check"]: c["outcome"] for c in document["preflight"]}
    assert outcomes["backup"] == "fail"
    assert outcomes["lock_holders"] == "warn"
    assert "preflight: backup: `echo no snapshot >&2; exit 1` exited 1" in result.stderr
    assert db.scalar("SELECT count(*) FROM atomig.checks") == recorded
