"""Lint speed: atomig vs squawk on generated mixed-DDL files.

Usage: .venv/bin/python bench/lint_speed.py [--sizes 10000,100000] [--migrations 1000]
       [--runs 3] [--no-compile]

Generates files of N statements mixing the DDL migrations are made of (tables with keys and
foreign keys, column adds with defaults, index builds, type changes, constraints NOT VALID and
VALIDATE, SET NOT NULL, renames, drops, updates, comments), then times, in the same run and
on the same file, each tool's whole command as a user runs it (process start-up included):

* ``atomig lint FILE --format json --no-database``
* ``squawk --reporter json FILE`` (squawk-cli from PyPI, ``make bench-deps``)

and, as ``atomig lint`` is run in CI, a migrations directory (``--migrations N``: N
migrations of five of those statements each, with a one-statement down file each; atomig
lints the directory and replays its history, squawk is given every file of it).

atomig is timed byte-compiled, as ``pip install`` leaves it (``--no-compile``: an editable
install that never writes bytecode, which compiles atomig's sources on every run, +40 ms).

Prints the median wall time of each and the ratio atomig ÷ squawk (below 1: atomig is
faster), with the load average before and after (the machine may be shared). Both outputs are parsed to make sure each tool really linted the file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bytecode import compile_atomig

BIN = Path(sys.executable).parent
TEMPLATES = (
    "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "parent_id bigint REFERENCES t{p} (id), name varchar(100) NOT NULL, "
    "payload jsonb, created_at timestamptz DEFAULT now());",
    "ALTER TABLE t{p} ADD COLUMN note_{i} text DEFAULT 'n/a';",
    "CREATE INDEX t{p}_name_{i}_idx ON t{p} (name);",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS t{p}_created_{i}_idx ON t{p} (created_at);",
    "ALTER TABLE t{p} ALTER COLUMN name TYPE varchar(200);",
    "ALTER TABLE t{p} ADD CONSTRAINT t{p}_name_{i}_check CHECK (char_length(name) > 0) "
    "NOT VALID;",
    "ALTER TABLE t{p} VALIDATE CONSTRAINT t{p}_name_{i}_check;",
    "ALTER TABLE t{p} ALTER COLUMN note_{i} SET NOT NULL;",
    "UPDATE t{p} SET payload = '{{}}'::jsonb WHERE payload IS NULL AND id < {i};",
    "ALTER TABLE t{p} RENAME COLUMN note_{i} TO remark_{i};",
    "COMMENT ON TABLE t{p} IS 'table number {p}';",
    "ALTER TABLE t{p} ADD CONSTRAINT t{p}_parent_{i}_fk FOREIGN KEY (parent_id) "
    "REFERENCES t{p} (id) NOT VALID;",
    "DROP INDEX IF EXISTS t{p}_name_{i}_idx;",
    "ALTER TABLE t{p} DROP COLUMN IF EXISTS remark_{i};",
)


FIRST = "CREATE TABLE t0 (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);"


def generate(path: Path, statements: int) -> None:
    lines = [FIRST]
    i = 1
    while len(lines) < statements:
        template = TEMPLATES[i % len(TEMPLATES)]
        lines.append(template.format(i=i, p=max(0, i - i % len(TEMPLATES))))
        i += 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate_directory(path: Path, migrations: int) -> int:
    """A migrations directory of ``migrations`` up/down pairs; returns the statements."""
    path.mkdir()
    count = 0
    for m in range(migrations):
        statements = [] if m else [FIRST]
        for _ in range(5):
            count += 1
            template = TEMPLATES[count % len(TEMPLATES)]
            statements.append(
                template.format(i=count, p=max(0, count - count % len(TEMPLATES)))
            )
        name = f"2024{m // 1440 + 101:04d}_{m // 60 % 24:02d}{m % 60:02d}_m{m}"
        (path / f"{name}.up.sql").write_text("\n".join(statements) + "\n")
        (path / f"{name}.down.sql").write_text("SELECT 1;\n")
    return count + 1 + migrations


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return elapsed, done.stdout


def count_atomig(output: str) -> int:
    return len(json.loads(output)["findings"])


def count_squawk(output: str) -> int:
    data = json.loads(output)
    return len(data) if isinstance(data, list) else len(data.get("violations", data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--migrations",
        type=int,
        default=1000,
        help="migrations in the directory case (0: skip it)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="do not byte-compile atomig first (an editable install without bytecode)",
    )
    args = parser.parse_args()
    if not args.no_compile:
        compile_atomig()
    squawk = shutil.which("squawk", path=str(BIN)) or shutil.which("squawk")
    if squawk is None:
        raise SystemExit(
            "squawk not found: run `make bench-deps` (pip install squawk-cli)"
        )
    atomig = [str(BIN / "atomig")]
    version = subprocess.run([squawk, "--version"], capture_output=True, text=True)
    print(f"squawk: {version.stdout.strip()}; atomig: {atomig[0]}; runs: {args.runs}")
    if args.no_compile:
        print("atomig not byte-compiled first (--no-compile)")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(
        f"{'statements':>10}  {'atomig':>9}  {'squawk':>9}  {'atomig ÷ squawk':>15}  findings"
    )
    with tempfile.TemporaryDirectory(prefix="atomig-lint-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"mixed_{size}.sql"
            generate(path, size)
            ours, theirs = [], []
            for _ in range(args.runs):
                elapsed, out = timed(
                    [*atomig, "lint", str(path), "--format", "json", "--no-database"]
                )
                ours.append(elapsed)
                found_ours = count_atomig(out)
                elapsed, out = timed([squawk, "--reporter", "json", str(path)])
                theirs.append(elapsed)
                found_theirs = count_squawk(out)
            a, s = statistics.median(ours), statistics.median(theirs)
            print(
                f"{size:>10}  {a:>8.2f}s  {s:>8.2f}s  {a / s:>15.2f}  "
                f"atomig {found_ours}, squawk {found_theirs}"
            )
        if args.migrations:
            directory = Path(tmp) / "migrations"
            size = generate_directory(directory, args.migrations)
            files = sorted(str(p) for p in directory.iterdir())
            ours, theirs = [], []
            for _ in range(args.runs):
                elapsed, out = timed(
                    [
                        *atomig,
                        "lint",
                        str(directory),
                        "--format",
                        "json",
                        "--no-database",
                    ]
                )
                ours.append(elapsed)
                found_ours = count_atomig(out)
                elapsed, out = timed([squawk, "--reporter", "json", *files])
                theirs.append(elapsed)
                found_theirs = count_squawk(out)
            a, s = statistics.median(ours), statistics.median(theirs)
            label = f"{args.migrations} migr."
            print(
                f"{label:>10}  {a:>8.2f}s  {s:>8.2f}s  {a / s:>15.2f}  "
                f"atomig {found_ours}, squawk {found_theirs} ({size} statements, "
                f"{len(files)} files)"
            )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
