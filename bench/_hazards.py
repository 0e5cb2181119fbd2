"""The labelled hazard corpus of bench/lint_hazards.py: one ``Case`` per migration.

Each case is a history (earlier migrations creating the tables, with rows in them), the
migration under test and its label: what PostgreSQL really does when it runs (a hazard
category, or SAFE), not what any linter says. ``lint_hazards.py --verify`` (the default)
checks every label it can on a real server; a label the server contradicts is a bug of this
file. Write the SAFE cases as a careful engineer would (named objects, ``IF NOT EXISTS`` on
steps a retry may meet), and the hazard cases as they are met in real pull requests.
"""

from __future__ import annotations

from dataclasses import dataclass

SAFE = "safe"
# Verified on the server: the strongest lock held on a pre-existing relation.
BLOCKS_WRITES = "blocks writes (SHARE or stronger, held for a scan or build)"
BLOCKS_ALL = "blocks reads and writes (ACCESS EXCLUSIVE held for work)"
# Verified on the server: pg_class.relfilenode of a pre-existing table changed.
REWRITE = "rewrites the table"
# Verified on the server: ACCESS EXCLUSIVE held on a pre-existing table, and no rewrite.
SCAN = "full scan under ACCESS EXCLUSIVE"
# Verified on the server: the migration fails.
REJECTS = "PostgreSQL rejects it"
# Verified only to apply without error (the hazard is in what happens around it).
BREAKS_APP = "breaks running app code"
PARTIAL = "fails on rollback/partial state"
ROW_LOCKS = "locks every row (unbatched DML)"
NO_TIMEOUT = "no lock/statement timeout (other runner)"
NO_DOWN = "cannot be rolled back (no down)"
TXN = "broken transaction control"

LOCK_LABELS = (BLOCKS_WRITES, BLOCKS_ALL, SCAN)

BASE = """\
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email varchar(100) NOT NULL,
    name varchar(50),
    bio text,
    visits integer,
    balance numeric(10, 2),
    status text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL,
    total numeric(12, 2),
    note text
);
CREATE INDEX orders_account_id_idx ON orders (account_id);
INSERT INTO accounts (email, name, visits, balance, status)
    SELECT 'u' || g || '@example.org', 'n' || g, g, g, 'active'
    FROM generate_series(1, 100) AS g;
INSERT INTO orders (account_id, total) SELECT 1 + g % 100, g FROM generate_series(1, 200) AS g;
"""

EVENTS = """\
CREATE TABLE events (id bigint NOT NULL, kind text, at timestamptz);
INSERT INTO events SELECT g, 'k', now() FROM generate_series(1, 100) AS g;
"""

PARTITIONED = """\
CREATE TABLE measures (id bigint NOT NULL, at date NOT NULL, v numeric)
    PARTITION BY RANGE (at);
CREATE TABLE measures_2024 (id bigint NOT NULL, at date NOT NULL, v numeric);
INSERT INTO measures_2024 SELECT g, DATE '2024-01-01' + g % 300, g
    FROM generate_series(1, 100) AS g;
"""

MATVIEW = """\
CREATE MATERIALIZED VIEW account_totals AS
    SELECT account_id, sum(total) AS total FROM orders GROUP BY account_id;
CREATE UNIQUE INDEX account_totals_account_id_key ON account_totals (account_id);
"""


@dataclass(frozen=True)
class Case:
    """One labelled migration.

    ``history``: earlier migrations, applied (and linted as history) before ``sql``.
    ``down``: the case's down file, if it has one. ``target``: ``"down"`` when the hazard
    is in the down file (it is then run after history and ``sql``). ``runner``: ``"other"``
    when the file is applied by another tool or psql (atomig ``--for-runner other``).
    """

    id: str
    label: str
    sql: str
    history: tuple[str, ...] = (BASE,)
    down: str | None = None
    target: str = "up"
    runner: str = "atomig"
    note: str = ""


