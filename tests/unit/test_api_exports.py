"""The lazy re-exports of atomig.api and atomig resolve to the verbs, in any import order."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types


def test_every_export_is_a_verb_even_after_its_module_was_imported():
    # A fresh interpreter: the order of imports is the point, and this one has imported
    # much already.
    code = """
import importlib, types
import atomig.api as api
for module in api._EXPORTS:
    importlib.import_module(module)
bad = [n for n in api.__all__ if isinstance(getattr(api, n), types.ModuleType)]
assert not bad, bad
from atomig.api import lint, migrate
assert callable(lint) and callable(migrate)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_no_api_module_is_named_like_an_export():
    api = importlib.import_module("atomig.api")
    modules = {name.rsplit(".", 1)[1] for name in api._EXPORTS}
    assert not modules & set(api.__all__)


def test_top_level_verbs():
    atomig = importlib.import_module("atomig")
    for name in atomig.__all__:
        if name != "__version__":
            value = getattr(atomig, name)
            assert callable(value) and not isinstance(value, types.ModuleType), name


def test_no_top_level_export_is_named_like_a_subpackage():
    import pkgutil

    atomig = importlib.import_module("atomig")
    subpackages = {m.name for m in pkgutil.iter_modules(atomig.__path__)}
    assert not subpackages & set(atomig.__all__)
