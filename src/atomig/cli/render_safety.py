"""Human output of the safety net: proofs, traces, dry runs and checks (rich, lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.cli.render import console

if TYPE_CHECKING:
    from atomig.api.safety import VerifyReport


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
            out.print(f"[yellow]-[/] {proof.name}: {proof.skipped}", highlight=False)
            continue
        if proof.ok:
            boundaries = sum(1 for c in proof.checks if c.name.startswith("rollback"))
            also = f", rollback proven at {boundaries} step(s)" if boundaries else ""
            out.print(
                f"[green]✓[/] {proof.name}: reversible ({proof.steps} step(s){also}; "
                f"{proof.duration_ms} ms)",
                highlight=False,
            )
            continue
        out.print(f"[bold red]✗[/] {proof.name}: NOT reversible", highlight=False)
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
