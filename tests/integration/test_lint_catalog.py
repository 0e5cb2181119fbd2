"""Lint with the live catalog (PG 15 and PG 18): size threshold, real column types, the
volatility of user functions, and the builtin volatility table against pg_proc."""

from __future__ import annotations

import json

import psycopg
import pytest

from atomig.sql.builtin_volatility import IMMUTABLE, STABLE, VOLATILE


def findings(project, *args):
    result = project.cli("lint", "--json", *args)
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    return json.loads(result.stdout)["findings"]


def severities(project, rule, *args):
    return [f["severity"] for f in findings(project, *args) if f["rule"] == rule]


def test_small_tables_drop_to_info_and_large_ones_stay_errors(project):
    db = project.database
    db.execute("CREATE TABLE small (id bigint PRIMARY KEY, v int)")
    db.execute("CREATE TABLE large (id bigint PRIMARY KEY, v int)")
    db.execute("INSERT INTO small SELECT g, g FROM generate_series(1, 50) g")
    db.execute("INSERT INTO large SELECT g, g FROM generate_series(1, 3000) g")
    db.execute("ANALYZE small")
    db.execute("ANALYZE large")
    (project.dir / "atomig.toml").write_text("[lint]\nsmall_table_rows = 1000\n")
    project.add(
        "20260101_0000_idx",
        "CREATE INDEX small_v ON small (v);\nCREATE INDEX large_v ON large (v);",
        "DROP INDEX CONCURRENTLY IF EXISTS small_v;\nDROP INDEX CONCURRENTLY IF EXISTS large_v;",
    )
    found = {
        f["line"]: f for f in findings(project) if f["rule"] == "index-not-concurrent"
    }
    assert found[1]["severity"] == "info" and "~50 rows" in found[1]["message"]
    assert found[2]["severity"] == "error"
    # offline, nothing is known about sizes: both stay errors
    offline = severities(project, "index-not-concurrent", "--no-database")
    assert offline == ["error", "error"]


def test_real_column_types_decide_rewrites(project):
    # The table predates the migration history: only the catalog knows its types.
    project.database.execute(
        "CREATE TABLE legacy (id int PRIMARY KEY, code varchar(10))"
    )
    project.add(
        "20260101_0000_widen",
        "ALTER TABLE legacy ALTER COLUMN code TYPE varchar(40);\n"
        "ALTER TABLE legacy ALTER COLUMN id TYPE bigint;",
        "SELECT 1;",
    )
    live = [f["line"] for f in findings(project) if f["rule"] == "column-type-rewrite"]
    offline = [
        f["line"]
        for f in findings(project, "--no-database")
        if f["rule"] == "column-type-rewrite"
    ]
    assert live == [2]  # varchar(10) → varchar(40) is binary-coercible
    assert offline == [1, 2]  # unknown old type: reported


def test_function_volatility_comes_from_pg_proc(project):
    db = project.database
    db.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
    db.execute(
        "CREATE FUNCTION fixed_code() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'x' $$"
    )
    db.execute(
        "CREATE FUNCTION fresh_code() RETURNS text LANGUAGE sql VOLATILE AS $$ SELECT 'y' $$"
    )
    project.add(
        "20260101_0000_defaults",
        "ALTER TABLE t ADD COLUMN a text DEFAULT fixed_code();\n"
        "ALTER TABLE t ADD COLUMN b text DEFAULT fresh_code();",
        "SELECT 1;",
    )
    live = [f["line"] for f in findings(project) if f["rule"] == "volatile-default"]
    offline = [
        f for f in findings(project, "--no-database") if f["rule"] == "volatile-default"
    ]
    assert live == [2]
    assert [f["line"] for f in offline] == [1, 2]
    assert "unknown" in offline[0]["message"]


