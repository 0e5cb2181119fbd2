"""A rollback survives a lost connection: the down step's backend terminated
(pg_terminate_backend) while it runs — once: atomig reconnects, runs the step again and the
rollback completes (schema exactly as before, exit 1); every time: it gives up after a
bounded number of retries, recorded partial (rollback_failed), and recover finishes it.
Losing the runner lock's session too: the lock is taken again (no other runner has it) and
the rollback goes on."""

import json
import time

import pytest

from tests.faults.common import fingerprint

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
BASE = (
    "20261101_0900_base",
    "CREATE TABLE t (id int PRIMARY KEY, a int);\n",
    "DROP TABLE IF EXISTS t;\n",
)
# Fails at step 3 (no table "missing"): the rollback policy runs the down file, whose
# second step sleeps long enough to be terminated.
UP = (
    "ALTER TABLE t ADD COLUMN b int;\n"
    "CREATE INDEX CONCURRENTLY idx_b ON t (b);\n"
    "ALTER TABLE t ADD CONSTRAINT b_fk FOREIGN KEY (b) REFERENCES missing (id);\n"
)
SLEEP = "SELECT pg_sleep(1.5)"
DOWN = f"DROP INDEX CONCURRENTLY IF EXISTS idx_b;\n{SLEEP};\nALTER TABLE t DROP COLUMN IF EXISTS b;\n"
# Short waits between reconnections (the defaults wait 0.5 s, then 1, 2, 4, 5 s).
CONFIG = '[retry]\ninitial_delay = "20ms"\nmax_delay = "200ms"\n'


def start(project, config=CONFIG):
    db = project.database
    (project.dir / "atomig.toml").write_text(config)
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    before = fingerprint(db)
    project.add(f"{VERSION}_change", UP, DOWN)
    return before, project.popen("up", "--json")


def terminate_sleeping_down_step(
    db, proc, *, times, also_lock=False, then=None, timeout_s=90
):
    """Terminate the backend running the down step's sleep, ``times`` times (or until
    ``proc`` exits); return how many were terminated."""
    done = 0
    deadline = time.monotonic() + timeout_s
    while done < times and proc.poll() is None and time.monotonic() < deadline:
        pids = [
            row[0]
            for row in db.execute(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE %s AND pid <> pg_backend_pid()",
                (SLEEP + "%",),
            )
        ]
        if also_lock and pids:
            pids += [
                row[0]
                for row in db.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE application_name LIKE 'atomig runner%%'"
                )
            ]
        for pid in pids:
            db.execute("SELECT pg_terminate_backend(%s)", (pid,))
        if pids:
            done += 1
            if then is not None:
                then()
            time.sleep(0.3)  # let it notice before looking again
        else:
            time.sleep(0.05)
    return done


@pytest.mark.parametrize("also_lock", [False, True], ids=["step", "step+lock"])
def test_a_rollback_that_loses_its_connection_once_completes(project, also_lock):
    db = project.database
    before, proc = start(project)
    assert terminate_sleeping_down_step(db, proc, times=1, also_lock=also_lock) == 1
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert json.loads(out)["error"] == "migration-failed"
    assert "was rolled back" in err
    assert "reconnecting" in err
    assert fingerprint(db) == before
    assert (
        db.scalar(
            "SELECT count(*) FROM atomig.migrations WHERE version = %s", (VERSION,)
        )
        == 0
    )
    assert (
        db.scalar(
            "SELECT event FROM atomig.history WHERE version = %s ORDER BY id DESC LIMIT 1",
            (VERSION,),
        )
        == "rolled_back"
    )
    assert (
        db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL") == 0
    )
    # The down step ran twice: once terminated, once committed.
    assert db.execute(
        "SELECT step_index, outcome FROM atomig.journal WHERE version = %s "
        "AND direction = 'rollback' ORDER BY id",
        (VERSION,),
    )[-1:] == [(1, "committed")]


def test_a_rollback_that_keeps_losing_its_connection_gives_up_recorded(project):
    db = project.database
    before, proc = start(project)
    killed = terminate_sleeping_down_step(db, proc, times=100)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err
    assert killed == 6  # the first run and 5 retries
    assert "lost its connection 6 times" in err
    assert json.loads(out)["error"] == "needs-attention"
    status, failure = db.execute(
        "SELECT status, failure FROM atomig.migrations WHERE version = %s", (VERSION,)
    )[0]
    assert status == "partial"
    assert failure["attention"] == "rollback_failed"
    assert failure["rollback"]["connection_lost"] is True
    recover = project.cli("recover", "--rollback")
    assert recover.exit_code == 0, recover.output
    assert fingerprint(db) == before


def test_a_rollback_whose_lock_another_runner_took_meanwhile_stops(project):
    from atomig.run.runner_lock import LOCK_CLASS

    db = project.database
    # atomig pauses 1 s before reconnecting: "another runner" takes the lock meanwhile.
    before, proc = start(project, '[retry]\ninitial_delay = "200ms"\n')
    with db.connect() as other:

        def take_lock():
            deadline = time.monotonic() + 0.8
            while time.monotonic() < deadline:
                taken = other.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext('atomig'))", (LOCK_CLASS,)
                ).fetchone()[0]
                if taken:
                    return
                time.sleep(0.01)
            raise AssertionError("the lock was not released")

        assert (
            terminate_sleeping_down_step(
                db, proc, times=1, also_lock=True, then=take_lock
            )
            == 1
        )
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err
    assert "another runner has taken the lock" in err
    assert json.loads(out)["error"] == "needs-attention"
    assert (
        db.scalar("SELECT status FROM atomig.migrations WHERE version = %s", (VERSION,))
        == "rolling_back"
    )
    recover = project.cli("recover")
    assert recover.exit_code == 0, recover.output
    assert fingerprint(db) == before
