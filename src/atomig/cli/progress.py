"""Progress of long work (backfills): a rich progress bar on a terminal, a line every few
seconds in logs, one JSON object per line with ``--json``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from atomig.cli.render import styled, survives_closed_output
from atomig.events import Event, Reporter

# In a log (not a terminal), one progress line at most this often.
_LOG_EVERY_S = 10.0


def json_line(document: dict[str, Any]) -> None:
    """One compact JSON object on its own line of stdout, flushed (for pipes)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def json_reporter() -> Reporter:
    """Every ``backfill.*`` event as a JSON line on stdout (others stay on stderr)."""

    def report(event: Event) -> None:
        if event.kind.startswith("backfill."):
            json_line({"event": event.kind, **event.data})
        else:
            print(event.message, file=sys.stderr)

    return survives_closed_output(report)


def _rows(value: float) -> str:
    return f"{value:,.0f}"


@contextmanager
def backfill_progress(quiet: bool) -> Iterator[Reporter]:
    """A reporter drawing backfill progress on stderr: a live bar on a terminal, else a
    line every ten seconds; other events as lines (warnings even when ``quiet``)."""
    from atomig.cli.render import console

    err = console(stderr=True)
    if not err.is_terminal or quiet:
        yield survives_closed_output(_log_reporter(err, quiet))
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn(
            "{task.fields[rows]} rows  {task.fields[rate]}/s  ETA {task.fields[eta]}"
        ),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    task = progress.add_task("backfill", total=None, rows="0", rate="-", eta="-")

    def report(event: Event) -> None:
        data = event.data
        if event.kind == "backfill.batch":
            fraction = data.get("fraction")
            eta = data.get("eta_s")
            progress.update(
                task,
                total=1.0 if fraction is not None else None,
                completed=fraction or 0.0,
                rows=_rows(data.get("rows_affected", 0)),
                rate=_rows(data["rate"]) if data.get("rate") else "-",
                eta=_clock(eta) if eta is not None else "-",
            )
            return
        if event.kind == "backfill.start":
            progress.update(task, description=f"backfill {data.get('name', '')}")
        style = {"warning": "yellow", "error": "red"}.get(event.level, "")
        progress.console.print(
            styled(event.message, style) if style else event.message,
            markup=bool(style),
            highlight=False,
        )

    with progress:
        yield survives_closed_output(report)


def _log_reporter(err: Any, quiet: bool) -> Reporter:
    last = [0.0]

    def report(event: Event) -> None:
        if event.kind == "backfill.batch":
            now = time.monotonic()
            if quiet or now - last[0] < _LOG_EVERY_S:
                return
            last[0] = now
            data = event.data
            fraction = data.get("fraction")
            eta = data.get("eta_s")
            share = f"{fraction:.0%}, " if fraction is not None else ""
            err.print(
                f"backfill {data['name']}: {share}{_rows(data['rows_affected'])} rows "
                f"changed, {data['batch']} batches"
                + (f", {_rows(data['rate'])} rows/s" if data.get("rate") else "")
                + (f", ETA {_clock(eta)}" if eta is not None else ""),
                markup=False,
                highlight=False,
            )
            return
        if quiet and event.level == "info":
            return
        err.print(event.message, markup=False, highlight=False)

    return report


def _clock(seconds: float) -> str:
    """``h:mm:ss``.

    >>> _clock(3725)
    '1:02:05'
    """
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@contextmanager
def verify_progress(
    quiet: bool, as_json: bool, fallback: Reporter
) -> Iterator[Reporter]:
    """Progress of ``atomig verify``. When stdout and stderr are the same terminal, the
    per-migration verdicts appear in the report printed at the end, so while proofs run a
    transient status line says which one is running (and disappears); other events print
    as lines. Elsewhere (logs, pipes, ``--json``) every event stays a line on stderr."""
    from atomig.cli.render import console

    err = console(stderr=True)
    if quiet or as_json or not (err.is_terminal and sys.stdout.isatty()):
        yield fallback
        return
    total = [0]
    done = [0]
    status = err.status("verifying …")

    def report(event: Event) -> None:
        if event.kind == "verify.start":
            total[0] = int(event.data.get("migrations", 0))
            status.update(f"{event.message} …")
            return
        if event.kind == "verify.migration":
            done[0] += 1
            of = f"/{total[0]}" if total[0] else ""
            data = event.data
            name = f"{data.get('version', '')}_{data.get('slug', '')}"
            status.update(f"verifying: {done[0]}{of} done, last {name} …")
            return
        style = {"warning": "yellow", "error": "red"}.get(event.level, "")
        err.print(
            styled(event.message, style) if style else event.message,
            markup=bool(style),
            highlight=False,
        )

    with status:
        yield survives_closed_output(report)
