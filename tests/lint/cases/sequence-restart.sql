-- Edge cases of sequence-restart: blank-line separated, each one migration's up file.
-- expect: sequence-restart
ALTER SEQUENCE IF EXISTS shop."Order Items_id_seq" RESTART;

-- expect: sequence-restart
SELECT pg_catalog.setval('public.orders_id_seq'::regclass, 1, false);

-- expect: sequence-restart
ALTER TABLE ONLY "Orders" ALTER COLUMN id SET INCREMENT BY 1 RESTART WITH 1;

-- expect-not: sequence-restart
-- Computed from the keys in use, or a sequence of a table made here.
SELECT setval('orders_id_seq', (SELECT max(id) FROM orders) + 10000);
CREATE TABLE shop.carts (id bigserial PRIMARY KEY);
SELECT setval('shop.carts_id_seq', 500);
ALTER TABLE shop.carts ALTER COLUMN id RESTART;
ALTER SEQUENCE orders_id_seq INCREMENT BY 2;