def test_server_version_is_the_default_target(project):
    project.database.execute("CREATE TABLE t (id bigint PRIMARY KEY, a int)")
    project.add("20260101_0000_r", "REINDEX TABLE t;", "SELECT 1;")
    [fix] = [
        f["fix"] for f in findings(project) if f["rule"] == "reindex-not-concurrent"
    ]
    assert fix.startswith("use REINDEX TABLE CONCURRENTLY")
    [fix] = [
        f["fix"]
        for f in findings(project, "--pg-version", "11")
        if f["rule"] == "reindex-not-concurrent"
    ]
    assert "has no REINDEX CONCURRENTLY" in fix


def test_builtin_volatility_table_matches_the_server(database):
    rows = database.execute(
        "SELECT proname, max(provolatile::text) FROM pg_proc "
        "WHERE pronamespace = 'pg_catalog'::regnamespace GROUP BY 1"
    )
    table = {**dict.fromkeys(IMMUTABLE, "i"), **dict.fromkeys(STABLE, "s")}
    table.update(dict.fromkeys(VOLATILE, "v"))
    missing = [name for name, _ in rows if name not in table]
    # the table merges PG 15 and 18 keeping the most volatile overload: never less volatile
    looser = [name for name, code in rows if name in table and table[name] < code]
    assert not missing, (
        f"regenerate with scripts/gen_builtin_volatility.py: {missing[:10]}"
    )
    assert not looser, looser[:10]


def test_unqualified_names_follow_the_search_path(project):
    db = project.database
    db.execute("CREATE SCHEMA app")
    db.execute("CREATE TABLE app.small (id bigint PRIMARY KEY, v int)")
    db.execute("INSERT INTO app.small SELECT g, g FROM generate_series(1, 50) g")
    db.execute("ANALYZE app.small")
    db.execute(f'ALTER DATABASE "{db.name}" SET search_path = app, public')
    (project.dir / "atomig.toml").write_text("[lint]\nsmall_table_rows = 1000\n")
    project.add("20260101_0000_idx", "CREATE INDEX small_v ON small (v);", "SELECT 1;")
    # found through the search_path (app), so its size is known: a small table
    assert severities(project, "index-not-concurrent") == ["info"]


def test_validated_not_null_checks_come_from_the_catalog(project):
    # A validated CHECK (col IS NOT NULL) lets PostgreSQL 12+ skip the scan of SET NOT
    # NULL; the live catalog must find it, quoted names included, and only when validated.
    project.database.execute(
        'CREATE TABLE legacy (id int PRIMARY KEY, a int, "Odd ""b""" int, c int, d int, '
        "e int);"
        "ALTER TABLE legacy ADD CONSTRAINT a_nn CHECK (a IS NOT NULL);"
        'ALTER TABLE legacy ADD CONSTRAINT b_nn CHECK ("Odd ""b""" IS NOT NULL);'
        "ALTER TABLE legacy ADD CONSTRAINT c_nn CHECK (c IS NOT NULL) NOT VALID;"
        "ALTER TABLE legacy ADD CONSTRAINT d_pos CHECK (d > 0 AND d IS NOT NULL);"
        "ALTER TABLE legacy ADD CONSTRAINT e_or CHECK (e IS NOT NULL OR id > 0)"
    )
    project.add(
        "20260101_0000_not_null",
        "ALTER TABLE legacy ALTER COLUMN a SET NOT NULL;\n"
        'ALTER TABLE legacy ALTER COLUMN "Odd ""b""" SET NOT NULL;\n'
        "ALTER TABLE legacy ALTER COLUMN c SET NOT NULL;\n"
        "ALTER TABLE legacy ALTER COLUMN d SET NOT NULL;\n"
        "ALTER TABLE legacy ALTER COLUMN e SET NOT NULL;",
        "SELECT 1;",
    )
    flagged = [f["line"] for f in findings(project) if f["rule"] == "set-not-null"]
    offline = [
        f["line"]
        for f in findings(project, "--no-database")
        if f["rule"] == "set-not-null"
    ]
    # c's check is NOT VALID; d's proves it as a conjunct of an AND (no scan, DEBUG1
    # shows no "verifying table" on PG 15 and 18); e's OR proves nothing
    assert flagged == [3, 5]
    assert offline == [1, 2, 3, 4, 5]


