"""A runner that SIGKILLs itself at a chosen point: ``python -m tests.faults.driver PROJECT URL
EVENT [STEP]``.

It runs ``atomig up`` through the library with a reporter that, on the first event of kind
EVENT (for step STEP, when given), kills its own process with SIGKILL — no cleanup, no
``finally``, exactly what ``kill -9`` or the OOM killer does to a real runner. The events are
emitted at the step boundaries: ``step.start`` before a step is sent, ``step.done`` after it
committed, ``migration.start`` before anything of the migration ran.

Two more points lie inside a step, between an autocommit statement's success and the
journal/ledger write that records it (the journal says ``started``, the catalog says done):
``committed.kill`` SIGKILLs the runner there, ``committed.drop`` terminates its backend there
(a dropped connection) and lets the runner carry on. STEP, when given, is the 1-based step.
``ATOMIG_DRIVER_COMMAND=recover`` runs ``atomig recover`` instead of ``atomig up``.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import psycopg

from atomig import api
from atomig.config import load_settings
from atomig.events import Event
from atomig.run import record

INSIDE = ("committed.kill", "committed.drop")


def _hook_committed(kind: str, step: int | None, url: str) -> None:
    """Fault once: on the first up autocommit step (``step``) whose statement succeeded,
    just before its journal row is closed."""
    original = record.journal_finish
    fired = []

    def journal_finish(
        conn: Any, schema: str, journal_id: int, outcome: str, **kw: Any
    ):
        index, direction = conn.execute(
            f"SELECT step_index, direction FROM {schema}.journal WHERE id = %s",
            (journal_id,),
        ).fetchone()
        if (
            outcome == "done"
            and direction == "up"
            and not fired
            and (step is None or index + 1 == step)
        ):
            fired.append(index)
            print(f"fault {kind} at step {index + 1}", flush=True)
            if kind == "committed.kill":
                os.kill(os.getpid(), signal.SIGKILL)
            pid = conn.info.backend_pid
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
        return original(conn, schema, journal_id, outcome, **kw)

    record.journal_finish = journal_finish  # type: ignore[assignment]


def main() -> None:
    project, url, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    step = int(sys.argv[4]) if len(sys.argv) > 4 else None
    if kind in INSIDE:
        _hook_committed(kind, step, url)

    # ATOMIG_DRIVER_NTH=2: kill at the second matching event (a down step of the rollback
    # after the up step of the same number).
    left = [int(os.environ.get("ATOMIG_DRIVER_NTH", "1"))]

    def report(event: Event) -> None:
        print(event.kind, event.message, flush=True)
        if event.kind == kind and (step is None or event.data.get("step") == step):
            left[0] -= 1
            if not left[0]:
                os.kill(os.getpid(), signal.SIGKILL)

    settings = load_settings(Path(project), database_url=url, environ={})
    if os.environ.get("ATOMIG_DRIVER_COMMAND") == "recover":
        api.recover(settings, report=report)
    else:
        api.migrate(settings, report=report)
    print("finished without being killed", flush=True)


if __name__ == "__main__":
    main()
