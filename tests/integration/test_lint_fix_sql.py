"""The SQL a finding's fix advises runs on PostgreSQL as written, for names that need quoting
(mixed case, as in chinook's "Track"."Composer", or keywords): advice the server rejects
would send someone at 3 a.m. from a lint error to a syntax error."""

from __future__ import annotations

import psycopg
import pytest

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.sql.versions import ServerVersion

SCHEMA = (
    'CREATE TABLE "Track" ("TrackId" int NOT NULL, "Composer" text, "user" int);'
    'CREATE TABLE "Album" ("AlbumId" int NOT NULL, "Title" text);'
)


def fix_of(sql: str, rule: str, major: int, runner: str = "atomig") -> str:
    migration = MigrationSource(
        "20240101_0000_case",
        SourceFile("case.up.sql", sql, "up"),
        SourceFile("case.down.sql", "SELECT 1;", "down"),
    )
    options = LintOptions(version=ServerVersion.from_major(major), runner=runner)
    result = lint_migrations([migration], options=options)
    fixes = [f.fix for f in result.findings if f.rule == rule]
    assert fixes, f"{rule} did not fire on {sql}"
    return fixes[0]


def run(db, *statements: str) -> None:
    with db.connect() as conn:
        conn.execute(SCHEMA)
        for statement in statements:
            try:
                conn.execute(statement)
            except psycopg.Error as exc:
                pytest.fail(f"PostgreSQL rejects the advised {statement!r}: {exc}")


def test_set_not_null_fix(database):
    fix = fix_of(
        'ALTER TABLE "Track" ALTER COLUMN "Composer" SET NOT NULL;',
        "set-not-null",
        database.major,
    )
    add = fix.split(";")[0]
    assert add.startswith("ADD CONSTRAINT ")
    name = add.split()[2]
    run(
        database,
        f'ALTER TABLE "Track" {add}',
        f'ALTER TABLE "Track" VALIDATE CONSTRAINT {name}',
        'ALTER TABLE "Track" ALTER COLUMN "Composer" SET NOT NULL',
        f'ALTER TABLE "Track" DROP CONSTRAINT {name}',
    )


@pytest.mark.parametrize(
    ("statement", "rule"),
    [
        (
            'ALTER TABLE "Track" ADD CONSTRAINT "uq_Track" UNIQUE ("Composer", "user");',
            "unique-constraint-direct",
        ),
        ('ALTER TABLE "Album" ADD PRIMARY KEY ("AlbumId");', "primary-key-direct"),
        (
            'ALTER TABLE "Album" ADD CONSTRAINT "pk_Album" PRIMARY KEY ("AlbumId");',
            "primary-key-direct",
        ),
    ],
)
def test_index_then_constraint_using_index_fix(database, statement, rule):
    fix = fix_of(statement, rule, database.major)
    build, attach = fix.split("; then ")
    table = statement.split()[2]
    run(database, build, f"ALTER TABLE {table} {attach}")


def test_check_validate_fix(database):
    fix = fix_of(
        'ALTER TABLE "Album" ADD CONSTRAINT "ck_Title" CHECK ("Title" <> \'\');',
        "check-without-not-valid",
        database.major,
    )
    validate = fix.split("then ")[1].split(" in a later step")[0]
    assert validate.startswith("VALIDATE CONSTRAINT ")
    run(
        database,
        'ALTER TABLE "Album" ADD CONSTRAINT "ck_Title" CHECK ("Title" <> \'\') NOT VALID',
        f'ALTER TABLE "Album" {validate}',
    )


def test_volatile_default_fix(database):
    fix = fix_of(
        'ALTER TABLE "Album" ADD COLUMN "Uid" text DEFAULT random()::text;',
        "volatile-default",
        database.major,
    )
    add = fix.split(" without the default")[0].removeprefix("add ")
    alter = fix.split("then ")[1].split(" …")[0]
    run(
        database,
        f'ALTER TABLE "Album" ADD COLUMN {add} text',
        f'ALTER TABLE "Album" {alter} random()::text',
    )


