"""Preflight before atomig up: lock holders (a real idle-in-transaction session), backup
checks (pass, fail, skip), invalid objects, server version; every result in the ledger
(PG 15 and 18)."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from tests.integration.helpers import applied_versions

BASE = (
    "20260101_0900_base",
    "CREATE TABLE t (id bigint PRIMARY KEY, a int);\n",
    "DROP TABLE t;\n",
)
ADD = (
    "20260102_0900_add",
    "ALTER TABLE t ADD COLUMN b int;\n",
    "ALTER TABLE t DROP COLUMN b;\n",
)


def configure(project, text):
    (project.dir / "atomig.toml").write_text(text)


def checks(db, phase="preflight"):
    return db.execute(
        "SELECT name, outcome, message, details FROM atomig.checks WHERE phase = %s"
        " ORDER BY id",
        (phase,),
    )


def outcome_of(db, name):
    rows = [r for r in checks(db) if r[0] == name]
    return rows[-1][1:] if rows else None


def base_applied(project):
    project.add(*BASE)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    project.add(*ADD)
    return project.database


def idle_holder(db):
    """A session idle in a transaction that read t (it holds ACCESS SHARE on t)."""
    conn = db.connect(application_name="report-job")
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM t")
    return conn


def test_abort_policy_refuses_while_an_idle_transaction_holds_a_lock(project):
    db = base_applied(project)
    configure(project, '[preflight]\nlock_holders = "abort"\n')
    holder = idle_holder(db)
    try:
        started = time.monotonic()
        result = project.cli("up", "--json")
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    assert result.exit_code == 1
    assert elapsed < 10
    document = json.loads(result.stdout)
    assert document["error"] == "preflight-failed"
    assert "lock_holders" in document["message"]
    assert "report-job, idle in transaction" in document["message"]
    assert "holds AccessShareLock on t" in document["message"]
    assert applied_versions(db) == ["20260101_0900"]
    name_outcome = outcome_of(db, "lock_holders")
    assert name_outcome[0] == "fail"
    [session] = name_outcome[2]["sessions"]
    assert session["application_name"] == "report-job"
    assert session["state"] == "idle in transaction"


def test_wait_policy_waits_for_the_holder_then_applies(project):
    db = base_applied(project)
    configure(project, '[preflight]\nlock_holders = "wait"\nwait = "20s"\n')
    holder = idle_holder(db)
    ended = []

    def end_later():
        time.sleep(1.0)
        ended.append(time.monotonic())
        holder.execute("COMMIT")

    thread = threading.Thread(target=end_later)
    started = time.monotonic()
    thread.start()
    result = project.cli("up")
    finished = time.monotonic()
    thread.join()
    holder.close()
    assert result.exit_code == 0, result.output
    assert "waiting up to 20s" in result.stderr
    assert ended and ended[0] - started >= 1.0
    assert finished >= ended[0]  # it waited for the holder
    assert applied_versions(db) == ["20260101_0900", "20260102_0900"]
    outcome, message, _ = outcome_of(db, "lock_holders")
    assert outcome == "pass"
    assert "after waiting" in message


def test_wait_policy_gives_up_after_its_wait(project):
    db = base_applied(project)
    configure(project, '[preflight]\nlock_holders = "wait"\nwait = "600ms"\n')
    holder = idle_holder(db)
    try:
        started = time.monotonic()
        result = project.cli("up")
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    assert result.exit_code == 1
    assert "still, after waiting" in result.stderr
    assert 0.6 <= elapsed < 10
    assert applied_versions(db) == ["20260101_0900"]


def test_warn_policy_says_so_and_the_steps_wait_without_queueing(project):
    db = base_applied(project)
    holder = idle_holder(db)
    timer = threading.Timer(1.0, lambda: holder.execute("COMMIT"))
    timer.start()
    result = project.cli("up")
    timer.join()
    holder.close()
    assert result.exit_code == 0, result.output
    assert (
        "preflight: lock_holders: 1 session(s) hold locks this run needs"
        in result.stderr
    )
    assert outcome_of(db, "lock_holders")[0] == "warn"
    assert applied_versions(db) == ["20260101_0900", "20260102_0900"]


def test_backup_command_pass_fail_and_skip(project):
    db = base_applied(project)
    configure(project, '[preflight]\nbackup_command = "echo snapshot ok"\n')
    project.add(
        "20260103_0900_more",
        "ALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN c;\n",
    )
    result = project.cli("up", "--to", "20260102_0900")
    assert result.exit_code == 0, result.output
    outcome, message, _ = outcome_of(db, "backup")
    assert (outcome, message) == ("pass", "`echo snapshot ok` succeeded: snapshot ok")
    # A failing command stops the run before anything is applied.
    configure(
        project,
        "[preflight]\nbackup_command = \"echo 'no snapshot today' >&2; exit 3\"\n",
    )
    result = project.cli("up")
    assert result.exit_code == 1
    assert "preflight failed, nothing was applied: backup" in result.stderr
    assert "exited 3: no snapshot today" in result.stderr
    assert '--skip-backup-check "why"' in result.stderr
    assert applied_versions(db) == ["20260101_0900", "20260102_0900"]
    assert outcome_of(db, "backup")[0] == "fail"
    # Skipping needs a reason, and the reason is recorded.
    result = project.cli("up", "--skip-backup-check", "  ")
    assert result.exit_code == 2
    result = project.cli("up", "--skip-backup-check", "restore drill passed at 02:00")
    assert result.exit_code == 0, result.output
    assert (
        "skipped with --skip-backup-check: restore drill passed at 02:00"
        in result.stderr
    )
    outcome, message, details = outcome_of(db, "backup")
    assert outcome == "skipped"
    assert details["reason"] == "restore drill passed at 02:00"
    assert applied_versions(db)[-1] == "20260103_0900"
    # Every result of a run carries its run id, like the rest of the ledger: four runs
    # checked the backup (the first one found none configured).
    rows = db.execute(
        "SELECT run_id, outcome FROM atomig.checks WHERE name = 'backup' ORDER BY id"
    )
    assert [r[1] for r in rows] == ["skipped", "pass", "fail", "skipped"]
    assert len({r[0] for r in rows}) == 4


def test_backup_query_and_archive_recency(project):
    db = base_applied(project)
    configure(
        project, '[preflight]\nbackup_query = "SELECT count(*) > 100 FROM pg_class"\n'
    )
    result = project.cli("up", "--dry-run")  # a rehearsal: nothing recorded
    assert result.exit_code == 0
    assert outcome_of(db, "backup")[:2] == ("skipped", "no backup check configured")
    configure(project, '[preflight]\nbackup_query = "SELECT false"\n')
    result = project.cli("up")
    assert result.exit_code == 1
    assert "the query returned False" in result.stderr
    configure(project, '[preflight]\nbackup_query = "SELECT * FROM no_such_backups"\n')
    result = project.cli("up")
    assert result.exit_code == 1
    assert (
        'the query failed: relation "no_such_backups" does not exist' in result.stderr
    )
    # The test clusters do not archive WAL.
    configure(project, '[preflight]\nbackup_max_age = "1h"\n')
    result = project.cli("up")
    assert result.exit_code == 1
    assert "WAL archiving is off (archive_mode = off)" in result.stderr
    configure(
        project, '[preflight]\nbackup_query = "SELECT count(*) > 100 FROM pg_class"\n'
    )
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert outcome_of(db, "backup")[:2] == ("pass", "the query returned True")


def test_invalid_objects_and_server_version(project):
    db = base_applied(project)
    db.execute("INSERT INTO t VALUES (1, 1), (2, 1)")
    with db.connect() as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_a_key ON t (a)")
    db.execute("ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID")
    configure(
        project, '[preflight]\ninvalid_objects = "abort"\nmin_server_version = 12\n'
    )
    result = project.cli("up")
    assert result.exit_code == 1
    assert "INVALID index(es): public.t_a_key on t" in result.stderr
    assert "NOT VALID constraint(s): t.t_a_pos" in result.stderr
    configure(project, "[preflight]\nmin_server_version = 99\n")
    result = project.cli("up")
    assert result.exit_code == 1
    assert "older than min_server_version 99" in result.stderr
    configure(project, "")
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert outcome_of(db, "invalid_objects")[0] == "warn"
    assert outcome_of(db, "server")[0] == "pass"


def test_no_preflight_when_nothing_is_pending_and_disabled_preflight(project):
    db = base_applied(project)
    count = len(checks(db))
    configure(project, "[preflight]\nenabled = false\n")
    assert project.cli("up").exit_code == 0
    assert len(checks(db)) == count  # disabled: nothing checked, nothing recorded
    assert project.cli("up").exit_code == 0  # nothing pending
    assert len(checks(db)) == count
