"""Lint facts only the live catalog has (PG 15 and PG 18): objects older than the linted
history, each checked against what the server really does (pg_locks, relfilenode)."""

from __future__ import annotations

import json

import psycopg
import pytest


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
        "the ACCESS EXCLUSIVE lock on customer",
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


def test_bulk_table_copy_knows_views_sizes_and_aggregates_from_the_catalog(project):
    db = project.database
    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, total int)")
    db.execute("CREATE TABLE codes (id bigint PRIMARY KEY, code text)")
    db.execute("INSERT INTO orders SELECT g, g FROM generate_series(1, 3000) g")
    db.execute("INSERT INTO codes SELECT g, 'c' || g FROM generate_series(1, 50) g")
    db.execute("ANALYZE orders")
    db.execute("ANALYZE codes")
    db.execute("CREATE VIEW order_totals AS SELECT id, total FROM orders")
    db.execute("CREATE VIEW big_orders AS SELECT * FROM order_totals")  # view on view
    db.execute("CREATE VIEW ratings AS VALUES ('G'), ('PG')")
    db.execute("CREATE VIEW code_names AS SELECT code FROM codes")
    db.execute(
        "CREATE AGGREGATE total_sum (int) (sfunc = int4pl, stype = int, initcond = 0)"
    )
    (project.dir / "atomig.toml").write_text("[lint]\nsmall_table_rows = 1000\n")
    project.add(
        "20260101_0000_copies",
        "CREATE TABLE a AS SELECT * FROM order_totals;\n"
        "CREATE TABLE b AS SELECT * FROM big_orders;\n"
        "CREATE TABLE c AS SELECT * FROM ratings;\n"
        "CREATE TABLE d AS SELECT * FROM code_names;\n"
        "CREATE TABLE e AS SELECT * FROM codes;\n"
        "CREATE TABLE f AS SELECT total_sum(total) FROM orders;\n"
        "CREATE TABLE g AS SELECT public.total_sum(total) FROM orders;\n"
        "CREATE TABLE h AS SELECT * FROM orders;",
        "SELECT 1;",
    )

    def copies(*args):
        return {
            f["line"]: f["severity"]
            for f in findings(project, *args)
            if f["rule"] == "bulk-table-copy"
        }

    # The views over orders copy it; a VALUES view copies nothing; the small table (and
    # the view over it) is info; a user-defined aggregate returns one row.
    assert copies() == {1: "warning", 2: "warning", 4: "info", 5: "info", 8: "warning"}
    # Offline, every one of them looks like a copy of a table of unknown size.
    assert copies("--no-database") == dict.fromkeys(range(1, 9), "warning")


def test_a_using_that_is_the_column_itself_is_judged_as_without_using(project):
    db = project.database
    db.execute(
        "CREATE TABLE legacy (id int PRIMARY KEY, staff_id int, code varchar(10),"
        " note text)"
    )
    project.add(
        "20260101_0000_types",
        "ALTER TABLE legacy ALTER COLUMN staff_id TYPE integer USING staff_id::integer;\n"
        "ALTER TABLE legacy ALTER COLUMN code TYPE varchar(40) USING code::varchar(40);\n"
        "ALTER TABLE legacy ALTER COLUMN note TYPE text USING note;\n"
        "ALTER TABLE legacy ALTER COLUMN id TYPE bigint USING id::bigint;\n"
        "ALTER TABLE legacy ALTER COLUMN code TYPE varchar(40) USING upper(code);",
        "SELECT 1;",
    )
    rewrites = {
        f["line"]: f["message"]
        for f in findings(project)
        if f["rule"] == "column-type-rewrite"
    }
    assert sorted(rewrites) == [4, 5]
    assert rewrites[4].startswith("int4 → int8 is not binary-coercible")
    assert rewrites[5].startswith("USING computes every value of code anew")
    # What the server does: the first three keep the table's file, the others do not.
    filenode = "SELECT pg_relation_filenode('legacy')"
    for line, statement in enumerate(
        (project.migrations / "20260101_0000_types.up.sql").read_text().splitlines(), 1
    ):
        [[before]] = db.execute(filenode)
        db.execute(statement)
        [[after]] = db.execute(filenode)
        assert (before != after) == (line in rewrites), statement