def test_foreign_key_index_fix(database):
    fix = fix_of(
        'CREATE TABLE "Line" ("LineId" int PRIMARY KEY, "TrackId" int'
        ' REFERENCES "Album" ("AlbumId"));',
        "foreign-key-without-index",
        database.major,
    )
    run(
        database,
        'ALTER TABLE "Album" ADD PRIMARY KEY ("AlbumId")',
        'CREATE TABLE "Line" ("LineId" int PRIMARY KEY, "TrackId" int'
        ' REFERENCES "Album" ("AlbumId"))',
        fix,
    )


def test_concurrent_index_if_not_exists_fix_drops_that_index(database):
    fix = fix_of(
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "Ix_Title" ON "Album" ("Title");',
        "concurrent-index-if-not-exists",
        database.major,
        runner="other",  # atomig's runner drops an INVALID leftover itself
    )
    drop = fix.split(" first")[0]
    # IF EXISTS never fails: a name folded to lower case would silently drop nothing.
    run(database, 'CREATE INDEX "Ix_Title" ON "Album" ("Title")', drop)
    assert database.scalar("SELECT to_regclass('public.\"Ix_Title\"')") is None


def _fixes_after(history: str, sql: str, rule: str, major: int) -> list[str]:
    migrations = [
        MigrationSource(
            name,
            SourceFile(f"{name}.up.sql", text, "up"),
            SourceFile(f"{name}.down.sql", "SELECT 1;", "down"),
        )
        for name, text in (
            ("20240101_0000_history", history),
            ("20240102_0000_case", sql),
        )
    ]
    options = LintOptions(version=ServerVersion.from_major(major))
    result = lint_migrations(migrations, options=options)
    fixes = [f.fix for f in result.findings if f.rule == rule and "case" in f.path]
    assert fixes, f"{rule} did not fire on {sql}"
    return fixes


PARTITIONED = (
    'CREATE TABLE "Events" ("At" date NOT NULL, "Kind" text) PARTITION BY RANGE ("At");'
    'CREATE TABLE "Events_2024" PARTITION OF "Events"'
    " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
    'CREATE INDEX "Events_Kind" ON "Events" ("Kind");'
)


@pytest.mark.parametrize(
    "statement",
    ['DROP INDEX "Events_Kind";', 'DROP INDEX CONCURRENTLY "Events_Kind";'],
)
def test_drop_partitioned_index_fix(database, statement):
    # PostgreSQL rejects DROP INDEX CONCURRENTLY of a partitioned index: the fix must
    # advise the plain DROP INDEX, as a statement that runs.
    (fix,) = _fixes_after(PARTITIONED, statement, "drop-index-not-concurrent", 15)
    drop = fix.split("run ")[1].split(" alone")[0]
    assert "CONCURRENTLY" not in drop
    with database.connect() as conn:
        conn.execute(PARTITIONED)
        conn.execute(drop)


def test_drop_several_indexes_concurrently_fix(database):
    (fix,) = _fixes_after(
        SCHEMA + 'CREATE INDEX "Ix_A" ON "Album" ("Title");'
        'CREATE INDEX "Ix_B" ON "Album" ("AlbumId");',
        'DROP INDEX CONCURRENTLY "Ix_A", "Ix_B";',
        "drop-index-not-concurrent",
        database.major,
    )
    with database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute('CREATE INDEX "Ix_A" ON "Album" ("Title")')
        conn.execute('CREATE INDEX "Ix_B" ON "Album" ("AlbumId")')
        for statement in fix.split("; "):
            conn.execute(statement)
    assert database.scalar("SELECT to_regclass('public.\"Ix_A\"')") is None


def test_add_not_null_constraint_fix(database):
    # ADD CONSTRAINT … NOT NULL col is PostgreSQL 18 syntax, and so is its NOT VALID.
    if database.major < 18:
        pytest.skip("ADD CONSTRAINT … NOT NULL exists from PostgreSQL 18 on")
    statement = 'ALTER TABLE "Track" ADD CONSTRAINT "Nn_Composer" NOT NULL "Composer"'
    fix = fix_of(statement + ";", "set-not-null", database.major)
    assert fix.startswith("add it NOT VALID, then ")
    validate = fix.split("then ")[1].split(" in a later step")[0]
    run(database, statement + " NOT VALID", f'ALTER TABLE "Track" {validate}')


