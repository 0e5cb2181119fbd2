"""Runner overhead: 500 trivial migrations with atomig, psql -f, dbmate and yoyo.

Each tool applies the same 500 statements (one ``CREATE TABLE IF NOT EXISTS`` per migration)
to a fresh database on the same server; we report the median of several runs and atomig's
ratio to each. Peers are installed for the benchmark only (bench/.tools, never a runtime
dependency): ``npm install dbmate`` and ``pip install yoyo-migrations``.

atomig is timed as installed: byte-compiled, as ``pip install`` leaves it (and as yoyo is).
The development install is editable, and with ``PYTHONDONTWRITEBYTECODE`` set no ``.pyc`` is
ever written for it, so every run would compile atomig's sources again (about 50 ms);
``--no-compile`` measures that state.

    .venv/bin/python bench/runner_overhead.py [--count 500] [--runs 5] [--pg 18] [--no-compile]
"""

from __future__ import annotations

import argparse
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
from _cluster import BenchServer, bench_server

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
VENV_BIN = Path(sys.executable).parent


def statement(i: int) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS bench_{i:04d} (id bigint PRIMARY KEY, note text)"
    )


def write_atomig(root: Path, count: int) -> Path:
    migrations = root / "atomig" / "migrations"
    migrations.mkdir(parents=True)
    for i in range(count):
        day, minute = divmod(i, 1440)
        stem = f"202601{day + 1:02d}_{minute // 60:02d}{minute % 60:02d}_m{i:04d}"
        (migrations / f"{stem}.up.sql").write_text(statement(i) + ";\n")
        (migrations / f"{stem}.down.sql").write_text(
            f"DROP TABLE IF EXISTS bench_{i:04d};\n"
        )
    return migrations.parent


def write_psql(root: Path, count: int) -> Path:
    path = root / "all.sql"
    path.write_text("".join(statement(i) + ";\n" for i in range(count)))
    return path


def write_dbmate(root: Path, count: int) -> Path:
    migrations = root / "dbmate"
    migrations.mkdir()
    for i in range(count):
        (migrations / f"{20260101000000 + i}_m{i:04d}.sql").write_text(
            f"-- migrate:up\n{statement(i)};\n\n-- migrate:down\nDROP TABLE IF EXISTS bench_{i:04d};\n"
        )
    return migrations


def write_yoyo(root: Path, count: int) -> Path:
    migrations = root / "yoyo"
    migrations.mkdir()
    for i in range(count):
        (migrations / f"{i:04d}_m.sql").write_text(statement(i) + ";\n")
        (migrations / f"{i:04d}_m.rollback.sql").write_text(
            f"DROP TABLE IF EXISTS bench_{i:04d};\n"
        )
    return migrations


def ensure_dbmate() -> Path | None:
    binary = TOOLS / "node_modules" / ".bin" / "dbmate"
    if not binary.exists() and shutil.which("npm"):
        TOOLS.mkdir(exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(TOOLS), "dbmate"],
            check=False,
        )
    return binary if binary.exists() else None


def ensure_yoyo() -> Path | None:
    binary = VENV_BIN / "yoyo"
    if not binary.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "yoyo-migrations"],
            check=False,
        )
    return binary if binary.exists() else None


def timed(
    command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"{command[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return elapsed


def run_tool(
    name: str, server: BenchServer, files: dict[str, Path], runs: int
) -> list[float]:
    times = []
    for run in range(runs):
        db = f"bench_{name}_{run}"
        url = server.fresh_database(db)
        if name == "atomig":
            command = [
                str(VENV_BIN / "atomig"),
                "-q",
                "-C",
                str(files["atomig"]),
                "--database-url",
                url,
                "up",
            ]
            times.append(timed(command))
        elif name == "psql":
            psql = shutil.which("psql") or str(server.bin_dir / "psql")
            times.append(
                timed(
                    [
                        psql,
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "-d",
                        url,
                        "-f",
                        str(files["psql"]),
                    ]
                )
            )
        elif name == "dbmate":
            command = [
                str(files["dbmate_bin"]),
                "--no-dump-schema",
                "--migrations-dir",
                str(files["dbmate"]),
                "up",
            ]
            times.append(timed(command, env={"DATABASE_URL": url + "?sslmode=disable"}))
        elif name == "yoyo":
            command = [
                str(files["yoyo_bin"]),
                "apply",
                "--batch",
                "--no-config-file",
                "--database",
                url.replace("postgresql://", "postgresql+psycopg://"),
                str(files["yoyo"]),
            ]
            times.append(timed(command))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", type=int, default=18, choices=(15, 18))
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="Time atomig without writing its bytecode first.",
    )
    args = parser.parse_args()
    if not args.no_compile:
        compile_atomig()
    work = Path(tempfile.mkdtemp(prefix="atomig-bench-files-"))
    files: dict[str, Path] = {
        "atomig": write_atomig(work, args.count),
        "psql": write_psql(work, args.count),
        "dbmate": write_dbmate(work, args.count),
        "yoyo": write_yoyo(work, args.count),
    }
    tools = ["atomig", "psql"]
    dbmate, yoyo = ensure_dbmate(), ensure_yoyo()
    if dbmate:
        files["dbmate_bin"] = dbmate
        tools.append("dbmate")
    else:
        print("dbmate not available (npm install dbmate failed): skipped")
    if yoyo:
        files["yoyo_bin"] = yoyo
        tools.append("yoyo")
    else:
        print("yoyo-migrations not available: skipped")
    with bench_server(args.pg) as server:
        results = {}
        # Interleave tools run by run so machine noise hits all of them alike.
        for run in range(args.runs):
            for tool in tools:
                results.setdefault(tool, []).extend(
                    run_tool(tool, server, files, 1) if run >= 0 else []
                )
    shutil.rmtree(work, ignore_errors=True)
    print(
        f"\n{args.count} trivial migrations, PostgreSQL {args.pg}, median of {args.runs} runs (fresh database each)"
    )
    if args.no_compile:
        print("atomig not byte-compiled first (--no-compile)")
    print(f"{'tool':<8} {'median s':>9} {'best s':>8}  atomig / tool")
    atomig = statistics.median(results["atomig"])
    for tool in tools:
        median = statistics.median(results[tool])
        ratio = atomig / median
        print(f"{tool:<8} {median:>9.3f} {min(results[tool]):>8.3f}  {ratio:>6.2f}")
    for tool in ("dbmate", "yoyo"):
        if tool in results:
            verdict = (
                "no slower" if atomig <= statistics.median(results[tool]) else "SLOWER"
            )
            print(f"target: atomig no slower than {tool}: {verdict}")


if __name__ == "__main__":
    main()
