-- Edge cases of truncate: blank-line separated, each one migration's up file.
-- expect: truncate
-- another table's foreign key references users: PostgreSQL rejects it (even for new tables)
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
TRUNCATE users;

-- expect-not: truncate
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
TRUNCATE users, orders;

-- expect-not: truncate
CREATE TABLE users (id bigint PRIMARY KEY);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);
TRUNCATE users CASCADE;

-- expect-not: truncate
-- a self-reference does not stop it
CREATE TABLE nodes (id bigint PRIMARY KEY, parent bigint REFERENCES nodes);
TRUNCATE nodes;
