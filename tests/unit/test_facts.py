"""Statement facts: may it run in a transaction (per server version), which locks."""

import pytest

from atomig.sql import (
    LockMode,
    QualifiedName,
    ServerVersion,
    parse_script,
    statement_facts,
)
from atomig.sql.facts import TransactionControl

PG11, PG12, PG13, PG14, PG15, PG18 = (
    ServerVersion.from_major(n) for n in (11, 12, 13, 14, 15, 18)
)


def facts(text: str, version: ServerVersion = PG15):
    [statement] = parse_script(text).statements
    return statement_facts(statement, version)


@pytest.mark.parametrize(
    "text",
    [
        "CREATE INDEX CONCURRENTLY i ON t (a)",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t (a)",
        "DROP INDEX CONCURRENTLY IF EXISTS i",
        "REINDEX INDEX CONCURRENTLY i",
        "REINDEX TABLE CONCURRENTLY t",
        "REINDEX SYSTEM d",
        "REINDEX DATABASE d",
        "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
        "VACUUM t",
        "VACUUM (FULL, ANALYZE) t",
        "CREATE DATABASE d",
        "DROP DATABASE d",
        "ALTER DATABASE d SET TABLESPACE x",
        "ALTER SYSTEM SET work_mem = '1MB'",
        "CREATE TABLESPACE ts LOCATION '/tmp/x'",
        "DROP TABLESPACE ts",
        "CLUSTER",
        "DISCARD ALL",
        "COMMIT PREPARED 'x'",
        "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p",
        "ALTER SUBSCRIPTION s REFRESH PUBLICATION",
        "DROP SUBSCRIPTION s",
    ],
)
def test_statements_that_cannot_run_in_a_transaction(text):
    result = facts(text)
    assert not result.transactional
    assert result.no_transaction_reason


@pytest.mark.parametrize(
    "text",
    [
        "CREATE INDEX i ON t (a)",
        "ANALYZE t",
        "ALTER TABLE p DETACH PARTITION c",
        "ALTER DATABASE d SET work_mem = '1MB'",
        "CLUSTER t USING i",
        "CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p WITH (create_slot = false)",
        "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
        "REINDEX TABLE t",
        "DISCARD PLANS",
        "ALTER TYPE e RENAME VALUE 'a' TO 'b'",
    ],
)
def test_statements_that_may_run_in_a_transaction(text):
    assert facts(text).transactional


def test_enum_add_value_depends_on_server_version():
    assert not facts("ALTER TYPE mood ADD VALUE 'meh'", PG11).transactional
    assert facts("ALTER TYPE mood ADD VALUE 'meh'", PG12).transactional
    assert facts("ALTER TYPE mood ADD VALUE 'meh'", PG18).transactional


def test_attach_partition_parent_lock_depends_on_version():
    text = "ALTER TABLE p ATTACH PARTITION c FOR VALUES FROM (1) TO (2)"
    parent, child = QualifiedName(None, "p"), QualifiedName(None, "c")
    assert facts(text, PG11).lock_on(parent) is LockMode.ACCESS_EXCLUSIVE
    assert facts(text, PG12).lock_on(parent) is LockMode.SHARE_UPDATE_EXCLUSIVE
    assert facts(text, PG12).lock_on(child) is LockMode.ACCESS_EXCLUSIVE


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("BEGIN", TransactionControl.BEGIN),
        ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", TransactionControl.BEGIN),
        ("COMMIT", TransactionControl.COMMIT),
        ("END", TransactionControl.COMMIT),
        ("ROLLBACK", TransactionControl.ROLLBACK),
        ("SAVEPOINT a", TransactionControl.SAVEPOINT),
        ("PREPARE TRANSACTION 'x'", TransactionControl.PREPARE),
    ],
)
def test_transaction_control(text, kind):
    assert facts(text).transaction_control is kind