def test_drop_index_of_an_index_history_does_not_know_names_its_table(project):
    """long-lock-hold: DROP INDEX locks the index's table. An index that predates the
    history is only known to the live catalog, which names the table (and finds a failed
    concurrent build's INVALID index too)."""
    db = project.database
    db.execute("CREATE TABLE legacy (id bigint PRIMARY KEY, v int)")
    db.execute("CREATE TABLE audit (id bigint PRIMARY KEY, note text)")
    db.execute("CREATE INDEX legacy_v ON legacy (v)")
    db.execute(
        "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'legacy_v'::regclass"
    )
    project.add(
        "20260101_0000_drop",
        "DROP INDEX legacy_v;\nUPDATE audit SET note = 'index dropped' WHERE id = 1;",
        "CREATE INDEX IF NOT EXISTS legacy_v ON legacy (v);",
    )

    def held(*args):
        [finding] = [
            f for f in findings(project, *args) if f["rule"] == "long-lock-hold"
        ]
        return finding["message"]

    assert held().startswith("the ACCESS EXCLUSIVE lock on legacy is held")
    assert "every query on legacy waits" in held()
    # Offline, only the index's name is known.
    assert held("--no-database").startswith("the ACCESS EXCLUSIVE lock on legacy_v is")
    [drop] = [f for f in findings(project) if f["rule"] == "drop-index-not-concurrent"]
    assert "ACCESS EXCLUSIVE lock on its table legacy" in drop["message"]


def test_prefer_bigint_reads_a_referenced_key_type_from_the_catalog(project):
    db = project.database
    db.execute("CREATE TABLE users (id int PRIMARY KEY)")
    db.execute("CREATE TABLE accounts (id bigint PRIMARY KEY)")
    project.add(
        "20260101_0000_orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY,"
        " user_id int REFERENCES users (id), account_id int REFERENCES accounts (id));",
        "DROP TABLE IF EXISTS orders;",
    )
    messages = sorted(
        f["message"] for f in findings(project) if f["rule"] == "prefer-bigint"
    )
    assert messages == [
        "foreign-key column account_id is integer but references accounts.id (bigint): "
        "inserts fail once accounts.id passes 2,147,483,647",
        "foreign-key column user_id is integer, like the key it references (users.id, "
        "declared before this migration): that key runs out at 2,147,483,647, and "
        "widening it later rewrites every table referencing it with a column this small",
    ]


def test_column_collation_comes_from_the_catalog(project):
    # The table predates the history: only the catalog knows that c is already "C".
    project.database.execute(
        'CREATE TABLE legacy (id int PRIMARY KEY, c text COLLATE "C");'
        "CREATE INDEX legacy_c ON legacy (c)"
    )
    project.add(
        "20260101_0000_coll",
        'ALTER TABLE legacy ALTER COLUMN c TYPE text COLLATE "C";\n'
        'ALTER TABLE legacy ALTER COLUMN c TYPE text COLLATE "POSIX";',
        "SELECT 1;",
    )

    def collation(*args):
        found = findings(project, *args)
        return [
            f["line"]
            for f in found
            if f["rule"] == "column-type-rewrite" and "collation" in f["message"]
        ]

    assert collation() == [2]  # "C" → "C" rebuilds nothing; "C" → "POSIX" the index
    assert collation("--no-database") == []  # nothing known of legacy's indexes


