-- Edge cases of unsupported-feature: blank-line separated, each one migration's up file.
-- Each feature on both sides of its boundary: the major before lacks it, the one that
-- added it has it (tests/integration/test_lint_features.py runs them on PG 15 and 18).
-- pg: 10
-- expect: unsupported-feature
CREATE INDEX t_inc ON t (a) INCLUDE (b);

-- pg: 11
-- expect-not: unsupported-feature
CREATE INDEX t_inc ON t (a) INCLUDE (b);

-- pg: 10
-- expect: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a) INCLUDE (b);

-- pg: 11
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a) INCLUDE (b);

-- pg: 10
-- expect: unsupported-feature
CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';

-- pg: 11
-- expect-not: unsupported-feature
CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';

-- pg: 11
-- expect: unsupported-feature
CREATE TABLE gs (a int, b int GENERATED ALWAYS AS (a * 2) STORED);

-- pg: 12
-- expect-not: unsupported-feature
CREATE TABLE gs (a int, b int GENERATED ALWAYS AS (a * 2) STORED);

-- pg: 11
-- expect: unsupported-feature
REINDEX TABLE CONCURRENTLY t;

-- pg: 12
-- expect-not: unsupported-feature
REINDEX TABLE CONCURRENTLY t;

-- pg: 11
-- expect: unsupported-feature
CREATE TABLE am (a int) USING heap;

-- pg: 12
-- expect-not: unsupported-feature
CREATE TABLE am (a int) USING heap;

-- pg: 12
-- expect: unsupported-feature
SELECT gen_random_uuid();

-- pg: 13
-- expect-not: unsupported-feature
SELECT gen_random_uuid();

-- pg: 12
-- expect: unsupported-feature
ALTER TABLE g ALTER COLUMN d DROP EXPRESSION;

-- pg: 13
-- expect-not: unsupported-feature
ALTER TABLE g ALTER COLUMN d DROP EXPRESSION;

-- pg: 13
-- expect: unsupported-feature
ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;

-- pg: 14
-- expect-not: unsupported-feature
ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;

-- pg: 13
-- expect: unsupported-feature
CREATE OR REPLACE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();

-- pg: 14
-- expect-not: unsupported-feature
CREATE OR REPLACE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();

-- pg: 13
-- expect: unsupported-feature
CREATE TABLE cm (a text COMPRESSION pglz);

-- pg: 14
-- expect-not: unsupported-feature
CREATE TABLE cm (a text COMPRESSION pglz);

-- pg: 13
-- expect: unsupported-feature
ALTER TABLE t ALTER COLUMN b SET COMPRESSION pglz;

-- pg: 14
-- expect-not: unsupported-feature
ALTER TABLE t ALTER COLUMN b SET COMPRESSION pglz;

-- pg: 13
-- expect: unsupported-feature
SELECT date_bin('15 minutes', now(), '2000-01-01');

-- pg: 14
-- expect-not: unsupported-feature
SELECT date_bin('15 minutes', now(), '2000-01-01');

-- pg: 13
-- expect: unsupported-feature
SELECT string_to_table('a,b', ',');

-- pg: 14
-- expect-not: unsupported-feature
SELECT string_to_table('a,b', ',');

-- pg: 14
-- expect: unsupported-feature
MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a;

-- pg: 15
-- expect-not: unsupported-feature
MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a;

-- pg: 14
-- expect: unsupported-feature
CREATE UNIQUE INDEX t_nnd ON t (a) NULLS NOT DISTINCT;

-- pg: 15
-- expect-not: unsupported-feature
CREATE UNIQUE INDEX t_nnd ON t (a) NULLS NOT DISTINCT;

-- pg: 14
-- expect: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_nnd UNIQUE NULLS NOT DISTINCT (a);

-- pg: 15
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_nnd UNIQUE NULLS NOT DISTINCT (a);

-- pg: 14
-- expect: unsupported-feature
ALTER TABLE t SET ACCESS METHOD heap;

-- pg: 15
-- expect-not: unsupported-feature
ALTER TABLE t SET ACCESS METHOD heap;

-- pg: 14
-- expect: unsupported-feature
SELECT regexp_count('abc', 'b');

-- pg: 15
-- expect-not: unsupported-feature
SELECT regexp_count('abc', 'b');

-- pg: 15
-- expect: unsupported-feature
SELECT JSON_OBJECT('a': 1);

-- pg: 16
-- expect-not: unsupported-feature
SELECT JSON_OBJECT('a': 1);

