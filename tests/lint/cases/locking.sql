-- expect: index-not-concurrent
create unique index if not exists "Orders_Email" on "Shop"."Orders" using btree (lower(email)) where deleted_at is null;

-- expect: index-not-concurrent, long-lock-hold
-- expect-not: multiple-alters-same-table
ALTER TABLE ONLY public.orders ADD COLUMN a int;
CREATE INDEX orders_b ON orders (b);

-- expect: foreign-key-without-not-valid
-- expect-not: check-without-not-valid
ALTER TABLE IF EXISTS orders
  ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
  ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;

-- expect: volatile-default
ALTER TABLE orders ADD COLUMN seen_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- expect: volatile-default
ALTER TABLE orders ADD COLUMN shard int DEFAULT (random() * 10)::int;

-- expect-not: volatile-default
ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT CURRENT_TIMESTAMP, ADD COLUMN d date DEFAULT '2024-01-01'::date;

-- expect: volatile-default
-- pg: 10
ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT CURRENT_TIMESTAMP;

-- expect: volatile-default
ALTER TABLE orders ADD COLUMN code text DEFAULT my_schema.make_code();

-- expect: column-type-rewrite
ALTER TABLE orders ALTER COLUMN id SET DATA TYPE bigint;

-- expect-not: column-type-rewrite
CREATE TABLE t (s varchar(10), n numeric(8,2));
ALTER TABLE t ALTER COLUMN s TYPE varchar(20), ALTER COLUMN n TYPE numeric(10,2);

-- expect: set-not-null
-- expect-not: add-required-column
ALTER TABLE orders ALTER COLUMN a SET NOT NULL, ALTER COLUMN b SET NOT NULL;

-- expect: primary-key-direct, unnamed-constraint
ALTER TABLE events ADD PRIMARY KEY (id);

-- expect-not: primary-key-direct, unique-constraint-direct
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_id_idx;

-- expect: unique-constraint-direct
ALTER TABLE users ADD COLUMN handle text CONSTRAINT users_handle_key UNIQUE;

-- expect: check-without-not-valid
ALTER TABLE users ADD COLUMN age int CHECK (age >= 0);

-- expect: table-rewrite-command
VACUUM (FULL, VERBOSE, ANALYZE) orders, users;

-- expect-not: table-rewrite-command
VACUUM (FULL false) orders;

-- expect: rewriting-alter
ALTER TABLE orders SET UNLOGGED;

-- expect: rewriting-alter
ALTER INDEX orders_pkey SET TABLESPACE fast;

-- expect: refresh-matview-not-concurrent
REFRESH MATERIALIZED VIEW reporting.daily_totals;

-- expect-not: refresh-matview-not-concurrent
REFRESH MATERIALIZED VIEW daily_totals WITH NO DATA;

-- expect: trigger-change
CREATE OR REPLACE TRIGGER audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit();

-- expect: trigger-change
ALTER TABLE orders ENABLE ALWAYS TRIGGER audit;

-- expect: attach-partition-scan
ALTER TABLE measurements ATTACH PARTITION measurements_y2024 DEFAULT;

-- expect: domain-check-constraint
ALTER DOMAIN public.email ADD CHECK (VALUE ~ '@');

-- expect: validate-in-same-transaction
BEGIN;
ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT fk;
COMMIT;

-- expect: long-lock-hold
BEGIN;
LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;
UPDATE users SET flag = true WHERE id = 1;
COMMIT;

-- expect-not: long-lock-hold
ALTER TABLE orders ADD COLUMN a int;
COMMENT ON COLUMN orders.a IS 'x';
GRANT SELECT ON orders TO reporting;

-- expect-not: long-lock-hold
CREATE INDEX CONCURRENTLY orders_a ON orders (a);
ALTER TABLE orders ADD COLUMN b int;

-- expect: drop-index-not-concurrent
DROP INDEX IF EXISTS shop.orders_a, shop.orders_b;

-- expect: detach-partition-not-concurrent
ALTER TABLE IF EXISTS measurements DETACH PARTITION measurements_y2023;

