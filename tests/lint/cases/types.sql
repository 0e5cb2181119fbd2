-- expect: prefer-jsonb, prefer-timestamptz, prefer-text, table-without-primary-key
CREATE TABLE logs (payload json, at timestamp(3) without time zone, kind character varying(20));

-- expect: prefer-jsonb
ALTER TABLE orders ALTER COLUMN meta TYPE json USING meta::json;

-- expect: prefer-bigint
CREATE TABLE lines (id bigint PRIMARY KEY, order_id integer REFERENCES orders);

-- expect-not: prefer-bigint
CREATE TABLE stats (id bigint PRIMARY KEY, visits integer, ratio smallint);

-- expect-not: table-without-primary-key
CREATE TEMPORARY TABLE scratch (a int);
CREATE TABLE parts PARTITION OF measurements FOR VALUES IN (1);

-- expect: foreign-key-without-index
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id, tenant_id) REFERENCES users (id, tenant_id) NOT VALID;

-- expect-not: foreign-key-without-index
CREATE TABLE lines (id bigint PRIMARY KEY, order_id bigint, tenant_id bigint,
  FOREIGN KEY (order_id, tenant_id) REFERENCES orders (id, tenant_id));
CREATE INDEX lines_tenant_order ON lines (tenant_id, order_id, id);

-- expect: foreign-key-without-index
-- (a partial index serves only queries that imply its WHERE: not the key's lookups)
CREATE TABLE lines (id bigint PRIMARY KEY, order_id bigint, open boolean,
  FOREIGN KEY (order_id) REFERENCES orders (id));
CREATE INDEX lines_open_order ON lines (order_id) WHERE open;

-- expect: identifier-too-long
CREATE INDEX CONCURRENTLY "an_index_name_that_is_definitely_longer_than_sixty_three_bytes_long" ON t (a);

-- expect: identifier-too-long
ALTER TABLE t RENAME COLUMN a TO ééééééééééééééééééééééééééééééééé;

-- expect-not: identifier-too-long
CREATE TABLE t (short_name int PRIMARY KEY, another_reasonably_long_column_name_just_under int);

-- expect: unnamed-constraint
ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;

-- expect-not: unbatched-dml
CREATE UNIQUE INDEX CONCURRENTLY orders_code ON orders (code);
UPDATE orders SET status = 'x' WHERE code = 'A1';

-- expect: unbatched-dml
-- (unique only among open orders: the UPDATE may change many rows)
CREATE UNIQUE INDEX CONCURRENTLY orders_open_code ON orders (code) WHERE status = 'open';
UPDATE orders SET status = 'x' WHERE code = 'A1';