def test_refresh_concurrently_is_advised_only_where_postgresql_accepts_it(project):
    db = project.database
    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, total int)")
    db.execute("INSERT INTO orders SELECT g, g FROM generate_series(1, 10) g")
    for view in ("stale", "keyless", "partial", "keyed"):
        no_data = " WITH NO DATA" if view == "stale" else ""
        db.execute(
            f"CREATE MATERIALIZED VIEW {view} AS SELECT id, total FROM orders{no_data}"
        )
    db.execute("CREATE UNIQUE INDEX stale_id ON stale (id)")
    db.execute("CREATE UNIQUE INDEX partial_id ON partial (id) WHERE id > 0")
    db.execute("CREATE UNIQUE INDEX keyed_id ON keyed (id) INCLUDE (total)")
    statements = [
        "REFRESH MATERIALIZED VIEW stale",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY stale",
        "REFRESH MATERIALIZED VIEW keyless",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY keyless",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY partial",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY keyed",
        "REFRESH MATERIALIZED VIEW keyed",
    ]
    project.add("20260101_0000_refresh", ";\n".join(statements) + ";", "SELECT 1;")
    found = {
        f["line"]: f
        for f in findings(project)
        if f["rule"] == "refresh-matview-not-concurrent"
    }
    assert sorted(found) == [2, 3, 4, 5, 7]
    rejected = [line for line, f in found.items() if f["severity"] == "error"]
    assert rejected == [2, 4, 5]
    assert found[2]["message"].endswith("stale: it is not populated")
    assert found[3]["fix"].startswith("CREATE UNIQUE INDEX CONCURRENTLY … ON keyless")
    assert found[7]["fix"].startswith(
        "use REFRESH MATERIALIZED VIEW CONCURRENTLY keyed"
    )
    # The server agrees: the reported CONCURRENTLY refreshes fail (tried first: the
    # plain refresh of line 1 populates stale), the others run.
    for line in rejected:
        with pytest.raises(psycopg.errors.DatabaseError, match=r"(?i)concurrently"):
            db.execute(statements[line - 1])
    for statement in statements:
        if statements.index(statement) + 1 not in rejected:
            db.execute(statement)
    # Offline, nothing is known: every plain refresh is reported, no CONCURRENTLY one.
    offline = [
        f["line"]
        for f in findings(project, "--no-database")
        if f["rule"] == "refresh-matview-not-concurrent"
    ]
    assert offline == [1, 3, 7]


def test_a_partial_index_neither_covers_a_foreign_key_nor_makes_a_key(project):
    db = project.database
    db.execute("CREATE TABLE staff (id bigint PRIMARY KEY)")
    db.execute(
        "CREATE TABLE rental (id bigint PRIMARY KEY, staff_id bigint,"
        " clerk_id bigint, code text, returned boolean)"
    )
    db.execute("CREATE INDEX rental_open_staff ON rental (staff_id) WHERE NOT returned")
    db.execute("CREATE INDEX rental_clerk ON rental (clerk_id)")
    db.execute(
        "CREATE UNIQUE INDEX rental_open_code ON rental (code) WHERE NOT returned"
    )
    project.add(
        "20260101_0000_fks",
        "ALTER TABLE rental ADD CONSTRAINT rental_staff_fk"
        " FOREIGN KEY (staff_id) REFERENCES staff NOT VALID;\n"
        "ALTER TABLE rental ADD CONSTRAINT rental_clerk_fk"
        " FOREIGN KEY (clerk_id) REFERENCES staff NOT VALID;\n"
        "UPDATE rental SET returned = true WHERE code = 'X1';",
        "SELECT 1;",
    )
    found = findings(project)
    assert [f["line"] for f in found if f["rule"] == "foreign-key-without-index"] == [1]
    # code is unique only among rows not returned: the UPDATE may change many rows
    assert [f["line"] for f in found if f["rule"] == "unbatched-dml"] == [3]
    # The server cannot use the partial index for the lookup a DELETE on staff makes.
    with db.connect() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT 1 FROM rental WHERE staff_id = 1 FOR KEY SHARE"
        ).fetchall()
    assert "rental_open_staff" not in str(plan)


