"""Running a piece of lint work in a forked child while the parent does its own.

The child inherits everything the parent built (the parsed files, the schema), copy on
write, and sends back one picklable value through a pipe. Forking is used only where
``os.fork`` exists and no other thread runs (forking a threaded process is unsafe).
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from atomig.lint.finding import Finding

T = TypeVar("T")
C = TypeVar("C")


def can_fork() -> bool:
    """This process may fork: the platform has ``os.fork`` and no other thread runs."""
    return hasattr(os, "fork") and threading.active_count() == 1


def in_parallel(child: Callable[[], C], parent: Callable[[], T]) -> tuple[T, C | None]:
    """Run ``child`` in a forked process while ``parent`` runs here; returns the parent's
    result and the child's (``None`` when the child failed: its work is not trusted).

    An error (or Ctrl-C) in the parent ends and reaps the child before it propagates.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read)
            data = pickle.dumps(child(), pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    reader = os.fdopen(read, "rb")
    try:
        mine = parent()
        data = reader.read()
    except BaseException:
        # (the child may be blocked writing to the pipe)
        reader.close()
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    reader.close()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return mine, None
    try:
        theirs: C = pickle.loads(data)  # our own child's output, of child()'s type
    except Exception:
        return mine, None
    return mine, theirs


# Findings cross the pipe as plain tuples: pickling dataclass instances costs twice as much.
Row = tuple[str, int, str, int, int, int, int, str, str]


def finding_rows(findings: list[Finding]) -> list[Row]:
    """Findings as plain tuples, to send through the pipe."""
    return [
        (
            f.rule,
            int(f.severity),
            f.path,
            f.line,
            f.column,
            f.end_line,
            f.end_column,
            f.message,
            f.fix,
        )
        for f in findings
    ]


def findings_of(rows: list[Row]) -> list[Finding]:
    """The findings :func:`finding_rows` made rows of."""
    from atomig.lint.finding import Finding, Severity

    return [
        Finding(
            rule, Severity(severity), path, line, column, end_line, end_col, msg, fix
        )
        for rule, severity, path, line, column, end_line, end_col, msg, fix in rows
    ]
