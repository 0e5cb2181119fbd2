"""Edge cases in data: tests/lint/cases/*.sql.

Each file holds cases separated by blank lines. A case starts with comment lines:
``-- expect: rule-a, rule-b`` (each must fire), ``-- expect-error: rule-d`` (must fire as an
error: a warning of the same rule does not do), ``-- expect-not: rule-c`` (must not fire),
optionally ``-- pg: 11`` and ``-- runner: other``. The rest is one migration's up file, linted
with no history (tables it does not create count as existing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations
from atomig.lint.finding import Severity
from atomig.lint.registry import all_rules
from atomig.sql.versions import ServerVersion

CASES_DIR = Path(__file__).parent / "cases"


def load_cases():
    for path in sorted(CASES_DIR.glob("*.sql")):
        for number, block in enumerate(path.read_text().split("\n\n")):
            if not block.strip():
                continue
            meta = {
                "expect": [],
                "expect-error": [],
                "expect-not": [],
                "pg": "15",
                "runner": "atomig",
            }
            for line in block.splitlines():
                for key in meta:
                    prefix = f"-- {key}:"
                    if line.startswith(prefix):
                        value = line[len(prefix) :].strip()
                        if isinstance(meta[key], list):
                            meta[key] += [
                                v.strip() for v in value.split(",") if v.strip()
                            ]
                        else:
                            meta[key] = value
            yield pytest.param(block, meta, id=f"{path.stem}-{number}")


@pytest.mark.parametrize(("sql", "meta"), list(load_cases()))
def test_case(sql, meta):
    known = set(all_rules())
    expected = {*meta["expect"], *meta["expect-error"]}
    assert expected or meta["expect-not"], "a case must expect something"
    assert expected | set(meta["expect-not"]) <= known
    options = LintOptions(
        version=ServerVersion.from_major(int(meta["pg"])), runner=meta["runner"]
    )
    migration = MigrationSource(
        "20240101_0000_case",
        SourceFile("case.up.sql", sql, "up"),
        SourceFile("case.down.sql", "SELECT 1;", "down"),
    )
    result = lint_migrations([migration], options=options)
    fired = [f.rule for f in result.findings if f.path == "case.up.sql"]
    errors = [
        f.rule
        for f in result.findings
        if f.path == "case.up.sql" and f.severity == Severity.ERROR
    ]
    for rule in meta["expect-error"]:
        assert rule in errors, f"{rule} did not fire as an error; fired: {fired}"
    for rule in meta["expect"]:
        assert rule in fired, f"{rule} did not fire; fired: {fired}"
    for rule in meta["expect-not"]:
        assert rule not in fired, f"{rule} fired: {result.findings}"
    for finding in result.findings:
        # A finding names what it is about: never a missing name rendered as "None".
        assert "None" not in f"{finding.message} {finding.fix}", finding
        # … nor an empty one ("dropping extension  breaks").
        assert "  " not in finding.message, finding
