"""Every GOOD example of every rule is valid SQL that PostgreSQL accepts (PG 15 and 18):
no suggested fix is one the server rejects."""

from __future__ import annotations

import pytest

from atomig.lint import all_rules
from atomig.sql import parse_script

RULES = [rule for rule in all_rules().values() if any(g.apply for g in rule.good)]


def run_script(conn, text: str) -> None:
    for statement in parse_script(text).statements:
        conn.execute(statement.text.encode("utf-8"))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_good_examples_apply(rule, database):
    applied = 0
    for index, example in enumerate(rule.good):
        if not example.apply or not example.holds_for(database.major):
            continue
        schema = f"ex{index}"
        with database.connect() as conn:
            # Each example in a schema of its own, so examples never see each other.
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"SET search_path = {schema}, public")
            run_script(conn, example.before)
            if example.direction == "down":
                pass  # the down runs after its up, which `before` holds
            run_script(conn, example.sql)
            if example.down:
                run_script(conn, example.down)
        applied += 1
    assert applied or all(not g.holds_for(database.major) for g in rule.good)
