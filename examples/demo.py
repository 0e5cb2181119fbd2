"""`make demo`: the shop example on the embedded PostgreSQL, command by command.

Applies the migrations, shows status, reverts the newest one, re-applies it, and says where
the data lives. Every step is a real `atomig` command, printed before it runs.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

SHOP = Path(__file__).resolve().parent / "shop"
ATOMIG = str(Path(sys.executable).parent / "atomig")


def atomig(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    print(f"\n$ atomig {shlex.join(args)}", flush=True)
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    result = subprocess.run([ATOMIG, "-C", str(SHOP), *args], env=env, check=False)
    if check and result.returncode not in (0, 3):
        raise SystemExit(
            f"demo failed: atomig {' '.join(args)} exited {result.returncode}"
        )
    return subprocess.CompletedProcess(args, result.returncode, "", "")


def main() -> None:
    print(f"atomig demo: the shop example in {SHOP}")
    atomig("status")
    atomig("lint")  # every hazard of the files, before anything runs
    atomig("plan")
    atomig("up")
    atomig("status")
    atomig("down")
    atomig("status")
    atomig("up")
    atomig("status", "--check")
    # Up, down, every step boundary, up again: on a scratch database, dropped after.
    atomig("verify", "--all")
    data = SHOP / ".atomig" / "pgdata"
    print(f"\nThe data lives in {data} (an embedded PostgreSQL that keeps running).")
    subprocess.run([ATOMIG, "-C", str(SHOP), "embedded", "status"], check=False)
    print(f"Stop it with: {ATOMIG} -C {SHOP} embedded stop")


if __name__ == "__main__":
    main()