@pytest.mark.parametrize(
    ("text", "relation", "mode"),
    [
        ("ALTER TABLE t ADD COLUMN c int", "t", LockMode.ACCESS_EXCLUSIVE),
        ("ALTER TABLE t VALIDATE CONSTRAINT c", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        (
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id) NOT VALID",
            "t",
            LockMode.SHARE_ROW_EXCLUSIVE,
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id) NOT VALID",
            "p",
            LockMode.SHARE_ROW_EXCLUSIVE,
        ),
        (
            "ALTER TABLE t ADD COLUMN a int REFERENCES p (id)",
            "p",
            LockMode.SHARE_ROW_EXCLUSIVE,
        ),
        (
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
            "t",
            LockMode.ACCESS_EXCLUSIVE,
        ),
        ("ALTER TABLE t SET (fillfactor = 70)", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        ("ALTER TABLE t DISABLE TRIGGER ALL", "t", LockMode.SHARE_ROW_EXCLUSIVE),
        ("CREATE INDEX i ON t (a)", "t", LockMode.SHARE),
        ("CREATE INDEX CONCURRENTLY i ON t (a)", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        (
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
            "t",
            LockMode.SHARE_ROW_EXCLUSIVE,
        ),
        ("DROP TABLE t", "t", LockMode.ACCESS_EXCLUSIVE),
        ("TRUNCATE t", "t", LockMode.ACCESS_EXCLUSIVE),
        ("UPDATE t SET a = 1", "t", LockMode.ROW_EXCLUSIVE),
        ("LOCK TABLE t IN SHARE MODE", "t", LockMode.SHARE),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY t", "t", LockMode.EXCLUSIVE),
        ("COMMENT ON COLUMN t.a IS 'x'", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        ("VACUUM FULL t", "t", LockMode.ACCESS_EXCLUSIVE),
        ("ALTER INDEX t RENAME TO u", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        ("DROP TRIGGER tr ON t", "t", LockMode.ACCESS_EXCLUSIVE),
        # from the lock audit (tests/integration/test_lint_facts_trace.py)
        ("ALTER INDEX g SET (fastupdate = off)", "g", LockMode.ACCESS_EXCLUSIVE),
        ("ALTER INDEX b SET (pages_per_range = 64)", "b", LockMode.ACCESS_EXCLUSIVE),
        (
            "ALTER INDEX i SET (deduplicate_items = off)",
            "i",
            LockMode.SHARE_UPDATE_EXCLUSIVE,
        ),
        ("COMMENT ON INDEX i IS 'x'", "i", LockMode.SHARE_UPDATE_EXCLUSIVE),
        ("COMMENT ON TRIGGER tr ON t IS 'x'", "t", LockMode.ACCESS_SHARE),
        ("CREATE PUBLICATION pub FOR TABLE t", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        ("ALTER PUBLICATION pub ADD TABLE t", "t", LockMode.SHARE_UPDATE_EXCLUSIVE),
        ("ALTER SEQUENCE s OWNED BY t.a", "t", LockMode.ACCESS_SHARE),
        ("CREATE TABLE n (LIKE t)", "t", LockMode.ACCESS_SHARE),
        ("ALTER TABLE t OF ct", "ct", LockMode.ACCESS_SHARE),
    ],
)
def test_lock_modes(text, relation, mode):
    assert facts(text).lock_on(QualifiedName(None, relation)) is mode


def test_qualified_names_and_creates():
    result = facts('CREATE TABLE "Shop".orders (id int REFERENCES shop.users (id))')
    assert result.creates == (QualifiedName("Shop", "orders"),)
    assert (
        result.lock_on(QualifiedName("shop", "users")) is LockMode.SHARE_ROW_EXCLUSIVE
    )
    assert str(QualifiedName("Shop", "orders")) == '"Shop".orders'


def test_lock_mode_conflicts_follow_the_docs_table():
    m = LockMode
    assert m.ACCESS_EXCLUSIVE.blocks_reads
    assert m.SHARE.blocks_writes and not m.SHARE.blocks_reads
    assert not m.SHARE_UPDATE_EXCLUSIVE.blocks_writes
    assert m.SHARE_UPDATE_EXCLUSIVE.conflicts_with(m.SHARE_UPDATE_EXCLUSIVE)
    assert not m.SHARE.conflicts_with(m.SHARE)
    assert m.SHARE_ROW_EXCLUSIVE.conflicts_with(m.SHARE_ROW_EXCLUSIVE)
    # Symmetry of the matrix.
    for a in m:
        for b in m:
            assert a.conflicts_with(b) == b.conflicts_with(a)
    assert m.from_pg_name("AccessExclusiveLock") is m.ACCESS_EXCLUSIVE


@pytest.mark.parametrize(
    ("text", "version", "scans", "rewrites", "may_rewrite"),
    [
        ("ALTER TABLE t ADD COLUMN c int CHECK (c > 0)", PG15, ["t"], [], []),
        ("ALTER TABLE t ADD COLUMN c int REFERENCES p", PG15, [], [], []),
        ("ALTER TABLE t ADD COLUMN c int DEFAULT 1 REFERENCES p", PG15, ["t"], [], []),
        ("ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)", PG15, ["c"], [], []),
        ("ALTER INDEX p_i ATTACH PARTITION c_i", PG15, [], [], []),
        ("ALTER TABLE t ADD CONSTRAINT n NOT NULL a", PG18, ["t"], [], []),
        ("ALTER TABLE t ADD CONSTRAINT n NOT NULL a NOT VALID", PG18, [], [], []),
        (
            "ALTER TABLE t ALTER COLUMN g SET EXPRESSION AS (a)",
            ServerVersion(170000),
            ["t"],
            ["t"],
            [],
        ),
        ("ALTER TABLE t ALTER COLUMN g SET EXPRESSION AS (a)", PG18, [], [], ["t"]),
        ("REFRESH MATERIALIZED VIEW v", PG15, ["v"], ["v"], []),
        ("REFRESH MATERIALIZED VIEW CONCURRENTLY v", PG15, ["v"], [], []),
        ("REINDEX TABLE t", PG15, ["t"], [], []),
        ("REINDEX INDEX i", PG15, [], [], []),
    ],
)
def test_scans_and_rewrites(text, version, scans, rewrites, may_rewrite):
    result = facts(text, version)
    assert [name.name for name in result.scans] == scans
    assert [name.name for name in result.rewrites] == rewrites
    assert [name.name for name in result.may_rewrite] == may_rewrite