-- expect: reindex-not-concurrent
REINDEX (VERBOSE) INDEX orders_pkey;

-- expect-not: add-required-column, volatile-default, stored-generated-column, serial-column-added, check-without-not-valid
-- A foreign table's rows are remote: PostgreSQL never scans nor rewrites them for an ALTER.
ALTER FOREIGN TABLE remote.orders
  ADD COLUMN a int NOT NULL,
  ADD COLUMN b uuid DEFAULT gen_random_uuid(),
  ADD COLUMN c bigint GENERATED ALWAYS AS (a * 2) STORED,
  ADD COLUMN d bigserial,
  ADD CONSTRAINT orders_a_check CHECK (a > 0);

-- expect-not: index-not-concurrent, set-not-null, refresh-matview-not-concurrent
-- CREATE TABLE … AS and CREATE MATERIALIZED VIEW make new relations nobody uses yet.
CREATE TABLE archive.old_orders AS SELECT id, total FROM orders WHERE total < 0;
CREATE INDEX old_orders_id_idx ON archive.old_orders (id);
ALTER TABLE archive.old_orders ALTER COLUMN id SET NOT NULL;
CREATE MATERIALIZED VIEW daily AS SELECT 1 AS n;
CREATE UNIQUE INDEX daily_n_idx ON daily (n);
REFRESH MATERIALIZED VIEW daily;

-- expect-not: stored-generated-column
-- pg: 18
-- Without STORED, PostgreSQL 18 makes a generated column VIRTUAL: computed when read.
ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100);

-- expect-not: attach-partition-scan
-- Attaching a partition's index to the parent's index is a catalog change: no scan.
ALTER INDEX measurements_kind_idx ATTACH PARTITION measurements_y2024_kind_idx;

-- expect-not: index-not-concurrent, set-not-null, volatile-default, long-lock-hold, trigger-change, truncate, drop-table, drop-not-null
-- A table made in this migration stays new under the name it is renamed to.
CREATE TABLE carts_new (id bigint PRIMARY KEY, a int);
ALTER TABLE carts_new RENAME TO carts;
CREATE INDEX carts_a_idx ON carts (a);
ALTER TABLE carts ALTER COLUMN a SET NOT NULL;
ALTER TABLE carts ADD COLUMN z uuid DEFAULT gen_random_uuid();
ALTER TABLE carts ALTER COLUMN a DROP NOT NULL;
CREATE TRIGGER carts_touch AFTER INSERT ON carts FOR EACH ROW EXECUTE FUNCTION touch();
TRUNCATE carts;
DROP TABLE carts;

-- expect-not: index-not-concurrent, set-not-null
-- SELECT … INTO makes a new table, like CREATE TABLE … AS.
SELECT id, total INTO archive.orders_2020 FROM orders WHERE created_at < '2021-01-01';
CREATE INDEX orders_2020_id_idx ON archive.orders_2020 (id);
ALTER TABLE archive.orders_2020 ALTER COLUMN id SET NOT NULL;

-- expect-not: index-not-concurrent
-- A table made here and moved to another schema is still new.
CREATE TABLE carts (id bigint PRIMARY KEY, a int);
ALTER TABLE carts SET SCHEMA archive;
CREATE INDEX carts_a_idx ON archive.carts (a);

-- expect: long-lock-hold
-- CREATE TABLE … PARTITION OF takes ACCESS EXCLUSIVE on the partitioned table.
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
UPDATE orders SET status = 'archived' WHERE created_at < '2020-01-01';

-- expect-not: index-not-concurrent
-- ON ONLY an unknown table: the first step of indexing a partitioned parent (instant)
CREATE INDEX events_kind_idx ON ONLY events (kind);

-- expect: domain-check-constraint
-- a domain's VALIDATE takes SHARE locks on every table using it (not SHARE UPDATE EXCLUSIVE)
ALTER DOMAIN price VALIDATE CONSTRAINT price_positive;

