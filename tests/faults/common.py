"""What the fault tests share: the schema fingerprint, a runner faulted once through
tests/faults/driver.py, and the ledger's row of a migration."""

import os
import subprocess
import sys

from atomig.verify.fingerprint import take_fingerprint


def fingerprint(db):
    with db.connect() as conn:
        return take_fingerprint(conn, "atomig").digest


def run_faulted(project, kind, step="2", **env):
    """Run `atomig up` in a child process (tests/faults/driver.py), faulting once at step
    ``step`` (``kind``: committed.drop, committed.kill, step.done…; ``env``: the driver's
    ATOMIG_DRIVER_* settings)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.faults.driver",
            str(project.dir),
            project.url,
            kind,
            step,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def ledger_row(db, version):
    """The ledger's (status, steps done) of migration ``version`` (``None``: no row)."""
    rows = db.execute(
        "SELECT status, steps_done FROM atomig.migrations WHERE version = %s",
        (version,),
    )
    return rows[0] if rows else None
