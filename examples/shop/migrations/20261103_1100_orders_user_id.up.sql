-- Link orders to their customer without blocking the live orders table:
-- a nullable column (no rewrite), the foreign key added NOT VALID (no scan while holding
-- the lock), then validated (SHARE UPDATE EXCLUSIVE: reads and writes go on).
ALTER TABLE orders ADD COLUMN IF NOT EXISTS user_id bigint;
ALTER TABLE orders ADD CONSTRAINT fk_orders_user_id
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user_id;