def test_row_estimates_of_partitioned_and_never_analyzed_tables(project):
    """A partitioned parent keeps reltuples -1 (autovacuum analyzes its partitions only)
    and so does a table never analyzed: neither may pass for an empty, small table."""
    db = project.database
    db.execute(
        "CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);"
        "CREATE TABLE events_a PARTITION OF events"
        " FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');"
        "CREATE TABLE events_b PARTITION OF events"
        " FOR VALUES FROM ('2025-07-01') TO ('2026-01-01')"
    )
    db.execute(
        "INSERT INTO events SELECT g, date '2025-01-01' + g % 360"
        " FROM generate_series(1, 3000) g"
    )
    db.execute("ANALYZE events_a")
    db.execute("ANALYZE events_b")
    db.execute("CREATE TABLE raw_import (id bigint, v text)")
    db.execute("INSERT INTO raw_import SELECT g, 'v' FROM generate_series(1, 3000) g")
    db.execute("CREATE TABLE empty_import (id bigint, v text)")
    [[parent]] = db.execute("SELECT reltuples FROM pg_class WHERE relname = 'events'")
    assert parent == -1
    (project.dir / "atomig.toml").write_text("[lint]\nsmall_table_rows = 1000\n")
    project.add(
        "20260101_0000_idx",
        "CREATE INDEX events_at ON events (at);\n"
        "CREATE INDEX raw_import_v ON raw_import (v);\n"
        "CREATE INDEX empty_import_v ON empty_import (v);",
        "SELECT 1;",
    )
    found = {
        f["line"]: f["severity"]
        for f in findings(project)
        if f["rule"] == "index-not-concurrent"
    }
    assert found == {1: "error", 2: "error", 3: "info"}


def test_a_domain_is_its_base_type_unless_it_adds_a_constraint(project):
    db = project.database
    db.execute("CREATE DOMAIN year AS integer CHECK (VALUE >= 1901)")
    db.execute("CREATE DOMAIN plain_int AS integer")
    db.execute("CREATE DOMAIN inner_int AS plain_int")  # a domain over a domain
    db.execute(
        "CREATE TABLE film (id bigint PRIMARY KEY, release_year year, a int, b int,"
        " c inner_int, d plain_int)"
    )
    db.execute(
        "INSERT INTO film SELECT g, 2000, g, 2000, g, g FROM generate_series(1, 10) g"
    )
    statements = [
        "ALTER TABLE film ALTER COLUMN release_year TYPE integer",
        "ALTER TABLE film ALTER COLUMN a TYPE plain_int",
        "ALTER TABLE film ALTER COLUMN b TYPE year",
        "ALTER TABLE film ALTER COLUMN c TYPE integer",
        "ALTER TABLE film ALTER COLUMN d TYPE bigint",
    ]
    project.add("20260101_0000_types", ";\n".join(statements) + ";", "SELECT 1;")
    rewrites = {
        f["line"]: f["message"]
        for f in findings(project)
        if f["rule"] == "column-type-rewrite"
    }
    assert sorted(rewrites) == [3, 5]
    assert rewrites[3].startswith("year is a domain with a constraint")
    filenode = "SELECT pg_relation_filenode('film')"
    for line, statement in enumerate(statements, 1):
        [[before]] = db.execute(filenode)
        db.execute(statement)
        [[after]] = db.execute(filenode)
        assert (before != after) == (line in rewrites), statement


def test_a_free_type_change_is_no_pass_over_the_table(project):
    project.database.execute(
        'CREATE TABLE "Track" (id int PRIMARY KEY, "Name" varchar(200), "Bytes" int,'
        ' "Milliseconds" int)'
    )
    project.add(
        "20260101_0000_types",
        'ALTER TABLE "Track" ALTER COLUMN "Name" TYPE varchar(300);\n'
        'ALTER TABLE "Track" ALTER COLUMN "Bytes" TYPE bigint;\n'
        'ALTER TABLE "Track" ALTER COLUMN "Milliseconds" TYPE bigint;',
        "SELECT 1;",
    )
    found = findings(project)
    # line 1 changes only the catalog: the second pass is line 3, after line 2's
    assert [f["line"] for f in found if f["rule"] == "multiple-alters-same-table"] == [
        3
    ]
    assert "already rewritten or scanned on line 2" in next(
        f["message"] for f in found if f["rule"] == "multiple-alters-same-table"
    )
    offline = findings(project, "--no-database")
    assert [
        f["line"] for f in offline if f["rule"] == "multiple-alters-same-table"
    ] == [2, 3]


