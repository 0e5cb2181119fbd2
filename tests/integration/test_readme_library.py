"""The README's library example runs as written (against the test server)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _library_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Library\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the Library section has a Python example"
    return match.group(1)


def test_readme_library_example_applies_the_shop(tmp_path, database):
    shutil.copytree(ROOT / "examples" / "shop" / "migrations", tmp_path / "migrations")
    (tmp_path / "example.py").write_text(_library_example(), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": database.url}
    env.pop("ATOMIG_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20261103_1130 applied" in result.stdout
    assert database.scalar("SELECT count(*) FROM atomig.migrations") == 5
