-- The foreign key's referencing column needs an index (joins, and deletes of users).
-- CONCURRENTLY: reads and writes of orders go on while it builds. atomig runs it as its own
-- step, outside any transaction, and drops the INVALID index a failed build would leave.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_orders_user_id ON orders (user_id);