-- pg: 15
-- expect: unsupported-feature
SELECT JSON_ARRAY(1, 2);

-- pg: 16
-- expect-not: unsupported-feature
SELECT JSON_ARRAY(1, 2);

-- pg: 15
-- expect: unsupported-feature
SELECT json_arrayagg(a) FROM t;

-- pg: 16
-- expect-not: unsupported-feature
SELECT json_arrayagg(a) FROM t;

-- pg: 15
-- expect: unsupported-feature
SELECT '{}' IS JSON;

-- pg: 16
-- expect-not: unsupported-feature
SELECT '{}' IS JSON;

-- pg: 15
-- expect: unsupported-feature
SELECT any_value(a) FROM t;

-- pg: 16
-- expect-not: unsupported-feature
SELECT any_value(a) FROM t;

-- pg: 15
-- expect: unsupported-feature
SELECT random_normal();

-- pg: 16
-- expect-not: unsupported-feature
SELECT random_normal();

-- pg: 15
-- expect: unsupported-feature
SELECT system_user;

-- pg: 16
-- expect-not: unsupported-feature
SELECT system_user;

-- pg: 15
-- expect: unsupported-feature
SELECT date_add(now(), interval '1 day');

-- pg: 16
-- expect-not: unsupported-feature
SELECT date_add(now(), interval '1 day');

-- pg: 16
-- expect: unsupported-feature
SELECT * FROM JSON_TABLE(jsonb '[]', '$[*]' COLUMNS (x int PATH '$.x')) AS jt;

-- pg: 17
-- expect-not: unsupported-feature
SELECT * FROM JSON_TABLE(jsonb '[]', '$[*]' COLUMNS (x int PATH '$.x')) AS jt;

-- pg: 16
-- expect: unsupported-feature
SELECT JSON_EXISTS(jsonb '{}', '$.a');

-- pg: 17
-- expect-not: unsupported-feature
SELECT JSON_EXISTS(jsonb '{}', '$.a');

-- pg: 16
-- expect: unsupported-feature
SELECT JSON_VALUE(jsonb '{"a": 1}', '$.a');

-- pg: 17
-- expect-not: unsupported-feature
SELECT JSON_VALUE(jsonb '{"a": 1}', '$.a');

-- pg: 16
-- expect: unsupported-feature
SELECT JSON_SCALAR(1);

-- pg: 17
-- expect-not: unsupported-feature
SELECT JSON_SCALAR(1);

-- pg: 16
-- expect: unsupported-feature
MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a RETURNING t.id;

-- pg: 17
-- expect-not: unsupported-feature
MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a RETURNING t.id;

-- pg: 16
-- expect: unsupported-feature
MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE;

-- pg: 17
-- expect-not: unsupported-feature
MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE;

-- pg: 16
-- expect: unsupported-feature
ALTER TABLE g ALTER COLUMN d SET EXPRESSION AS (a * 3);

-- pg: 17
-- expect-not: unsupported-feature
ALTER TABLE g ALTER COLUMN d SET EXPRESSION AS (a * 3);

-- pg: 16
-- expect: unsupported-feature
SELECT to_bin(5);

-- pg: 17
-- expect-not: unsupported-feature
SELECT to_bin(5);

-- pg: 16
-- expect: unsupported-feature
GRANT MAINTAIN ON t TO feature_role;

-- pg: 17
-- expect-not: unsupported-feature
GRANT MAINTAIN ON t TO feature_role;

-- pg: 17
-- expect: unsupported-feature
CREATE TABLE gv (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL);

-- pg: 18
-- expect-not: unsupported-feature
CREATE TABLE gv (a int, b int GENERATED ALWAYS AS (a * 2) VIRTUAL);

-- pg: 17
-- expect: unsupported-feature
CREATE TABLE gv (a int, b int GENERATED ALWAYS AS (a * 2));

-- pg: 18
-- expect-not: unsupported-feature
CREATE TABLE gv (a int, b int GENERATED ALWAYS AS (a * 2));

-- pg: 17
-- expect: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) NOT ENFORCED;

-- pg: 18
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) NOT ENFORCED;

-- pg: 17
-- expect: unsupported-feature
CREATE TABLE fk (a int REFERENCES t NOT ENFORCED);

-- pg: 18
-- expect-not: unsupported-feature
CREATE TABLE fk (a int REFERENCES t NOT ENFORCED);

-- pg: 17
-- expect: unsupported-feature
CREATE TABLE wo (id int, valid tstzrange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));

