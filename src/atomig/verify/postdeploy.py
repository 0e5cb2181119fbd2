"""Post-deploy checks: what ``atomig up`` verifies after it applied something.

Each is configurable in ``[postdeploy]`` and its result goes to the ledger:

* **invalid_indexes** — no INVALID index may be left; one that appeared during this run
  fails the run (exit 4), one that was already there before it is a warning;
* **not_valid_constraints** — the NOT VALID constraints still to validate, listed;
* **analyze** — ANALYZE of the tables this run's data changes touched (INSERT, UPDATE,
  DELETE, MERGE, COPY, backfills) or rewrote, so the planner does not work from
  statistics of the table as it was;
* **health** — an optional ``health_command`` (exit 0) or ``health_url`` (2xx), tried
  ``health_retries`` times ``health_interval`` apart; on failure ``on_health_failure``
  decides: ``report`` (exit 4, the migrations stay applied) or ``rollback`` (the newest
  migration of this run is reverted with its down file, exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from atomig.db.health import not_valid_constraints
from atomig.db.indexes import invalid_indexes
from atomig.errors import Interrupted, MigrationFailed, NeedsAttention
from atomig.plan.model import Plan, StepKind
from atomig.run.context import RunContext
from atomig.run.runner import revert_migration
from atomig.source.model import Migration
from atomig.sql.classify import statement_facts
from atomig.sql.facts import QualifiedName
from atomig.verify.checks import (
    FAIL,
    PASS,
    SKIPPED,
    WARN,
    CheckResult,
    fetch_url,
    record_checks,
    run_command,
    say,
    summary,
)
from atomig.verify.config import ROLLBACK, PostdeploySettings

PHASE = "postdeploy"
_DATA_CHANGES = frozenset(
    {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt"}
)
_ANALYZE_LOCK_TIMEOUT = "2s"


@dataclass(frozen=True, slots=True)
class Applied:
    """A migration this run applied, with its plans (the down one reverts it)."""

    migration: Migration
    up: Plan
    down: Plan


def _result(name: str, outcome: str, message: str, **extra: Any) -> CheckResult:
    return CheckResult(PHASE, name, outcome, message, **extra)


def touched_tables(ctx: RunContext, applied: list[Applied]) -> list[QualifiedName]:
    """Tables whose rows this run changed or rewrote, in order, once each."""
    seen: dict[str, QualifiedName] = {}
    for item in applied:
        for step in item.up.steps:
            for statement in step.statements:
                facts = statement_facts(statement, ctx.server_version)
                names: list[QualifiedName] = [*facts.rewrites, *facts.may_rewrite]
                if statement.kind in _DATA_CHANGES or step.kind is StepKind.BACKFILL:
                    names += [lock.relation for lock in facts.locks if lock.mode >= 3]
                for name in names:
                    seen.setdefault(str(name), name)
    return list(seen.values())


_RESOLVE = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = to_regclass(%s) AND c.relkind IN ('r', 'p', 'm')
"""


def check_analyze(ctx: RunContext, applied: list[Applied]) -> CheckResult:
    """ANALYZE the tables this run's data changes touched."""
    names = touched_tables(ctx, applied)
    if not names:
        return _result("analyze", PASS, "no data changes to analyze")
    done: list[str] = []
    failed: list[str] = []
    conn = ctx.conn
    for name in names:
        row = conn.execute(_RESOLVE, (str(name),)).fetchone()
        if row is None:
            continue  # dropped again by a later statement
        table = sql.Identifier(str(row[0]), str(row[1]))
        shown = str(QualifiedName(str(row[0]), str(row[1])))
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    (_ANALYZE_LOCK_TIMEOUT,),
                )
                conn.execute(sql.SQL("ANALYZE {}").format(table))
            done.append(shown)
        except psycopg.Error as exc:
            failed.append(f"{shown}: {(exc.diag.message_primary or str(exc)).strip()}")
    details = {"analyzed": done, "failed": failed}
    if failed:
        return _result(
            "analyze",
            WARN,
            "could not ANALYZE " + "; ".join(failed),
            details=details,
            hint="autovacuum will analyze them in time; or run ANALYZE by hand",
        )
    return _result("analyze", PASS, "analyzed " + ", ".join(done), details=details)


def check_invalid_indexes(ctx: RunContext, before: set[str]) -> CheckResult:
    """No INVALID index; one that appeared during this run fails."""
    found = [i for i in invalid_indexes(ctx.conn, [ctx.schema]) if not i.building]
    if not found:
        return _result("invalid_indexes", PASS, "no INVALID index")
    shown = [f"{i.qualified} on {i.table}" for i in found]
    new = [s for s in shown if s not in before]
    details = {"invalid_indexes": shown, "new": new}
    hint = (
        "drop it (DROP INDEX CONCURRENTLY) and build it again in a new migration; it "
        "slows every write and is never used"
    )
    if new:
        return _result(
            "invalid_indexes",
            FAIL,
            "INVALID index(es) appeared during this run: " + ", ".join(new),
            details=details,
            hint=hint,
        )
    return _result(
        "invalid_indexes",
        WARN,
        "INVALID index(es) left from before this run: " + ", ".join(shown),
        details=details,
        hint=hint,
    )


