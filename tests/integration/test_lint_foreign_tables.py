"""Foreign tables on a real server (PG 15 and 18): the facts lint relies on, and lint reading
relkind from the live catalog for a foreign table older than the history."""

from __future__ import annotations

import json

import psycopg
import pytest

REMOTE = (
    "CREATE FOREIGN DATA WRAPPER dummy",
    "CREATE SERVER remote FOREIGN DATA WRAPPER dummy",
    "CREATE FOREIGN TABLE remote_orders (id bigint, name varchar(10)) SERVER remote",
    "CREATE TABLE orders (id bigint PRIMARY KEY, name varchar(10))",
)


def findings(project, *args):
    result = project.cli("lint", "--json", *args)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return json.loads(result.stdout)["findings"]


@pytest.fixture
def remote(project):
    for statement in REMOTE:
        project.database.execute(statement)
    return project


def test_alter_table_of_a_foreign_table_is_a_brief_lock_without_scan(remote):
    db = remote.database
    with db.connect(autocommit=False) as conn:
        # These would scan or rewrite a plain table: here they only change the catalog.
        conn.execute("ALTER TABLE remote_orders ALTER COLUMN name TYPE varchar(5)")
        conn.execute("ALTER TABLE remote_orders ADD CONSTRAINT c CHECK (id > 0)")
        conn.execute("ALTER TABLE remote_orders ALTER COLUMN id SET NOT NULL")
        mode = conn.execute(
            "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid()"
            " AND relation = 'remote_orders'::regclass"
        ).fetchall()
        assert mode == [("AccessExclusiveLock",)]
        # No storage to rewrite: a foreign table has no heap at all.
        node = conn.execute(
            "SELECT relfilenode FROM pg_class WHERE oid = 'remote_orders'::regclass"
        ).fetchone()
        assert node == (0,)
        conn.rollback()


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("DROP TABLE IF EXISTS remote_orders", '"remote_orders" is not a table'),
        ("DROP FOREIGN TABLE orders", '"orders" is not a foreign table'),
    ],
)
def test_postgresql_rejects_the_wrong_drop_keyword(remote, statement, message):
    with pytest.raises(psycopg.errors.WrongObjectType, match=message):
        remote.database.execute(statement)


def test_lint_reads_a_foreign_table_from_the_live_catalog(remote):
    remote.add(
        "20260101_0000_remote",
        "ALTER TABLE remote_orders ALTER COLUMN name TYPE varchar(5);\n"
        "ALTER TABLE remote_orders ALTER COLUMN id SET NOT NULL;",
        "DROP TABLE IF EXISTS remote_orders;",
    )
    live = {(f["rule"], f["severity"]) for f in findings(remote)}
    assert ("drop-table", "error") in live
    assert not {rule for rule, _ in live} & {"column-type-rewrite", "set-not-null"}
    # Offline nothing says it is foreign: the safe assumption, a plain table.
    offline = {f["rule"] for f in findings(remote, "--no-database")}
    assert {"column-type-rewrite", "set-not-null"} <= offline


# Everything foreign-table-unsupported reports as rejected, run on the server.
REJECTED = [
    "CREATE INDEX ON remote_orders (id)",
    "ALTER TABLE remote_orders ADD PRIMARY KEY (id)",
    "ALTER TABLE remote_orders ADD CONSTRAINT u UNIQUE (id)",
    "ALTER TABLE remote_orders ADD CONSTRAINT x EXCLUDE USING btree (id WITH =)",
    "ALTER TABLE remote_orders ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES orders",
    "ALTER TABLE remote_orders ADD COLUMN ref bigint UNIQUE",
    "CREATE TABLE refunds (id bigint, order_id bigint REFERENCES remote_orders (id))",
    "ALTER TABLE remote_orders ALTER COLUMN name TYPE int USING 0",
    "ALTER TABLE remote_orders SET LOGGED",
    "ALTER TABLE remote_orders SET UNLOGGED",
    "ALTER TABLE remote_orders SET TABLESPACE pg_default",
    "ALTER TABLE remote_orders SET ACCESS METHOD heap",
    "ALTER TABLE remote_orders REPLICA IDENTITY FULL",
    "ALTER TABLE remote_orders ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE remote_orders FORCE ROW LEVEL SECURITY",
    "ALTER TABLE remote_orders CLUSTER ON orders_pkey",
    "CLUSTER remote_orders USING orders_pkey",
]


@pytest.mark.parametrize("statement", REJECTED)
def test_postgresql_rejects_what_foreign_table_unsupported_reports(remote, statement):
    # ... because it is a foreign table, not for another reason
    why = (
        "not supported on foreign tables|not supported for foreign tables|cannot be "
        'performed on relation "remote_orders"|"remote_orders" is not a table'
    )
    with pytest.raises(psycopg.errors.Error, match=why):
        remote.database.execute(statement)
    remote.add("20260101_0000_remote", f"{statement};", "SELECT 1;")
    fired = [f["rule"] for f in findings(remote)]
    assert "foreign-table-unsupported" in fired, fired