def test_statements_postgresql_rejects_because_views_or_keys_depend_on_them(project):
    db = project.database
    db.execute(
        "CREATE TABLE customer (id bigint PRIMARY KEY, first_name text, last_name text,"
        " email text, note text);"
        "CREATE TABLE rental (id bigint PRIMARY KEY,"
        " customer_id bigint CONSTRAINT rental_customer_fk REFERENCES customer);"
        "CREATE VIEW customer_list AS SELECT id, first_name || ' ' || last_name AS name"
        " FROM customer;"
        "CREATE MATERIALIZED VIEW customer_emails AS SELECT id, email FROM customer;"
        "CREATE TABLE audit (id bigint PRIMARY KEY, note text);"
        "CREATE VIEW audit_notes AS SELECT note FROM audit"
    )
    rejected = [
        "ALTER TABLE customer ALTER COLUMN last_name TYPE varchar(100)",
        "ALTER TABLE customer ALTER COLUMN email TYPE varchar(300)",
        "ALTER TABLE customer DROP COLUMN first_name",
        "ALTER TABLE customer DROP COLUMN id",
        "DROP TABLE customer",
    ]
    accepted = [
        "ALTER TABLE customer ALTER COLUMN note TYPE varchar(100)",
        "ALTER TABLE customer DROP COLUMN note",
    ]
    project.add(
        "20260101_0000_changes", ";\n".join(rejected + accepted) + ";", "SELECT 1;"
    )
    # In a later migration, after dropping the view, the same change is accepted.
    project.add(
        "20260102_0000_redo",
        "DROP VIEW audit_notes;\nALTER TABLE audit ALTER COLUMN note TYPE varchar(50);",
        "SELECT 1;",
    )
    project.add(
        "20260103_0000_again",
        "ALTER TABLE audit ALTER COLUMN note TYPE varchar(40);",
        "SELECT 1;",
    )
    found = [
        f for f in findings(project) if f["message"].startswith("PostgreSQL rejects")
    ]
    assert [(f["file"].rsplit("/", 1)[-1][:13], f["line"]) for f in found] == [
        ("20260101_0000", line) for line in range(1, 6)
    ]
    assert all(f["severity"] == "error" for f in found)
    assert "view customer_list reads it" in found[0]["message"]
    assert "materialized view customer_emails" in found[1]["message"]
    assert "foreign key rental_customer_fk of rental" in found[3]["message"]
    assert "foreign key rental_customer_fk of rental" in found[4]["message"]
    assert "view customer_list" in found[4]["message"]
    # The server agrees, on PG 15 and 18.
    for statement in rejected:
        with pytest.raises(
            (
                psycopg.errors.FeatureNotSupported,
                psycopg.errors.DependentObjectsStillExist,
            )
        ):
            db.execute(statement)
    for statement in accepted:
        db.execute(statement)


def test_timestamp_to_timestamptz_rewrites_unless_the_session_zone_is_utc(project):
    db = project.database
    db.execute(
        "CREATE TABLE events (id bigint PRIMARY KEY, at timestamp, seen timestamp)"
    )
    db.execute("INSERT INTO events VALUES (1, now(), now())")
    db.execute(f"ALTER DATABASE \"{db.name}\" SET TimeZone = 'America/New_York'")
    alter = "ALTER TABLE events ALTER COLUMN at TYPE timestamptz"
    project.add("20260101_0000_zone", f"{alter};", "SELECT 1;")
    project.add(
        "20260102_0000_utc",
        "SET TimeZone = 'UTC';\nALTER TABLE events ALTER COLUMN seen TYPE timestamptz;",
        "SELECT 1;",
    )

    def rewrites():
        return {
            f["file"].rsplit("/", 1)[-1][:13]: f
            for f in findings(project)
            if f["rule"] == "column-type-rewrite"
        }

    found = rewrites()
    assert list(found) == ["20260101_0000"]
    assert "session TimeZone (America/New_York)" in found["20260101_0000"]["message"]
    assert found["20260101_0000"]["fix"].startswith("if the stored values are UTC")
    db.execute(f"ALTER DATABASE \"{db.name}\" SET TimeZone = 'Etc/UTC'")
    assert rewrites() == {}
    # What the server does in those zones (a new session takes the database's zone).
    filenode = "SELECT pg_relation_filenode('events')"
    for zone, column, rewrote in (
        ("America/New_York", "at", True),
        ("UTC", "seen", False),
    ):
        with db.connect() as conn:
            conn.execute(f"SET TimeZone = '{zone}'")
            [before] = conn.execute(filenode).fetchone()
            conn.execute(f"ALTER TABLE events ALTER COLUMN {column} TYPE timestamptz")
            [after] = conn.execute(filenode).fetchone()
        assert (before != after) == rewrote, zone


