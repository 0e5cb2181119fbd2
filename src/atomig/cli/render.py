"""Human output: concise, colour on a TTY, plain otherwise (rich)."""

from __future__ import annotations

import errno
import sys
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from atomig.events import Event, Reporter

if TYPE_CHECKING:
    from rich.console import Console

    from atomig.plan.model import Plan
    from atomig.run.status import StatusReport

_STATE_STYLE = {
    "applied": "green",
    "pending": "yellow",
    "partial": "bold red",
    "running": "cyan",
    "edited": "bold red",
    "missing": "bold red",
    "broken": "bold red",
}


def console(stderr: bool = False) -> Console:
    """A rich console; imported lazily to keep start-up fast."""
    stream = sys.stderr if stderr else sys.stdout
    # Pipes and CI logs get wide lines instead of truncated table cells.
    width = None if stream.isatty() else 200
    return _console_class()(stderr=stderr, highlight=False, soft_wrap=True, width=width)


@lru_cache(maxsize=1)
def _console_class() -> type[Console]:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich's own ends the process (SystemExit, and stdout pointed at /dev/null even
            # for a stderr console): in the middle of a migration, that would abandon it
            # between two steps. Stop writing and let the caller decide.
            self.quiet = True
            raise BrokenPipeError(errno.EPIPE, "the reader of this output is gone")

    return _Console


_BATCH_LINE_EVERY_S = 10.0


def survives_closed_output(report: Reporter) -> Reporter:
    """``report``, except that once its stream cannot be written (the reader of the pipe
    is gone: ``atomig up 2>&1 | head``, a log collector that died, a lost session) it stops
    reporting instead of raising into the work: a progress line must never abort a
    migration between two steps or a backfill between two batches."""
    broken = False

    def report_or_stop(event: Event) -> None:
        nonlocal broken
        if broken:
            return
        try:
            report(event)
        except OSError:  # EPIPE, EIO: nobody reads this output any more
            broken = True

    return report_or_stop


# A reader that is gone (EPIPE) or a terminal that hung up (EIO); a full disk is not that.
_READER_GONE = (errno.EPIPE, errno.EIO)


