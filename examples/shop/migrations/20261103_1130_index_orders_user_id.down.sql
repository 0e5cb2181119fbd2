DROP INDEX IF EXISTS idx_orders_user_id;
