"""How long `atomig verify --all` takes: is it cheap enough for CI on every pull request?

Generates a realistic history of N migrations (tables with keys and foreign keys, added
columns, indexes, functions and enums; every fifth migration has several steps: a
transaction step, a VALIDATE, a CREATE INDEX CONCURRENTLY), then times, on a fresh
database each run (PostgreSQL with its default durability: fsync on):

* `atomig up` of the whole history — the cost of simply applying it;
* `atomig verify --all` — scratch database created, every migration proven (up, down,
  up again, every step boundary through the rollback path), scratch database dropped.

It prints the medians, verify per migration, and verify ÷ up (how many "applies" a proof
costs). Start-up (interpreter, imports) is included, as a user runs it.

    .venv/bin/python bench/verify_speed.py [--count 50] [--runs 3] [--pg 18]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import bench_server

VENV_BIN = Path(sys.executable).parent


def migration(i: int) -> tuple[str, str]:
    """The up and down SQL of migration ``i`` (each builds on the earlier ones)."""
    t = f"t{i // 5:03d}"
    kind = i % 5
    if kind == 0:
        parent = f"t{i // 5 - 1:03d}" if i else None
        fk = f", {parent}_id bigint REFERENCES {parent} (id)" if parent else ""
        return (
            f"CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            f" name text NOT NULL, created timestamptz NOT NULL DEFAULT now(){fk});\n",
            f"DROP TABLE {t};\n",
        )
    if kind == 1:
        return (
            f"ALTER TABLE {t} ADD COLUMN score numeric(10, 2);\n"
            f"CREATE INDEX {t}_score ON {t} (score);\n",
            f"DROP INDEX {t}_score;\nALTER TABLE {t} DROP COLUMN score;\n",
        )
    if kind == 2:
        return (
            f"CREATE TYPE {t}_state AS ENUM ('new', 'done');\n"
            f"ALTER TABLE {t} ADD COLUMN state {t}_state NOT NULL DEFAULT 'new';\n",
            f"ALTER TABLE {t} DROP COLUMN state;\nDROP TYPE {t}_state;\n",
        )
    if kind == 3:
        return (
            f"CREATE FUNCTION {t}_label(r {t}) RETURNS text LANGUAGE sql STABLE"
            f" AS $$ SELECT r.name || ':' || r.id $$;\n",
            f"DROP FUNCTION {t}_label({t});\n",
        )
    return (
        "BEGIN;\n"
        f"ALTER TABLE {t} ADD COLUMN note text;\n"
        f"ALTER TABLE {t} ADD CONSTRAINT {t}_note_len CHECK (length(note) < 500) NOT VALID;\n"
        "COMMIT;\n"
        f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_note_len;\n"
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_note ON {t} (note);\n",
        f"DROP INDEX CONCURRENTLY IF EXISTS {t}_note;\n"
        f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {t}_note_len;\n"
        f"ALTER TABLE {t} DROP COLUMN IF EXISTS note;\n",
    )


def write_project(root: Path, count: int) -> Path:
    migrations = root / "migrations"
    migrations.mkdir(parents=True)
    for i in range(count):
        stem = f"202601{i // 1440 + 1:02d}_{(i % 1440) // 60:02d}{i % 60:02d}_m{i:04d}"
        up, down = migration(i)
        (migrations / f"{stem}.up.sql").write_text(up)
        (migrations / f"{stem}.down.sql").write_text(down)
    return root


def timed(*args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [str(VENV_BIN / "atomig"), "-q", *args], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"atomig {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", type=int, default=18, choices=(15, 18))
    args = parser.parse_args()
    project = write_project(
        Path(tempfile.mkdtemp(prefix="atomig-bench-verify-")), args.count
    )
    steps = sum(1 for i in range(args.count) if i % 5 == 4)
    ups, verifies = [], []
    with bench_server(args.pg) as server:
        for run in range(args.runs):
            url = server.fresh_database(f"bench_up_{run}")
            ups.append(timed("-C", str(project), "--database-url", url, "up"))
            url = server.fresh_database(f"bench_verify_{run}")
            verifies.append(
                timed("-C", str(project), "--database-url", url, "verify", "--all")
            )
    up, verify = statistics.median(ups), statistics.median(verifies)
    print(
        f"\n{args.count} migrations ({steps} of them multi-step), PostgreSQL {args.pg}, "
        f"fsync on, median of {args.runs} runs"
    )
    print(f"{'command':<22}{'median s':>10}{'per migration ms':>18}")
    print(f"{'atomig up':<22}{up:>10.2f}{up / args.count * 1000:>18.1f}")
    print(
        f"{'atomig verify --all':<22}{verify:>10.2f}{verify / args.count * 1000:>18.1f}"
    )
    print(f"verify ÷ up: {verify / up:.1f}")


if __name__ == "__main__":
    main()