class ReaderMayLeave:
    """A text stream (stdout, stderr) whose writes stop, without an error, once its
    reader is gone: ``atomig up 2>&1 | head -1``, ``atomig lint | head``, a log collector
    that died. Every command then ends with the exit code of what it did — to the
    database, or its verdict — instead of click's 1 for a broken pipe. Other errors (a
    full disk) still raise. Python ignores SIGPIPE, so the pipe's end shows as EPIPE."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        """Write ``text``, or drop it once the reader is gone."""
        if not self.reader_gone:
            try:
                return int(self.stream.write(text))
            except OSError as exc:
                self._gone_or_raise(exc)
        return len(text)

    def flush(self) -> None:
        """Flush, unless the reader is gone."""
        if not self.reader_gone:
            try:
                self.stream.flush()
            except OSError as exc:
                self._gone_or_raise(exc)

    def _gone_or_raise(self, exc: OSError) -> None:
        if exc.errno not in _READER_GONE:
            raise exc
        self.reader_gone = True

    def __getattr__(self, name: str) -> Any:
        # isatty, fileno, encoding, errors, buffer …: as the wrapped stream's.
        return getattr(self.stream, name)


def styled(message: str, style: str) -> str:
    """``message`` in ``style`` as rich markup, its own brackets kept as text: a message
    quoting ``[preflight] lock_holders`` or SQL's ``ARRAY[1]`` must not lose them, and a
    ``[/x]`` in it must not raise a markup error."""
    from rich.markup import escape

    return f"[{style}]{escape(message)}[/]"


def stderr_reporter(quiet: bool = False) -> Reporter:
    """A reporter printing each event as one line on stderr (rich loads on first use)."""
    consoles: list[Console] = []
    last_batch = [0.0]

    def report(event: Event) -> None:
        if quiet and event.level == "info":
            return
        if event.kind == "backfill.batch":
            # A backfill step reports every batch: one line every ten seconds is enough.
            now = time.monotonic()
            if now - last_batch[0] < _BATCH_LINE_EVERY_S:
                return
            last_batch[0] = now
            data = event.data
            fraction = data.get("fraction")
            share = f" ({fraction:.0%})" if fraction is not None else ""
            event = Event(
                event.kind,
                f"backfill {data.get('name')}: {data.get('rows_affected')} rows changed in "
                f"{data.get('batch')} batches{share}",
            )
        if not consoles:
            consoles.append(console(stderr=True))
        err = consoles[0]
        style = {"warning": "yellow", "error": "red"}.get(
            event.level, "dim" if event.kind == "embedded" else ""
        )
        err.print(
            styled(event.message, style) if style else event.message,
            markup=bool(style),
        )

    return survives_closed_output(report)


_WHEN = "%Y-%m-%d %H:%M:%S"


def render_status(report: StatusReport) -> None:
    """The status table plus a one-line summary."""
    out = console()
    out.print(
        f"database: {report.database} (PostgreSQL {report.server_version})",
        markup=False,
    )
    if not report.migrations:
        out.print("no migrations yet: create one with `atomig new SLUG`", markup=False)
        _status_footer(out, report)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("version", "slug", "state", "applied at", "duration", "note"):
        table.add_column(column)
    for m in report.migrations:
        note = ""
        if m.state == "broken":
            note = "see below"  # the reason names files: too long for a table cell
        elif m.edited_files:
            note = "edited: " + ", ".join(m.edited_files)
        elif m.state in ("partial", "running"):
            note = f"steps {m.steps_done}/{m.step_count}"
            if m.started_at:
                note = f"started {m.started_at.strftime(_WHEN)}, {note}"
            if m.reason:
                note += f", {m.reason.replace('_', ' ')}"
            cause = (m.failure or {}).get("cause")
            if cause:
                note += f": {str(cause).splitlines()[0][:80]}"
        elif m.out_of_order:
            note = "older than the latest applied"
        elif m.last_failure:
            note = failure_note(m.last_failure)
        elif m.baseline:
            note = "baselined" + (
                "" if m.baseline["proven"] else f", unproven: {m.baseline['reason']}"
            )
        table.add_row(
            m.version,
            m.slug,
            f"[{_STATE_STYLE.get(m.state, '')}]{m.state}[/]",
            m.applied_at.strftime(_WHEN) if m.applied_at else "",
            f"{m.duration_ms} ms" if m.duration_ms is not None else "",
            Text(note),  # not markup: paths and error text may hold [brackets]
        )
    out.print(table)
    summary = ", ".join(f"{n} {state}" for state, n in report.counts().items() if n)
    out.print(summary, markup=False)
    _status_footer(out, report)


def failure_note(failure: dict[str, Any]) -> str:
    """The status note of a pending migration whose last attempt failed.

    A failed transaction's history row has the message; a rollback's, the failed step's
    cause (a recovery's: only what it found).

    >>> failure_note({"event": "failed", "message": "boom\\nDETAIL: x"})
    'last attempt failed: boom'
    >>> failure_note({"event": "rolled_back", "cause": {"message": "no lock"}})
    'last attempt rolled_back: no lock'
    >>> failure_note({"event": "rolled_back", "cause": {"cause": "interrupted at step 2"}})
    'last attempt rolled_back: interrupted at step 2'
    """
    cause = failure.get("cause")
    if isinstance(cause, dict):
        cause = cause.get("message") or cause.get("cause")
    message = failure.get("message") or cause or ""
    return f"last attempt {failure.get('event')}: {message}".splitlines()[0][:100]


def _status_footer(out: Console, report: StatusReport) -> None:
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if any(m.state == "partial" for m in report.migrations):
        out.print(
            "a migration did not finish: `atomig recover --dry-run` explains, "
            "`atomig up` applies its failure policy",
            markup=False,
        )
    broken = [m for m in report.migrations if m.state == "broken"]
    for m in broken:
        out.print(f"broken {m.version}_{m.slug}: {m.reason}", markup=False)
    if broken:
        out.print(
            "a broken migration stops `atomig up` and `atomig down` until its files are "
            "fixed",
            markup=False,
        )
    if report.fingerprint:
        out.print(
            f"fingerprint: {report.fingerprint} "
            f"({len(report.fingerprint_objects or {})} objects)",
            markup=False,
        )


def _ms(ms: int) -> str:
    from atomig.units import format_duration_ms

    return format_duration_ms(ms) if ms else "none"


def _step_lines(step: Any) -> list[str]:
    env = step.envelope
    kind = step.kind.value + (" (CONCURRENTLY)" if step.concurrent else "")
    first, last = step.first_attempt_lock_timeout_ms, step.last_attempt_lock_timeout_ms
    if step.short_attempts and first != last:
        lock = f"lock_timeout {_ms(first)} first, doubling to {_ms(last)}"
    elif step.short_attempts:
        lock = f"lock_timeout {_ms(first)} at every attempt"
    else:
        lock = f"lock_timeout {_ms(env.lock_timeout_ms)}"
    lines = [f"{kind}  {lock}, statement_timeout {_ms(env.statement_timeout_ms)}"]
    if step.locks:
        lines.append(
            "takes "
            + ", ".join(f"{lock.mode.label} on {lock.relation}" for lock in step.locks)
        )
    if step.concurrent:
        lines.append(
            "waits first for old transactions holding snapshots; an INVALID index "
            "a failed build leaves is dropped"
        )
    return lines


def render_plans(
    server: str, plans: list[Plan], failures: list[dict[str, Any]] | None = None
) -> None:
    """Each migration's steps with kind, envelope, locks and retry policy, and what
    happens if it fails."""
    out = console()
    if not plans:
        out.print("nothing to plan: no pending migrations", markup=False)
        return
    for number, plan in enumerate(plans):
        out.print(
            f"[bold]{plan.migration.name}[/] ({plan.direction}, PostgreSQL {server})"
        )
        if not plan.steps:
            out.print("  (no statements)", markup=False)
        file_name = plan.path.rsplit("/", 1)[-1]
        for step in plan.steps:
            first, *rest = _step_lines(step)
            out.print(f"  step {step.index + 1}: {styled(first, 'cyan')}")
            for line in rest:
                out.print(f"          {line}", markup=False)
            for statement in step.statements:
                text = statement.text.splitlines()[0]
                more = " …" if "\n" in statement.text or len(text) > 100 else ""
                out.print(
                    f"    {file_name}:{statement.span.line}  {text[:100]}{more}",
                    markup=False,
                )
        if plan.steps:
            retry = plan.steps[0].retry
            out.print(
                f"  retries: lock timeouts, deadlocks and serialization failures, up to "
                f"{retry.max_attempts} attempts within {_ms(retry.budget_ms)}, pauses "
                f"{_ms(retry.initial_delay_ms)} doubling to {_ms(retry.max_delay_ms)} "
                f"with full jitter; before a retry, waits up to {_ms(retry.blocker_wait_ms)} "
                f"(not queued) for transactions open over {_ms(retry.blocker_age_ms)} that "
                "hold conflicting locks",
                markup=False,
            )
        failure = failures[number] if failures else None
        if failure and failure.get("partial_possible"):
            policy = failure["on_failure"]
            if policy == "resume":
                text = "resume (stops at the failing step, recorded partial; `atomig up` resumes)"
            elif failure.get("down_safe"):
                text = (
                    "rollback (runs the down file — safe on a partial state — and verifies "
                    "the schema fingerprint)"
                )
            else:
                hazard = failure["down_hazard"]
                text = (
                    f"rollback, but the down file is NOT safe on a partial state: "
                    f"{hazard['file']}:{hazard['line']}:{hazard['column']}: "
                    f"{hazard['reason']} (atomig up refuses to start it)"
                )
            out.print(f"  on failure: {text}", markup=False)


def write(text: str) -> None:
    """Plain text to stdout."""
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")
