"""row-security-without-policy against a real catalog (pg_policy), PG 15 and 18: what the
rule claims is what PostgreSQL does."""

from __future__ import annotations

import json

import psycopg
import pytest

ENABLE = "ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;\n"


def _rule_findings(project, *args):
    result = project.cli("lint", "--json", *args)
    assert result.exit_code in (0, 1), result.output
    found = json.loads(result.stdout)["findings"]
    return [f for f in found if f["rule"] == "row-security-without-policy"]


@pytest.fixture
def accounts(project):
    db = project.database
    db.execute(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text);"
        "INSERT INTO accounts VALUES (1, 'app'); ANALYZE accounts;"
        "CREATE ROLE rls_app LOGIN; GRANT SELECT ON accounts TO rls_app"
    )
    project.add("20261201_0900_rls", ENABLE, "SELECT 1;\n")
    yield db
    db.execute("DROP TABLE IF EXISTS accounts; DROP ROLE IF EXISTS rls_app")


def _rows_seen_by_app(db):
    conninfo = db.cluster.conninfo(db.name)
    with psycopg.connect(conninfo, user="rls_app", autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM accounts").fetchone()[0]


def test_no_policy_in_the_catalog_is_an_error_and_really_hides_the_rows(
    project, accounts
):
    [finding] = _rule_findings(project)
    assert finding["severity"] == "error"
    # Offline the table's policies are unknown: a warning.
    [offline] = _rule_findings(project, "--no-database")
    assert offline["severity"] == "warning"
    # What the finding claims: the application's role then reads no rows.
    assert _rows_seen_by_app(accounts) == 1
    accounts.execute(ENABLE)
    assert _rows_seen_by_app(accounts) == 0


def test_a_permissive_policy_in_the_catalog_counts_a_restrictive_one_does_not(
    project, accounts
):
    accounts.execute(
        "CREATE POLICY only_mine ON accounts AS RESTRICTIVE USING (owner = current_user)"
    )
    assert _rule_findings(project)
    accounts.execute("CREATE POLICY readable ON accounts USING (true)")
    assert not _rule_findings(project)
    accounts.execute(ENABLE)
    assert _rows_seen_by_app(accounts) == 0  # (restrictive: owner = 'app' ≠ rls_app)