def check_not_valid(ctx: RunContext) -> CheckResult:
    """The NOT VALID constraints still to validate."""
    found = not_valid_constraints(ctx.conn, ctx.schema)
    if not found:
        return _result("not_valid_constraints", PASS, "no NOT VALID constraint")
    return _result(
        "not_valid_constraints",
        WARN,
        f"{len(found)} NOT VALID constraint(s) still to validate: "
        + ", ".join(f"{c.table}.{c.name}" for c in found),
        details={"constraints": [c.describe() for c in found]},
        hint="validate them in a later migration: ALTER TABLE … VALIDATE CONSTRAINT "
        "(SHARE UPDATE EXCLUSIVE: reads and writes go on)",
    )


def check_health(ctx: RunContext, config: PostdeploySettings) -> CheckResult:
    """The configured health command or URL, with retries."""
    if not (config.health_command or config.health_url):
        return _result("health", SKIPPED, "no health check configured")
    attempts = max(1, config.health_retries)
    message = ""
    for attempt in range(1, attempts + 1):
        outcomes = []
        if config.health_command:
            outcomes.append(
                run_command(
                    config.health_command,
                    cwd=ctx.settings.project_dir,
                    timeout_ms=config.health_timeout_ms,
                    env={"ATOMIG_DATABASE": ctx.target.display},
                )
            )
        if config.health_url:
            outcomes.append(fetch_url(config.health_url, config.health_timeout_ms))
        message = "; ".join(o.message for o in outcomes)
        if all(o.ok for o in outcomes):
            tries = f" (attempt {attempt})" if attempt > 1 else ""
            return _result("health", PASS, message + tries)
        if attempt < attempts:
            ctx.say(
                f"{PHASE}.health",
                f"{PHASE}: health: attempt {attempt}/{attempts} failed: {message}; "
                f"again in {config.health_interval_ms / 1000:g}s",
                level="warning",
            )
            if not ctx.interrupt.sleep(config.health_interval_ms / 1000):
                raise Interrupted(
                    f"interrupted by {ctx.interrupt.signal_name} during the health check",
                    hint="the migrations of this run are applied",
                )
    return _result(
        "health",
        FAIL,
        f"failed {attempts} time(s): {message}",
        details={"attempts": attempts, "policy": config.on_health_failure},
        hint="the migrations are applied"
        if config.on_health_failure != ROLLBACK
        else "the newest migration of this run is rolled back",
    )


def run_postdeploy(
    ctx: RunContext,
    applied: list[Applied],
    config: PostdeploySettings,
    *,
    invalid_before: set[str],
) -> list[CheckResult]:
    """Run the checks after a run that applied ``applied``, record them, tell the user,
    and apply the health policy.

    **Commits** (ANALYZE; with ``on_health_failure = "rollback"``, the revert).

    Raises:
        NeedsAttention: an INVALID index appeared, or the health check failed under the
            ``report`` policy (the migrations stay applied).
        MigrationFailed: the health check failed and the newest migration was reverted.
    """
    if not config.enabled or not applied:
        return []
    results: list[CheckResult] = []
    if config.invalid_indexes:
        results.append(check_invalid_indexes(ctx, invalid_before))
    if config.not_valid_constraints:
        results.append(check_not_valid(ctx))
    if config.analyze:
        results.append(check_analyze(ctx, applied))
    results.append(check_health(ctx, config))
    record_checks(ctx.conn, ctx.schema, ctx.run_id, ctx.actor, results)
    for result in results:
        say(ctx.report, result)
    summary(ctx.report, PHASE, results)
    details = {"checks": [r.to_dict() for r in results]}
    health = results[-1]
    if health.outcome == FAIL:
        last = applied[-1]
        if config.on_health_failure == ROLLBACK:
            ctx.say(
                f"{PHASE}.rollback",
                f"{PHASE}: the health check failed: reverting {last.migration.id.name}",
                level="warning",
            )
            revert_migration(ctx, last.migration, last.down)
            raise MigrationFailed(
                f"the health check failed after applying {last.migration.id.name}, "
                f"which was rolled back with its down file: {health.message}",
                hint="fix what the health check reports, then run atomig up again",
                details=details,
            )
        raise NeedsAttention(
            f"the migrations were applied, but the health check fails: {health.message}",
            hint="see what the application reports; atomig down reverts the newest "
            'migration, or set [postdeploy] on_health_failure = "rollback"',
            details=details,
        )
    failed = [r for r in results if r.outcome == FAIL]
    if failed:
        raise NeedsAttention(
            f"the migrations were applied, but {failed[0].name}: {failed[0].message}",
            hint=failed[0].hint,
            details=details,
        )
    return results


def invalid_now(ctx: RunContext) -> set[str]:
    """The INVALID indexes there are now (taken before a run, to tell new ones apart)."""
    return {
        f"{i.qualified} on {i.table}"
        for i in invalid_indexes(ctx.conn, [ctx.schema])
        if not i.building
    }
