"""Lint facts only the live catalog has (PG 15 and PG 18): objects older than the linted
history, each checked against what the server really does (pg_locks, relfilenode)."""

from __future__ import annotations

import json


def findings(project, *args):
    result = project.cli("lint", "--json", *args)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return json.loads(result.stdout)["findings"]


def locks_taken(db, statement):
    """The tables ``statement`` locks, with their modes (rolled back)."""
    with db.connect(autocommit=False) as conn:
        conn.execute(statement)
        rows = conn.execute(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE l.pid = pg_backend_pid() AND c.relkind IN ('r', 'p')"
            " AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        conn.rollback()
    return set(rows)


def test_dropping_a_foreign_key_older_than_the_history_locks_the_referenced_table(
    project,
):
    db = project.database
    db.execute("CREATE TABLE customer (id bigint PRIMARY KEY)")
    db.execute(
        "CREATE TABLE rental (id bigint PRIMARY KEY, customer_id bigint"
        " CONSTRAINT rental_customer_fk REFERENCES customer, note text)"
    )
    db.execute("CREATE TABLE audit (id bigint PRIMARY KEY, note text)")
    drop = "ALTER TABLE rental DROP CONSTRAINT rental_customer_fk"
    # The fact: the referenced table is locked ACCESS EXCLUSIVE as well.
    assert ("customer", "AccessExclusiveLock") in locks_taken(db, drop)
    project.add(
        "20260101_0000_drop_fk",
        f"{drop};\nUPDATE audit SET note = 'fk dropped' WHERE id = 1;",
        "SELECT 1;",
    )

    def held(*args):
        return sorted(
            f["message"].split(" is held")[0]
            for f in findings(project, *args)
            if f["rule"] == "long-lock-hold"
        )

    assert held() == [
        "the ACCESS EXCLUSIVE lock on public.customer",
        "the ACCESS EXCLUSIVE lock on rental",
    ]
    # Offline the constraint's kind is unknown: only the altered table.
    assert held("--no-database") == ["the ACCESS EXCLUSIVE lock on rental"]


def test_a_constraint_the_history_knows_is_read_from_the_history(project):
    # The history made rental_customer_fk a CHECK constraint (after dropping the
    # foreign key of that name): the catalog, older, must not override it.
    db = project.database
    db.execute("CREATE TABLE customer (id bigint PRIMARY KEY)")
    db.execute(
        "CREATE TABLE rental (id bigint PRIMARY KEY, customer_id bigint"
        " CONSTRAINT rental_customer_fk REFERENCES customer, note text)"
    )
    db.execute("CREATE TABLE audit (id bigint PRIMARY KEY, note text)")
    project.add(
        "20260101_0000_swap",
        "ALTER TABLE rental DROP CONSTRAINT rental_customer_fk;\n"
        "ALTER TABLE rental ADD CONSTRAINT rental_customer_fk"
        " CHECK (customer_id > 0) NOT VALID;",
        "SELECT 1;",
    )
    project.add(
        "20260102_0000_drop_check",
        "ALTER TABLE rental DROP CONSTRAINT rental_customer_fk;\n"
        "UPDATE audit SET note = 'check dropped' WHERE id = 1;",
        "SELECT 1;",
    )
    held = [
        f["message"]
        for f in findings(project)
        if f["rule"] == "long-lock-hold" and "customer" in f["message"].split(" is ")[0]
    ]
    assert held == []
