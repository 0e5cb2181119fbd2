"""ONE generic test over the registry: every BAD example of a rule fires it, every GOOD
example does not, on every PostgreSQL major the example holds for."""

from __future__ import annotations

import pytest

from atomig.lint import all_rules
from tests.lint.examples import lint_example, majors_for

CASES = [
    (rule.id, kind, index, example)
    for rule in all_rules().values()
    for kind, examples in (("bad", rule.bad), ("good", rule.good))
    for index, example in enumerate(examples)
]


@pytest.mark.parametrize(
    ("rule_id", "kind", "index", "example"),
    CASES,
    ids=[f"{rule}-{kind}{index}" for rule, kind, index, _ in CASES],
)
def test_rule_example(rule_id, kind, index, example):
    majors = majors_for(example)
    assert majors, f"{rule_id} {kind} example {index} holds for no tested major"
    for major in majors:
        fired = [f for f in lint_example(example, major) if f.rule == rule_id]
        if kind == "bad":
            assert fired, f"{rule_id} did not fire on PG {major}:\n{example.sql}"
        else:
            assert not fired, f"{rule_id} fired on a GOOD example (PG {major}): {fired}"


def test_every_rule_has_bad_and_good_examples():
    for rule in all_rules().values():
        assert rule.bad and rule.good, rule.id