-- expect-not: domain-check-constraint
CREATE DOMAIN amount AS numeric;
ALTER DOMAIN amount ADD CONSTRAINT amount_positive CHECK (VALUE >= 0) NOT VALID;
ALTER DOMAIN amount VALIDATE CONSTRAINT amount_positive;

-- expect: unsupported-feature
-- expect-not: stored-generated-column
-- pg: 15
-- VIRTUAL is PostgreSQL 18's: 15 rejects it (and GENERATED … AS without STORED)
ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) VIRTUAL;

-- expect: unsupported-feature
-- expect-not: stored-generated-column
-- pg: 17
CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric, cents bigint GENERATED ALWAYS AS ((total * 100)::bigint));

-- expect-not: stored-generated-column
-- pg: 18
CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric, cents bigint GENERATED ALWAYS AS ((total * 100)::bigint));

-- expect: unsupported-feature
-- expect-not: stored-generated-column
-- pg: 11
CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric, cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED);

-- expect: refresh-matview-not-concurrent
-- (made WITH NO DATA: PostgreSQL rejects CONCURRENTLY until a plain refresh fills it)
CREATE MATERIALIZED VIEW order_totals AS SELECT id FROM orders WITH NO DATA;
CREATE UNIQUE INDEX order_totals_id ON order_totals (id);
REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals;

-- expect-not: foreign-key-without-not-valid
-- A new column without a DEFAULT is all NULL: PostgreSQL checks no row (PG 15 and 18).
ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES users (id);

-- expect: foreign-key-without-not-valid
ALTER TABLE orders ADD COLUMN buyer_id bigint DEFAULT 1 REFERENCES users (id);

-- A lock that blocks writes, taken earlier in the block, is held by VALIDATE's scan
-- expect: validate-in-same-transaction
BEGIN;
ALTER TABLE orders ADD COLUMN note text;
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
COMMIT;

-- expect: validate-in-same-transaction
-- runner: other
CREATE INDEX orders_note_idx ON orders (note);
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;

-- COMMENT takes SHARE UPDATE EXCLUSIVE, as VALIDATE does: writes go on
-- expect-not: validate-in-same-transaction
BEGIN;
COMMENT ON TABLE orders IS 'orders';
ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;
ALTER TABLE customers ADD COLUMN note text;
COMMIT;

-- expect: lock-timeout-override
ALTER TABLE audit ADD COLUMN a int;
RESET ALL;
ALTER TABLE orders ADD COLUMN b int;

-- expect-not: lock-timeout-override
-- RESET ALL ends with its step: the CONCURRENTLY build opens a new one, with the envelope.
ALTER TABLE audit ADD COLUMN a int;
RESET ALL;
CREATE INDEX CONCURRENTLY orders_a_idx ON orders (a);
ALTER TABLE orders ADD COLUMN b int;

-- expect-not: lock-timeout-override
-- A table this migration creates queues nobody.
SET lock_timeout = '1min';
CREATE TABLE fresh (id bigint PRIMARY KEY);
ALTER TABLE fresh ADD COLUMN note text;

-- expect-not: lock-timeout-override
-- SET LOCAL of 1s then back to a short value: nothing waits long.
SELECT 1;
SET LOCAL lock_timeout = '1s';
ALTER TABLE orders ADD COLUMN note text;

-- expect-not: lock-timeout-override
-- The next SET is judged on its own (and is short).
SELECT 1;
SET lock_timeout = 0;
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN note text;

-- expect: lock-timeout-override
SELECT 1;
SET lock_timeout TO DEFAULT;
CREATE INDEX orders_status_idx ON orders (status);

-- expect-not: lock-timeout-override
-- runner: other
-- Off is missing-lock-timeout's finding for another runner.
SET lock_timeout = 0;
ALTER TABLE orders ADD COLUMN note text;

-- expect: missing-lock-timeout
-- runner: other
SET lock_timeout = 0;
ALTER TABLE orders ADD COLUMN note text;

-- expect-not: long-lock-hold
-- set_config is as quick as SET.
ALTER TABLE orders ADD COLUMN note text;
SELECT set_config('app.migrated', 'yes', true);