def test_dropping_a_table_locks_the_tables_its_foreign_keys_reference(project):
    db = project.database
    db.execute(
        "CREATE TABLE customer (id bigint PRIMARY KEY);"
        "CREATE TABLE rental (id bigint PRIMARY KEY);"
        "CREATE TABLE audit (id bigint PRIMARY KEY, note text);"
        "CREATE TABLE rental_note (id bigint PRIMARY KEY,"
        " rental_id bigint REFERENCES rental, customer_id bigint REFERENCES customer)"
    )
    drop = "DROP TABLE rental_note"
    taken = locks_taken(db, drop)
    assert {("customer", "AccessExclusiveLock"), ("rental", "AccessExclusiveLock")} <= (
        taken
    )
    project.add(
        "20260101_0000_drop",
        f"{drop};\nUPDATE audit SET note = 'dropped' WHERE id = 1;",
        "SELECT 1;",
    )

    def held(*args):
        return sorted(
            f["message"].split(" is held")[0].rsplit(" ", 1)[-1]
            for f in findings(project, *args)
            if f["rule"] == "long-lock-hold"
        )

    assert held() == ["customer", "rental"]
    # Offline, the table's foreign keys are unknown; from history they are known.
    assert held("--no-database") == []
    project.add(
        "20250101_0000_notes",
        "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE IF NOT EXISTS order_notes (id bigint PRIMARY KEY,"
        " order_id bigint REFERENCES orders);",
        "SELECT 1;",
    )
    project.add(
        "20260102_0000_drop_notes",
        "DROP TABLE order_notes;\nUPDATE audit SET note = 'notes dropped' WHERE id = 1;",
        "SELECT 1;",
    )
    assert held("--no-database") == ["orders"]


def test_unbatched_dml_on_a_small_table_is_info(project):
    db = project.database
    db.execute("CREATE TABLE language (id bigint PRIMARY KEY, name text)")
    db.execute("CREATE TABLE rental (id bigint PRIMARY KEY, note text)")
    db.execute("INSERT INTO language SELECT g, 'l' FROM generate_series(1, 6) g")
    db.execute("INSERT INTO rental SELECT g, 'r' FROM generate_series(1, 3000) g")
    db.execute("ANALYZE language")
    db.execute("ANALYZE rental")
    (project.dir / "atomig.toml").write_text("[lint]\nsmall_table_rows = 1000\n")
    project.add(
        "20260101_0000_dml",
        "UPDATE language SET name = 'x';\nUPDATE rental SET note = 'x';\n"
        "DELETE FROM language WHERE name = 'y';",
        "SELECT 1;",
    )

    def levels(*args):
        return {
            f["line"]: f["severity"]
            for f in findings(project, *args)
            if f["rule"] == "unbatched-dml"
        }

    assert levels() == {1: "info", 2: "error", 3: "info"}
    assert levels("--no-database") == {1: "error", 2: "error", 3: "warning"}


