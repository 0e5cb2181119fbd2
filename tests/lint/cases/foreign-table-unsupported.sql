-- Edge cases of foreign-table-unsupported: blank-line separated, each one migration's up file.
-- expect: foreign-table-unsupported
-- ALTER TABLE (not ALTER FOREIGN TABLE) of a foreign table made in the same file
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER remote FOREIGN DATA WRAPPER dummy;
CREATE FOREIGN TABLE remote_orders (id bigint NOT NULL, note text) SERVER remote;
ALTER TABLE remote_orders SET UNLOGGED, REPLICA IDENTITY FULL;

-- expect: foreign-table-unsupported
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER remote FOREIGN DATA WRAPPER dummy;
CREATE FOREIGN TABLE remote_orders (id bigint NOT NULL, note text) SERVER remote;
ALTER FOREIGN TABLE remote_orders ALTER COLUMN note TYPE int USING 0;

-- expect: foreign-table-unsupported
-- a foreign key to it, added to a local table
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER remote FOREIGN DATA WRAPPER dummy;
CREATE FOREIGN TABLE remote_orders (id bigint NOT NULL, note text) SERVER remote;
ALTER TABLE refunds ADD CONSTRAINT refunds_order_fk FOREIGN KEY (order_id) REFERENCES remote_orders (id) NOT VALID;

-- expect: foreign-table-unsupported
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER remote FOREIGN DATA WRAPPER dummy;
CREATE FOREIGN TABLE remote_orders (id bigint NOT NULL, note text) SERVER remote;
ALTER TABLE remote_orders ADD COLUMN ref bigint UNIQUE;

-- expect-not: foreign-table-unsupported
-- what a foreign table does take: columns, CHECK (not enforced), type changes without USING
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER remote FOREIGN DATA WRAPPER dummy;
CREATE FOREIGN TABLE remote_orders (id bigint NOT NULL, note text) SERVER remote;
ALTER TABLE remote_orders ADD COLUMN total numeric, ADD CONSTRAINT remote_orders_total CHECK (total >= 0);
ALTER TABLE remote_orders ALTER COLUMN note TYPE varchar(100);

-- expect-not: foreign-table-unsupported
-- an unknown table is not assumed foreign
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_note_idx ON orders (note);
ALTER TABLE orders SET UNLOGGED;

-- expect: foreign-table-unsupported
-- expect-not: rewriting-alter
-- ALTER FOREIGN TABLE says so itself: no history needed (and there is nothing to rewrite)
ALTER FOREIGN TABLE remote_orders SET UNLOGGED;
