-- Link orders to their customer without blocking the live orders table:
-- a nullable column (no rewrite) and the foreign key added NOT VALID (no scan while holding
-- the lock), committed together; then, as a step of its own, the validation (SHARE UPDATE
-- EXCLUSIVE: reads and writes go on while it scans).
BEGIN;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS user_id bigint;
ALTER TABLE orders ADD CONSTRAINT fk_orders_user_id
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
COMMIT;
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user_id;