def test_retyping_a_key_column_locks_the_table_at_the_other_end(project):
    db = project.database
    db.execute(
        "CREATE TABLE orders (order_id smallint PRIMARY KEY);"
        "CREATE TABLE products (product_id varchar(10) PRIMARY KEY);"
        "CREATE TABLE order_details (id bigint PRIMARY KEY,"
        " order_id smallint REFERENCES orders,"
        " product_id varchar(10) REFERENCES products, quantity smallint);"
        "CREATE TABLE audit (id bigint PRIMARY KEY, note text)"
    )
    retype_key = "ALTER TABLE orders ALTER COLUMN order_id TYPE integer"
    widen_ref = "ALTER TABLE order_details ALTER COLUMN product_id TYPE varchar(20)"
    plain = "ALTER TABLE order_details ALTER COLUMN quantity TYPE integer"
    exclusive = "AccessExclusiveLock"
    # Even the free widening of a referencing column locks the referenced table.
    assert ("order_details", exclusive) in locks_taken(db, retype_key)
    assert ("products", exclusive) in locks_taken(db, widen_ref)
    assert ("orders", exclusive) not in locks_taken(db, plain)
    note = "UPDATE audit SET note = 'x' WHERE id = 1"
    project.add(
        "20260101_0000_types",
        f"{retype_key};\n{note};\n"
        f"BEGIN;\n{widen_ref};\n{note};\nCOMMIT;\n"
        f"BEGIN;\n{plain};\n{note};\nCOMMIT;",
        "SELECT 1;",
    )
    held = sorted(
        f["message"].split(" is held")[0].rsplit(" ", 1)[-1]
        for f in findings(project)
        if f["rule"] == "long-lock-hold"
    )
    # each ALTER holds its own table; the key changes the other end's too, the plain
    # column change nothing else
    assert held == [
        "order_details",
        "order_details",
        "order_details",
        "orders",
        "products",
    ]


def test_a_foreign_table_never_analyzed_is_not_a_small_table_to_copy(project):
    db = project.database
    db.execute(
        "CREATE FOREIGN DATA WRAPPER no_handler;"
        "CREATE SERVER remote FOREIGN DATA WRAPPER no_handler;"
        "CREATE FOREIGN TABLE remote_orders (id bigint, note text) SERVER remote;"
        "CREATE TABLE local_orders (id bigint PRIMARY KEY, note text)"
    )
    project.add(
        "20260101_0000_copy",
        "INSERT INTO local_orders SELECT * FROM remote_orders;\n"
        "UPDATE remote_orders SET note = 'x';",
        "SELECT 1;",
    )
    found = {
        f["rule"]: f["severity"]
        for f in findings(project)
        if f["rule"] in ("bulk-table-copy", "unbatched-dml")
    }
    # its rows are remote and unknown (reltuples -1, no local heap): not "~0 rows"
    assert found == {"bulk-table-copy": "warning", "unbatched-dml": "error"}


def test_the_index_of_a_constraint_older_than_the_history_is_known(project):
    db = project.database
    db.execute("CREATE TABLE legacy (id bigint CONSTRAINT legacy_pkey PRIMARY KEY)")
    drop = "DROP INDEX CONCURRENTLY IF EXISTS legacy_pkey"
    project.add("20260101_0000_drop", f"{drop};", "SELECT 1;")
    [found] = [f for f in findings(project) if f["rule"] == "drop-index-not-concurrent"]
    assert found["message"].startswith("PostgreSQL rejects DROP INDEX legacy_pkey")
    assert "DROP CONSTRAINT legacy_pkey" in found["fix"]
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        db.execute(drop)


def test_an_existing_unique_index_is_adopted_instead_of_built_again(project):
    db = project.database
    db.execute(
        "CREATE TABLE rental (id bigint PRIMARY KEY, rented date, inventory_id int,"
        " customer_id int, code text, old_code text);"
        "CREATE UNIQUE INDEX rental_natural ON rental (rented, inventory_id, customer_id);"
        "CREATE UNIQUE INDEX rental_open_code ON rental (code) WHERE id > 0;"
        "CREATE UNIQUE INDEX rental_old_code ON rental (old_code)"
    )
    add = (
        "ALTER TABLE rental ADD CONSTRAINT rental_natural_key"
        " UNIQUE (customer_id, rented, inventory_id)"
    )
    project.add(
        "20260101_0000_keys",
        f"{add};\nALTER TABLE rental ADD CONSTRAINT rental_code_key UNIQUE (code);",
        "SELECT 1;",
    )
    project.add(
        "20260102_0000_old",
        "DROP INDEX CONCURRENTLY IF EXISTS rental_old_code;",
        "SELECT 1;",
    )
    project.add(
        "20260103_0000_old_key",
        "ALTER TABLE rental ADD CONSTRAINT rental_old_code_key UNIQUE (old_code);",
        "SELECT 1;",
    )
    fixes = [
        f["fix"] for f in findings(project) if f["rule"] == "unique-constraint-direct"
    ]
    assert fixes[0].startswith(
        "ADD CONSTRAINT rental_natural_key UNIQUE USING INDEX rental_natural:"
    )
    # a partial index cannot back a constraint; a dropped one is gone
    assert fixes[1].startswith("CREATE UNIQUE INDEX CONCURRENTLY rental_code_key")
    assert fixes[2].startswith("CREATE UNIQUE INDEX CONCURRENTLY rental_old_code_key")
    db.execute(
        "ALTER TABLE rental ADD CONSTRAINT rental_natural_key"
        " UNIQUE USING INDEX rental_natural"
    )