def test_a_function_of_the_project_named_like_a_new_builtin(project):
    # Many projects defined their own uuidv7() before PostgreSQL 18 made it a builtin.
    project.database.execute(
        "CREATE FUNCTION uuidv7() RETURNS uuid LANGUAGE plpgsql "
        "AS 'begin return gen_random_uuid(); end'"
    )
    project.add(
        "20260101_0000_ids",
        "CREATE TABLE ids (id uuid PRIMARY KEY DEFAULT uuidv7());",
        "DROP TABLE IF EXISTS ids;",
    )

    def rules(*args):
        return [f["rule"] for f in findings(project, "--pg-version", "15", *args)]

    assert "unsupported-feature" not in rules()  # the catalog has it
    assert "unsupported-feature" in rules("--no-database")  # offline: the builtin's


def test_an_index_renamed_by_a_pending_migration_keeps_its_table(project):
    # The index predates the history: the catalog knows it by its first name only.
    project.database.execute("CREATE TABLE orders (id bigint PRIMARY KEY, n int)")
    project.database.execute("CREATE INDEX orders_n_idx ON orders (n)")
    project.add(
        "20260101_0000_rename",
        "ALTER INDEX orders_n_idx RENAME TO orders_n;",
        "ALTER INDEX IF EXISTS orders_n RENAME TO orders_n_idx;",
    )
    project.add(
        "20260102_0000_drop",
        "DROP INDEX orders_n;",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_n ON orders (n);",
    )
    [drop] = [f for f in findings(project) if f["rule"] == "drop-index-not-concurrent"]
    assert "its table orders" in drop["message"]
    [offline] = [
        f
        for f in findings(project, "--no-database")
        if f["rule"] == "drop-index-not-concurrent"
    ]
    assert "the index's table" in offline["message"]


def _drop_index_findings(project, *args):
    return [
        f for f in findings(project, *args) if f["rule"] == "drop-index-not-concurrent"
    ]


@pytest.mark.parametrize(
    "rename",
    [
        "ALTER TABLE orders RENAME CONSTRAINT orders_code_key TO orders_code_uniq",
        "ALTER INDEX orders_code_key RENAME TO orders_code_uniq",
    ],
)
def test_a_constraint_renamed_by_a_pending_migration_keeps_its_index(project, rename):
    # The table predates the history: only the catalog knows its UNIQUE constraint.
    # PG 15 and 18: renaming the constraint renames its index and the other way round;
    # DROP of the index is then rejected (the constraint requires it), the old name gone.
    db = project.database
    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, code text UNIQUE)")
    project.add(
        "20260101_0000_rename",
        rename + ";",
        "ALTER TABLE orders RENAME CONSTRAINT orders_code_uniq TO orders_code_key;",
    )
    project.add(
        "20260102_0000_drop",
        "DROP INDEX CONCURRENTLY IF EXISTS orders_code_uniq;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS orders_code_key;",
        "SELECT 1;",
    )
    [rejected] = _drop_index_findings(project)
    assert rejected["line"] == 1
    assert rejected["message"].startswith(
        "PostgreSQL rejects DROP INDEX orders_code_uniq: the UNIQUE constraint "
        "orders_code_uniq of orders uses it"
    )
    db.execute(rename)
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        db.execute("DROP INDEX CONCURRENTLY orders_code_uniq")
    db.execute("DROP INDEX CONCURRENTLY IF EXISTS orders_code_key")  # gone: a notice


def test_a_table_the_history_touched_keeps_its_live_constraints(project):
    # Once a migration alters a table older than the history, the replay follows it
    # (what the migrations add to it): the catalog still knows its constraints.
    db = project.database
    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, code text UNIQUE)")
    project.add(
        "20260101_0000_note",
        "ALTER TABLE orders ADD COLUMN note text;",
        "ALTER TABLE orders DROP COLUMN IF EXISTS note;",
    )
    project.add(
        "20260102_0000_drop",
        "DROP INDEX CONCURRENTLY IF EXISTS orders_code_key;",
        "SELECT 1;",
    )
    [rejected] = _drop_index_findings(project)
    assert rejected["message"].startswith(
        "PostgreSQL rejects DROP INDEX orders_code_key: the UNIQUE constraint"
    )
    with pytest.raises(psycopg.errors.DependentObjectsStillExist):
        db.execute("DROP INDEX CONCURRENTLY orders_code_key")


