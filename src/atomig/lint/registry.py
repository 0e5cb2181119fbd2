"""The rule registry: every module listed in :mod:`atomig.lint.rules`, by id."""

from __future__ import annotations

from functools import cache

from atomig.lint import rules as _rules
from atomig.lint.rule import Rule, rule_from_module


@cache
def all_rules() -> dict[str, Rule]:
    """Every rule by id, in catalogue order."""
    registry: dict[str, Rule] = {}
    for module in _rules.MODULES:
        rule = rule_from_module(module)
        if rule.id in registry:
            raise ValueError(f"duplicate rule id {rule.id!r} ({module.__name__})")
        registry[rule.id] = rule
    return registry


def get_rule(rule_id: str) -> Rule | None:
    """The rule called ``rule_id``."""
    return all_rules().get(rule_id)
