"""Smoke test of bench/lint_hazards.py: a few cases, both tools, labels checked on a server.

Keeps the benchmark from rotting: the corpus loads, both tools' outputs are parsed, the
server checks agree with the labels, and the counts squawk 2.70 is known for show up (its
duplicate on a foreign key, its NOT VALID advice PostgreSQL rejects for UNIQUE)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "lint_hazards.py"
CASES = (
    "index-plain",
    "fk-plain",
    "unique-constraint-direct",
    "type-varchar-to-text",
    "add-column-volatile-uuid",
    "vacuum-full",
    "exclusion-constraint-not-valid",
)


def test_quick_run_verifies_labels_and_scores_both_tools():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--cases", ",".join(CASES), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads(result.stdout)
    assert document["version"] == 1 and document["verified"]
    assert document["labels_contradicted"] == []
    by = {case["id"]: case for case in document["cases"]}
    assert set(by) == set(CASES)
    for case in by.values():
        # Every case was checked on the server (lock, rewrite or error) and agreed.
        assert case["verdict"]["agrees"] is True, case
        assert case["verdict"]["checked"] in (
            "lock",
            "rewrite",
            "error",
            "no rewrite/scan",
        )
    squawk = document["summary"]["squawk"]
    assert squawk["hazards"] == 6 and squawk["safe"] == 1
    assert "fk-plain" in squawk["duplicate_cases"]
    assert "unique-constraint-direct" in squawk["rejected_advice_cases"]
    assert (
        by["index-plain"]["atomig"]["flagged"]
        and by["index-plain"]["squawk"]["flagged"]
    )
    assert by["index-plain"]["atomig"]["rules"] == ["index-not-concurrent"]
