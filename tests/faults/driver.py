"""A runner that SIGKILLs itself at a chosen point: ``python -m tests.faults.driver PROJECT URL
EVENT [STEP]``.

It runs ``atomig up`` through the library with a reporter that, on the first event of kind
EVENT (for step STEP, when given), kills its own process with SIGKILL — no cleanup, no
``finally``, exactly what ``kill -9`` or the OOM killer does to a real runner. The events are
emitted at the step boundaries: ``step.start`` before a step is sent, ``step.done`` after it
committed, ``migration.start`` before anything of the migration ran.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from atomig import api
from atomig.config import load_settings
from atomig.events import Event


def main() -> None:
    project, url, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    step = int(sys.argv[4]) if len(sys.argv) > 4 else None

    def report(event: Event) -> None:
        print(event.kind, event.message, flush=True)
        if event.kind == kind and (step is None or event.data.get("step") == step):
            os.kill(os.getpid(), signal.SIGKILL)

    settings = load_settings(Path(project), database_url=url, environ={})
    api.migrate(settings, report=report)
    print("finished without being killed", flush=True)


if __name__ == "__main__":
    main()
