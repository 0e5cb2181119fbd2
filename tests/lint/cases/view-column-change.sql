-- Edge cases of view-column-change: blank-line separated, each one migration's up file.
-- expect: view-column-change
-- Replaced twice in one file: the second drops the column the first added.
CREATE TABLE t (id bigint PRIMARY KEY, a int, b text);
CREATE VIEW v AS SELECT * FROM t;
CREATE OR REPLACE VIEW v AS SELECT id, a, b, a + 1 AS c FROM t;
CREATE OR REPLACE VIEW v AS SELECT * FROM t;

-- expect-not: view-column-change
-- A star expands to the columns the table has when the view is created (PostgreSQL
-- expands it then): columns added to t later are not the view's.
CREATE TABLE t (id bigint PRIMARY KEY, a int);
CREATE VIEW v AS SELECT * FROM t;
ALTER TABLE t ADD COLUMN b text;
CREATE OR REPLACE VIEW v AS SELECT id, a, b FROM t;

-- expect-not: view-column-change
-- Renamed by ALTER VIEW first: the replacement keeps the new name.
CREATE TABLE t (id bigint PRIMARY KEY, a int);
CREATE VIEW v AS SELECT id, a FROM t;
ALTER VIEW v RENAME COLUMN a TO amount;
CREATE OR REPLACE VIEW v AS SELECT id, a AS amount FROM t;

-- expect: view-column-change
-- The column list names the columns: (ident) renames id.
CREATE TABLE t (id bigint PRIMARY KEY, a int);
CREATE VIEW v AS SELECT id, a FROM t;
CREATE OR REPLACE VIEW v (ident) AS SELECT id, a FROM t;

-- expect-not: view-column-change
-- Unknown names (expressions) are not compared; a view unknown to the history neither.
CREATE TABLE t (id bigint PRIMARY KEY, a int);
CREATE VIEW v AS SELECT id, a + 1 FROM t;
CREATE OR REPLACE VIEW v AS SELECT id, a * 2 FROM t;
CREATE OR REPLACE VIEW elsewhere AS SELECT 1 AS x;

-- expect: view-column-change
-- A table's column renamed: the view's column keeps its old name (PG 15 and 18).
CREATE TABLE t (id bigint PRIMARY KEY, a int);
CREATE VIEW v AS SELECT id, a FROM t;
ALTER TABLE t RENAME COLUMN a TO b;
CREATE OR REPLACE VIEW v AS SELECT id, b FROM t;
