"""The migration linter: rules over statements, the plan, the replayed schema history and
(optionally) live-catalog facts. Pure: no database access here."""

from atomig.lint.catalog import CatalogFacts, CatalogTable
from atomig.lint.context import LintOptions
from atomig.lint.engine import (
    ContextSource,
    LintResult,
    MigrationSource,
    SourceFile,
    lint_migrations,
)
from atomig.lint.finding import Finding, Severity
from atomig.lint.registry import all_rules, get_rule
from atomig.lint.rule import Example, Rule

__all__ = [
    "CatalogFacts",
    "CatalogTable",
    "ContextSource",
    "Example",
    "Finding",
    "LintOptions",
    "LintResult",
    "MigrationSource",
    "Rule",
    "Severity",
    "SourceFile",
    "all_rules",
    "get_rule",
    "lint_migrations",
]
