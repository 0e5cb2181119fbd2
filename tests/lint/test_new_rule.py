"""`make new-rule NAME=…` writes a rule module with the house anatomy, a cases stub and the
registry entry (in a copy of the project here, never in the real tree)."""

from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path

import pytest

from atomig.lint.rule import rule_from_module

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location(
        "new_rule", ROOT / "scripts" / "new_rule.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path):
    rules = tmp_path / "src" / "atomig" / "lint" / "rules"
    rules.mkdir(parents=True)
    shutil.copy(ROOT / "src" / "atomig" / "lint" / "rules" / "__init__.py", rules)
    (tmp_path / "tests" / "lint" / "cases").mkdir(parents=True)
    return tmp_path


def test_scaffold_writes_module_cases_and_registry_entry(project):
    script = load_script()
    written = script.scaffold(project, "lock-upgrade", "operations", "error")
    module_path = project / "src" / "atomig" / "lint" / "rules" / "lock_upgrade.py"
    cases = project / "tests" / "lint" / "cases" / "lock-upgrade.sql"
    registry = project / "src" / "atomig" / "lint" / "rules" / "__init__.py"
    assert written == [module_path, cases, registry]

    spec = importlib.util.spec_from_file_location(
        "atomig.lint.rules.lock_upgrade", module_path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rule = rule_from_module(module)
    assert (rule.id, rule.category, rule.severity.label) == (
        "lock-upgrade",
        "operations",
        "error",
    )
    assert rule.bad and rule.good and rule.links
    assert len(module_path.read_text().splitlines()) <= 150
    assert "-- expect: lock-upgrade" in cases.read_text()

    text = registry.read_text()
    tree = ast.parse(text)
    imported = [
        a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names
    ]
    assert "lock_upgrade" in imported and imported == sorted(imported)
    modules = text.split("MODULES = (", 1)[1]
    section = modules.split("# operations", 1)[1].split("# backward compatibility", 1)[
        0
    ]
    assert "    lock_upgrade,\n" in section


def test_scaffold_refuses_bad_names_and_existing_rules(project):
    script = load_script()
    with pytest.raises(SystemExit, match="kebab-case"):
        script.scaffold(project, "LockUpgrade", "locking", "warning")
    with pytest.raises(SystemExit, match="CATEGORY"):
        script.scaffold(project, "lock-upgrade", "speed", "warning")
    script.scaffold(project, "lock-upgrade", "locking", "warning")
    with pytest.raises(SystemExit, match="exists already"):
        script.scaffold(project, "lock-upgrade", "locking", "warning")
