"""down-incomplete (lint, offline) against `atomig verify` (a real server, PG 15 and 18): the
migrations verify proves reversible draw no finding; the ones it proves not reversible do,
after the whole up or when a step fails part-way (verify's rollback at each step
boundary)."""

from __future__ import annotations

import json

import pytest

BASE = (
    "20260101_0900_base",
    "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text);\n"
    "CREATE INDEX t_b_idx ON t (b);\n",
    "DROP TABLE IF EXISTS t;\n",
)
REVERSIBLE = (
    (
        "20260102_0900_orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY, t_id bigint, total numeric);\n"
        "CREATE INDEX orders_t_id ON orders (t_id);\n",
        "DROP TABLE IF EXISTS orders;\n",
    ),
    (
        "20260103_0900_steps",
        "BEGIN;\n"
        "ALTER TABLE orders ADD COLUMN note text;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_t_fk FOREIGN KEY (t_id) "
        "REFERENCES t NOT VALID;\n"
        "COMMIT;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_t_fk;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_note ON orders (note);\n",
        # The index goes with its column.
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_t_fk;\n"
        "ALTER TABLE orders DROP COLUMN IF EXISTS note;\n",
    ),
    (
        "20260104_0900_rename",
        "ALTER TABLE t RENAME COLUMN b TO label;\n"
        "ALTER INDEX t_b_idx RENAME TO t_label_idx;\n",
        "ALTER INDEX IF EXISTS t_label_idx RENAME TO t_b_idx;\n"
        "ALTER TABLE t RENAME COLUMN label TO b;\n",
    ),
    (
        "20260105_0900_retype",
        "ALTER TABLE t ALTER COLUMN a TYPE bigint;\n",
        "ALTER TABLE t ALTER COLUMN a TYPE integer;\n",
    ),
    (
        "20260106_0900_events",
        "CREATE TABLE events (at date NOT NULL, k int) PARTITION BY RANGE (at);\n"
        "CREATE TABLE events_2024 PARTITION OF events "
        "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
        "CREATE INDEX events_k ON ONLY events (k);\n"
        "CREATE INDEX CONCURRENTLY events_2024_k ON events_2024 (k);\n"
        "ALTER INDEX events_k ATTACH PARTITION events_2024_k;\n",
        # The partition and its attached index go with the parent.
        "DROP TABLE IF EXISTS events;\n",
    ),
    (
        # The down drops the partition indexes after their parent (PostgreSQL refuses to
        # drop one while attached): complete after the whole up and after each step.
        "20260106_1000_events_at",
        "CREATE INDEX IF NOT EXISTS events_at_idx ON ONLY events (at);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_2024_at_idx "
        "ON events_2024 (at);\n"
        "ALTER INDEX events_at_idx ATTACH PARTITION events_2024_at_idx;\n",
        "DROP INDEX IF EXISTS events_at_idx;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS events_2024_at_idx;\n",
    ),
    (
        # Both names of the renamed constraint are dropped: complete at each boundary.
        "20260106_1100_check",
        "ALTER TABLE orders ADD CONSTRAINT orders_total_check_new CHECK (total >= 0) "
        "NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check_new;\n"
        "ALTER TABLE orders RENAME CONSTRAINT orders_total_check_new "
        "TO orders_total_check;\n",
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_total_check;\n"
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_total_check_new;\n",
    ),
    (
        "20260107_0900_view",
        # (each up stays applied for the next: b is called label here)
        "CREATE VIEW t_labels AS SELECT id, label FROM t;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS t_label_idx;\n",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_label_idx ON t (label);\n"
        "DROP VIEW IF EXISTS t_labels;\n",
    ),
)
NOT_REVERSIBLE = {
    "index": (
        "20260102_0900_idx",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_c ON t (a);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_d ON t (a, id);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS t_a_c;\n",
        "index t_a_d, created by the up (line 2), is still there after the down",
    ),
    "rename": (
        "20260102_0900_col",
        "ALTER TABLE t ADD COLUMN c int;\nALTER TABLE t RENAME COLUMN b TO label;\n",
        "ALTER TABLE t DROP COLUMN IF EXISTS c;\n",
        "column t.b, renamed to label by the up (line 2), is not renamed back",
    ),
}


def _down_incomplete(project) -> list[dict]:
    result = project.cli("lint", "--json", "--no-database")
    assert result.exit_code in (0, 1), result.output
    return [
        f
        for f in json.loads(result.stdout)["findings"]
        if f["rule"] == "down-incomplete"
    ]


def _verify(project) -> dict[str, bool]:
    result = project.cli("verify", "--json")
    document = json.loads(result.stdout)
    return {m["version"]: m["ok"] for m in document["migrations"]}