def test_adding_a_column_of_a_constrained_domain_rewrites(project):
    db = project.database
    db.execute("CREATE DOMAIN year AS integer CHECK (VALUE >= 1901)")
    db.execute("CREATE DOMAIN label AS text")
    db.execute("CREATE TABLE film (id bigint PRIMARY KEY)")
    db.execute("INSERT INTO film SELECT g FROM generate_series(1, 10) g")
    statements = [
        "ALTER TABLE film ADD COLUMN remake_year year",
        "ALTER TABLE film ADD COLUMN tag label DEFAULT 'x'",
        "ALTER TABLE film ADD COLUMN first_year year DEFAULT 2000",
    ]
    project.add("20260101_0000_cols", ";\n".join(statements) + ";", "SELECT 1;")
    found = {f["line"]: f for f in findings(project) if f["rule"] == "volatile-default"}
    assert sorted(found) == [1, 3]
    assert found[1]["fix"].startswith("add remake_year as int4 and state the rule")
    filenode = "SELECT pg_relation_filenode('film')"
    for line, statement in enumerate(statements, 1):
        [[before]] = db.execute(filenode)
        db.execute(statement)
        [[after]] = db.execute(filenode)
        assert (before != after) == (line in found), statement
    db.execute("ALTER TABLE film ADD COLUMN next_year int4")
    db.execute(
        "ALTER TABLE film ADD CONSTRAINT film_next_year_check"
        " CHECK (next_year >= 1901) NOT VALID"
    )


def test_drop_table_cascade_locks_the_tables_whose_keys_it_drops(project):
    db = project.database
    db.execute(
        "CREATE TABLE fa (id bigint PRIMARY KEY);"
        "CREATE TABLE fb (id bigint PRIMARY KEY, a bigint REFERENCES fa);"
        "CREATE TABLE audit (id bigint PRIMARY KEY, note text)"
    )
    drop = "DROP TABLE fa CASCADE"
    assert ("fb", "AccessExclusiveLock") in locks_taken(db, drop)
    project.add(
        "20260101_0000_drop",
        f"{drop};\nUPDATE audit SET note = 'x' WHERE id = 1;",
        "SELECT 1;",
    )
    held = [
        f["message"].split(" is held")[0].rsplit(" ", 1)[-1]
        for f in findings(project)
        if f["rule"] == "long-lock-hold"
    ]
    assert held == ["fb"]
    # From the history alone (offline): the keys another migration created.
    project.add(
        "20250101_0000_orders",
        "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE IF NOT EXISTS order_notes (id bigint PRIMARY KEY,"
        " order_id bigint REFERENCES orders);",
        "SELECT 1;",
    )
    project.add(
        "20260102_0000_drop_orders",
        "DROP TABLE orders CASCADE;\nUPDATE audit SET note = 'y' WHERE id = 1;",
        "SELECT 1;",
    )
    offline = [
        f["message"].split(" is held")[0].rsplit(" ", 1)[-1]
        for f in findings(project, "--no-database")
        if f["rule"] == "long-lock-hold"
    ]
    assert offline == ["order_notes"]