@pytest.mark.parametrize(
    "statement",
    ['REINDEX SCHEMA "Shop";', "REINDEX (VERBOSE) SCHEMA public;", "REINDEX SYSTEM;"],
)
def test_reindex_fix(database, statement):
    fix = fix_of(statement, "reindex-not-concurrent", database.major)
    with database.connect() as conn:
        conn.execute('CREATE SCHEMA "Shop"; CREATE TABLE "Shop".t (id int PRIMARY KEY)')
        if fix.startswith("use "):
            conn.execute(fix.removeprefix("use "))
        else:
            # PostgreSQL never reindexes system catalogs concurrently: no such advice.
            assert "REINDEX SYSTEM CONCURRENTLY" not in fix
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                conn.execute(f'REINDEX SYSTEM CONCURRENTLY "{database.name}"')


def test_identity_restart_fix(database):
    table = 'CREATE TABLE "Orders" ("Id" bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY)'
    fix = fix_of(
        'ALTER TABLE "Orders" ALTER COLUMN "Id" RESTART;',
        "sequence-restart",
        database.major,
    )
    setval = fix.split("meanwhile: ")[1]
    with database.connect() as conn:
        conn.execute(table)
        conn.execute('INSERT INTO "Orders" ("Id") VALUES (5)')
        conn.execute(setval)
        (key,) = conn.execute(
            'INSERT INTO "Orders" DEFAULT VALUES RETURNING "Id"'
        ).fetchone()
    assert key > 5


def test_foreign_key_index_fix_on_partitioned_table(database):
    # CREATE INDEX CONCURRENTLY on a partitioned table is rejected: the fix builds the
    # parent's index ON ONLY, each partition's CONCURRENTLY, and attaches them.
    history = PARTITIONED.split("CREATE INDEX")[0] + (
        'CREATE TABLE "Kinds" ("Kind" text PRIMARY KEY);'
    )
    (fix,) = _fixes_after(
        history,
        'ALTER TABLE "Events" ADD CONSTRAINT "Events_Kind_fk" FOREIGN KEY ("Kind")'
        ' REFERENCES "Kinds" ("Kind") NOT VALID;',
        "foreign-key-without-index",
        database.major,
    )
    parent = fix.split(", then ")[0].split(" (instant")[0]
    assert parent.startswith("CREATE INDEX ") and " ON ONLY " in parent
    index = parent.split()[2]
    with database.connect() as conn:
        conn.execute(history)
        conn.execute(parent)
        conn.execute(
            'CREATE INDEX CONCURRENTLY "Events_2024_Kind" ON "Events_2024" ("Kind")'
        )
        conn.execute(f'ALTER INDEX {index} ATTACH PARTITION "Events_2024_Kind"')
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass", (index,)
        ).fetchone()
    assert valid == (True,)


def test_foreign_key_not_valid_fix_on_partitioned_table(database):
    # Before PostgreSQL 18, NOT VALID foreign keys on a partitioned table are rejected:
    # the fix goes through the partitions, whose validated keys the parent's then adopts.
    history = PARTITIONED.split("CREATE INDEX")[0] + (
        'CREATE TABLE "Kinds" ("Kind" text PRIMARY KEY);'
    )
    add = 'ADD CONSTRAINT "Events_Kind_fk" FOREIGN KEY ("Kind") REFERENCES "Kinds"'
    (fix,) = _fixes_after(
        history,
        f'ALTER TABLE "Events" {add};',
        "foreign-key-without-not-valid",
        database.major,
    )
    with database.connect() as conn:
        conn.execute(history)
        conn.execute("INSERT INTO \"Kinds\" VALUES ('a')")
        conn.execute("INSERT INTO \"Events\" VALUES ('2024-05-01', 'a')")
        if database.major >= 18:
            assert "each partition" not in fix
            conn.execute(f'ALTER TABLE "Events" {add} NOT VALID')
            conn.execute('ALTER TABLE "Events" VALIDATE CONSTRAINT "Events_Kind_fk"')
            return
        assert "each partition" in fix
        with pytest.raises(psycopg.errors.WrongObjectType):
            conn.execute(f'ALTER TABLE "Events" {add} NOT VALID')
        conn.execute(f'ALTER TABLE "Events_2024" {add} NOT VALID')
        conn.execute('ALTER TABLE "Events_2024" VALIDATE CONSTRAINT "Events_Kind_fk"')
        conn.execute(f'ALTER TABLE "Events" {add}')
        adopted = conn.execute(
            "SELECT conparentid <> 0 FROM pg_constraint"
            " WHERE conrelid = '\"Events_2024\"'::regclass AND contype = 'f'"
        ).fetchall()
    assert adopted == [(True,)]


