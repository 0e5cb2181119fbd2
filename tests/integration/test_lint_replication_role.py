"""replication-role-change, checked on PostgreSQL 15 and 18: what the rule claims (writes
skip foreign-key checks; a role without superuser cannot set it) is what the server does."""

from __future__ import annotations

import json

import psycopg
import pytest

UP = (
    "SET session_replication_role = replica;\n"
    "INSERT INTO orders (id, customer_id) VALUES (1, 42);\n"
)


@pytest.fixture
def shop(project):
    db = project.database
    db.execute(
        "CREATE TABLE customers (id bigint PRIMARY KEY);"
        "CREATE TABLE orders (id bigint PRIMARY KEY, "
        "customer_id bigint REFERENCES customers);"
        "CREATE ROLE rr_migrator LOGIN; GRANT ALL ON orders, customers TO rr_migrator"
    )
    project.add("20261201_0900_orders", UP, "DELETE FROM orders WHERE id = 1;\n")
    yield db
    db.execute(
        "DROP TABLE IF EXISTS orders, customers; DROP ROLE IF EXISTS rr_migrator"
    )


def test_the_write_it_names_really_skips_the_foreign_key(project, shop):
    result = project.cli("lint", "--json")
    found = [
        f
        for f in json.loads(result.stdout)["findings"]
        if f["rule"] == "replication-role-change"
    ]
    assert [f["line"] for f in found] == [1]
    assert "line 2 writes without foreign-key checks" in found[0]["message"]
    # As the superuser the tests connect as, the orphan row goes in.
    conninfo = shop.cluster.conninfo(shop.name)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in UP.splitlines():
            conn.execute(statement)
        orphans = conn.execute(
            "SELECT count(*) FROM orders o "
            "WHERE NOT EXISTS (SELECT FROM customers c WHERE c.id = o.customer_id)"
        ).fetchone()[0]
    assert orphans == 1


def test_a_role_without_superuser_cannot_set_it(project, shop):
    conninfo = shop.cluster.conninfo(shop.name)
    with (
        psycopg.connect(conninfo, user="rr_migrator", autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SET session_replication_role = replica")
