-- expect: concurrent-in-transaction
BEGIN;
DROP INDEX CONCURRENTLY IF EXISTS orders_a;
COMMIT;

-- expect: concurrent-in-transaction
-- pg: 11
BEGIN;
ALTER TYPE status ADD VALUE 'x';
COMMIT;

-- expect-not: concurrent-in-transaction
-- pg: 12
BEGIN;
ALTER TYPE status ADD VALUE 'x';
COMMIT;

-- expect: concurrent-in-transaction
START TRANSACTION;
VACUUM orders;
COMMIT;

-- expect: unbatched-dml
DELETE FROM sessions;

-- expect: unbatched-dml
UPDATE orders o SET total = l.sum FROM (SELECT order_id, sum(amount) FROM lines GROUP BY 1) l WHERE l.order_id = o.id;

-- expect-not: unbatched-dml
-- atomig: backfill batch_size=1000
UPDATE orders SET total = 0 WHERE total IS NULL;

-- expect: missing-lock-timeout
-- runner: other
SET statement_timeout = '5min';
CREATE INDEX orders_a ON orders (a);

-- expect-not: missing-lock-timeout
-- runner: other
SET LOCAL lock_timeout TO '3s';
ALTER TABLE orders DROP COLUMN legacy;

-- expect-not: missing-lock-timeout, missing-statement-timeout
-- runner: other
CREATE TABLE fresh (id bigint PRIMARY KEY);
CREATE INDEX fresh_id ON fresh (id);

-- expect: transaction-nesting
BEGIN;
SELECT 1;
BEGIN;
SELECT 2;
COMMIT;
COMMIT;

-- expect: transaction-nesting
PREPARE TRANSACTION 'x';

-- expect: dynamic-sql-concat
CREATE FUNCTION grant_all(r text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO ' || r;
END $f$;

-- expect-not: dynamic-sql-concat
CREATE FUNCTION safe(r text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  -- 'a' || 'b' in a comment is fine
  RAISE NOTICE '%', 'x' || r;
  EXECUTE format('GRANT SELECT ON t TO %I', r);
  EXECUTE 'SELECT $1' USING r;
END $f$;

-- expect-not: dynamic-sql-concat
CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b';

-- expect: dynamic-sql-concat
CREATE FUNCTION purge(t text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE q text;
BEGIN
  q := 'DELETE FROM ' || t;
  EXECUTE q;
END $f$;

-- expect: dynamic-sql-concat
DO $$ BEGIN
  EXECUTE concat('ANALYZE ', current_setting('app.table'));
END $$;

-- expect: dynamic-sql-concat
CREATE FUNCTION rows_of(t text) RETURNS SETOF record LANGUAGE plpgsql AS $f$
BEGIN
  RETURN QUERY EXECUTE format('SELECT * FROM %1$s', t);
END $f$;

-- expect-not: dynamic-sql-concat
CREATE FUNCTION safe_concat(t text, v text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE q text := 'UPDATE ' || quote_ident(t) || ' SET note = ';
BEGIN
  q := q || quote_literal(v) || ' WHERE note IS NULL';
  EXECUTE q;
  EXECUTE 'ANALYZE ' || 'orders';
END $f$;

-- expect: non-idempotent
-- runner: other
CREATE TABLE a (id int);
ALTER TABLE b ADD COLUMN c int;

-- expect: missing-lock-timeout
-- runner: other
-- SET LOCAL ends with its transaction: the second ALTER runs without a lock_timeout.
BEGIN;
SET LOCAL lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN a int;
COMMIT;
ALTER TABLE orders ADD COLUMN b int;

-- expect: missing-lock-timeout, missing-statement-timeout
-- runner: other
SET lock_timeout = '2s';
SET statement_timeout = '5min';
RESET ALL;
CREATE INDEX orders_c ON orders (c);

-- expect: missing-lock-timeout
-- runner: other
BEGIN;
SET lock_timeout = '2s';
ROLLBACK;
ALTER TABLE orders ADD COLUMN d int;

-- expect-not: missing-lock-timeout
-- runner: other
BEGIN;
SET lock_timeout = '2s';
COMMIT;
ALTER TABLE orders ADD COLUMN e int;

-- expect: unbatched-dml
WITH moved AS (DELETE FROM orders WHERE created_at < '2020-01-01' RETURNING *)
INSERT INTO archive.orders SELECT * FROM moved;

-- expect: unbatched-dml
WITH touched AS (UPDATE public."Orders" SET status = 'x' RETURNING id)
SELECT count(*) FROM touched;

-- expect-not: unbatched-dml
CREATE TABLE carts (id bigint PRIMARY KEY, status text);
WITH gone AS (DELETE FROM carts RETURNING id) SELECT count(*) FROM gone;

-- expect-not: index-not-concurrent, invalid-ignore
-- atomig-ignore: Index-Not-Concurrent the table has ten rows
CREATE INDEX orders_x ON orders (x);

-- expect-not: missing-statement-timeout, do-block-ddl
-- runner: other
-- A foreign table's rows are remote: no ALTER scans or rewrites them.
SET lock_timeout = '2s';
ALTER FOREIGN TABLE remote.orders ADD CONSTRAINT orders_total_check CHECK (total > 0);
DO $$ BEGIN ALTER FOREIGN TABLE remote.orders ALTER COLUMN total SET NOT NULL; END $$;

-- expect: unbatched-dml
MERGE INTO orders o USING imports i ON o.id = i.id
  WHEN MATCHED AND i.gone THEN DELETE
  WHEN NOT MATCHED THEN INSERT (id, status) VALUES (i.id, i.status);

-- expect-not: unbatched-dml
MERGE INTO orders o USING imports i ON o.id = i.id
  WHEN NOT MATCHED THEN INSERT (id, status) VALUES (i.id, i.status);

-- expect-not: unbatched-dml
CREATE TABLE carts (id bigint PRIMARY KEY, status text);
MERGE INTO carts c USING imports i ON c.id = i.id
  WHEN MATCHED THEN UPDATE SET status = i.status;

-- expect-not: unbatched-dml
-- a VALUES list as the source: a handful of rows (reference data)
MERGE INTO settings s USING (VALUES ('a', '1'), ('b', '2')) AS v (key, value) ON s.key = v.key
  WHEN MATCHED THEN UPDATE SET value = v.value
  WHEN NOT MATCHED THEN INSERT (key, value) VALUES (v.key, v.value);
