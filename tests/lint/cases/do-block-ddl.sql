-- Edge cases of do-block-ddl: blank-line separated, each one migration's up file.
-- expect: do-block-ddl
DO $$
DECLARE
  missing boolean;
BEGIN
  SELECT NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'orders_user_fk')
    INTO missing;
  IF missing THEN
    ALTER TABLE public."Orders" ADD CONSTRAINT orders_user_fk
      FOREIGN KEY (user_id) REFERENCES users (id);
  END IF;
END $$;

-- expect: do-block-ddl
DO LANGUAGE plpgsql $$ BEGIN
  EXECUTE 'ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2) USING total::numeric';
END $$;

-- expect-not: do-block-ddl
-- Built at run time (not known), a quick catalog change, and a VALIDATE (SHARE UPDATE
-- EXCLUSIVE: reads and writes go on).
DO $$ DECLARE t text := 'orders'; BEGIN
  EXECUTE format('ANALYZE %I', t);
  ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
  ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;
END $$;

-- expect-not: do-block-ddl
-- A body PL/pgSQL cannot compile is PostgreSQL's to report, not a crash.
DO $$ BEGIN FOR r IN SELECT 1 LOOP NULL; END LOOP; END $$;

-- expect: do-block-ddl
-- PostgreSQL rejects CONCURRENTLY inside a function: the migration fails.
DO $$ BEGIN
  IF to_regclass('orders_user_id_idx') IS NULL THEN
    CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);
  END IF;
END $$;

-- expect-not: do-block-ddl
DO LANGUAGE plperl $$ spi_exec_query('CREATE INDEX orders_a_idx ON orders (a)'); $$;

-- expect: do-block-ddl
-- every row of an existing table in the block's one transaction
DO $$ BEGIN UPDATE orders SET status = 'new'; END $$;

-- expect: do-block-ddl
DO $$ BEGIN EXECUTE 'DELETE FROM audit_log'; END $$;

-- expect: do-block-ddl
-- runner: other
-- PostgreSQL rejects a COMMIT in a DO block run inside a transaction
DO $$
DECLARE n int;
BEGIN
  LOOP
    UPDATE orders SET status = 'new' WHERE id IN (SELECT id FROM orders WHERE status IS NULL LIMIT 1000);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
    COMMIT;
  END LOOP;
END $$;

-- expect-not: do-block-ddl
CREATE TABLE carts (id bigint PRIMARY KEY, status text);
DO $$ BEGIN UPDATE carts SET status = 'new'; END $$;

-- expect-not: do-block-ddl
DO $$ BEGIN UPDATE orders SET status = 'new' WHERE id = 42; END $$;

-- expect: do-block-ddl
DO $$ BEGIN
  CREATE INDEX orders_status_idx ON orders (status);
  UPDATE orders SET status = 'x';
END $$;

-- expect: do-block-ddl
-- A type change without USING rewrites unless binary-coercible (old type unknown here).
DO $$ BEGIN ALTER TABLE orders ALTER COLUMN user_id TYPE bigint; END $$;