def test_catalog_tables_are_named_as_written_unless_the_bare_name_finds_another(
    project,
):
    # As every finding names a table the history knows: bare, unless lint's reading of
    # the bare name (public, first along the search_path) would find another table.
    db = project.database
    db.execute("CREATE SCHEMA app")
    db.execute("CREATE TABLE legacy (id bigint PRIMARY KEY, v int)")
    db.execute("CREATE INDEX legacy_v ON legacy (v)")
    db.execute("CREATE TABLE app.jobs (id bigint PRIMARY KEY, v int)")
    db.execute("CREATE INDEX jobs_v ON app.jobs (v)")
    project.add(
        "20260101_0000_drop",
        "DROP INDEX legacy_v;\nDROP INDEX app.jobs_v;",
        "SELECT 1;",
    )

    def tables():
        return [
            f["message"].split("its table ")[1].split(":")[0]
            for f in _drop_index_findings(project)
        ]

    assert tables() == ["legacy", "app.jobs"]
    db.execute("CREATE TABLE app.legacy (id bigint)")
    db.execute(f"ALTER DATABASE {db.name} SET search_path = app, public")
    assert tables() == ["public.legacy", "app.jobs"]


@pytest.mark.parametrize(
    ("move", "now"),
    [
        ("ALTER TABLE legacy RENAME TO archive", "archive"),
        ("ALTER TABLE legacy SET SCHEMA app", "app.legacy"),
    ],
)
def test_a_table_renamed_by_a_pending_migration_names_its_indexes_table(
    project, move, now
):
    # The table and its index predate the history; a pending migration renames (or
    # moves) the table: PG 15 and 18 keep the index on it, under the table's new name.
    db = project.database
    db.execute("CREATE SCHEMA app")
    db.execute("CREATE TABLE legacy (id bigint PRIMARY KEY, v int)")
    db.execute("CREATE INDEX legacy_v ON legacy (v)")
    project.add("20260101_0000_move", move + ";", "SELECT 1;")
    index = "app.legacy_v" if "SCHEMA" in move else "legacy_v"
    project.add("20260102_0000_drop", f"DROP INDEX {index};", "SELECT 1;")
    [drop] = _drop_index_findings(project)
    assert f"lock on its table {now}:" in drop["message"]
    db.execute(move)
    owner = db.scalar(
        "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = %s::regclass",
        (index,),
    )
    assert owner == now


def test_replaced_view_keeps_the_live_views_columns(project):
    """A view that predates the history: its columns come from the catalog, and a
    CREATE OR REPLACE VIEW that drops one is rejected by PostgreSQL (applied here)."""
    db = project.database
    db.execute("CREATE TABLE legacy (id bigint PRIMARY KEY, a int, b text)")
    db.execute("CREATE VIEW legacy_v AS SELECT id, a, b FROM legacy")
    narrower = "CREATE OR REPLACE VIEW legacy_v AS SELECT id, a FROM legacy;"
    wider = "CREATE OR REPLACE VIEW legacy_v AS SELECT id, a, b, 1 AS c FROM legacy;"
    project.add("20260101_0000_v", narrower + "\n" + wider, "SELECT 1;")
    live = [f["line"] for f in findings(project) if f["rule"] == "view-column-change"]
    offline = findings(project, "--no-database")
    assert live == [1]
    assert "view-column-change" not in [f["rule"] for f in offline]
    with pytest.raises(psycopg.errors.InvalidTableDefinition):
        db.execute(narrower)
    db.execute(wider)


