"""Every rule is documented from its module, and the generated pages are up to date."""

import re
from pathlib import Path

import pytest

from atomig.lint import all_rules
from atomig.lint.docs import expected_files, rule_page
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


# atomig's own rules: no PostgreSQL page backs them.
OWN_RULES = {
    "missing-down",
    "down-data-change",
    "plan-rejected",
    "invalid-ignore",
    "unused-ignore",
    "unreviewed-migration",
    "migration-file-name",
    # CREATE VIEW's page has no anchor on its OR REPLACE paragraph (Description).
    "view-column-change",
}
LINK = re.compile(r"[a-z0-9-]+\.html#[A-Z0-9-]+")
# Installed by Debian's postgresql-doc-15 (the anchors of PG 16+'s ALTER TABLE subforms,
# SQL-ALTERTABLE-DESC-*, are newer than that edition).
LOCAL_DOCS = Path("/usr/share/doc/postgresql-doc-15/html")


@pytest.mark.parametrize("rule", list(all_rules().values()), ids=lambda r: r.id)
def test_rule_links_exact_postgresql_docs_anchors(rule):
    assert rule.links or rule.id in OWN_RULES, f"{rule.id}: DOCS links no PG docs"
    for title, ref in rule.links:
        assert title and LINK.fullmatch(ref), ref
    page = rule_page(rule)
    for _, ref in rule.links:
        assert f"(https://www.postgresql.org/docs/current/{ref})" in page


@pytest.mark.skipif(not LOCAL_DOCS.is_dir(), reason="postgresql-doc-15 not installed")
def test_rule_doc_anchors_exist_in_the_postgresql_docs():
    missing = []
    for rule in all_rules().values():
        for _, ref in rule.links:
            page, anchor = ref.split("#")
            if anchor.startswith("SQL-ALTERTABLE-DESC-"):
                continue
            html = LOCAL_DOCS / page
            if not html.exists() or f'id="{anchor}"' not in html.read_text():
                missing.append(f"{rule.id}: {ref}")
    assert not missing
