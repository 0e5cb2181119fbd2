-- Edge cases of non-immutable-expression: blank-line separated, each one migration's up file.
-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
CREATE INDEX t_day ON t ((tz::date));

-- expect-not: non-immutable-expression
CREATE TABLE t (id int, ts timestamp);
CREATE INDEX t_day ON t ((ts::date));
CREATE INDEX t_year ON t (extract(year FROM ts));
CREATE INDEX t_trunc ON t (date_trunc('day', ts));
CREATE INDEX t_plus ON t ((ts + interval '1 day'));

-- the column's type is unknown (the table predates the file): no claim
-- expect-not: non-immutable-expression
CREATE INDEX t_day ON t ((created_at::date), date(created_at), extract(year FROM created_at));

-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
CREATE INDEX t_year ON t (extract(year FROM tz));

-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
CREATE INDEX t_plus ON t ((tz + interval '1 day'));

-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
CREATE INDEX t_trunc ON t (date_trunc('day', tz));

-- date_trunc(text, timestamptz, zone) is IMMUTABLE since PostgreSQL 16
-- pg: 15
-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
CREATE INDEX t_trunc ON t (date_trunc('day', tz, 'UTC'));

-- pg: 18
-- expect-not: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
CREATE INDEX t_trunc ON t (date_trunc('day', tz, 'UTC'));

-- expect: non-immutable-expression
CREATE INDEX t_year ON t (to_char(ts, 'YYYY'));

-- expect: non-immutable-expression
CREATE INDEX t_name ON t (concat(first_name, ' ', last_name));

-- || on text (and on an integer, through the inlined anynonarray || text) is accepted
-- expect-not: non-immutable-expression
CREATE INDEX t_name ON t ((first_name || ' ' || last_name), (id || '-' || code));

-- expect: non-immutable-expression
CREATE INDEX t_search ON t USING gin (to_tsvector(body));

-- expect-not: non-immutable-expression
CREATE INDEX t_search ON t USING gin (to_tsvector('english', body));

-- expect: non-immutable-expression
CREATE INDEX t_open ON t (id) WHERE due_on > current_date;

-- a typed literal is folded to a constant: accepted
-- expect-not: non-immutable-expression
CREATE INDEX t_open ON t (id) WHERE due_on > '2024-01-01'::date;

-- expect: non-immutable-expression
CREATE TABLE t (id int, d date, x text);
CREATE INDEX t_text ON t ((d::text));

-- expect: non-immutable-expression
CREATE TABLE t (id int, x text);
CREATE INDEX t_parsed ON t ((x::date));

-- expect: non-immutable-expression
CREATE TABLE t (id int, ts timestamp);
CREATE INDEX t_age ON t (age(ts));

-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz, day date GENERATED ALWAYS AS (tz::date) STORED);

-- expect: non-immutable-expression
ALTER TABLE t ADD COLUMN token text GENERATED ALWAYS AS (random()::text) STORED;

-- expect: non-immutable-expression
CREATE TABLE p (a timestamptz) PARTITION BY RANGE ((a::date));

-- expect: non-immutable-expression
CREATE TABLE p (a timestamptz) PARTITION BY RANGE (date_trunc('day', a));

-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz);
ALTER TABLE t ADD CONSTRAINT t_one_a_day EXCLUDE USING btree ((tz::date) WITH =);

-- a plpgsql function without a volatility clause is VOLATILE
-- expect: non-immutable-expression
CREATE FUNCTION plus_one(int) RETURNS int LANGUAGE plpgsql AS 'begin return $1 + 1; end';
CREATE INDEX t_plus ON t (plus_one(id));

-- expect-not: non-immutable-expression
CREATE FUNCTION plus_one(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS 'begin return $1 + 1; end';
CREATE INDEX t_plus ON t (plus_one(id));

-- expect-not: non-immutable-expression
CREATE FUNCTION plus_one(int) RETURNS int LANGUAGE plpgsql AS 'begin return $1 + 1; end';
ALTER FUNCTION plus_one(int) IMMUTABLE;
CREATE INDEX t_plus ON t (plus_one(id));

-- a LANGUAGE sql function may be inlined before the check (accepted on PG 15 and 18)
-- expect-not: non-immutable-expression
CREATE FUNCTION plus_one(int) RETURNS int LANGUAGE sql AS 'select $1 + 1';
CREATE INDEX t_plus ON t (plus_one(id));

-- a VIRTUAL generated column (PG 18) must be IMMUTABLE too
-- pg: 18
-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz, day date GENERATED ALWAYS AS (tz::date) VIRTUAL);

-- before 18 the VIRTUAL syntax itself is rejected: unsupported-feature's finding alone
-- pg: 15
-- expect: unsupported-feature
-- expect-not: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz, day date GENERATED ALWAYS AS (tz::date) VIRTUAL);

-- pg: 17
-- expect: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz, day date GENERATED ALWAYS AS ((tz AT TIME ZONE 'UTC')::date) STORED);
ALTER TABLE t ALTER COLUMN day SET EXPRESSION AS (tz::date);

-- pg: 15
-- expect: unsupported-feature
-- expect-not: non-immutable-expression
CREATE TABLE t (id int, tz timestamptz, day date GENERATED ALWAYS AS ((tz AT TIME ZONE 'UTC')::date) STORED);
ALTER TABLE t ALTER COLUMN day SET EXPRESSION AS (tz::date);
