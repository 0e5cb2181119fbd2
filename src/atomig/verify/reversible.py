"""Reversibility proofs: every up has a down, and the down really restores the schema.

For one migration, on a scratch database holding the schema before it (F0), with the real
runner (the same code ``atomig up`` / ``down`` runs):

1. up → F1;
2. down → must be F0 exactly;
3. for a migration of several steps, at every step boundary k (0 ≤ k < steps): steps 1..k,
   then a failure injected as step k+1 — so the runner's own rollback path runs the down file
   on that partial state and compares the fingerprint with F0 itself. This is what happens
   in production when step k+1 fails, proven before it can;
4. up again → must be F1 exactly (a down that leaves something behind often breaks the next
   up).

A mismatch names each object and what about it differs (:mod:`atomig.verify.diff`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from atomig.errors import AtomigError, Interrupted, MigrationFailed, NeedsAttention
from atomig.plan.model import Plan, Step, StepKind
from atomig.plan.rollback import needs_partial_rollback, rollback_hazard
from atomig.run.context import RunContext
from atomig.run.runner import apply_migration, check_runnable, revert_migration
from atomig.source.model import Migration
from atomig.sql.parse import parse_script
from atomig.verify.diff import ObjectDifference, Snapshot, differences, take_snapshot

_STOP_MARK = "atomig verify: stopping after step"


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """One claim about a migration and whether it held."""

    name: str
    ok: bool
    message: str = ""
    differences: tuple[ObjectDifference, ...] = ()
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "check": self.name,
            "ok": self.ok,
            "message": self.message,
            "location": self.location,
            "differences": [d.to_dict() for d in self.differences],
        }


@dataclass(frozen=True, slots=True)
class MigrationProof:
    """The checks of one migration; ``ok`` when every one held."""

    version: str
    slug: str
    steps: int
    checks: tuple[ProofCheck, ...]
    duration_ms: int
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """Every check held (and the migration was not skipped)."""
        return self.skipped is None and all(check.ok for check in self.checks)

    @property
    def name(self) -> str:
        """``<version>_<slug>``."""
        return f"{self.version}_{self.slug}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "version": self.version,
            "slug": self.slug,
            "ok": self.ok,
            "steps": self.steps,
            "duration_ms": self.duration_ms,
            "skipped": self.skipped,
            "checks": [check.to_dict() for check in self.checks],
        }


def _stop_step(up: Plan, k: int) -> Step:
    """A step that fails at once (a DO block raising), sent as step k+1: the runner treats
    it like any failing step and applies the rollback policy."""
    text = f"DO $atomig$ BEGIN RAISE EXCEPTION '{_STOP_MARK} {k}'; END $atomig$"
    [statement] = parse_script(text, "(atomig verify)").statements
    retry = up.steps[0].retry
    return Step(k, StepKind.AUTOCOMMIT, (statement,), up.envelope, retry)


def _failed(name: str, error: AtomigError, extra: str = "") -> ProofCheck:
    return ProofCheck(
        name,
        False,
        error.message + extra,
        location=str(error.location) if error.location else None,
    )


class _Prover:
    def __init__(
        self,
        ctx: RunContext,
        migration: Migration,
        up: Plan,
        down: Plan,
    ) -> None:
        self.ctx, self.migration, self.up, self.down = ctx, migration, up, down
        self.checks: list[ProofCheck] = []
        self.before: Snapshot | None = None
        self.last: Snapshot | None = None

    def apply(self, plan: Plan) -> None:
        # The runner fingerprints the schema before a multi-step migration; it is F0.
        assert self.before is not None
        fingerprint = self.before.fingerprint.to_dict()
        apply_migration(
            self.ctx, self.migration, plan, self.down, fingerprint=fingerprint
        )

    def snapshot(self) -> Snapshot:
        return take_snapshot(self.ctx.conn, self.ctx.schema)

    def attempt(self, name: str, action: Callable[[], Any]) -> bool:
        started = time.monotonic()
        try:
            action()
        except Interrupted:
            raise
        except AtomigError as error:
            self.checks.append(_failed(name, error))
            return False
        took = round((time.monotonic() - started) * 1000)
        self.checks.append(ProofCheck(name, True, f"ran in {took} ms"))
        return True

    def compare(
        self, name: str, expected: Snapshot, what: str, *, any_order: bool = False
    ) -> bool:
        actual = self.last = self.snapshot()
        found = differences(expected, actual)
        moved = [d for d in found if any_order and _order_only(expected, actual, d)]
        found = [d for d in found if d not in moved]
        if found:
            self.checks.append(
                ProofCheck(
                    name,
                    False,
                    f"{what}: {len(found)} object(s) differ",
                    tuple(found),
                )
            )
            return False
        message = f"fingerprint {actual.digest[:12]}"
        if moved:
            message = (
                "the same schema except the order of the columns of "
                + ", ".join(d.key.removeprefix("table ") for d in moved)
                + " (re-added columns come last; the down file declares "
                "column_order=appended)"
            )
        self.checks.append(ProofCheck(name, True, message))
        return True

    def static_rollback(self) -> None:
        found = rollback_hazard(self.up, self.down, self.ctx.server_version)
        if found is None:
            self.checks.append(
                ProofCheck("down file guarded for a partial state", True)
            )
            return
        statement, reason = found
        self.checks.append(
            ProofCheck(
                "down file guarded for a partial state",
                False,
                f"{' '.join(statement.text.split())[:80]!r}: {reason} (atomig up refuses "
                "to start this migration under the rollback policy)",
                location=f"{self.down.path}:{statement.span.line}:{statement.span.column}",
            )
        )

    def boundary(self, k: int, before: Snapshot) -> bool:
        count = len(self.up.steps)
        name = f"rollback when step {k + 1}/{count} fails"
        partial = replace(
            self.up,
            steps=(*self.up.steps[:k], _stop_step(self.up, k)),
            on_failure="rollback",
        )
        try:
            self.apply(partial)
        except Interrupted:
            raise
        except MigrationFailed as error:
            if _STOP_MARK in error.message:
                self.checks.append(ProofCheck(name, True, "the down file restored F0"))
                return True
            self.checks.append(_failed(name, error, " (while replaying steps 1..k)"))
            return False
        except NeedsAttention as error:
            attention = (error.details.get("failure") or {}).get("attention")
            found: tuple[ObjectDifference, ...] = ()
            if attention == "rollback_mismatch":
                found = tuple(differences(before, self.snapshot()))
            self.checks.append(
                ProofCheck(
                    name,
                    False,
                    _partial_message(k, error),
                    found,
                    str(error.location) if error.location else None,
                )
            )
            return False
        except AtomigError as error:
            self.checks.append(_failed(name, error))
            return False
        raise AssertionError("the injected failure did not fail")  # pragma: no cover


def _order_only(expected: Snapshot, actual: Snapshot, found: ObjectDifference) -> bool:
    """The difference is only the order of a table's columns (the same set)."""
    if found.change != "changed" or not found.key.startswith("table "):
        return False
    before = dict(expected.values[found.key])
    after = dict(actual.values[found.key])
    old, new = before.pop("columns", None), after.pop("columns", None)
    return (
        before == after
        and isinstance(old, list)
        and isinstance(new, list)
        and sorted(old) == sorted(new)
    )