def test_inheritance_children_count_when_the_statement_reaches_them(project):
    """An inheritance parent is often empty, its rows in its children: ALTER TABLE and
    UPDATE of it reach them (they were judged on the parent's own ~0 rows, so info),
    ONLY and CREATE INDEX do not (pg_locks on PG 15 and 18)."""
    db = project.database
    db.execute("CREATE TABLE parent (id bigint, x int)")
    db.execute("CREATE TABLE child () INHERITS (parent)")
    db.execute("INSERT INTO child SELECT g, g FROM generate_series(1, 3000) g")
    db.execute("ANALYZE parent")
    db.execute("ANALYZE child")
    (project.dir / "atomig.toml").write_text("[lint]\nsmall_table_rows = 1000\n")
    project.add(
        "20260101_0000_inh",
        "ALTER TABLE parent ALTER COLUMN x SET NOT NULL;\n"
        "ALTER TABLE ONLY parent ADD CONSTRAINT p_x CHECK (x > 0) NO INHERIT;\n"
        "CREATE INDEX parent_x ON parent (x);\n"
        "UPDATE parent SET x = 0 WHERE x < 0;\n"
        "UPDATE ONLY parent SET x = 0 WHERE x < 0;",
        "SELECT 1;",
    )
    rules = ("set-not-null", "check-without-not-valid", "index-not-concurrent")
    found = {
        f["line"]: f
        for f in findings(project)
        if f["rule"] in (*rules, "unbatched-dml") and f["file"].endswith("up.sql")
    }
    assert [found[n]["rule"] for n in (1, 2, 3)] == list(rules)
    assert found[1]["severity"] == "error"
    assert found[2]["severity"] == "info" and "~0 rows," in found[2]["message"]
    assert found[3]["severity"] == "info"
    assert found[4]["severity"] == "warning"
    assert found[5]["severity"] == "info"


def test_primary_key_using_index_on_a_nullable_live_column(project):
    """PRIMARY KEY USING INDEX on a column the live catalog has nullable runs SET NOT
    NULL, a full scan under ACCESS EXCLUSIVE: reported from the catalog (it was only
    known for tables of the history); a NOT NULL column is left alone."""
    db = project.database
    db.execute("CREATE TABLE legacy (id bigint, code text NOT NULL, ref bigint)")
    db.execute("CREATE UNIQUE INDEX legacy_code_key ON legacy (code)")
    db.execute("CREATE UNIQUE INDEX legacy_ref_key ON legacy (ref)")
    project.add(
        "20260101_0000_pk",
        "CREATE UNIQUE INDEX CONCURRENTLY legacy_id_key ON legacy (id);\n"
        "ALTER TABLE legacy ADD CONSTRAINT legacy_pkey PRIMARY KEY USING INDEX legacy_id_key;",
        "SELECT 1;",
    )
    project.add(
        "20260102_0000_pk",
        "ALTER TABLE legacy DROP CONSTRAINT legacy_pkey;\n"
        "ALTER TABLE legacy ADD CONSTRAINT legacy_ref_pk PRIMARY KEY USING INDEX legacy_ref_key;",
        "SELECT 1;",
    )
    project.add(
        "20260103_0000_pk",
        "ALTER TABLE legacy DROP CONSTRAINT legacy_ref_pk;\n"
        "ALTER TABLE legacy ADD CONSTRAINT legacy_code_pk PRIMARY KEY USING INDEX legacy_code_key;",
        "SELECT 1;",
    )
    found = [
        (f["file"].split("/")[-1], f["line"])
        for f in findings(project)
        if f["rule"] == "primary-key-direct"
    ]
    assert found == [("20260101_0000_pk.up.sql", 2), ("20260102_0000_pk.up.sql", 2)]
    assert "makes id NOT NULL" in next(
        f["message"] for f in findings(project) if f["rule"] == "primary-key-direct"
    )


def test_set_not_null_on_a_live_not_null_column(project):
    """The live catalog's NOT NULL columns: SET NOT NULL on one checks nothing."""
    db = project.database
    db.execute("CREATE TABLE legacy (id bigint NOT NULL, code text)")
    project.add(
        "20260101_0000_nn",
        "ALTER TABLE legacy ALTER COLUMN id SET NOT NULL;\n"
        "ALTER TABLE legacy ALTER COLUMN code SET NOT NULL;",
        "SELECT 1;",
    )
    lines = [f["line"] for f in findings(project) if f["rule"] == "set-not-null"]
    assert lines == [2]