@pytest.mark.parametrize(
    ("kind", "rule"),
    [("UNIQUE", "unique-constraint-direct"), ("PRIMARY KEY", "primary-key-direct")],
)
def test_key_constraint_fix_on_partitioned_table(database, kind, rule):
    # A partitioned table takes neither CREATE INDEX CONCURRENTLY nor USING INDEX: each
    # partition gets the constraint from an index built concurrently, and the parent's
    # constraint adopts those indexes (nothing is built again).
    history = PARTITIONED.split("CREATE INDEX")[0]
    add = f'ADD CONSTRAINT "Events_key" {kind} ("At", "Kind")'
    (fix,) = _fixes_after(history, f'ALTER TABLE "Events" {add};', rule, database.major)
    assert "each partition" in fix and f'{add} on "Events"' in fix
    with database.connect() as conn:
        conn.execute(history)
        conn.execute('ALTER TABLE "Events" ALTER COLUMN "Kind" SET NOT NULL')
        conn.execute(
            'CREATE UNIQUE INDEX CONCURRENTLY "Events_2024_key" ON "Events_2024"'
            ' ("At", "Kind")'
        )
        conn.execute(
            f'ALTER TABLE "Events_2024" ADD CONSTRAINT "Events_2024_key" {kind}'
            ' USING INDEX "Events_2024_key"'
        )
        before = conn.execute(
            "SELECT pg_relation_filenode('\"Events_2024_key\"')"
        ).fetchone()
        conn.execute(f'ALTER TABLE "Events" {add}')
        after = conn.execute(
            "SELECT pg_relation_filenode('\"Events_2024_key\"'),"
            " (SELECT count(*) FROM pg_inherits"
            "  WHERE inhrelid = '\"Events_2024_key\"'::regclass)"
        ).fetchone()
    assert after == (before[0], 1)


@pytest.mark.parametrize("required", ["NOT NULL", "PRIMARY KEY"])
def test_volatile_default_fix_for_a_required_column(database, required):
    # Adding a NOT NULL (or PRIMARY KEY) column without its default fails on a table with
    # rows (column contains null values): the advice adds it nullable and constrains it
    # after the backfill.
    statement = (
        f'ALTER TABLE "Track" ADD COLUMN "Uid" uuid {required} '
        "DEFAULT gen_random_uuid();"
    )
    fix = fix_of(statement, "volatile-default", database.major)
    assert f"without the default and without {required}," in fix
    add = 'ALTER TABLE "Track" ADD COLUMN "Uid" uuid'
    with database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute('INSERT INTO "Track" ("TrackId") VALUES (1), (2)')
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute(f"{add} {required}")  # the old advice, taken literally
    steps = [
        add,
        'ALTER TABLE "Track" ALTER COLUMN "Uid" SET DEFAULT gen_random_uuid()',
        'UPDATE "Track" SET "Uid" = DEFAULT WHERE "Uid" IS NULL',
    ]
    if required == "NOT NULL":
        check = fix.split("then ADD CONSTRAINT ")[1].split(";")[0]
        name = check.split()[0]
        steps += [
            f'ALTER TABLE "Track" ADD CONSTRAINT {check}',
            f'ALTER TABLE "Track" VALIDATE CONSTRAINT {name}',
            'ALTER TABLE "Track" ALTER COLUMN "Uid" SET NOT NULL',
            f'ALTER TABLE "Track" DROP CONSTRAINT {name}',
        ]
    else:
        assert 'CREATE UNIQUE INDEX CONCURRENTLY on "Uid" and ADD PRIMARY KEY' in fix
        steps += [
            'CREATE UNIQUE INDEX CONCURRENTLY "Track_pkey" ON "Track" ("Uid")',
            'ALTER TABLE "Track" ADD CONSTRAINT "Track_pkey" PRIMARY KEY USING INDEX '
            '"Track_pkey"',
        ]
    with database.connect() as conn:
        conn.execute('DROP TABLE "Track", "Album"')
    run(database, 'INSERT INTO "Track" ("TrackId") VALUES (1), (2)', *steps)


