"""`atomig lint` end to end: formats, exit codes, suppressions, configuration, start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

SARIF_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"
UP = """-- a migration with hazards
CREATE INDEX orders_created_idx ON orders (created_at);
ALTER TABLE orders ADD COLUMN note text;
"""
DOWN = "ALTER TABLE orders DROP COLUMN IF EXISTS note;\nDROP INDEX CONCURRENTLY IF EXISTS orders_created_idx;\n"


@pytest.fixture
def project(offline_project):
    offline_project.add("20260101_0000_orders", UP, DOWN)
    return offline_project


def test_text_output_points_at_the_statement(project):
    result = project.cli("lint")
    assert result.exit_code == 1
    out = result.stdout
    assert "20260101_0000_orders.up.sql:2:1: error[index-not-concurrent]" in out
    assert "   2 | CREATE INDEX orders_created_idx" in out
    assert "| ^^^^" in out
    assert "= fix: use CREATE INDEX CONCURRENTLY" in out
    assert "docs/rules/index-not-concurrent.md" in out
    assert out.rstrip().splitlines()[-1].startswith("1 error")


def test_json_output_follows_the_documented_schema(project):
    result = project.cli("lint", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["version"] == 1 and doc["files"] == 2 and doc["statements"] == 4
    [finding] = [f for f in doc["findings"] if f["rule"] == "index-not-concurrent"]
    assert set(finding) == {
        "rule",
        "severity",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "fix",
    }
    assert (finding["line"], finding["column"], finding["end_line"]) == (2, 1, 2)
    assert (
        finding["end_column"]
        == len("CREATE INDEX orders_created_idx ON orders (created_at)") + 1
    )
    assert finding["severity"] == "error"
    assert json.loads(project.cli("lint", "--json").stdout) == doc


def test_a_finding_on_an_element_spans_that_element(offline_project):
    """A finding about one column or constraint underlines it, not the rest of the
    statement: on one line, several findings stay apart; on a later line of a statement
    laid out over several, it spans the whole definition (it used to be one character)."""
    up = (
        "CREATE TABLE users (id serial PRIMARY KEY, at timestamp);\n"
        "CREATE TABLE events (\n"
        "    id bigint PRIMARY KEY,\n"
        "    payload json CHECK (payload IS NOT NULL),\n"
        "    seen timestamp\n"
        ");\n"
    )
    offline_project.add(
        "20260101_0000_users", up, "DROP TABLE IF EXISTS events, users;\n"
    )
    doc = json.loads(offline_project.cli("lint", "--format", "json").stdout)
    spans = {
        (f["rule"], f["line"]): up.splitlines()[f["line"] - 1][
            f["column"] - 1 : f["end_column"] - 1
        ]
        for f in doc["findings"]
        if f["file"].endswith(".up.sql") and f["end_line"] == f["line"]
    }
    assert spans[("prefer-bigint", 1)] == "id serial PRIMARY KEY"
    assert spans[("prefer-timestamptz", 1)] == "at timestamp"
    assert spans[("prefer-jsonb", 4)] == "payload json CHECK (payload IS NOT NULL)"
    assert spans[("prefer-timestamptz", 5)] == "seen timestamp"


def test_sarif_output_is_valid_sarif_2_1_0(project):
    result = project.cli("lint", "--format", "sarif")
    log = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(log, schema)
    run = log["runs"][0]
    ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    first = next(r for r in run["results"] if r["ruleId"] == "index-not-concurrent")
    assert ids[first["ruleIndex"]] == "index-not-concurrent"
    assert first["level"] == "error"
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 2


def test_github_annotations(project):
    result = project.cli("lint", "--format", "github")
    lines = result.stdout.splitlines()
    error = next(line for line in lines if "index-not-concurrent" in line)
    assert error.startswith("::error file=")
    assert ",line=2,col=1," in error
    assert "%0Afix: use CREATE INDEX CONCURRENTLY" in error
    assert "\n" not in error


def test_clean_migration_exits_zero(offline_project):
    offline_project.add(
        "20260101_0000_t",
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);",
        "DROP TABLE IF EXISTS t;",
    )
    result = offline_project.cli("lint")
    assert result.exit_code == 0, result.stdout
    assert "0 errors, 0 warnings, 0 info in 2 files (2 statements)" in result.stdout


def test_usage_errors_exit_two(project):
    assert project.cli("lint", "--pg-version", "7").exit_code == 2
    assert project.cli("lint", "no/such/file.sql").exit_code == 2
    assert project.cli("lint", "--explain", "no-such-rule").exit_code == 2
    assert project.cli("lint", "--format", "xml").exit_code == 2


def test_explain_prints_the_rule_doc(project):
    result = project.cli("lint", "--explain", "set-not-null")
    assert result.exit_code == 0
    assert "# set-not-null" in result.stdout
    assert "## Instead" in result.stdout and "NOT VALID" in result.stdout
    assert "```sql" in result.stdout


def test_suppressions(offline_project):
    up = (
        "-- atomig-ignore-file: prefer-text legacy naming, kept for the app\n"
        "CREATE TABLE t (id bigint PRIMARY KEY, s varchar(10));\n"
        "-- atomig-ignore: index-not-concurrent t holds 200 rows, a SHARE lock is fine\n"
        "CREATE INDEX t_s ON t (s);\n"
        "-- atomig-ignore: truncate\n"
        "CREATE INDEX t_s2 ON t (s);\n"
        "-- atomig-ignore: no-such-rule because\n"
        "SELECT 1;\n"
    )
    offline_project.add(
        "20250101_0000_t",
        "CREATE TABLE t (id bigint PRIMARY KEY, s varchar(10));",
        "DROP TABLE IF EXISTS t;",
    )
    offline_project.add(
        "20260101_0000_t", up.replace("CREATE TABLE t", "CREATE TABLE u"), "SELECT 1;"
    )
    doc = json.loads(offline_project.cli("lint", "--json").stdout)
    found = [(f["rule"], f["line"]) for f in doc["findings"] if "20260101" in f["file"]]
    assert ("index-not-concurrent", 4) not in found  # suppressed with a reason
    assert ("prefer-text", 2) not in found  # file-level suppression
    assert ("invalid-ignore", 5) in found  # no reason
    assert ("unused-ignore", 5) in found  # and it suppresses nothing
    assert ("index-not-concurrent", 6) in found
    assert ("invalid-ignore", 7) in found  # unknown rule id


def test_configuration_disables_and_changes_severity(project):
    (project.dir / "atomig.toml").write_text(
        '[lint]\ndisable = ["index-not-concurrent"]\n\n[lint.severity]\n'
        'multiple-alters-same-table = "error"\n'
    )
    doc = json.loads(project.cli("lint", "--json").stdout)
    assert not [f for f in doc["findings"] if f["rule"] == "index-not-concurrent"]
    (project.dir / "atomig.toml").write_text('[lint]\ndisable = ["no-such-rule"]\n')
    assert project.cli("lint").exit_code == 2


def test_one_file_is_linted_with_its_history(offline_project):
    offline_project.add(
        "20250101_0000_a",
        "CREATE TABLE t (id bigint PRIMARY KEY, s varchar(10));",
        "DROP TABLE IF EXISTS t;",
    )
    offline_project.add(
        "20260101_0000_b", "ALTER TABLE t ALTER COLUMN s TYPE varchar(20);", "SELECT 1;"
    )
    path = offline_project.migrations / "20260101_0000_b.up.sql"
    doc = json.loads(offline_project.cli("lint", str(path), "--json").stdout)
    assert doc["files"] == 1
    assert not [f for f in doc["findings"] if f["rule"] == "column-type-rewrite"]


def test_loose_sql_files_and_syntax_errors(offline_project, tmp_path):
    loose = tmp_path / "adhoc.sql"
    loose.write_text("SELECT 1;\nALTER TABLE t ADD COLUMN;\n")
    result = offline_project.cli("lint", str(loose), "--json")
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "syntax-error" and finding["line"] == 2


def test_lint_does_not_import_psycopg_or_rich(project):
    # (The command group, not main(): the console script ends the process at once.)
    code = (
        "import sys\nfrom atomig.cli.main import cli\n"
        "args = ['-C', sys.argv[1], 'lint', '--format', 'json']\n"
        "try:\n    cli.main(args, prog_name='atomig')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'psycopg' in sys.modules, 'rich' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(project.dir)], capture_output=True, text=True
    ).stdout
    assert "LOADED False False" in out


def test_lint_does_not_import_what_only_other_commands_need(offline_project):
    # Start-up is a large share of linting a directory: pglast's printers (batched
    # backfills print statements), hashlib (checksums, step hashes) and the review
    # gate's API (projects that use it) load only when used.
    offline_project.add(
        "20260101_0000_users",
        "CREATE TABLE users (id int);",
        "DROP TABLE users;",
    )
    code = (
        "import sys\nfrom atomig.cli.main import cli\n"
        "args = ['-C', sys.argv[1], 'lint', '--format', 'json', '--no-database']\n"
        "try:\n    cli.main(args, prog_name='atomig')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', *sorted(sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(offline_project.dir)],
        capture_output=True,
        text=True,
    ).stdout
    [line] = [x for x in out.splitlines() if x.startswith("LOADED ")]
    loaded = set(line.split()[1:])
    assert {"atomig.lint.engine", "atomig.plan.planner"} <= loaded
    assert not loaded & {"pglast.stream", "hashlib", "atomig.api.review"}


def test_unreachable_database_is_a_usage_error_with_the_offline_hint(project):
    project.url = "postgresql://nobody@127.0.0.1:1/nothing"
    result = project.cli("lint")
    assert result.exit_code == 2
    assert "--no-database" in result.stderr
    assert project.cli("lint", "--no-database").exit_code == 1


def test_json_on_a_golang_migrate_directory(offline_project):
    """Another tool's layout: history, pairing and the stray file, linted as
    --for-runner=other, and the user told so."""
    files = {
        "000001_init.up.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, user_id int);",
        "000001_init.down.sql": "DROP TABLE IF EXISTS orders;",
        "000002_index.up.sql": "CREATE INDEX orders_user_idx ON orders (user_id);",
        "init.up.sql": "SELECT 1;",
    }
    for name, text in files.items():
        (offline_project.migrations / name).write_text(text + "\n", encoding="utf-8")
    result = offline_project.cli("lint", "migrations", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["files"] == 4
    found = {(f["rule"], Path(f["file"]).name) for f in doc["findings"]}
    assert ("index-not-concurrent", "000002_index.up.sql") in found
    assert ("missing-down", "000002_index.up.sql") in found
    assert ("missing-lock-timeout", "000002_index.up.sql") in found  # runner: other
    assert ("migration-file-name", "init.up.sql") in found
    assert "follows golang-migrate's layout" in result.stderr
    chosen = offline_project.cli(
        "lint", "migrations", "--format", "json", "--for-runner", "atomig"
    )
    rules = {f["rule"] for f in json.loads(chosen.stdout)["findings"]}
    assert "index-not-concurrent" in rules and "missing-lock-timeout" not in rules


def test_an_unreadable_migration_of_another_layout_is_an_error_not_a_traceback(
    offline_project,
):
    (offline_project.migrations / "1_init.up.sql").write_text("SELECT 1;\n")
    (offline_project.migrations / "2_dir.up.sql").mkdir()
    result = offline_project.cli("lint")
    assert result.exit_code == 2
    assert "error: cannot read" in result.stderr and "2_dir.up.sql" in result.stderr
    assert "Traceback" not in result.output
