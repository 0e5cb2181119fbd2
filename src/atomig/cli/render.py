"""Human output: concise, colour on a TTY, plain otherwise (rich)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from atomig.events import Event, Reporter

if TYPE_CHECKING:
    from rich.console import Console

    from atomig.plan.model import Plan
    from atomig.run.status import StatusReport

_STATE_STYLE = {
    "applied": "green",
    "pending": "yellow",
    "partial": "bold red",
    "edited": "bold red",
    "missing": "bold red",
}


def console(stderr: bool = False) -> Console:
    """A rich console; imported lazily to keep start-up fast."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Pipes and CI logs get wide lines instead of truncated table cells.
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def stderr_reporter(quiet: bool = False) -> Reporter:
    """A reporter printing each event as one line on stderr (rich loads on first use)."""
    consoles: list[Console] = []

    def report(event: Event) -> None:
        if quiet and event.level == "info":
            return
        if not consoles:
            consoles.append(console(stderr=True))
        err = consoles[0]
        style = {"warning": "yellow", "error": "red"}.get(
            event.level, "dim" if event.kind == "embedded" else ""
        )
        err.print(
            f"[{style}]{event.message}[/]" if style else event.message,
            markup=bool(style),
        )

    return report


def render_status(report: StatusReport) -> None:
    """The status table plus a one-line summary."""
    out = console()
    out.print(
        f"database: {report.database} (PostgreSQL {report.server_version})",
        markup=False,
    )
    if not report.migrations:
        out.print("no migrations yet: create one with `atomig new SLUG`", markup=False)
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("version", "slug", "state", "applied at", "duration", "note"):
        table.add_column(column)
    for m in report.migrations:
        note = ""
        if m.edited_files:
            note = "edited: " + ", ".join(m.edited_files)
        elif m.state == "partial":
            note = f"steps {m.steps_done}/{m.step_count}"
        elif m.out_of_order:
            note = "older than the latest applied"
        elif m.last_failure:
            failure = m.last_failure
            note = f"last attempt {failure.get('event')}: {failure.get('message', '')}"
            note = note.splitlines()[0][:100]
        table.add_row(
            m.version,
            m.slug,
            f"[{_STATE_STYLE.get(m.state, '')}]{m.state}[/]",
            m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else "",
            f"{m.duration_ms} ms" if m.duration_ms is not None else "",
            note,
        )
    out.print(table)
    summary = ", ".join(
        f"{report.count(state)} {state}"
        for state in ("applied", "pending", "partial", "edited", "missing")
        if report.count(state)
    )
    out.print(summary, markup=False)


def render_plans(server: str, plans: list[Plan]) -> None:
    """Each migration's steps with kind, envelope and retry policy."""
    out = console()
    if not plans:
        out.print("nothing to plan: no pending migrations", markup=False)
        return
    for plan in plans:
        out.print(
            f"[bold]{plan.migration.name}[/] ({plan.direction}, PostgreSQL {server})"
        )
        if not plan.steps:
            out.print("  (no statements)", markup=False)
        for step in plan.steps:
            env = step.envelope
            out.print(
                f"  step {step.index + 1}: [cyan]{step.kind.value}[/]"
                f"  lock_timeout={env.lock_timeout_ms}ms"
                f" statement_timeout={env.statement_timeout_ms}ms"
                f"  retries≤{step.retry.max_attempts}"
                f" (per-attempt lock wait {step.retry.attempt_lock_timeout_ms}ms)"
            )
            for statement in step.statements:
                file_name = plan.path.rsplit("/", 1)[-1]
                first = statement.text.splitlines()[0]
                more = " …" if "\n" in statement.text or len(first) > 100 else ""
                out.print(
                    f"    {file_name}:{statement.span.line}  {first[:100]}{more}",
                    markup=False,
                )


def write(text: str) -> None:
    """Plain text to stdout."""
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")
