"""Every rule is documented from its module, and the generated pages are up to date."""

from pathlib import Path

import pytest

from atomig.lint import all_rules
from atomig.lint.docs import expected_files
from atomig.lint.rule import CATEGORIES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("rule", list(all_rules().values()), ids=lambda r: r.id)
def test_rule_anatomy(rule):
    assert rule.summary.endswith("."), rule.summary
    assert "## Why" in rule.doc and "## Instead" in rule.doc
    assert rule.category in CATEGORIES
    assert rule.id == rule.module.rsplit(".", 1)[-1].replace("_", "-")
    source = Path(__import__(rule.module, fromlist=["x"]).__file__)
    assert len(source.read_text().splitlines()) <= 150, f"{rule.id} is over budget"


def test_generated_docs_are_fresh():
    stale = [
        str(path.relative_to(ROOT))
        for path, content in expected_files(ROOT).items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    assert not stale, f"regenerate with `make docs`: {stale}"
    assert (ROOT / "README.md") in expected_files(ROOT), "README lacks the rule table"


def test_no_orphan_rule_pages():
    pages = {p.stem for p in (ROOT / "docs" / "rules").glob("*.md")}
    assert pages == set(all_rules())
