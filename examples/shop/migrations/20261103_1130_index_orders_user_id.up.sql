-- The foreign key's referencing column needs an index (joins, and deletes of users).
CREATE INDEX IF NOT EXISTS idx_orders_user_id ON orders (user_id);
