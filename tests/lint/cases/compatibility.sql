-- expect: rename-table
ALTER VIEW reporting.totals RENAME TO sums;

-- expect: rename-table
ALTER TYPE order_status RENAME TO state;

-- expect-not: rename-table, rename-column
ALTER INDEX orders_a RENAME TO orders_a_idx;
ALTER TABLE orders RENAME CONSTRAINT c1 TO c2;

-- expect: rename-column
ALTER TABLE shop."Orders" RENAME "Total" TO total;

-- expect: drop-column
ALTER TABLE orders DROP COLUMN IF EXISTS legacy CASCADE;

-- expect: drop-table
DROP TABLE IF EXISTS a, b CASCADE;

-- expect: truncate
TRUNCATE TABLE ONLY orders RESTART IDENTITY;

-- expect: add-required-column
ALTER TABLE orders ADD COLUMN region text NOT NULL;

-- expect-not: add-required-column
ALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu';

-- expect: drop-object
DROP MATERIALIZED VIEW IF EXISTS daily;

-- expect: drop-object
DROP SEQUENCE orders_seq;

-- expect-not: drop-object
DROP INDEX CONCURRENTLY orders_a;

-- expect: enum-value-change
ALTER TYPE status RENAME VALUE 'old' TO 'new';

-- expect-not: enum-value-change
ALTER TYPE status ADD VALUE IF NOT EXISTS 'archived' AFTER 'paid';

-- expect: drop-column, drop-not-null, unnamed-constraint, drop-object, trigger-change
ALTER FOREIGN TABLE remote.orders
  DROP COLUMN legacy,
  ALTER COLUMN note DROP NOT NULL,
  ADD CHECK (total > 0),
  DROP CONSTRAINT orders_total_check,
  DISABLE TRIGGER orders_audit;

-- expect-not: add-required-column
-- serial types fill every row from their sequence: the statement does not fail.
ALTER TABLE orders ADD COLUMN uid bigserial PRIMARY KEY, ADD COLUMN n serial NOT NULL;

-- expect: drop-object
DROP EXTENSION IF EXISTS pg_trgm;

-- expect-not: rename-table
-- a view with the old name in the same transaction keeps old queries working
ALTER TABLE orders RENAME TO purchases;
CREATE VIEW orders AS SELECT * FROM purchases;

-- expect-not: rename-table
ALTER TABLE public.orders SET SCHEMA archive;
CREATE OR REPLACE VIEW orders AS SELECT * FROM archive.orders;

-- expect: rename-table
-- the view comes after COMMIT: old queries fail in between
BEGIN;
ALTER TABLE orders RENAME TO purchases;
COMMIT;
CREATE VIEW orders AS SELECT * FROM purchases;

-- expect: rename-table
ALTER TABLE orders RENAME TO purchases;
CREATE VIEW orders_compat AS SELECT * FROM purchases;

-- expect: drop-table
-- (another table's foreign key references users: PostgreSQL rejects the drop)
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
DROP TABLE users;

-- expect-not: drop-table
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
CREATE TABLE carts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
ALTER TABLE carts DROP CONSTRAINT carts_user_id_fkey;
DROP TABLE orders, users;
DROP TABLE carts;

-- expect: drop-not-null
-- every column of the domain may now be NULL
ALTER DOMAIN email_address DROP NOT NULL;

-- expect-not: drop-not-null
CREATE DOMAIN code AS text NOT NULL;
ALTER DOMAIN code DROP NOT NULL;

-- expect: rename-table
-- a view with the old name that does not read the renamed table keeps nothing working
ALTER TABLE orders RENAME TO purchases;
CREATE VIEW orders AS SELECT 1 AS id;

-- expect-not: rename-column
-- the column this migration added: nothing running uses it yet
ALTER TABLE orders ADD COLUMN id_new bigint;
ALTER TABLE orders RENAME COLUMN id_new TO id_big;

-- expect: rename-column
ALTER TABLE orders ADD COLUMN id_new bigint;
ALTER TABLE orders RENAME COLUMN id TO id_old;

-- expect-not: drop-object
-- dropped and re-made in the same transaction: the rule is never off for other sessions
ALTER TABLE orders DROP CONSTRAINT orders_total_check;
ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;

-- expect: drop-object
BEGIN;
ALTER TABLE orders DROP CONSTRAINT orders_total_check;
COMMIT;
ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;