def _partial_message(k: int, error: NeedsAttention) -> str:
    message = error.message
    if "the schema differs" in message:
        return (
            f"after steps 1..{k} and the down file, the schema is not as before the "
            "migration"
        )
    return f"after steps 1..{k}, the down file fails: {message}"


def prove_migration(
    ctx: RunContext,
    migration: Migration,
    up: Plan,
    down: Plan,
    before: Snapshot | None = None,
) -> tuple[MigrationProof, Snapshot | None]:
    """Prove ``migration`` reversible on the scratch database of ``ctx``, whose schema is
    ``before`` (read now when not given).

    Returns the proof and, when the scratch database ended in a known state — the
    migration applied — its schema (F1), so that the next migration can start from it.
    """
    started = time.monotonic()
    prover = _Prover(ctx, migration, up, down)
    if before is None:
        before = prover.snapshot()
    prover.before = before

    def first_up() -> None:
        check_runnable(up)
        prover.apply(up)

    clean = prover.attempt("up", first_up)
    if clean:
        after = prover.snapshot()
        clean = prover.attempt("down", lambda: revert_migration(ctx, migration, down))
        clean = clean and prover.compare(
            "down restores the schema",
            before,
            "after up and down",
            any_order=migration.down_directives.get("column_order") == "appended",
        )
        if clean and needs_partial_rollback(up):
            prover.static_rollback()
            for k in range(len(up.steps)):
                if not prover.boundary(k, before):
                    clean = False
                    break
        if clean:
            clean = prover.attempt(
                "up again", lambda: prover.apply(up)
            ) and prover.compare(
                "up again gives the same schema", after, "after up again"
            )
    proof = MigrationProof(
        migration.version,
        migration.slug,
        len(up.steps),
        tuple(prover.checks),
        round((time.monotonic() - started) * 1000),
    )
    return proof, prover.last if clean and proof.ok else None