def _fix_after_history(history: str, sql: str, rule: str, major: int) -> str:
    migrations = [
        MigrationSource(
            name,
            SourceFile(f"{name}.up.sql", up, "up"),
            SourceFile(f"{name}.down.sql", "SELECT 1;", "down"),
        )
        for name, up in (("20240101_0000_a", history), ("20240102_0000_b", sql))
    ]
    options = LintOptions(version=ServerVersion.from_major(major))
    result = lint_migrations(migrations, options=options)
    fixes = [f.fix for f in result.findings if f.rule == rule and "0000_b" in f.path]
    assert fixes, f"{rule} did not fire on {sql}"
    return fixes[0]


@pytest.mark.parametrize(
    "declared",
    ["bigserial", "bigserial PRIMARY KEY", "bigint GENERATED ALWAYS AS IDENTITY"],
)
def test_serial_column_fix_runs_on_a_table_with_rows(database, declared):
    # A serial or identity column is NOT NULL: added as such without its default it is
    # rejected on a table with rows, and so is ADD GENERATED … AS IDENTITY on a nullable
    # column or one with a default. "Track" has no key: atomig's backfill would refuse it,
    # so the advice fills the rows with a plain UPDATE.
    fix = _fix_after_history(
        SCHEMA,
        f'ALTER TABLE "Track" ADD COLUMN "Id" {declared};',
        "serial-column-added",
        database.major,
    )
    assert "-- atomig: backfill before" not in fix
    assert "has no key for -- atomig: backfill to walk" in fix
    fill = 'UPDATE "Track" SET "Id" = DEFAULT WHERE "Id" IS NULL'
    assert fill in fix
    rows = 'INSERT INTO "Track" ("TrackId") VALUES (1), (2)'
    with database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute(rows)
        with pytest.raises(psycopg.errors.NotNullViolation):
            conn.execute('ALTER TABLE "Track" ADD COLUMN "Id" bigint NOT NULL')
        conn.execute('ALTER TABLE "Track" ADD COLUMN "Id" bigint')
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            # the old advice: identity added later on the populated, nullable column
            conn.execute(
                'ALTER TABLE "Track" ALTER COLUMN "Id" ADD GENERATED ALWAYS AS IDENTITY'
            )
        conn.execute('DROP TABLE "Track", "Album"')
    steps = [
        'ALTER TABLE "Track" ADD COLUMN "Id" bigint',
        'CREATE SEQUENCE "Track_Id_seq"',
        'ALTER TABLE "Track" ALTER COLUMN "Id" SET DEFAULT nextval(\'"Track_Id_seq"\')',
        fill,
    ]
    if "PRIMARY KEY" in declared:
        assert 'CREATE UNIQUE INDEX CONCURRENTLY on "Id" and ADD PRIMARY KEY' in fix
        steps += [
            'CREATE UNIQUE INDEX CONCURRENTLY "Track_pkey" ON "Track" ("Id")',
            'ALTER TABLE "Track" ADD CONSTRAINT "Track_pkey" PRIMARY KEY USING INDEX '
            '"Track_pkey"',
        ]
    else:
        check = fix.split("then ADD CONSTRAINT ")[1].split(";")[0]
        name = check.split()[0]
        steps += [
            f'ALTER TABLE "Track" ADD CONSTRAINT {check}',
            f'ALTER TABLE "Track" VALIDATE CONSTRAINT {name}',
            'ALTER TABLE "Track" ALTER COLUMN "Id" SET NOT NULL',
            f'ALTER TABLE "Track" DROP CONSTRAINT {name}',
        ]
    if "IDENTITY" in declared:
        assert 'ALTER COLUMN "Id" DROP DEFAULT, ADD GENERATED … AS IDENTITY' in fix
        steps += [
            'ALTER TABLE "Track" ALTER COLUMN "Id" DROP DEFAULT',
            'ALTER TABLE "Track" ALTER COLUMN "Id" ADD GENERATED ALWAYS AS IDENTITY '
            "(START WITH 3)",
            'DROP SEQUENCE "Track_Id_seq"',
        ]
    run(database, rows, *steps, 'INSERT INTO "Track" ("TrackId") VALUES (3)')
    with database.connect() as conn:
        ids = conn.execute('SELECT "Id" FROM "Track" ORDER BY 1').fetchall()
    assert ids == [(1,), (2,), (3,)]