-- pg: 18
-- expect-not: unsupported-feature
CREATE TABLE wo (id int, valid tstzrange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));

-- pg: 17
-- expect: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID;

-- pg: 18
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID;

-- pg: 17
-- expect: unsupported-feature
SELECT uuidv7();

-- pg: 18
-- expect-not: unsupported-feature
SELECT uuidv7();

-- pg: 17
-- expect: unsupported-feature
SELECT uuidv4();

-- pg: 18
-- expect-not: unsupported-feature
SELECT uuidv4();

-- pg: 17
-- expect: unsupported-feature
SELECT casefold('A');

-- pg: 18
-- expect-not: unsupported-feature
SELECT casefold('A');

-- pg: 17
-- expect: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a;

-- pg: 18
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a;

-- pg: 17
-- expect: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) ENFORCED;

-- pg: 18
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) ENFORCED;

-- pg: 17
-- expect: unsupported-feature
CREATE TABLE wp (id int, valid tstzrange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));
CREATE TABLE wf (id int, valid tstzrange, FOREIGN KEY (id, PERIOD valid) REFERENCES wp (id, PERIOD valid));

-- pg: 18
-- expect-not: unsupported-feature
CREATE TABLE wp (id int, valid tstzrange, PRIMARY KEY (id, valid WITHOUT OVERLAPS));
CREATE TABLE wf (id int, valid tstzrange, FOREIGN KEY (id, PERIOD valid) REFERENCES wp (id, PERIOD valid));

-- before 13, gen_random_uuid() is pgcrypto's: accepted once the extension is there
-- pg: 12
-- expect-not: unsupported-feature
CREATE EXTENSION IF NOT EXISTS pgcrypto;
SELECT gen_random_uuid();

-- another schema's function of the same name is not the builtin
-- pg: 15
-- expect-not: unsupported-feature
SELECT util.uuidv7();

-- a NOT VALID CHECK, a plain NOT NULL column, NOT ENFORCED words in a string: nothing new
-- pg: 11
-- expect-not: unsupported-feature
ALTER TABLE t ADD CONSTRAINT t_pos CHECK (a > 0) NOT VALID;
ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;
COMMENT ON TABLE t IS 'constraints are ENFORCED here';

-- pg: 10
-- expect: unsupported-feature
CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';
CALL pr();

-- pg: 11
-- expect-not: unsupported-feature
CREATE PROCEDURE pr() LANGUAGE sql AS 'SELECT 1';
CALL pr();

-- pg: 16
-- expect: unsupported-feature
COPY t FROM '/dev/null' (FORMAT csv, ON_ERROR ignore);

-- pg: 17
-- expect-not: unsupported-feature
COPY t FROM '/dev/null' (FORMAT csv, ON_ERROR ignore);

-- pg: 17
-- expect: unsupported-feature
ALTER TABLE t ALTER CONSTRAINT t_fk NOT ENFORCED;

-- pg: 18
-- expect-not: unsupported-feature
ALTER TABLE t ALTER CONSTRAINT t_fk NOT ENFORCED;

-- pg: 17
-- expect: unsupported-feature
ALTER TABLE t ALTER CONSTRAINT t_a_nn NO INHERIT;

-- pg: 18
-- expect-not: unsupported-feature
ALTER TABLE t ALTER CONSTRAINT t_a_nn NO INHERIT;

-- pg: 13
-- expect: unsupported-feature
ALTER TABLE p DETACH PARTITION p1 FINALIZE;

-- pg: 14
-- expect-not: unsupported-feature
ALTER TABLE p DETACH PARTITION p1 FINALIZE;

-- pg: 16
-- expect: unsupported-feature
SELECT uuid_extract_version(gen_random_uuid());

-- pg: 17
-- expect-not: unsupported-feature
SELECT uuid_extract_version(gen_random_uuid());

-- the project's own uuidv7() (common before PostgreSQL 18) is not the builtin
-- pg: 15
-- expect-not: unsupported-feature
CREATE FUNCTION uuidv7() RETURNS uuid LANGUAGE plpgsql AS 'begin return gen_random_uuid(); end';
CREATE TABLE t (id uuid PRIMARY KEY DEFAULT uuidv7());

-- pg: 15
-- expect: unsupported-feature
CREATE TABLE t (id uuid PRIMARY KEY DEFAULT uuidv7());

-- pg: 15
-- expect: unsupported-feature
SELECT payload::jsonb IS JSON FROM t;

-- pg: 16
-- expect: unsupported-feature
SELECT json(payload::jsonb) FROM t;