def test_a_view_made_with_no_data_in_the_history_is_filled_plainly_first(project):
    view = (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS totals AS SELECT id FROM orders"
        " WITH NO DATA;\nCREATE UNIQUE INDEX IF NOT EXISTS totals_id ON totals (id);"
    )
    project.add(
        "20260101_0000_view",
        "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY);\n" + view,
        "SELECT 1;",
    )
    project.add("20260102_0000_fill", "REFRESH MATERIALIZED VIEW totals;", "SELECT 1;")
    project.add(
        "20260103_0000_again",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY totals;",
        "SELECT 1;",
    )
    found = [
        f
        for f in findings(project, "--no-database")
        if f["rule"] == "refresh-matview-not-concurrent"
    ]
    # the first fill is plain (nothing reads it yet), the next one CONCURRENTLY: fine
    assert found == []
    db = project.database
    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY)")
    db.execute(view.replace("\n", " "))
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY totals")
    db.execute("REFRESH MATERIALIZED VIEW totals")
    db.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY totals")


def test_attach_partition_knows_checks_and_the_default_partition_from_the_catalog(
    project,
):
    db = project.database
    db.execute(
        "CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);"
        "CREATE TABLE events_default PARTITION OF events DEFAULT;"
        "CREATE TABLE events_2027 (id bigint, at date);"
        "ALTER TABLE events_2027 ADD CONSTRAINT events_2027_bound"
        " CHECK (at IS NOT NULL AND at >= '2027-01-01' AND at < '2028-01-01');"
        "CREATE TABLE events_2028 (id bigint, at date)"
    )
    attach_2027 = (
        "ALTER TABLE events ATTACH PARTITION events_2027"
        " FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')"
    )
    attach_2028 = (
        "ALTER TABLE events ATTACH PARTITION events_2028"
        " FOR VALUES FROM ('2028-01-01') TO ('2029-01-01')"
    )
    project.add("20260101_0000_attach", f"{attach_2027};\n{attach_2028};", "SELECT 1;")
    found = sorted(
        (
            f["line"],
            f["message"].split(" scans every row of ")[1].split(",")[0].split()[0],
        )
        for f in findings(project)
        if f["rule"] == "attach-partition-scan"
    )
    # 2027's CHECK proves its bound: only the default partition is scanned for it;
    # 2028 has none: it is scanned (and the message names the default partition too)
    assert found == [(1, "events_default"), (2, "events_2028")]
    # The server agrees (its DEBUG notices say which scans it skips).
    notices = []
    with db.connect() as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        conn.execute("SET client_min_messages = debug1")
        conn.execute(attach_2027)
    assert any(
        "events_2027" in n and "implied by existing constraints" in n for n in notices
    ), notices
    assert not any("events_default" in n and "implied" in n for n in notices), notices


@pytest.mark.parametrize(
    "moves",
    [
        "ALTER TABLE rental RENAME TO rentals;",
        # renamed, then moved to another schema: both followed back to the catalog's name
        "ALTER TABLE rental RENAME TO rental_old;\n"
        "CREATE SCHEMA IF NOT EXISTS archive;\n"
        "ALTER TABLE rental_old SET SCHEMA archive;\n"
        "ALTER TABLE archive.rental_old RENAME TO rentals;",
    ],
)
def test_a_table_renamed_by_a_pending_migration_keeps_its_catalog_facts(project, moves):
    db = project.database
    db.execute(
        "CREATE TABLE rental (id bigint PRIMARY KEY, note varchar(10), amount int)"
    )
    db.execute("INSERT INTO rental SELECT g, 'x', g FROM generate_series(1, 500) g")
    db.execute("ANALYZE rental")
    table = "archive.rentals" if "archive" in moves else "rentals"
    project.add("20260101_0000_rename", moves, "SELECT 1;")
    project.add(
        "20260101_0001_retype",
        f"ALTER TABLE {table} ALTER COLUMN note TYPE varchar(20);\n"
        f"ALTER TABLE {table} ALTER COLUMN amount TYPE bigint;",
        "SELECT 1;",
    )
    retype = [
        (f["line"], f["severity"])
        for f in findings(project)
        if f["rule"] == "column-type-rewrite"
    ]
    # varchar(10) -> varchar(20) is known to be free; int -> bigint rewrites a table the
    # catalog knows is small: info.
    assert retype == [(2, "info")]
    # Without the catalog the old types and the size are unknown.
    offline = [
        (f["line"], f["severity"])
        for f in findings(project, "--no-database")
        if f["rule"] == "column-type-rewrite"
    ]
    assert offline == [(1, "error"), (2, "error")]
