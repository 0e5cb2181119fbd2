"""Scaffold a lint rule: ``make new-rule NAME=rule-id [CATEGORY=locking] [SEVERITY=warning]``.

Writes, under the project root:

* ``src/atomig/lint/rules/<rule_id>.py``: the rule module (STYLE.md §1 anatomy) with TODOs;
* ``tests/lint/cases/<rule-id>.sql``: a stub of edge cases (``-- expect: rule-id``);
* the registry entry: the import and the ``MODULES`` entry in ``rules/__init__.py``, at the
  end of its category.

The new rule's BAD example does not fire yet, so ``pytest tests/lint`` fails until
``check`` is written: that is the point. Then ``make docs`` and ``make snapshots``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

CATEGORIES = {
    "locking": "# locking and rewrites",
    "operations": "# operations",
    "compatibility": "# backward compatibility",
    "types": "# types and naming",
    "meta": "# suppressions",
}
SEVERITIES = ("error", "warning", "info")
RULE_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)+")

MODULE = '''"""TODO: the hazard in one sentence (the default message).

## Why
TODO: the lock it takes and what that lock blocks (explicit-locking.html), the rewrite or
scan, and the PostgreSQL versions where it differs.

## Instead
TODO: the safe sequence, as PostgreSQL accepts it.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "{rule_id}"
SEVERITY = Severity.{severity}
CATEGORY = "{category}"
DOCS = (("TODO: section title", "explicit-locking.html#LOCKING-TABLES"),)
TARGETS = ("AlterTableStmt",)  # TODO: the parse-node kinds this rule reads
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY);"
BAD = (Example("ALTER TABLE orders ADD COLUMN note text;", before=_BEFORE),)  # TODO
GOOD = (Example("SELECT 1;", before=_BEFORE),)  # TODO: the safe alternative


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    """TODO: yield a Hit(consequence, safe alternative, relation=...) per hazard."""
    return iter(())
'''

CASES = """-- Edge cases of {rule_id}: blank-line separated, each one migration's up file.
-- expect: {rule_id}
-- TODO: a statement that must fire the rule
ALTER TABLE orders ADD COLUMN note text;
"""


def scaffold(root: Path, rule_id: str, category: str, severity: str) -> list[Path]:
    """Write the rule's files and registry entry under ``root``; return what was written.

    Raises:
        SystemExit: an invalid id, category or severity, or a rule that already exists.
    """
    if not RULE_ID.fullmatch(rule_id):
        raise SystemExit(f"rule ids are kebab-case nouns of the hazard, got {rule_id!r}")
    if category not in CATEGORIES:
        raise SystemExit(f"CATEGORY must be one of {', '.join(CATEGORIES)}")
    if severity not in SEVERITIES:
        raise SystemExit(f"SEVERITY must be one of {', '.join(SEVERITIES)}")
    module = rule_id.replace("-", "_")
    rules = root / "src" / "atomig" / "lint" / "rules"
    path = rules / f"{module}.py"
    cases = root / "tests" / "lint" / "cases" / f"{rule_id}.sql"
    if path.exists():
        raise SystemExit(f"{path} exists already")
    registry = rules / "__init__.py"
    text = registry.read_text(encoding="utf-8")
    imports_end = text.index("\n)\n")
    text = text[:imports_end] + f"\n    {module}," + text[imports_end:]
    text = _sorted_imports(text)
    text = _add_to_category(text, module, category)
    path.write_text(
        MODULE.format(rule_id=rule_id, severity=severity.upper(), category=category),
        encoding="utf-8",
    )
    cases.write_text(CASES.format(rule_id=rule_id), encoding="utf-8")
    registry.write_text(text, encoding="utf-8")
    return [path, cases, registry]


def _sorted_imports(text: str) -> str:
    head, rest = text.split("from atomig.lint.rules import (\n", 1)
    names, tail = rest.split("\n)\n", 1)
    items = sorted({n.strip().rstrip(",") for n in names.splitlines() if n.strip()})
    body = "".join(f"    {n},\n" for n in items)
    return f"{head}from atomig.lint.rules import (\n{body})\n{tail}"


def _add_to_category(text: str, module: str, category: str) -> str:
    lines = text.split("\n")
    start = lines.index(f"    {CATEGORIES[category]}")
    end = start + 1
    while end < len(lines) and not lines[end].startswith(("    #", ")")):
        end += 1
    lines.insert(end, f"    {module},")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Scaffold a lint rule.")
    parser.add_argument("name", help="the rule id, e.g. index-not-concurrent")
    parser.add_argument("--category", default="locking", choices=list(CATEGORIES))
    parser.add_argument("--severity", default="warning", choices=list(SEVERITIES))
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    for written in scaffold(args.root, args.name, args.category, args.severity):
        print(f"wrote {written}")
    print(
        "next: write check() until `pytest tests/lint` passes, fill the docstring and "
        "DOCS, then `make docs` and `make snapshots` (review the diff)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