def test_detach_concurrently_with_a_live_default_partition(project):
    """PostgreSQL rejects DETACH … CONCURRENTLY while the parent has a default partition:
    known from the live catalog too (it was from the history only)."""
    db = project.database
    db.execute("CREATE TABLE ev (id bigint, at date) PARTITION BY RANGE (at)")
    db.execute(
        "CREATE TABLE ev_2024 PARTITION OF ev "
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"
    )
    db.execute("CREATE TABLE ev_default PARTITION OF ev DEFAULT")
    text = "ALTER TABLE ev DETACH PARTITION ev_2024 CONCURRENTLY"
    project.add("20260101_0000_detach", text + ";", "SELECT 1;")
    [found] = [
        f
        for f in findings(project)
        if f["rule"] == "detach-partition-not-concurrent"
        and f["file"].endswith("up.sql")
    ]
    assert found["severity"] == "error" and "PostgreSQL rejects" in found["message"]
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
        db.execute(text)


def test_live_not_null_and_primary_key_columns(project):
    """A table older than the migrations: dropping the DEFAULT of a NOT NULL column makes
    INSERTs that leave it out fail, and PostgreSQL rejects DROP NOT NULL on a primary key
    column (both applied here); both were known for tables of the history only."""
    db = project.database
    db.execute(
        "CREATE TABLE legacy (id bigint PRIMARY KEY, "
        "at timestamptz NOT NULL DEFAULT now(), note text DEFAULT '')"
    )
    project.add(
        "20260101_0000_nn",
        "ALTER TABLE legacy ALTER COLUMN at DROP DEFAULT;\n"
        "ALTER TABLE legacy ALTER COLUMN note DROP DEFAULT;\n"
        "ALTER TABLE legacy ALTER COLUMN id DROP NOT NULL;",
        "SELECT 1;",
    )
    found = [
        (f["rule"], f["line"], f["severity"])
        for f in findings(project)
        if f["rule"] in ("add-required-column", "drop-not-null")
    ]
    assert found == [
        ("add-required-column", 1, "warning"),
        ("drop-not-null", 3, "error"),
    ]
    with pytest.raises(psycopg.errors.InvalidTableDefinition):
        db.execute("ALTER TABLE legacy ALTER COLUMN id DROP NOT NULL")
    db.execute("ALTER TABLE legacy ALTER COLUMN at DROP DEFAULT")
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.execute("INSERT INTO legacy (id) VALUES (1)")


def test_alter_constraint_enforced_kind_from_the_live_catalog(project):
    """PostgreSQL 18: the catalog says which constraint is a foreign key (ENFORCED checks
    every row) and which a CHECK (its enforcement cannot change: rejected, applied here)."""
    db = project.database
    if db.major < 18:
        pytest.skip("NOT ENFORCED constraints are PostgreSQL 18's")
    db.execute("CREATE TABLE p (id bigint PRIMARY KEY)")
    db.execute("CREATE TABLE t (id bigint PRIMARY KEY, p_id bigint, n int)")
    db.execute(
        "ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p NOT ENFORCED"
    )
    db.execute("ALTER TABLE t ADD CONSTRAINT t_n_pos CHECK (n > 0) NOT ENFORCED")
    project.add(
        "20260101_0000_enforce",
        "ALTER TABLE t ALTER CONSTRAINT t_p_fk ENFORCED;\n"
        "ALTER TABLE t ALTER CONSTRAINT t_n_pos ENFORCED;",
        "SELECT 1;",
    )
    found = {
        f["line"]: f["message"]
        for f in findings(project)
        if f["rule"] == "foreign-key-without-not-valid"
    }
    assert "checks every row of t" in found[1]
    assert found[2].startswith("PostgreSQL rejects")
    with pytest.raises(psycopg.errors.WrongObjectType):
        db.execute("ALTER TABLE t ALTER CONSTRAINT t_n_pos ENFORCED")