def test_migrations_verify_proves_reversible_draw_no_finding(project):
    project.add(*BASE)
    for migration in REVERSIBLE:
        project.add(*migration)
    proofs = _verify(project)
    assert len(proofs) == 1 + len(REVERSIBLE)
    assert all(proofs.values()), proofs
    assert _down_incomplete(project) == []


@pytest.mark.parametrize("case", NOT_REVERSIBLE)
def test_migrations_verify_proves_not_reversible_draw_the_finding(project, case):
    name, up, down, message = NOT_REVERSIBLE[case]
    project.add(*BASE)
    project.add(name, up, down)
    proofs = _verify(project)
    assert proofs == {"20260101_0900": True, name[:13]: False}
    [finding] = _down_incomplete(project)
    assert finding["file"].endswith(f"{name}.down.sql")
    assert finding["message"].startswith(message), finding["message"]


_EVENTS = (
    "20260101_1000_events",
    "CREATE TABLE events (id bigint, at date NOT NULL, kind text) "
    "PARTITION BY RANGE (at);\n"
    "CREATE TABLE events_a PARTITION OF events "
    "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
    "CREATE TABLE events_b PARTITION OF events "
    "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n",
    "DROP TABLE IF EXISTS events;\n",
)
# Complete after the whole up, not after a failure part-way: (migration, verify's first
# failing check, the findings' messages).
NOT_REVERSIBLE_PART_WAY = {
    "attached-index": (
        (
            "20260102_0900_kind",
            "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events (kind);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_a_kind_idx "
            "ON events_a (kind);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_b_kind_idx "
            "ON events_b (kind);\n"
            "ALTER INDEX events_kind_idx ATTACH PARTITION events_a_kind_idx;\n"
            "ALTER INDEX events_kind_idx ATTACH PARTITION events_b_kind_idx;\n",
            "DROP INDEX IF EXISTS events_kind_idx;\n",
        ),
        "rollback when step 3/4 fails",
        [
            "when step 3/4 fails, index events_a_kind_idx (created by the up, line 2) "
            "is left after the down: it is dropped with events_kind_idx only once "
            "attached (line 4)",
            "when step 4/4 fails, index events_b_kind_idx (created by the up, line 3) "
            "is left after the down: it is dropped with events_kind_idx only once "
            "attached (line 5)",
        ],
    ),
    "renamed-constraint": (
        (
            "20260102_0900_check",
            "ALTER TABLE t ADD CONSTRAINT t_a_check_new CHECK (a > 0) NOT VALID;\n"
            "ALTER TABLE t VALIDATE CONSTRAINT t_a_check_new;\n"
            "ALTER TABLE t RENAME CONSTRAINT t_a_check_new TO t_a_check;\n",
            "ALTER TABLE t DROP CONSTRAINT IF EXISTS t_a_check;\n",
        ),
        "rollback when step 2/2 fails",
        [
            "when step 2/2 fails, constraint t_a_check_new of table t (added by the "
            "up, line 1) is left after the down: the down undoes it by the name a "
            "later step gives it, t_a_check (line 3)",
        ],
    ),
    "renamed-table": (
        (
            "20260102_0900_tags",
            "CREATE TABLE tags_new (id bigint PRIMARY KEY, t_id bigint);\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS tags_new_t_id ON tags_new (t_id);\n"
            "ALTER TABLE tags_new RENAME TO tags;\n",
            "DROP TABLE IF EXISTS tags;\n",
        ),
        "rollback when step 2/3 fails",
        [
            "when step 2/3 fails, table tags_new (created by the up, line 1) is left "
            "after the down: the down undoes it by the name a later step gives it, "
            "tags (line 3)",
        ],
    ),
}


@pytest.mark.parametrize("case", NOT_REVERSIBLE_PART_WAY)
def test_downs_incomplete_part_way_draw_the_finding_verify_agrees(project, case):
    migration, check, messages = NOT_REVERSIBLE_PART_WAY[case]
    project.add(*(_EVENTS if case == "attached-index" else BASE))
    project.add(*migration)
    result = project.cli("verify", "--json")
    [proof] = [
        m
        for m in json.loads(result.stdout)["migrations"]
        if m["version"] == "20260102_0900"
    ]
    failed = [c["check"] for c in proof["checks"] if not c["ok"]]
    assert failed == [check], proof["checks"]
    found = _down_incomplete(project)
    assert [f["message"] for f in found] == messages
    assert all(f["file"].endswith(f"{migration[0]}.down.sql") for f in found)
    # The statements the findings advise, where they say (after the one-line down), make
    # a down verify proves right after the whole up and at every step boundary.
    fixes = [f["fix"].split("`")[1] for f in found]
    name, up, down = migration
    project.add(name, up, down + "".join(f"{fix}\n" for fix in fixes))
    assert all(_verify(project).values())
    assert _down_incomplete(project) == []