CASES: tuple[Case, ...] = (
    # --- indexes -------------------------------------------------------------------
    Case(
        "index-plain",
        BLOCKS_WRITES,
        "CREATE INDEX accounts_name_idx ON accounts (name);",
    ),
    Case(
        "index-unique-plain",
        BLOCKS_WRITES,
        "CREATE UNIQUE INDEX accounts_email_key ON accounts (email);",
    ),
    Case(
        "index-concurrently",
        SAFE,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_name_idx ON accounts (name);",
        down="DROP INDEX CONCURRENTLY IF EXISTS accounts_name_idx;",
    ),
    Case(
        "index-concurrently-in-transaction",
        REJECTS,
        "BEGIN;\nCREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);\nCOMMIT;",
    ),
    Case("drop-index-plain", BLOCKS_ALL, "DROP INDEX orders_account_id_idx;"),
    Case(
        "drop-index-concurrently",
        SAFE,
        "DROP INDEX CONCURRENTLY IF EXISTS orders_account_id_idx;",
        down="CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_account_id_idx "
        "ON orders (account_id);",
    ),
    Case("reindex-plain", BLOCKS_WRITES, "REINDEX INDEX orders_account_id_idx;"),
    Case(
        "reindex-concurrently",
        SAFE,
        "REINDEX INDEX CONCURRENTLY orders_account_id_idx;",
    ),
    Case(
        "index-on-new-table",
        SAFE,
        "CREATE TABLE tags (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "label text NOT NULL);\nCREATE INDEX tags_label_idx ON tags (label);",
        down="DROP TABLE IF EXISTS tags;",
    ),
    # --- foreign keys and checks ----------------------------------------------------
    Case(
        "fk-plain",
        BLOCKS_WRITES,
        "ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey "
        "FOREIGN KEY (account_id) REFERENCES accounts (id);",
    ),
    Case(
        "fk-not-valid",
        SAFE,
        "ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey "
        "FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;",
        down="ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_account_id_fkey;",
    ),
    Case(
        "fk-validate-later",
        SAFE,
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_account_id_fkey;",
        history=(
            BASE,
            "ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey "
            "FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;",
        ),
        down="SELECT 1;",
        note="VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on",
    ),
    Case(
        "fk-validate-same-transaction",
        BLOCKS_WRITES,
        "SET lock_timeout = '2s';\nSET statement_timeout = '5min';\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_account_id_fkey "
        "FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_account_id_fkey;",
        runner="other",
        note="the ADD's SHARE ROW EXCLUSIVE is still held while VALIDATE scans "
        "(the other runner wraps the file in one transaction; atomig's own planner gives "
        "VALIDATE a step of its own)",
    ),
    Case(
        "check-plain",
        SCAN,
        "ALTER TABLE accounts ADD CONSTRAINT accounts_visits_check CHECK (visits >= 0);",
    ),
    Case(
        "check-not-valid",
        SAFE,
        "ALTER TABLE accounts ADD CONSTRAINT accounts_visits_check "
        "CHECK (visits >= 0) NOT VALID;",
        down="ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_visits_check;",
    ),
    Case(
        "check-validate-later",
        SAFE,
        "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_visits_check;",
        history=(
            BASE,
            "ALTER TABLE accounts ADD CONSTRAINT accounts_visits_check "
            "CHECK (visits >= 0) NOT VALID;",
        ),
        down="SELECT 1;",
    ),
    Case(
        "check-validate-same-transaction",
        SCAN,
        "SET lock_timeout = '2s';\nSET statement_timeout = '5min';\n"
        "ALTER TABLE accounts ADD CONSTRAINT accounts_visits_check "
        "CHECK (visits >= 0) NOT VALID;\n"
        "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_visits_check;",
        runner="other",
        note="one transaction, as the other runner applies the file",
    ),
    Case(
        "add-column-with-check",
        SCAN,
        "ALTER TABLE accounts ADD COLUMN score integer "
        "CONSTRAINT accounts_score_check CHECK (score > 0);",
        note="label to be confirmed by the server: does PG scan for a new all-NULL column?",
    ),
    Case(
        "domain-add-check",
        BLOCKS_WRITES,
        "ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0);",
        history=(
            BASE,
            "CREATE DOMAIN positive AS integer;\n"
            "ALTER TABLE accounts ADD COLUMN credits positive;",
        ),
    ),
    # --- unique, primary key, exclusion ---------------------------------------------
    Case(
        "unique-constraint-direct",
        BLOCKS_ALL,
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email);",
    ),
    Case(
        "unique-constraint-not-valid",
        REJECTS,
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE (email) NOT VALID;",
        note="the advice a linter gives when it says 'use NOT VALID' for UNIQUE",
    ),
    Case(
        "unique-using-index",
        SAFE,
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key "
        "UNIQUE USING INDEX accounts_email_key;",
        history=(BASE, "CREATE UNIQUE INDEX accounts_email_key ON accounts (email);"),
        down="ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_email_key;",
    ),
    Case(
        "primary-key-direct",
        BLOCKS_ALL,
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);",
        history=(BASE, EVENTS),
    ),
    Case(
        "primary-key-using-index",
        SAFE,
        "ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_id_key;",
        history=(BASE, EVENTS, "CREATE UNIQUE INDEX events_id_key ON events (id);"),
        down="ALTER TABLE events DROP CONSTRAINT IF EXISTS events_pkey;",
        note="id is already NOT NULL: no scan",
    ),
    Case(
        "exclusion-constraint",
        BLOCKS_ALL,
        "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
        "EXCLUDE USING gist (during WITH &&);",
        history=(
            BASE,
            "CREATE TABLE bookings (id bigint PRIMARY KEY, during tstzrange NOT NULL);\n"
            "INSERT INTO bookings SELECT g, tstzrange(now() + g * interval '1 day', "
            "now() + (g + 1) * interval '1 day') FROM generate_series(1, 50) AS g;",
        ),
    ),
    Case(
        "exclusion-constraint-not-valid",
        REJECTS,
        "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap "
        "EXCLUDE USING gist (during WITH &&) NOT VALID;",
        history=(
            BASE,
            "CREATE TABLE bookings (id bigint PRIMARY KEY, during tstzrange NOT NULL);",
        ),
    ),
    # --- NOT NULL ----------------------------------------------------------------------
    Case(
        "set-not-null-plain",
        SCAN,
        "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;",
    ),
    Case(
        "set-not-null-after-validated-check",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;",
        history=(
            BASE,
            "ALTER TABLE accounts ADD CONSTRAINT accounts_name_not_null "
            "CHECK (name IS NOT NULL) NOT VALID;",
            "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_name_not_null;",
        ),
        down="ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL;",
        note="PG >= 12 proves NOT NULL from the validated CHECK: no scan",
    ),
    Case(
        "set-not-null-on-new-table",
        SAFE,
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text);\n"
        "ALTER TABLE notes ALTER COLUMN body SET NOT NULL;",
        down="DROP TABLE IF EXISTS notes;",
    ),
    # --- adding columns ---------------------------------------------------------------
    Case(
        "add-required-column",
        REJECTS,
        "ALTER TABLE accounts ADD COLUMN plan text NOT NULL;",
        note="fails on a table with rows (column contains null values)",
    ),
    Case(
        "add-column-not-null-default",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS plan;",
        note="PG >= 11 stores the constant default in the catalog",
    ),
    Case(
        "add-column-nullable",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN nickname text;",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS nickname;",
    ),
    Case(
        "add-column-default-now",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN seen_at timestamptz DEFAULT now();",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS seen_at;",
        note="now() is STABLE: a fast default since PG 11",
    ),
    Case(
        "add-column-volatile-uuid",
        REWRITE,
        "ALTER TABLE accounts ADD COLUMN token uuid DEFAULT gen_random_uuid();",
    ),
    Case(
        "add-column-volatile-clock",
        REWRITE,
        "ALTER TABLE accounts ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();",
    ),
    Case(
        "add-column-volatile-on-new-table",
        SAFE,
        "CREATE TABLE sessions (id bigint PRIMARY KEY);\n"
        "ALTER TABLE sessions ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        down="DROP TABLE IF EXISTS sessions;",
    ),
    Case(
        "add-bigserial-column",
        REWRITE,
        "ALTER TABLE events ADD COLUMN seq bigserial;",
        history=(BASE, EVENTS),
    ),
    Case(
        "add-serial-column",
        REWRITE,
        "ALTER TABLE events ADD COLUMN seq serial;",
        history=(BASE, EVENTS),
    ),
    Case(
        "add-identity-column",
        REWRITE,
        "ALTER TABLE events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;",
        history=(BASE, EVENTS),
    ),
    Case(
        "add-stored-generated-column",
        REWRITE,
        "ALTER TABLE accounts ADD COLUMN email_lower text "
        "GENERATED ALWAYS AS (lower(email)) STORED;",
    ),
    Case(
        "add-two-columns",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN city text;\nALTER TABLE accounts ADD COLUMN zip text;",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS zip;\n"
        "ALTER TABLE accounts DROP COLUMN IF EXISTS city;",
    ),
    Case(
        "set-default",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN status SET DEFAULT 'new';",
        down="ALTER TABLE accounts ALTER COLUMN status DROP DEFAULT;",
    ),
    # --- type changes ------------------------------------------------------------------
    Case(
        "type-int-to-bigint",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN visits TYPE bigint;",
    ),
    Case(
        "type-varchar-widen",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(200);",
        down="SELECT 1;",
    ),
    Case(
        "type-varchar-to-text",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN email TYPE text;",
        down="SELECT 1;",
    ),
    Case(
        "type-varchar-unlimited",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN name TYPE varchar;",
        down="SELECT 1;",
    ),
    Case(
        "type-varchar-narrow",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(50);",
        note="first labelled a scan; the server showed a rewrite (PG 15)",
    ),
    Case(
        "type-text-to-varchar",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN bio TYPE varchar(200);",
        note="first labelled a scan; the server showed a rewrite (PG 15)",
    ),
    Case(
        "type-varchar-to-text-indexed",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN name TYPE text;",
        history=(BASE, "CREATE INDEX accounts_name_idx ON accounts (name);"),
        down="SELECT 1;",
        note="binary-coercible: neither the table nor its index is rebuilt",
    ),
    Case(
        "type-numeric-precision-up",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(14, 2);",
        down="SELECT 1;",
    ),
    Case(
        "type-numeric-unconstrained",
        SAFE,
        "ALTER TABLE orders ALTER COLUMN total TYPE numeric;",
        down="SELECT 1;",
    ),
    Case(
        "type-numeric-scale-change",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(12, 4);",
    ),
    Case(
        "type-on-new-table",
        SAFE,
        "CREATE TABLE coupons (id bigint PRIMARY KEY, code varchar(10));\n"
        "ALTER TABLE coupons ALTER COLUMN code TYPE integer USING code::integer;",
        down="DROP TABLE IF EXISTS coupons;",
    ),
    # --- renames and drops -------------------------------------------------------------
    Case(
        "rename-column",
        BREAKS_APP,
        "ALTER TABLE accounts RENAME COLUMN name TO full_name;",
    ),
    Case("rename-table", BREAKS_APP, "ALTER TABLE orders RENAME TO purchases;"),
    Case("drop-column", BREAKS_APP, "ALTER TABLE accounts DROP COLUMN bio;"),
    Case("drop-table", BREAKS_APP, "DROP TABLE orders;"),
    Case("truncate", BLOCKS_ALL, "TRUNCATE orders;"),
    Case(
        "primary-key-using-index-nullable",
        SCAN,
        "ALTER TABLE logs ADD CONSTRAINT logs_pkey PRIMARY KEY USING INDEX logs_id_key;",
        history=(
            BASE,
            "CREATE TABLE logs (id bigint, msg text);\n"
            "INSERT INTO logs SELECT g, 'm' FROM generate_series(1, 100) AS g;\n"
            "CREATE UNIQUE INDEX logs_id_key ON logs (id);",
        ),
        note="id is nullable: the primary key sets NOT NULL, which scans the table",
    ),
    Case(
        "create-trigger",
        SAFE,
        "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN NEW.status := coalesce(NEW.status, 'new'); RETURN NEW; END$$;\n"
        "CREATE TRIGGER accounts_touch BEFORE INSERT ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION touch();",
        down="DROP TRIGGER IF EXISTS accounts_touch ON accounts;\n"
        "DROP FUNCTION IF EXISTS touch();",
        note="SHARE ROW EXCLUSIVE for an instant, no scan",
    ),
    Case(
        "set-storage-parameter",
        SAFE,
        "ALTER TABLE orders SET (fillfactor = 80);",
        down="ALTER TABLE orders RESET (fillfactor);",
    ),
    Case("vacuum-plain", SAFE, "VACUUM (ANALYZE) accounts;", down="SELECT 1;"),
    # --- table rewrites, materialized views, partitions --------------------------------
    Case("vacuum-full", REWRITE, "VACUUM FULL accounts;"),
    Case(
        "cluster",
        REWRITE,
        "CLUSTER orders USING orders_account_id_idx;",
    ),
    Case(
        "refresh-matview",
        BLOCKS_ALL,
        "REFRESH MATERIALIZED VIEW account_totals;",
        history=(BASE, MATVIEW),
    ),
    Case(
        "refresh-matview-concurrently",
        SAFE,
        "REFRESH MATERIALIZED VIEW CONCURRENTLY account_totals;",
        history=(BASE, MATVIEW),
        down="SELECT 1;",
    ),
    Case(
        "attach-partition-scan",
        SCAN,
        "ALTER TABLE measures ATTACH PARTITION measures_2024 "
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        history=(BASE, PARTITIONED),
    ),
    Case(
        "attach-partition-with-check",
        SAFE,
        "ALTER TABLE measures ATTACH PARTITION measures_2024 "
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        history=(
            BASE,
            PARTITIONED,
            "ALTER TABLE measures_2024 ADD CONSTRAINT measures_2024_at_check "
            "CHECK (at IS NOT NULL AND at >= DATE '2024-01-01' AND at < DATE '2025-01-01') "
            "NOT VALID;",
            "ALTER TABLE measures_2024 VALIDATE CONSTRAINT measures_2024_at_check;",
        ),
        down="ALTER TABLE measures DETACH PARTITION measures_2024;",
        note="the validated CHECK implies the bound: no scan",
    ),
    Case(
        "detach-partition-plain",
        BLOCKS_ALL,
        "ALTER TABLE measures DETACH PARTITION measures_2024;",
        history=(
            BASE,
            PARTITIONED,
            "ALTER TABLE measures ATTACH PARTITION measures_2024 "
            "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        ),
    ),
    Case(
        "detach-partition-concurrently",
        SAFE,
        "ALTER TABLE measures DETACH PARTITION measures_2024 CONCURRENTLY;",
        history=(
            BASE,
            PARTITIONED,
            "ALTER TABLE measures ATTACH PARTITION measures_2024 "
            "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        ),
        down="ALTER TABLE measures_2024 DROP CONSTRAINT IF EXISTS measures_2024_at_check;\n"
        "ALTER TABLE measures ATTACH PARTITION measures_2024 "
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        note="PG >= 14",
    ),
    Case(
        "index-partitioned-plain",
        BLOCKS_WRITES,
        "CREATE INDEX measures_v_idx ON measures (v);",
        history=(
            BASE,
            PARTITIONED,
            "ALTER TABLE measures ATTACH PARTITION measures_2024 "
            "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        ),
    ),
    Case(
        "index-partitioned-concurrently",
        REJECTS,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS measures_v_idx ON measures (v);",
        history=(
            BASE,
            PARTITIONED,
            "ALTER TABLE measures ATTACH PARTITION measures_2024 "
            "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');",
        ),
        note="CONCURRENTLY is refused on a partitioned table (PG 15 and 18): the "
        "safe way is ON ONLY the parent, CONCURRENTLY on each partition, ATTACH PARTITION",
    ),
    Case(
        "set-logged",
        REWRITE,
        "ALTER TABLE scratch SET LOGGED;",
        history=(
            BASE,
            "CREATE UNLOGGED TABLE scratch (id bigint PRIMARY KEY, v text);\n"
            "INSERT INTO scratch SELECT g, 'v' FROM generate_series(1, 50) AS g;",
        ),
    ),
    Case("set-unlogged", REWRITE, "ALTER TABLE orders SET UNLOGGED;"),
    # --- data changes ------------------------------------------------------------------
    Case("update-without-where", ROW_LOCKS, "UPDATE accounts SET status = 'active';"),
    Case("delete-without-where", ROW_LOCKS, "DELETE FROM orders;"),
    Case(
        "update-one-row",
        SAFE,
        "UPDATE accounts SET status = 'admin' WHERE id = 1;",
        down="UPDATE accounts SET status = 'active' WHERE id = 1;",
    ),
    Case(
        "insert-into-new-table",
        SAFE,
        "CREATE TABLE plans (id integer PRIMARY KEY, name text NOT NULL);\n"
        "INSERT INTO plans (id, name) VALUES (1, 'free'), (2, 'pro');",
        down="DROP TABLE IF EXISTS plans;",
    ),
    # --- lock scope --------------------------------------------------------------------
    Case(
        "long-lock-hold",
        BLOCKS_ALL,
        "ALTER TABLE accounts ADD COLUMN tier text;\n"
        "UPDATE orders SET note = 'legacy' WHERE id <= 150;",
        note="ACCESS EXCLUSIVE on accounts is kept while the UPDATE runs",
    ),
    Case(
        "alter-last-in-step",
        SAFE,
        "UPDATE orders SET note = 'legacy' WHERE id <= 5;\n"
        "ALTER TABLE accounts ADD COLUMN tier text;",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS tier;",
    ),
    # --- runner, transactions, down files -----------------------------------------------
    Case(
        "no-timeouts-other-runner",
        NO_TIMEOUT,
        "ALTER TABLE accounts ADD COLUMN tier text;",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS tier;",
        runner="other",
    ),
    Case(
        "timeouts-set-other-runner",
        SAFE,
        "SET lock_timeout = '2s';\nSET statement_timeout = '30s';\n"
        "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS tier text;",
        down="SET lock_timeout = '2s';\nSET statement_timeout = '30s';\n"
        "ALTER TABLE accounts DROP COLUMN IF EXISTS tier;",
        runner="other",
    ),
    Case(
        "nested-begin",
        TXN,
        "BEGIN;\nALTER TABLE accounts ADD COLUMN tier text;\nBEGIN;\n"
        "ALTER TABLE accounts ADD COLUMN zone text;\nCOMMIT;\nCOMMIT;",
        note="the inner BEGIN only warns; the first COMMIT ends the outer transaction",
    ),
    Case(
        "enum-add-value-then-use",
        REJECTS,
        "ALTER TYPE mood ADD VALUE 'meh';\nUPDATE accounts SET status = 'x' "
        "WHERE id = 1 AND 'meh'::mood IS NOT NULL;",
        history=(BASE, "CREATE TYPE mood AS ENUM ('happy', 'sad');"),
        note="unsafe use of new value in the same transaction",
    ),
    Case(
        "enum-add-value",
        SAFE,
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh';",
        history=(BASE, "CREATE TYPE mood AS ENUM ('happy', 'sad');"),
        down="SELECT 1;",
    ),
    Case(
        "missing-down",
        NO_DOWN,
        "ALTER TABLE accounts ADD COLUMN tier text;",
    ),
    Case(
        "down-drop-without-if-exists",
        PARTIAL,
        "CREATE TABLE IF NOT EXISTS widgets (id bigint PRIMARY KEY);",
        down="DROP TABLE widgets;",
        target="down",
        note="a rollback after a partial up, or run twice, fails",
    ),
    Case(
        "down-drop-index-plain",
        BLOCKS_ALL,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_name_idx ON accounts (name);",
        down="DROP INDEX IF EXISTS accounts_name_idx;",
        target="down",
    ),
    Case(
        "down-index-plain",
        BLOCKS_WRITES,
        "DROP INDEX CONCURRENTLY IF EXISTS orders_account_id_idx;",
        down="CREATE INDEX IF NOT EXISTS orders_account_id_idx ON orders (account_id);",
        target="down",
    ),
    # --- objects created in the same migration, harmless DDL ----------------------------
    Case(
        "new-table-with-fk",
        SAFE,
        "CREATE TABLE invoices (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        "    account_id bigint NOT NULL\n"
        "        CONSTRAINT invoices_account_id_fkey REFERENCES accounts (id)\n);\n"
        "CREATE INDEX invoices_account_id_idx ON invoices (account_id);",
        down="DROP TABLE IF EXISTS invoices;",
    ),
    Case(
        "new-table-constraints",
        SAFE,
        "CREATE TABLE coupons (id bigint PRIMARY KEY, code text NOT NULL);\n"
        "ALTER TABLE coupons ADD CONSTRAINT coupons_code_key UNIQUE (code);\n"
        "ALTER TABLE coupons ADD CONSTRAINT coupons_code_check CHECK (code <> '');",
        down="DROP TABLE IF EXISTS coupons;",
    ),
    Case(
        "create-view",
        SAFE,
        "CREATE OR REPLACE VIEW active_accounts AS "
        "SELECT id, email FROM accounts WHERE status = 'active';",
        down="DROP VIEW IF EXISTS active_accounts;",
    ),
    Case(
        "comment-on",
        SAFE,
        "COMMENT ON COLUMN accounts.status IS 'lifecycle state';",
        down="COMMENT ON COLUMN accounts.status IS NULL;",
    ),
    # --- more cases: defaults, type no-ops, objects new in the migration, rejects -------
    Case(
        "fk-on-new-column",
        SAFE,
        "ALTER TABLE orders ADD COLUMN referrer_id bigint "
        "CONSTRAINT orders_referrer_id_fkey REFERENCES accounts (id);",
        down="ALTER TABLE orders DROP COLUMN IF EXISTS referrer_id;",
        note="a new column without a default is all NULL: the key is valid unchecked "
        "(no 'validating foreign key constraint', no scan of 2M rows, PG 15 and 18); "
        "its locks (SHARE ROW EXCLUSIVE on accounts) last an instant",
    ),
    Case(
        "fk-on-new-column-default",
        SCAN,
        "ALTER TABLE orders ADD COLUMN referrer_id bigint DEFAULT 1 "
        "CONSTRAINT orders_referrer_id_fkey REFERENCES accounts (id);",
        note="with a default every row is checked (RI_Initial_Check) while orders is "
        "ACCESS EXCLUSIVE and accounts SHARE ROW EXCLUSIVE",
    ),
    Case(
        "add-column-default-nextval",
        REWRITE,
        "CREATE SEQUENCE IF NOT EXISTS accounts_ref_seq;\n"
        "ALTER TABLE accounts ADD COLUMN ref bigint DEFAULT nextval('accounts_ref_seq');",
    ),
    Case(
        "add-column-default-random-md5",
        REWRITE,
        "ALTER TABLE accounts ADD COLUMN salt text DEFAULT md5(random()::text);",
    ),
    Case(
        "add-column-default-current-date",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN joined_on date DEFAULT CURRENT_DATE;",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS joined_on;",
    ),
    Case(
        "add-two-columns-one-statement",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN city text, ADD COLUMN zip text;",
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS zip, DROP COLUMN IF EXISTS city;",
    ),
    Case(
        "type-same-type",
        SAFE,
        "ALTER TABLE orders ALTER COLUMN account_id TYPE bigint;",
        down="SELECT 1;",
        note="already bigint: nothing to rewrite",
    ),
    Case(
        "type-int-to-numeric",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN visits TYPE numeric;",
    ),
    Case(
        "unique-index-then-constraint-same-migration",
        SAFE,
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_key "
        "ON accounts (email);\n"
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key "
        "UNIQUE USING INDEX accounts_email_key;",
        down="ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_email_key;",
        note="atomig runs the CONCURRENTLY build as its own step",
    ),
    Case(
        "check-not-valid-then-validate-own-transactions",
        SAFE,
        "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_total_check "
        "CHECK (total >= 0) NOT VALID;\nCOMMIT;\n"
        "BEGIN;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;\nCOMMIT;",
        down="ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_total_check;",
    ),
    Case(
        "refresh-new-matview",
        SAFE,
        "CREATE MATERIALIZED VIEW IF NOT EXISTS order_counts AS "
        "SELECT account_id, count(*) AS n FROM orders GROUP BY account_id WITH NO DATA;\n"
        "REFRESH MATERIALIZED VIEW order_counts;",
        down="DROP MATERIALIZED VIEW IF EXISTS order_counts;",
    ),
    Case(
        "truncate-new-table",
        SAFE,
        "CREATE TABLE staging (id bigint PRIMARY KEY, v text);\n"
        "INSERT INTO staging VALUES (1, 'a');\nTRUNCATE staging;",
        down="DROP TABLE IF EXISTS staging;",
    ),
    Case(
        "drop-check-constraint",
        SAFE,
        "ALTER TABLE accounts DROP CONSTRAINT IF EXISTS accounts_visits_check;",
        history=(
            BASE,
            "ALTER TABLE accounts ADD CONSTRAINT accounts_visits_check "
            "CHECK (visits >= 0) NOT VALID;",
        ),
        down="ALTER TABLE accounts ADD CONSTRAINT accounts_visits_check "
        "CHECK (visits >= 0) NOT VALID;",
    ),
    Case(
        "index-non-immutable-expression",
        REJECTS,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_created_day_idx "
        "ON accounts ((created_at::date));",
        note="timestamptz to date depends on TimeZone: not IMMUTABLE",
    ),
    Case(
        "generated-non-immutable",
        REJECTS,
        "ALTER TABLE accounts ADD COLUMN created_day date "
        "GENERATED ALWAYS AS (created_at::date) STORED;",
    ),
    # --- history knowledge: renames, user functions, compound checks, typmods ----------
    Case(
        "type-after-table-rename",
        REWRITE,
        "ALTER TABLE purchases ALTER COLUMN note TYPE varchar(10);",
        history=(BASE, "ALTER TABLE orders RENAME TO purchases;"),
    ),
    Case(
        "type-after-column-rename-safe",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN mail TYPE text;",
        history=(BASE, "ALTER TABLE accounts RENAME COLUMN email TO mail;"),
        down="SELECT 1;",
    ),
    Case(
        "default-user-function-stable",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN tier text DEFAULT default_tier();",
        history=(
            BASE,
            "CREATE FUNCTION default_tier() RETURNS text LANGUAGE sql STABLE "
            "AS $$ SELECT 'free' $$;",
        ),
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS tier;",
    ),
    Case(
        "default-user-function-volatile",
        REWRITE,
        "ALTER TABLE accounts ADD COLUMN tier text DEFAULT pick_tier();",
        history=(
            BASE,
            "CREATE FUNCTION pick_tier() RETURNS text LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN 'free'; END $$;",
        ),
        note="a function without a volatility is VOLATILE",
    ),
    Case(
        "default-user-function-volatile-inlined",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN tier text DEFAULT pick_tier();",
        history=(
            BASE,
            "CREATE FUNCTION pick_tier() RETURNS text LANGUAGE sql "
            "AS $$ SELECT 'free' $$;",
        ),
        down="ALTER TABLE accounts DROP COLUMN IF EXISTS tier;",
        note="first labelled a rewrite; the server showed none: PostgreSQL inlines the "
        "one-line SQL function into a constant (PG 15 and 18)",
    ),
    Case(
        "type-widen-with-using",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN email TYPE varchar(200) USING email;",
        down="SELECT 1;",
    ),
    Case(
        "type-collation-change-indexed",
        BLOCKS_ALL,
        'ALTER TABLE accounts ALTER COLUMN name TYPE varchar(50) COLLATE "C";',
        history=(BASE, "CREATE INDEX accounts_name_idx ON accounts (name);"),
        note="no table rewrite, but the index on name is rebuilt under ACCESS EXCLUSIVE",
    ),
    Case(
        "validate-then-set-not-null",
        SAFE,
        "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_name_not_null;\n"
        "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;",
        history=(
            BASE,
            "ALTER TABLE accounts ADD CONSTRAINT accounts_name_not_null "
            "CHECK (name IS NOT NULL) NOT VALID;",
        ),
        down="ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL;",
        note="VALIDATE under SHARE UPDATE EXCLUSIVE, then SET NOT NULL proved by it",
    ),
    Case(
        "set-not-null-compound-check",
        SAFE,
        "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;",
        history=(
            BASE,
            "ALTER TABLE accounts ADD CONSTRAINT accounts_name_present "
            "CHECK (name IS NOT NULL AND name <> '') NOT VALID;",
            "ALTER TABLE accounts VALIDATE CONSTRAINT accounts_name_present;",
        ),
        down="ALTER TABLE accounts ALTER COLUMN name DROP NOT NULL;",
        note="the validated CHECK implies name IS NOT NULL",
    ),
    Case(
        "set-not-null-check-not-validated",
        SCAN,
        "ALTER TABLE accounts ALTER COLUMN name SET NOT NULL;",
        history=(
            BASE,
            "ALTER TABLE accounts ADD CONSTRAINT accounts_name_not_null "
            "CHECK (name IS NOT NULL) NOT VALID;",
        ),
        note="a NOT VALID CHECK proves nothing: the table is scanned",
    ),
    Case(
        "add-column-default-and-check",
        SCAN,
        "ALTER TABLE accounts ADD COLUMN credit integer DEFAULT 0 "
        "CONSTRAINT accounts_credit_check CHECK (credit >= 0);",
    ),
    Case(
        "type-timestamptz-precision-up",
        SAFE,
        "ALTER TABLE pings ALTER COLUMN at TYPE timestamptz;",
        history=(
            BASE,
            "CREATE TABLE pings (id bigint PRIMARY KEY, at timestamptz(3));\n"
            "INSERT INTO pings SELECT g, now() FROM generate_series(1, 50) AS g;",
        ),
        down="SELECT 1;",
    ),
    Case(
        "type-timestamptz-precision-down",
        REWRITE,
        "ALTER TABLE pings ALTER COLUMN at TYPE timestamptz(0);",
        history=(
            BASE,
            "CREATE TABLE pings (id bigint PRIMARY KEY, at timestamptz(3));\n"
            "INSERT INTO pings SELECT g, now() FROM generate_series(1, 50) AS g;",
        ),
    ),
    Case(
        "type-numeric-precision-down",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(8, 2);",
    ),
    # --- more everyday cases ---------------------------------------------------------
    Case(
        "delete-where-matches-all",
        ROW_LOCKS,
        "DELETE FROM orders WHERE total > 0;",
        note="the WHERE matches every row",
    ),
    Case(
        "insert-seed-rows",
        SAFE,
        "INSERT INTO accounts (email, name, status) VALUES "
        "('ops@example.org', 'ops', 'admin'), ('bot@example.org', 'bot', 'system');",
        down="DELETE FROM accounts WHERE email IN ('ops@example.org', 'bot@example.org');",
    ),
    Case(
        "set-not-null-already-not-null",
        SAFE,
        "ALTER TABLE orders ALTER COLUMN account_id SET NOT NULL;",
        down="SELECT 1;",
        note="the column is NOT NULL since it was created: nothing to check",
    ),
    Case(
        "rename-column-new-table",
        SAFE,
        "CREATE TABLE labels (id bigint PRIMARY KEY, txt text);\n"
        "ALTER TABLE labels RENAME COLUMN txt TO body;",
        down="DROP TABLE IF EXISTS labels;",
    ),
    Case(
        "two-instant-alters-two-tables",
        SAFE,
        "ALTER TABLE accounts ADD COLUMN region text;\n"
        "ALTER TABLE orders ADD COLUMN region text;",
        down="ALTER TABLE orders DROP COLUMN IF EXISTS region;\n"
        "ALTER TABLE accounts DROP COLUMN IF EXISTS region;",
        note="both instant; the runner's lock_timeout bounds the wait for the second",
    ),
    Case(
        "down-type-narrow-back",
        REWRITE,
        "ALTER TABLE accounts ALTER COLUMN email TYPE text;",
        down="ALTER TABLE accounts ALTER COLUMN email TYPE varchar(100);",
        target="down",
        note="the up is binary-coercible, its down rewrites",
    ),
    Case(
        "down-drop-index-concurrently",
        SAFE,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_name_idx ON accounts (name);",
        down="DROP INDEX CONCURRENTLY IF EXISTS accounts_name_idx;",
        target="down",
    ),
)
