"""`-- atomig: column_order=appended` in a down file: verify accepts re-added columns at
the end of the table, and nothing else (PG 15 and 18)."""

from __future__ import annotations

import json

BASE = (
    "20260101_0900_base",
    "CREATE TABLE t (id bigint PRIMARY KEY, a text, b text);\n",
    "DROP TABLE IF EXISTS t;\n",
)
DROP_UP = "ALTER TABLE t DROP COLUMN IF EXISTS a;\n"
DROP_DOWN = "ALTER TABLE t ADD COLUMN IF NOT EXISTS a text;\n"


def proof(project):
    result = project.cli("verify", "--json")
    [migration] = json.loads(result.stdout)["migrations"]
    return result.exit_code, {c["check"]: c for c in migration["checks"]}


def test_without_the_directive_the_order_counts(project):
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add("20260102_0900_drop_a", DROP_UP, DROP_DOWN)
    code, checks = proof(project)
    assert code == 1
    assert not checks["down restores the schema"]["ok"]


def test_the_directive_accepts_only_the_order(project):
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    project.add(
        "20260102_0900_drop_a",
        DROP_UP,
        "-- atomig: column_order=appended\n" + DROP_DOWN,
    )
    code, checks = proof(project)
    assert code == 0, checks
    assert (
        "order of the columns of public.t"
        in checks["down restores the schema"]["message"]
    )
    # A real difference is still one.
    project.add(
        "20260102_0900_drop_a",
        DROP_UP,
        "-- atomig: column_order=appended\nALTER TABLE t ADD COLUMN IF NOT EXISTS a varchar;\n",
    )
    code, checks = proof(project)
    assert code == 1 and not checks["down restores the schema"]["ok"]
