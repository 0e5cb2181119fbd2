"""The lock and rewrite facts of atomig.sql, confirmed on real servers (PG 15 and 18):
locks from pg_locks of our own backend inside a transaction, rewrites from relfilenode."""

from __future__ import annotations

import pytest

from atomig.lint.schema import SchemaState
from atomig.sql import LockMode, ServerVersion, parse_script, statement_facts
from atomig.sql.classify import dropped_foreign_key_locks
from atomig.sql.types import TypeRef, change_rewrites

SETUP = """
CREATE TABLE p (id bigint PRIMARY KEY);
CREATE TABLE t (id bigint PRIMARY KEY, a int, p_id bigint, s varchar(10), n numeric(10,2),
                ts timestamp(3));
ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;
CREATE INDEX t_a_idx ON t (a);
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE VIEW vw AS SELECT id FROM t;
CREATE SEQUENCE sq;
CREATE TABLE parent (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE child (id int, at date);
CREATE TABLE base (id bigint);
CREATE TABLE heir (id bigint);
CREATE TABLE kid (id bigint) INHERITS (base);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
INSERT INTO p SELECT g FROM generate_series(1, 20) g;
INSERT INTO t SELECT g, g, g, 'x', g, now() FROM generate_series(1, 20) g;
ALTER TABLE t ADD CONSTRAINT t_p_fk FOREIGN KEY (p_id) REFERENCES p NOT VALID;
"""

LOCK_CASES = [
    "CREATE INDEX t_p_idx ON t (p_id)",
    "ALTER TABLE t ADD COLUMN c int",
    "ALTER TABLE t ADD CONSTRAINT t_a2 CHECK (a > 1) NOT VALID",
    "ALTER TABLE t ADD CONSTRAINT t_p_fk2 FOREIGN KEY (p_id) REFERENCES p NOT VALID",
    "ALTER TABLE t ADD COLUMN p2 bigint REFERENCES p",
    "ALTER TABLE heir INHERIT base",
    "ALTER TABLE kid NO INHERIT base",
    "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
    "ALTER TABLE t ALTER COLUMN a SET STATISTICS 100",
    "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
    "ALTER TABLE t ALTER COLUMN s TYPE text",
    "ALTER TABLE t DISABLE TRIGGER ALL",
    "ALTER TABLE t RENAME COLUMN a TO b",
    "ALTER INDEX t_a_idx RENAME TO t_a_index",
    "ALTER TABLE parent ATTACH PARTITION child FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch()",
    "COMMENT ON TABLE t IS 'x'",
    "CREATE STATISTICS t_stats ON a, p_id FROM t",
    "REFRESH MATERIALIZED VIEW mv",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "TRUNCATE t",
    "LOCK TABLE t IN SHARE MODE",
    "UPDATE t SET a = 1 WHERE id = 1",
    "REINDEX TABLE t",
    "CLUSTER t USING t_pkey",
    # SET/RESET (…) locks as its strongest option: a view's are ACCESS EXCLUSIVE.
    "ALTER TABLE t SET (fillfactor = 70, toast.autovacuum_enabled = false)",
    "ALTER TABLE t SET (fillfactor = 70, user_catalog_table = true)",
    "ALTER VIEW vw SET (security_barrier = true)",
    "ALTER VIEW vw RESET (check_option)",
    "ALTER MATERIALIZED VIEW mv SET (fillfactor = 70)",
    "ALTER SEQUENCE sq INCREMENT BY 2",
    "ALTER SEQUENCE sq RESTART WITH 100",
]


def setup(conn):
    for statement in parse_script(SETUP).statements:
        conn.execute(statement.text)


def held_locks(conn, text):
    # Names as they were before the statement (a rename changes them).
    names = dict(conn.execute("SELECT oid, relname FROM pg_class").fetchall())
    conn.execute("BEGIN")
    try:
        conn.execute(text)
        rows = conn.execute(
            "SELECT relation, mode FROM pg_locks "
            "WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted"
        ).fetchall()
    finally:
        conn.execute("ROLLBACK")
    held: dict[str, LockMode] = {}
    for oid, mode in rows:
        relation = names.get(oid, str(oid))
        level = LockMode.from_pg_name(mode)
        held[relation] = max(level, held.get(relation, level))
    return held


