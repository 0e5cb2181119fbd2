"""Human output of the safety net: proofs, traces, dry runs and checks (rich, lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from atomig.cli.render import console
from atomig.sql.locks import LockMode

if TYPE_CHECKING:
    from atomig.api.dryrun import DryRunReport
    from atomig.api.safety import VerifyReport
    from atomig.api.tracing import TraceReport
    from atomig.verify.trace import LockTaken


def render_verify(report: VerifyReport) -> None:
    """One line per migration; each failed check with the objects that differ."""
    out = console()
    if not report.migrations:
        out.print("nothing to verify: no pending migrations (--all verifies every one)")
        return
    out.print(
        f"verified on a scratch database on {report.scratch_server} "
        f"(PostgreSQL {report.server_version}); {report.replayed} applied migration(s) "
        f"replayed first; {report.duration_ms} ms",
        markup=False,
    )
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    for proof in report.migrations:
        if proof.skipped:
            out.print(
                f"[yellow]-[/] {escape(proof.name)}: {escape(proof.skipped)}",
                highlight=False,
            )
            continue
        if proof.ok:
            boundaries = sum(1 for c in proof.checks if c.name.startswith("rollback"))
            also = f", rollback proven at {boundaries} step(s)" if boundaries else ""
            out.print(
                f"[green]✓[/] {escape(proof.name)}: reversible ({proof.steps} step(s){also}; "
                f"{proof.duration_ms} ms)",
                highlight=False,
            )
            continue
        out.print(
            f"[bold red]✗[/] {escape(proof.name)}: NOT reversible", highlight=False
        )
        for check in proof.checks:
            if check.ok:
                continue
            where = f"{check.location}: " if check.location else ""
            out.print(f"    {check.name}: {where}{check.message}", markup=False)
            for difference in check.differences:
                out.print(f"      {difference.describe()}", markup=False)
    failed = sum(1 for proof in report.migrations if not proof.ok)
    if failed:
        out.print(
            f"[bold red]{failed} of {len(report.migrations)} migration(s) not proven "
            "reversible[/]"
        )
    else:
        out.print(f"[green]all {len(report.migrations)} migration(s) reversible[/]")


def _lock_line(lock: LockTaken) -> str:
    if lock.created:
        style = "dim"
    elif lock.mode is LockMode.ACCESS_EXCLUSIVE:
        style = "bold red"
    else:
        style = "yellow" if lock.mode.blocks_writes else ""
    mode = f"[{style}]{lock.mode.label}[/]" if style else lock.mode.label
    waiting = " (waited, not granted)" if not lock.granted else ""
    held = f", held {_duration(lock.held_ms)}" if lock.held_ms is not None else ""
    if lock.since_line is not None:
        total = _duration(lock.held_ms or 0)
        held = f", already held (taken at line {lock.since_line}; {total} in all)"
    return f"{mode} on {escape(lock.relation)} ({lock.kind}){waiting}{held} — {lock.blocks}"


def _duration(ms: int) -> str:
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def render_trace(report: TraceReport) -> None:
    """Per migration, per step, per statement: duration, locks (ACCESS EXCLUSIVE in bold
    red) with how long each is held until its step commits, and rewrites."""
    out = console()
    out.print(
        f"traced on a scratch database on {report.scratch_server} "
        f"(PostgreSQL {report.server_version})",
        markup=False,
    )
    for seeded in report.seeded:
        note = f" ({seeded.note})" if seeded.note else ""
        out.print(
            f"seeded {seeded.table}: {seeded.rows:,} rows (target estimate "
            f"{seeded.target_rows:,}){note}",
            markup=False,
        )
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if not report.migrations:
        out.print("nothing to trace: no pending migrations (name a VERSION)")
        return
    for traced in report.migrations:
        out.print(
            f"\n[bold]{escape(traced.name)}[/] ({traced.direction}, {traced.steps} "
            f"step(s), {_duration(traced.duration_ms)})"
        )
        step = 0
        for statement in traced.statements:
            if statement.step != step:
                step = statement.step
                out.print(f"  step {step} ({statement.step_kind})", markup=False)
            first = " ".join(statement.text.split())
            first = first[:100] + (" …" if len(first) > 100 else "")
            out.print(
                f"    {statement.path.rsplit('/', 1)[-1]}:{statement.line}  {first}  "
                f"[dim]{_duration(statement.duration_ms)}[/]",
                highlight=False,
            )
            for lock in statement.locks:
                out.print(f"        {_lock_line(lock)}", highlight=False)
            for rewrite in statement.rewrites:
                out.print(f"        [yellow]{escape(rewrite)}[/]", highlight=False)
            if statement.note:
                out.print(f"        note: {statement.note}", markup=False)
            if statement.error:
                out.print(f"        [bold red]failed:[/] {escape(statement.error)}")
        if traced.error:
            out.print(
                f"  [bold red]stopped:[/] {escape(traced.error)} (later migrations not "
                "traced)"
            )


def render_dry_run(report: DryRunReport) -> None:
    """Each migration tried: its outcome, and on the target each statement."""
    out = console()
    if not report.plans:
        return
    if report.mode == "target":
        out.print(
            f"\n[bold yellow]DRY RUN ON THE TARGET {escape(report.database)}[/]: rolled "
            "back, nothing changed"
        )
    else:
        out.print("\n[bold]dry run[/]", highlight=False)
    for note in report.notes:
        out.print(note, markup=False)
    for migration in report.migrations:
        if migration.outcome == "ok":
            steps = ", ".join(_duration(ms) for ms in migration.step_durations_ms)
            took = f"steps {steps}" if steps else _duration(migration.duration_ms)
            out.print(f"[green]✓[/] {escape(migration.name)}: ok ({took})")
        else:
            where = f"{migration.location}: " if migration.location else ""
            out.print(
                f"[bold red]✗[/] {escape(migration.name)}: failed: {escape(where)}"
                f"{escape(migration.message or '')}"
            )
        for statement in migration.statements:
            mark = {"ok": "[green]ok[/]", "failed": "[bold red]failed[/]"}.get(
                statement.outcome, "[yellow]skipped[/]"
            )
            extra = f": {statement.message}" if statement.message else ""
            out.print(
                f"    step {statement.step} line {statement.line}: {mark} "
                f"[dim]{_duration(statement.duration_ms)}[/]  "
                f"{escape(statement.text[:90])}{escape(extra)}",
                highlight=False,
            )
    tried = {m.version for m in report.migrations}
    for plan in report.plans:
        if plan.migration.version not in tried:
            out.print(
                f"[yellow]-[/] {escape(plan.migration.name)}: not tried (an earlier "
                "migration failed)"
            )