def test_unique_key_without_the_live_partition_key(project):
    """The partition key of a table older than the migrations comes from the catalog:
    a primary key without it is rejected by PostgreSQL (applied here), one with it
    accepted."""
    db = project.database
    db.execute(
        "CREATE TABLE ev (id bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)"
    )
    bad = "ALTER TABLE ev ADD CONSTRAINT ev_pk PRIMARY KEY (id)"
    project.add("20260101_0000_pk", bad + ";", "SELECT 1;")
    found = [f["rule"] for f in findings(project) if f["severity"] == "error"]
    assert found == ["unique-without-partition-key"]
    offline = [f["rule"] for f in findings(project, "--no-database")]
    assert "unique-without-partition-key" not in offline
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        db.execute(bad)
    db.execute("ALTER TABLE ev ADD CONSTRAINT ev_pk PRIMARY KEY (id, at)")


def test_set_not_null_after_a_live_not_valid_not_null_constraint(project):
    """PostgreSQL 18: a NOT VALID NOT NULL constraint sets attnotnull, yet SET NOT NULL
    still checks every row: the column does not count as NOT NULL; a validated one
    does."""
    db = project.database
    if db.major < 18:
        pytest.skip("NOT NULL constraints of their own are PostgreSQL 18's")
    db.execute("CREATE TABLE legacy (id bigint, a int, b int)")
    db.execute("ALTER TABLE legacy ADD CONSTRAINT legacy_a_nn NOT NULL a NOT VALID")
    db.execute("ALTER TABLE legacy ADD CONSTRAINT legacy_b_nn NOT NULL b")
    project.add(
        "20260101_0000_nn",
        "ALTER TABLE legacy ALTER COLUMN a SET NOT NULL;\n"
        "ALTER TABLE legacy ALTER COLUMN b SET NOT NULL;",
        "SELECT 1;",
    )
    lines = [f["line"] for f in findings(project) if f["rule"] == "set-not-null"]
    assert lines == [1]


def test_attach_partition_with_only_an_unrelated_live_check(project):
    """The partition older than the migrations has a validated CHECK, but not on the
    partition key: ATTACH still scans it, and lint says so (it took any CHECK as proof)."""
    db = project.database
    db.execute("CREATE TABLE ev (id bigint, at date NOT NULL) PARTITION BY RANGE (at)")
    db.execute("CREATE TABLE ev_2025 (id bigint CHECK (id > 0), at date NOT NULL)")
    project.add(
        "20260101_0000_attach",
        "ALTER TABLE ev ATTACH PARTITION ev_2025 "
        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');",
        "SELECT 1;",
    )
    assert [f["rule"] for f in findings(project)] == ["attach-partition-scan"]


def test_an_index_dropped_with_its_live_constraint_is_gone(project):
    # DROP CONSTRAINT of a PRIMARY KEY/UNIQUE constraint older than the history drops
    # its index too (PG 15 and 18): a later DROP INDEX IF EXISTS of it locks nothing.
    db = project.database
    db.execute("CREATE TABLE orders (id bigint PRIMARY KEY, code text UNIQUE)")
    project.add(
        "20260101_0000_unkey",
        "ALTER TABLE orders DROP CONSTRAINT orders_code_key;",
        "SELECT 1;",
    )
    project.add(
        "20260102_0000_drop",
        "DROP INDEX IF EXISTS orders_code_key;",
        "SELECT 1;",
    )
    [drop] = _drop_index_findings(project)
    assert "orders" not in drop["message"].replace("orders_code_key", "")
    db.execute("ALTER TABLE orders DROP CONSTRAINT orders_code_key")
    assert db.scalar("SELECT to_regclass('orders_code_key')") is None