@pytest.mark.parametrize("text", LOCK_CASES)
def test_lock_facts_match_pg_locks(database, text):
    [statement] = parse_script(text).statements
    facts = statement_facts(statement, ServerVersion.from_major(database.major))
    assert facts.locks, "every case takes a lock"
    with database.connect() as conn:
        setup(conn)
        held = held_locks(conn, text)
    for lock in facts.locks:
        assert held.get(lock.relation.name) == lock.mode, (lock, held)


REWRITE_CASES = [
    ("ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()", False),
    ("ALTER TABLE t ADD COLUMN c text DEFAULT 'x'", False),
    ("ALTER TABLE t ADD COLUMN c float8 DEFAULT random()", True),
    ("ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid()", True),
    ("ALTER TABLE t ADD COLUMN c bigserial", True),
    ("ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED", True),
    ("ALTER TABLE t ADD COLUMN c bigint GENERATED ALWAYS AS IDENTITY", True),
    ("ALTER TABLE t SET UNLOGGED", True),
    ("VACUUM FULL t", True),
    ("CLUSTER t USING t_pkey", True),
    ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", False),
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint", True),
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(20)", False),
    ("ALTER TABLE t ALTER COLUMN s TYPE text", False),
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(5)", True),
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar", False),
    ("ALTER TABLE t ALTER COLUMN n TYPE numeric(12,2)", False),
    ("ALTER TABLE t ALTER COLUMN n TYPE numeric(12,3)", True),
    ("ALTER TABLE t ALTER COLUMN n TYPE numeric", False),
    ("ALTER TABLE t ALTER COLUMN ts TYPE timestamp(6)", False),
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(20) USING s || ''", True),
    # USING the column itself, bare or cast to the new type: decided as without USING.
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(20) USING s::varchar(20)", False),
    ("ALTER TABLE t ALTER COLUMN s TYPE text USING CAST(s AS text)", False),
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(20) USING t.s", False),
    ("ALTER TABLE t ALTER COLUMN a TYPE integer USING a::integer", False),
    ("ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint", True),
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(5) USING s::varchar(5)", True),
    # a cast to another type than the new one is a computed value
    ("ALTER TABLE t ALTER COLUMN s TYPE varchar(20) USING s::text", True),
    ("ALTER TABLE t ALTER COLUMN a TYPE integer USING a + 0", True),
]
OLD_TYPES = {
    "a": "integer",
    "s": "character varying(10)",
    "n": "numeric(10,2)",
    "ts": "timestamp(3) without time zone",
}


@pytest.mark.parametrize(("text", "rewrites"), REWRITE_CASES)
def test_rewrite_facts_match_relfilenode(database, text, rewrites):
    [statement] = parse_script(text).statements
    facts = statement_facts(statement, ServerVersion.from_major(database.major))
    if facts.may_rewrite:  # a type change: decided with the old type, as lint does
        cmd = statement.body["cmds"][0]["AlterTableCmd"]
        new = TypeRef.from_node(cmd["def"]["ColumnDef"]["typeName"])
        predicted = change_rewrites(TypeRef.parse(OLD_TYPES[cmd["name"]]), new)
    else:
        predicted = bool(facts.rewrites)
    with database.connect() as conn:
        setup(conn)
        before = conn.execute("SELECT pg_relation_filenode('t')").fetchone()[0]
        conn.execute(text)
        after = conn.execute("SELECT pg_relation_filenode('t')").fetchone()[0]
    assert (before != after) == rewrites, "the case's expectation is wrong"
    assert predicted == rewrites, f"facts say rewrite={predicted}"


# Which constraint is a foreign key is not in the statement's text: lint knows it from the
# replayed history (or not at all), so the locks are the facts plus the schema's answer.
KNOWN_LOCK_CASES = [
    "ALTER TABLE t DROP CONSTRAINT t_p_fk",
    "ALTER TABLE t DROP CONSTRAINT t_a_check",
]


@pytest.mark.parametrize("text", KNOWN_LOCK_CASES)
def test_lock_facts_with_schema_knowledge_match_pg_locks(database, text):
    schema = SchemaState()
    for statement in parse_script(SETUP).statements:
        schema.apply(statement, "setup")
    [statement] = parse_script(text).statements
    facts = statement_facts(statement, ServerVersion.from_major(database.major))
    locks = facts.locks + dropped_foreign_key_locks(statement, schema.referenced_by)
    with database.connect() as conn:
        setup(conn)
        held = held_locks(conn, text)
    assert {lock.relation.name: lock.mode for lock in locks} == {
        name: mode for name, mode in held.items() if mode is LockMode.ACCESS_EXCLUSIVE
    }, held
