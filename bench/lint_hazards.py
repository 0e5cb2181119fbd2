"""Lint quality: atomig vs squawk on a labelled hazard corpus (bench/_hazards.py).

Usage: .venv/bin/python bench/lint_hazards.py [--pg 15|18] [--no-verify] [--cases ID,ID]
       [--verbose] [--json]

Each case of the corpus is a history (earlier migrations creating and filling the tables),
the migration under test and its label: the hazard PostgreSQL really meets running it, or
SAFE. In the same run:

* atomig lints the case as a migrations directory (history, then the case, with its down
  file where it has one): ``atomig lint DIR --format json --no-database --pg-version N``
  (``--for-runner other`` for the cases applied by another tool);
* squawk lints the case's file (and its down file when the hazard is in the down):
  ``squawk --reporter json --pg-version N.0``, given what atomig's runner does for a case it
  applies (timeouts set: ``--exclude require-lock-timeout,require-statement-timeout``;
  one transaction per file: ``--assume-in-transaction``, left out where the runner does
  not wrap the file: a CONCURRENTLY or VACUUM statement, or the file's own BEGIN / COMMIT),
  nothing for the others;
* unless ``--no-verify``, a throwaway PostgreSQL checks each label: history applied, then
  the migration in a transaction (or statement by statement when it cannot run in one) with
  ``pg_locks`` read for the strongest lock on each pre-existing relation,
  ``pg_class.relfilenode`` compared (rewrites), the ``verifying table`` DEBUG1 message caught
  (scans), errors expected for "rejects". A label the server contradicts is a corpus bug:
  it is printed and the exit status is 1.

A tool *catches* a hazard case when it reports an error or a warning in the case's file (the
up, or the down when the hazard is there); it *false-alarms* on a SAFE case when it does.
Info findings do not count. Not scored: atomig's ``missing-down`` on cases whose down the
corpus leaves out for brevity (counted on the missing-down case only). A *duplicate* is a
second finding on the same statement for the same hazard (the same rule and message, or
rules the tool itself says overlap: ``OVERLAPS``). *Advice PostgreSQL rejects* is checked
mechanically where it can be: a finding advising ``NOT VALID`` on a one-constraint
``ALTER TABLE … ADD CONSTRAINT`` (its fix or help says NOT VALID and writes no other CHECK)
is applied with ``NOT VALID`` appended on the server; an error counts. Other fixes are
prose and are not judged.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _hazard_server import Verdict, one_transaction, split, statements_of, verify_case
from _hazards import (
    CASES,
    NO_DOWN,
    SAFE,
    Case,
)

BIN = Path(sys.executable).parent
# What atomig's runner does for the cases it applies, told to squawk: it sets the timeouts,
# and runs a file as one transaction unless a statement cannot run in one or the file has
# its own BEGIN / COMMIT (then --assume-in-transaction is left out).
SQUAWK_EXCLUDE = ("--exclude", "require-lock-timeout,require-statement-timeout")
# Rules of one tool that report the same hazard on the same statement: a second finding of
# the group is a duplicate. squawk reports an ADD FOREIGN KEY without NOT VALID under both.
OVERLAPS = {
    "squawk": {
        "constraint-missing-not-valid": "validation scan",
        "adding-foreign-key-constraint": "validation scan",
    },
    "atomig": {},
}


@dataclass
class Finding:
    rule: str
    severity: str
    line: int
    statement: int
    text: str
    advice: str


@dataclass
class ToolResult:
    findings: list[Finding] = field(default_factory=list)
    duplicates: int = 0
    not_valid_advice: list[str] = field(default_factory=list)
    rejected_advice: int = 0

    @property
    def flagged(self) -> bool:
        return bool(self.findings)

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.findings})


# --- corpus on disk ------------------------------------------------------------------


def write_case(root: Path, case: Case) -> tuple[Path, list[Path]]:
    """The case as a migrations directory; returns it and the files squawk is given."""
    directory = root / case.id
    directory.mkdir()
    for n, history in enumerate(case.history):
        (directory / f"2024010{n + 1}_0000_history{n}.up.sql").write_text(
            history + "\n"
        )
        (directory / f"2024010{n + 1}_0000_history{n}.down.sql").write_text(
            "SELECT 1;\n"
        )
    up = directory / "20240201_0000_case.up.sql"
    up.write_text(case.sql + "\n")
    squawk_files = [up]
    if case.down is not None:
        down = directory / "20240201_0000_case.down.sql"
        down.write_text(case.down + "\n")
        if case.target == "down":
            squawk_files = [down]
    return directory, squawk_files


def target_file(directory: Path, case: Case) -> Path:
    return directory / f"20240201_0000_case.{case.target}.sql"


def statement_index(spans: list[tuple[int, int]], line: int) -> int:
    """The statement of the target file that ``line`` (1-based) falls in."""
    found = -1
    for n, (start, end) in enumerate(spans):
        if start <= line:
            found = n
        if start <= line <= end:
            return n
    return found


def spans_of(text: str) -> list[tuple[int, int]]:
    statements = statements_of(text)
    if statements is None:  # one statement spanning the file
        return [(1, text.count("\n") + 1)]
    return [(s.span.line, s.span.end_line) for s in statements]


# --- the two tools ---------------------------------------------------------------------


def run_atomig(directory: Path, case: Case, pg: int) -> ToolResult:
    command = [
        sys.executable,
        "-m",
        "atomig",
        "lint",
        str(directory),
        "--format",
        "json",
    ]
    command += ["--no-database", "--pg-version", str(pg)]
    if case.runner == "other":
        command += ["--for-runner", "other"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"atomig failed on {case.id} ({done.returncode}): {done.stderr}"
        )
    target = target_file(directory, case)
    spans = spans_of(target.read_text())
    result = ToolResult()
    for item in json.loads(done.stdout)["findings"]:
        if Path(item["file"]).name != target.name:
            continue
        if item["severity"] not in ("error", "warning"):
            continue
        if item["rule"] == "missing-down" and case.label != NO_DOWN:
            continue
        result.findings.append(
            Finding(
                item["rule"],
                item["severity"],
                item["line"],
                statement_index(spans, item["line"]),
                f"{item['message']} {item.get('fix') or ''}",
                item.get("fix") or "",
            )
        )
    return result


def run_squawk(squawk: str, files: list[Path], case: Case, pg: int) -> ToolResult:
    command = [squawk, "--reporter", "json", "--pg-version", f"{pg}.0"]
    if case.runner == "atomig":
        command += SQUAWK_EXCLUDE
        if one_transaction(split(files[-1].read_text())):
            command.append("--assume-in-transaction")
    done = subprocess.run([*command, *map(str, files)], capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"squawk failed on {case.id} ({done.returncode}): {done.stderr}"
        )
    data = json.loads(done.stdout or "[]")
    target = files[-1]
    spans = spans_of(target.read_text())
    result = ToolResult()
    for item in data:
        level = str(item["level"]).lower()
        if Path(item["file"]).name != target.name or level not in ("error", "warning"):
            continue
        line = item["line"] + 1  # squawk's lines are 0-based
        result.findings.append(
            Finding(
                item["rule_name"],
                level,
                line,
                statement_index(spans, line),
                f"{item['message']} {item.get('help') or ''}",
                item.get("help") or "",
            )
        )
    return result


def score_duplicates(tool: str, result: ToolResult) -> None:
    seen: set[tuple] = set()
    for f in result.findings:
        group = OVERLAPS[tool].get(f.rule)
        key = (f.statement, group) if group else (f.statement, f.rule, f.text)
        if key in seen:
            result.duplicates += 1
        seen.add(key)


def advice_candidates(case: Case, result: ToolResult) -> None:
    """Statements a finding advises to add NOT VALID to, when that can be applied as is."""
    target = case.sql if case.target == "up" else case.down or ""
    statements = statements_of(target) or []
    for f in result.findings:
        # Advice naming a CHECK proposes another constraint (e.g. CHECK (c IS NOT NULL)
        # NOT VALID before a primary key): not "add NOT VALID to this statement".
        if not re.search(r"NOT VALID", f.advice, re.I) or re.search(
            r"CHECK\s*\(", f.advice
        ):
            continue
        if not 0 <= f.statement < len(statements):
            continue
        stmt = statements[f.statement]
        cmds = stmt.body.get("cmds", []) if stmt.kind == "AlterTableStmt" else []
        if (
            len(cmds) == 1
            and cmds[0]["AlterTableCmd"].get("subtype") == "AT_AddConstraint"
            and "NOT VALID" not in stmt.text.upper()
        ):
            result.not_valid_advice.append(stmt.text + " NOT VALID")


# --- report ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", type=int, choices=(15, 18), default=15)
    parser.add_argument("--no-verify", action="store_true", help="no server checks")
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    cases = list(CASES)
    if args.cases:
        wanted = args.cases.split(",")
        unknown = set(wanted) - {c.id for c in cases}
        if unknown:
            raise SystemExit(f"unknown case ids: {', '.join(sorted(unknown))}")
        cases = [c for c in cases if c.id in wanted]
    squawk = shutil.which("squawk", path=str(BIN)) or shutil.which("squawk")
    if squawk is None:
        raise SystemExit(
            "squawk not found: run `make bench-deps` (pip install squawk-cli)"
        )
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True)
    results: dict[str, dict[str, ToolResult]] = {}
    with tempfile.TemporaryDirectory(prefix="atomig-hazards-") as tmp:
        laid = {c.id: write_case(Path(tmp), c) for c in cases}

        def lint(case: Case) -> tuple[str, dict[str, ToolResult]]:
            directory, files = laid[case.id]
            return case.id, {
                "atomig": run_atomig(directory, case, args.pg),
                "squawk": run_squawk(squawk, files, case, args.pg),
            }

        with ThreadPoolExecutor(2) as pool:
            results = dict(pool.map(lint, cases))
    for case in cases:
        for tool, result in results[case.id].items():
            score_duplicates(tool, result)
            advice_candidates(case, result)
    verdicts: dict[str, Verdict] = {}
    if not args.no_verify:
        from _cluster import bench_server

        with bench_server(args.pg) as server:
            for number, case in enumerate(cases):
                advice = {
                    t for r in results[case.id].values() for t in r.not_valid_advice
                }
                verdicts[case.id], rejected = verify_case(server, number, case, advice)
                for result in results[case.id].values():
                    result.rejected_advice = sum(
                        rejected[t] for t in result.not_valid_advice
                    )
    report(args, cases, results, verdicts, version.stdout.strip())


def summarize(cases, results, tool) -> dict:
    hazards = [c for c in cases if c.label != SAFE]
    safe = [c for c in cases if c.label == SAFE]
    missed = [c for c in hazards if not results[c.id][tool].flagged]
    alarms = [c for c in safe if results[c.id][tool].flagged]
    return {
        "hazards": len(hazards),
        "caught": len(hazards) - len(missed),
        "safe": len(safe),
        "false_alarms": len(alarms),
        "duplicates": sum(results[c.id][tool].duplicates for c in cases),
        "rejected_advice": sum(results[c.id][tool].rejected_advice for c in cases),
        "missed": [c.id for c in missed],
        "false_alarm_cases": [c.id for c in alarms],
        "duplicate_cases": [c.id for c in cases if results[c.id][tool].duplicates],
        "rejected_advice_cases": [
            c.id for c in cases if results[c.id][tool].rejected_advice
        ],
    }


def report(args, cases, results, verdicts, squawk_version) -> None:
    tools = ("atomig", "squawk")
    summary = {t: summarize(cases, results, t) for t in tools}
    contradicted = [
        c.id for c in cases if verdicts.get(c.id, Verdict("", True, "")).agrees is False
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "version": 1,
                    "pg": args.pg,
                    "squawk": squawk_version,
                    "verified": not args.no_verify,
                    "summary": summary,
                    "labels_contradicted": contradicted,
                    "cases": [
                        {
                            "id": c.id,
                            "label": c.label,
                            "verdict": asdict(verdicts[c.id])
                            if c.id in verdicts
                            else None,
                            **{
                                t: {
                                    "flagged": results[c.id][t].flagged,
                                    "rules": results[c.id][t].rules,
                                    "duplicates": results[c.id][t].duplicates,
                                    "rejected_advice": results[c.id][t].rejected_advice,
                                }
                                for t in tools
                            },
                        }
                        for c in cases
                    ],
                },
                indent=2,
            )
        )
        sys.exit(1 if contradicted else 0)
    by_label: dict[str, int] = {}
    for c in cases:
        by_label[c.label] = by_label.get(c.label, 0) + 1
    print(
        f"squawk: {squawk_version}; atomig: {sys.executable} -m atomig; PostgreSQL {args.pg}"
    )
    print(
        f"{len(cases)} cases: "
        + ", ".join(f"{n} {label}" for label, n in by_label.items())
    )
    print(
        "counted: error and warning findings in the case's file (info not counted); "
        "atomig's missing-down only on the missing-down case"
    )
    print(
        "squawk flags for cases atomig's runner applies: "
        f"{' '.join(SQUAWK_EXCLUDE)}, and --assume-in-transaction for the files it runs "
        "as one transaction"
    )
    if verdicts:
        checked = [v for v in verdicts.values() if v.checked not in ("-", "applies")]
        print(
            f"labels checked on PostgreSQL {args.pg}: {len(checked)} by lock, rewrite, scan "
            f"or error; {sum(v.checked == 'applies' for v in verdicts.values())} only "
            f"applied; {sum(v.checked == '-' for v in verdicts.values())} unread; "
            f"contradicted: {len(contradicted)}"
        )
    else:
        print("labels not checked on a server (--no-verify); advice not applied")
    if args.verbose:
        print(f"\n{'case':<36} {'label':<28} {'atomig':<7} {'squawk':<7} server")
        for c in cases:
            marks = ["yes" if results[c.id][t].flagged else "-" for t in tools]
            v = verdicts.get(c.id)
            seen = (
                ""
                if v is None
                else ("" if v.agrees is not False else "CONTRADICTS: ") + v.observed
            )
            print(f"{c.id:<36} {c.label[:28]:<28} {marks[0]:<7} {marks[1]:<7} {seen}")
    advice = "n/a" if args.no_verify else None
    print()
    print(
        f"{'tool':<8} {'hazards caught':>15} {'false alarms':>13} {'duplicates':>11} "
        f"{'advice PG rejects':>18}"
    )
    for t in tools:
        s = summary[t]
        print(
            f"{t:<8} {s['caught']:>6}/{s['hazards']:<8} {s['false_alarms']:>6}/{s['safe']:<6} "
            f"{s['duplicates']:>11} {advice or s['rejected_advice']:>18}"
        )
    for t in tools:
        s = summary[t]
        print(f"\n{t} gets wrong:")
        label = {c.id: c.label for c in cases}
        for cid in s["missed"]:
            print(f"  missed       {cid:<36} {label[cid]}")
        for cid in s["false_alarm_cases"]:
            rules = ", ".join(results[cid][t].rules)
            print(f"  false alarm  {cid:<36} {rules}")
        for cid in s["duplicate_cases"]:
            rules = ", ".join(f.rule for f in results[cid][t].findings)
            print(f"  duplicate    {cid:<36} {rules}")
        for cid in s["rejected_advice_cases"]:
            print(f"  bad advice   {cid:<36} NOT VALID advised; PostgreSQL rejects it")
    if contradicted:
        print("\nlabels the server contradicts (corpus bugs: fix the label):")
        for cid in contradicted:
            print(f"  {cid}: labelled {label[cid]!r}; server: {verdicts[cid].observed}")
        sys.exit(1)


if __name__ == "__main__":
    main()
