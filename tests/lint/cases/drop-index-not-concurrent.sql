-- Edge cases of drop-index-not-concurrent: blank-line separated, each one migration's up file.
-- expect: drop-index-not-concurrent
-- the index of a UNIQUE constraint: PostgreSQL rejects the drop (drop the constraint)
CREATE TABLE users (id bigint PRIMARY KEY, email text, CONSTRAINT users_email_key UNIQUE (email));
DROP INDEX CONCURRENTLY IF EXISTS users_email_key;

-- expect: drop-index-not-concurrent
CREATE TABLE users (id bigint PRIMARY KEY, email text);
DROP INDEX users_pkey;

-- expect-not: drop-index-not-concurrent
CREATE TABLE users (id bigint PRIMARY KEY, email text);
CREATE UNIQUE INDEX users_email_idx ON users (email);
DROP INDEX users_email_idx;

-- expect: drop-index-not-concurrent
DROP INDEX orders_a_idx, orders_b_idx;
