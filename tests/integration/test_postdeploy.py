"""Post-deploy checks after atomig up: INVALID indexes, NOT VALID constraints, ANALYZE of
touched tables, health command / URL with the report and rollback policies (PG 15 and 18).
"""

from __future__ import annotations

import http.server
import json
import threading

from tests.integration.helpers import applied_versions
from tests.integration.test_preflight import configure

BASE = (
    "20260101_0900_base",
    "CREATE TABLE t (id bigint PRIMARY KEY, a int);\n"
    "CREATE TABLE quiet (id bigint PRIMARY KEY);\n",
    "DROP TABLE quiet;\nDROP TABLE t;\n",
)
FILL = (
    "20260102_0900_fill",
    "INSERT INTO t SELECT g, g FROM generate_series(1, 500) g;\n"
    "ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;\n",
    "ALTER TABLE t DROP CONSTRAINT IF EXISTS t_a_pos;\nDELETE FROM t;\n",
)


def results(db):
    rows = db.execute(
        "SELECT name, outcome, message FROM atomig.checks WHERE phase = 'postdeploy'"
        " ORDER BY id"
    )
    return {name: (outcome, message) for name, outcome, message in rows}


def last_analyze(db, table):
    return db.scalar(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", (table,)
    )


def test_analyze_touched_tables_and_list_not_valid_constraints(project):
    db = project.database
    project.add(*BASE)
    project.add(*FILL)
    result = project.cli("up", "--json")
    assert result.exit_code == 0, result.output
    found = results(db)
    assert found["analyze"] == ("pass", "analyzed public.t")
    assert last_analyze(db, "t") is not None
    assert last_analyze(db, "quiet") is None  # untouched: not analyzed
    assert found["not_valid_constraints"][0] == "warn"
    assert "t.t_a_pos" in found["not_valid_constraints"][1]
    assert found["invalid_indexes"] == ("pass", "no INVALID index")
    assert found["health"][0] == "skipped"
    document = json.loads(result.stdout)
    phases = {(c["phase"], c["check"]) for c in document["checks"]}
    assert ("postdeploy", "analyze") in phases and ("preflight", "backup") in phases
    assert "NOT VALID constraint(s) still to validate: t.t_a_pos" in result.stderr
    # Nothing pending: no checks run.
    assert project.cli("up").exit_code == 0
    assert (
        db.scalar("SELECT count(*) FROM atomig.checks WHERE phase = 'postdeploy'") == 4
    )


def test_an_invalid_index_that_appears_during_the_run_needs_attention(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    db.execute("CREATE INDEX t_old ON t (a)")
    db.execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_old'::regclass"
    )
    # An index made INVALID by the migration itself (as a failed build leaves one).
    project.add(
        "20260102_0900_breaks_index",
        "CREATE INDEX t_new ON t (id, a);\n"
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_new'::regclass;\n",
        "DROP INDEX IF EXISTS t_new;\n",
    )
    result = project.cli("up")
    assert result.exit_code == 4, result.output
    assert (
        "INVALID index(es) appeared during this run: public.t_new on t" in result.stderr
    )
    assert "public.t_old" not in result.stderr.split("appeared during this run")[1]
    assert applied_versions(db)[-1] == "20260102_0900"  # applied; a human looks at it
    assert results(db)["invalid_indexes"][0] == "fail"


def test_health_command_report_policy_keeps_the_migration_and_exits_4(project):
    db = project.database
    project.add(*BASE)
    configure(
        project,
        '[postdeploy]\nhealth_command = "echo app says 503 >&2; exit 1"\n'
        'health_retries = 2\nhealth_interval = "100ms"\n',
    )
    result = project.cli("up")
    assert result.exit_code == 4
    assert "health: attempt 1/2 failed" in result.stderr
    assert "the migrations were applied, but the health check fails" in result.stderr
    assert "app says 503" in result.stderr
    assert applied_versions(db) == ["20260101_0900"]
    assert results(db)["health"][0] == "fail"


def test_health_command_rollback_policy_reverts_the_newest_migration(project):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(*FILL)
    configure(
        project,
        '[postdeploy]\nhealth_command = "exit 7"\nhealth_retries = 1\n'
        'on_health_failure = "rollback"\n',
    )
    result = project.cli("up")
    assert result.exit_code == 1
    assert "reverting 20260102_0900_fill" in result.stderr
    assert "which was rolled back with its down file" in result.stderr
    assert applied_versions(db) == ["20260101_0900"]
    assert db.scalar("SELECT count(*) FROM t") == 0
    events = db.execute(
        "SELECT event FROM atomig.history WHERE version = '20260102_0900' ORDER BY id"
    )
    assert [e[0] for e in events] == ["applied", "reverted"]


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_health_url(project):
    db = project.database
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/health"
        project.add(*BASE)
        configure(project, f'[postdeploy]\nhealth_url = "{url}"\nhealth_retries = 1\n')
        result = project.cli("up")
        assert result.exit_code == 0, result.output
        assert results(db)["health"] == ("pass", f"GET {url}: 200")
        _Health.status = 503
        project.add(*FILL)
        result = project.cli("up")
        assert result.exit_code == 4
        assert f"GET {url}: 503" in result.stderr
    finally:
        _Health.status = 200
        server.shutdown()
        server.server_close()
