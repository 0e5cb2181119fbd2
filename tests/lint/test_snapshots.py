"""Snapshots of rendered findings, per rule: the text and the JSON a user sees for each BAD
example, kept as plain files under tests/lint/__snapshots__/ so that wording changes show up
in review.

After an intended change, rewrite them and read the diff:
``ATOMIG_SNAPSHOT_UPDATE=1 .venv/bin/pytest tests/lint/test_snapshots.py`` (``make
snapshots``).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from atomig.lint import LintOptions, all_rules, lint_migrations
from atomig.lint.report import render_json, render_text
from atomig.sql.versions import ServerVersion
from tests.lint.examples import (
    example_context_sources,
    example_sources,
    majors_for,
)

SNAPSHOTS = Path(__file__).parent / "__snapshots__"
UPDATE = os.environ.get("ATOMIG_SNAPSHOT_UPDATE") == "1"
PREFERRED = (15, 18, 14, 12, 11, 10, 16)


def rendered(rule) -> tuple[str, str]:
    """Every BAD example of the rule, linted on one major it holds for: the text report
    and the JSON findings of that rule."""
    texts, documents = [], []
    for index, example in enumerate(rule.bad):
        major = next(m for m in PREFERRED if m in majors_for(example))
        migrations, loose, target = example_sources(example)
        options = LintOptions(
            version=ServerVersion.from_major(major), runner=example.runner
        )
        result = lint_migrations(
            migrations,
            loose,
            options=options,
            context_sources=example_context_sources(example),
        )
        own = tuple(
            f for f in result.findings if f.rule == rule.id and f.path == target
        )
        result = replace(result, findings=own)
        texts.append(f"== bad example {index} (PostgreSQL {major})\n")
        texts.append(render_text(result))
        findings = json.loads(render_json(result))["findings"]
        documents.append({"example": index, "pg": major, "findings": findings})
    return "\n".join(texts), json.dumps(documents, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("rule", list(all_rules().values()), ids=lambda r: r.id)
def test_rendered_findings_match_snapshot(rule):
    text, document = rendered(rule)
    stale = []
    for path, content in (
        (SNAPSHOTS / f"{rule.id}.txt", text),
        (SNAPSHOTS / f"{rule.id}.json", document),
    ):
        if UPDATE:
            SNAPSHOTS.mkdir(exist_ok=True)
            path.write_text(content, encoding="utf-8")
        elif not path.exists() or path.read_text(encoding="utf-8") != content:
            stale.append(path.name)
    assert not stale, (
        f"rendered findings changed: {stale}; if intended, run "
        "ATOMIG_SNAPSHOT_UPDATE=1 pytest tests/lint/test_snapshots.py and review the diff"
    )


def test_no_orphan_snapshots():
    names = {p.stem for p in SNAPSHOTS.glob("*.*")}
    assert names <= set(all_rules()), names - set(all_rules())
