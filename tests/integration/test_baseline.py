"""atomig baseline: adopting atomig on a database whose migrations ran another way (PG 15
and 18). Proven by default (a scratch replay whose objects must all be on the target),
recorded whole in one transaction, refused with nothing recorded otherwise."""

from __future__ import annotations

import json

USERS = (
    "20260101_0000_users",
    "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " email text NOT NULL);",
    "DROP TABLE IF EXISTS users;",
)
ORDERS = (
    "20260102_0000_orders",
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " user_id bigint REFERENCES users, total numeric(12,2));\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_idx ON orders (user_id);",
    "DROP TABLE IF EXISTS orders;",
)
NOTE = (
    "20260103_0000_note",
    "ALTER TABLE orders ADD COLUMN note text;",
    "ALTER TABLE orders DROP COLUMN IF EXISTS note;",
)


def adopted(project):
    """Three migrations; the database already holds what the first two make (applied by
    another tool, index built without CONCURRENTLY), plus a table of its own."""
    for migration in (USERS, ORDERS, NOTE):
        project.add(*migration)
    db = project.database
    db.execute(USERS[1])
    db.execute(ORDERS[1].split("\n")[0])
    db.execute("CREATE INDEX orders_user_id_idx ON orders (user_id)")
    db.execute("CREATE TABLE legacy (id int)")
    return project


def ledger_rows(db):
    if not db.scalar("SELECT to_regclass('atomig.migrations') IS NOT NULL"):
        return None
    return db.execute(
        "SELECT version, status, details FROM atomig.migrations ORDER BY order_key"
    )


def test_a_proven_baseline_records_them_and_up_applies_only_the_rest(project):
    adopted(project)
    # Without it, up refuses: the objects exist.
    refused = project.cli("up")
    assert refused.exit_code != 0 and ledger_rows(project.database) == []
    result = project.cli("baseline", "20260102_0000")
    assert result.exit_code == 0, result.stderr
    assert "recorded 2 migration(s) as applied, up to 20260102_0000_orders" in (
        result.stdout
    )
    assert "proven" in result.stdout and "and 2 object(s) of its own" in result.stdout
    rows = ledger_rows(project.database)
    assert [(v, s) for v, s, _ in rows] == [
        ("20260101_0000", "applied"),
        ("20260102_0000", "applied"),
    ]
    assert rows[0][2]["baselined"] is True and rows[0][2]["proven"] is True
    events = project.database.execute(
        "SELECT version, event FROM atomig.history ORDER BY id"
    )
    assert ("20260102_0000", "baselined") in events
    listed = project.cli("status").stdout
    assert "baselined" in listed and "unproven" not in listed
    first = json.loads(project.cli("status", "--json").stdout)["migrations"][0]
    assert first["baseline"] == {"proven": True, "reason": None}
    applied = project.cli("up")
    assert applied.exit_code == 0, applied.stderr
    assert "applied 1 migration(s)" in applied.stdout
    states = json.loads(project.cli("status", "--json").stdout)["summary"]
    assert states["applied"] == 3 and states["pending"] == 0
    # The baselined migrations revert like any other.
    assert project.cli("down", "--to", "20260101_0000").exit_code == 0
    assert project.database.scalar("SELECT to_regclass('orders')") is None


def test_a_target_without_what_they_make_is_refused_and_nothing_is_recorded(project):
    adopted(project)
    result = project.cli("baseline", "20260103_0000")
    assert result.exit_code == 1
    assert "column public.orders.note missing" in result.stderr
    assert "nothing was recorded" in result.stderr
    assert ledger_rows(project.database) == []


def test_skip_proof_needs_a_reason_and_keeps_it(project):
    adopted(project)
    empty = project.cli("baseline", "20260103_0000", "--skip-proof", " ")
    assert empty.exit_code == 2 and "needs a reason" in empty.stderr
    result = project.cli(
        "baseline", "20260103_0000", "--skip-proof", "note added by hand in prod"
    )
    assert result.exit_code == 0, result.stderr
    assert "unproven: note added by hand in prod" in result.stdout
    assert "baselined, unproven: note added by hand in prod" in project.cli(
        "status"
    ).stdout.replace("\n", " ")
    rows = ledger_rows(project.database)
    assert len(rows) == 3
    assert rows[2][2] == {
        "baselined": True,
        "baseline_version": "20260103_0000",
        "proven": False,
        "reason": "note added by hand in prod",
    }


def test_dry_run_records_nothing_and_creates_no_ledger(project):
    adopted(project)
    result = project.cli("baseline", "20260102_0000", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["dry_run"] is True and document["proven"] is True
    assert document["migrations"] == ["20260101_0000_users", "20260102_0000_orders"]
    assert document["other_objects"] == 2  # legacy and its column
    assert ledger_rows(project.database) is None


def test_only_an_empty_ledger_is_baselined(project):
    adopted(project)
    assert project.cli("baseline", "20260101_0000").exit_code == 0
    again = project.cli("baseline", "20260102_0000")
    assert again.exit_code == 2
    assert "already records 1 migration(s)" in again.stderr
    unknown = project.cli("baseline", "20991231_0000", "--dry-run")
    assert unknown.exit_code == 2 and "no migration with version" in unknown.stderr
