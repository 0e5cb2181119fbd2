-- Edge cases of bulk-table-copy: blank-line separated, each one migration's up file.
-- expect: bulk-table-copy
-- expect-not: unbatched-dml
INSERT INTO archive SELECT * FROM orders;

-- expect: bulk-table-copy
CREATE TABLE orders_copy AS SELECT * FROM orders;

-- expect: bulk-table-copy
SELECT id, status INTO orders_copy FROM shop.orders;

-- expect: bulk-table-copy
CREATE MATERIALIZED VIEW order_ids AS SELECT id FROM orders;

-- expect: bulk-table-copy
INSERT INTO archive (id) SELECT id FROM orders UNION ALL SELECT id FROM old_orders;

-- expect: bulk-table-copy
CREATE TABLE archive (id bigint PRIMARY KEY);
INSERT INTO archive SELECT id FROM orders;

-- expect-not: bulk-table-copy
CREATE TABLE staging (id bigint PRIMARY KEY);
INSERT INTO staging VALUES (1), (2);
INSERT INTO archive SELECT * FROM staging;
CREATE TABLE staging_copy AS SELECT * FROM staging;

-- expect-not: bulk-table-copy
INSERT INTO archive VALUES (1, 'x');
INSERT INTO archive SELECT * FROM orders WHERE id = 42;
INSERT INTO archive SELECT * FROM orders ORDER BY id LIMIT 100;
INSERT INTO archive SELECT 1, 'x';
CREATE TABLE orders_shape AS SELECT * FROM orders WITH NO DATA;
SELECT count(*) FROM orders;
INSERT INTO order_stats SELECT count(*), sum(total), max(created_at) FROM orders;
CREATE TABLE totals AS SELECT pg_catalog.sum(total) FILTER (WHERE total > 0) FROM orders;

-- expect: bulk-table-copy
INSERT INTO ranked SELECT id, rank() OVER (ORDER BY total) FROM orders;

-- expect: missing-statement-timeout
-- runner: other
CREATE TABLE orders_copy AS SELECT * FROM orders;

-- expect: missing-statement-timeout
-- runner: other
CREATE TABLE archive (id bigint PRIMARY KEY);
INSERT INTO archive SELECT id FROM orders;

-- expect-not: missing-statement-timeout
-- runner: other
CREATE TABLE staging (id bigint PRIMARY KEY);
CREATE TABLE staging_copy AS SELECT * FROM staging;

-- expect-not: bulk-table-copy
-- (an aggregate the migration creates: one row, however many it reads)
CREATE AGGREGATE my_sum (int) (sfunc = int4pl, stype = int);
CREATE TABLE totals AS SELECT my_sum(qty) FROM orders;
INSERT INTO order_stats SELECT public.my_sum(qty) FROM orders;

-- expect: bulk-table-copy
CREATE FUNCTION my_double (int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE TABLE doubled AS SELECT my_double(qty) FROM orders;
