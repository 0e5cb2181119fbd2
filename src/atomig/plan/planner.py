"""Statements → :class:`Plan`.

* Leading ``SET`` / ``SET LOCAL`` statements (before anything else) become the envelope of
  every step: run as written by psql they would either do nothing (``SET LOCAL`` outside a
  transaction) or leak into the session; users mean "run this migration with these settings".
* Each maximal run of transactional statements is one transaction step; explicit
  ``BEGIN … COMMIT`` blocks are honoured as step boundaries.
* Each statement PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``,
  ``VACUUM`` …) is its own autocommit step, sent alone: PostgreSQL wraps a multi-statement
  simple query in an implicit transaction, which is how other runners break on them.
* A statement preceded by ``-- atomig: backfill`` is a backfill step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from atomig.config import Settings
from atomig.errors import SourceError, SourceLocation
from atomig.plan.envelope import SessionEnvelope, application_name_for
from atomig.plan.model import Plan, RetryPolicy, Step, StepKind
from atomig.source.model import Directives, MigrationId
from atomig.sql.classify import statement_facts, validates_constraint
from atomig.sql.facts import (
    QualifiedName,
    RelationLock,
    StatementFacts,
    TransactionControl,
)
from atomig.sql.parse import Script, Statement
from atomig.sql.versions import ServerVersion
from atomig.units import parse_duration_ms

_TIMEOUTS = {
    "lock_timeout": "lock_timeout_ms",
    "statement_timeout": "statement_timeout_ms",
    "idle_in_transaction_session_timeout": "idle_in_transaction_session_timeout_ms",
}
_BACKFILL_KINDS = frozenset({"UpdateStmt", "DeleteStmt"})


def _where(script: Script, statement: Statement) -> SourceLocation:
    return SourceLocation(script.path, statement.span.line, statement.span.column)


def _quote_ident(name: str) -> str:
    if (
        name
        and (name[0].islower() or name[0] == "_")
        and all(c.islower() or c.isdigit() or c == "_" for c in name)
    ):
        return name
    return '"' + name.replace('"', '""') + '"'


def _set_value(statement: Statement) -> tuple[str, str] | None:
    """``(name, value)`` of a plain ``SET name = constant[, …]``, else ``None``."""
    body = statement.body
    if statement.kind != "VariableSetStmt" or body.get("kind") != "VAR_SET_VALUE":
        return None
    name = body.get("name", "")
    values: list[str] = []
    for arg in body.get("args", ()):
        const = arg.get("A_Const")
        if const is None:
            return None
        if "sval" in const:
            text = str(const["sval"].get("sval", ""))
            values.append(_quote_ident(text) if name == "search_path" else text)
        elif "ival" in const:
            values.append(str(const["ival"].get("ival", 0)))
        elif "fval" in const:
            values.append(str(const["fval"].get("fval", "0")))
        elif "boolval" in const:
            values.append("on" if const["boolval"].get("boolval") else "off")
        else:
            return None
    if not name or not values or name in ("transaction", "session_authorization"):
        return None
    return name, ", ".join(values)


def _timeout_ms(value: str, where: SourceLocation) -> int:
    try:
        return parse_duration_ms(value)
    except ValueError as exc:
        raise SourceError(f"invalid timeout: {exc}", location=where) from None


def _envelope(
    migration: MigrationId,
    script: Script,
    leading: Iterable[Statement],
    directives: Directives,
    settings: Settings,
) -> SessionEnvelope:
    session = settings.session
    values: dict[str, Any] = {
        "lock_timeout_ms": session.lock_timeout_ms,
        "statement_timeout_ms": session.statement_timeout_ms,
        "idle_in_transaction_session_timeout_ms": session.idle_in_transaction_session_timeout_ms,
    }
    from_sets: dict[str, int] = {}
    extra: dict[str, str] = {}
    for statement in leading:
        pair = _set_value(statement)
        assert pair is not None
        name, value = pair
        where = _where(script, statement)
        if name in _TIMEOUTS:
            from_sets[_TIMEOUTS[name]] = _timeout_ms(value, where)
        elif name == "application_name":
            raise SourceError(
                "application_name is set by atomig (migration:<version>_<slug>) so that "
                "sessions can be traced to their migration",
                location=where,
                hint="remove this SET",
            )
        else:
            extra[name] = value
    for name, field in _TIMEOUTS.items():
        directive = directives.get(name)
        if directive is None:
            continue
        ms = parse_duration_ms(directive)
        if field in from_sets and from_sets[field] != ms:
            raise SourceError(
                f"{script.path}: {name} is set both by a directive ({directive}) and by a "
                "SET statement with another value",
                hint="keep one of them",
            )
        from_sets[field] = ms
    values.update(from_sets)
    return SessionEnvelope(
        application_name=application_name_for(migration.version, migration.slug),
        extra=tuple(extra.items()),
        **values,
    )


def _retry(settings: Settings, directives: Directives) -> RetryPolicy:
    retry = settings.retry
    attempts = directives.get("retry_max_attempts")
    budget = directives.get("retry_budget")
    return RetryPolicy(
        max_attempts=int(attempts) if attempts else retry.max_attempts,
        initial_delay_ms=retry.initial_delay_ms,
        max_delay_ms=retry.max_delay_ms,
        budget_ms=parse_duration_ms(budget) if budget else retry.budget_ms,
        attempt_lock_timeout_ms=retry.attempt_lock_timeout_ms,
        blocker_age_ms=retry.blocker_age_ms,
        blocker_wait_ms=retry.blocker_wait_ms,
    )


def may_refuse(script: Script, facts_of: Callable[[Statement], StatementFacts]) -> bool:
    """Whether :func:`plan_migration` can refuse ``script``; ``False`` is a promise that it
    plans it without error.

    Every refusal comes from a directive (``-- atomig: …``), a leading ``SET``, transaction
    control, or a statement that cannot run in a transaction: a file with none of them always
    plans. Lint asks this before planning each file of a directory only to report refusals
    (most files have none of them, and planning costs several times this scan).
    """
    statements = script.statements
    if "atomig" in script.text or (
        statements and _set_value(statements[0]) is not None
    ):
        return True
    for statement in statements:
        facts = facts_of(statement)
        if facts.transaction_control is not None or not facts.transactional:
            return True
    return False


def plan_migration(
    migration: MigrationId,
    direction: str,
    script: Script,
    directives: Directives,
    settings: Settings,
    version: ServerVersion,
    facts_of: Callable[[Statement], StatementFacts] | None = None,
) -> Plan:
    """Turn a parsed migration file into ordered steps.

    ``facts_of`` gives a statement's facts on ``version`` when the caller has them already
    (lint computes them once per statement); by default they are computed here.

    Raises:
        SourceError: for transaction control the runner cannot honour (nested BEGIN, COMMIT
            without BEGIN, ROLLBACK, PREPARE TRANSACTION), a statement that cannot run in a
            transaction inside ``BEGIN … COMMIT``, or a misplaced backfill directive.
    """
    statements = list(script.statements)
    leading: list[Statement] = []
    while statements and _set_value(statements[0]) is not None:
        leading.append(statements.pop(0))
    envelope = _envelope(migration, script, leading, directives, settings)
    concurrent_timeout = directives.get("concurrent_statement_timeout")
    autocommit_envelope = SessionEnvelope(
        lock_timeout_ms=envelope.lock_timeout_ms,
        statement_timeout_ms=(
            parse_duration_ms(concurrent_timeout)
            if concurrent_timeout
            else settings.session.concurrent_statement_timeout_ms
        ),
        idle_in_transaction_session_timeout_ms=envelope.idle_in_transaction_session_timeout_ms,
        application_name=envelope.application_name,
        extra=envelope.extra,
    )
    retry = _retry(settings, directives)
    steps: list[Step] = []
    run: list[Statement] = []
    run_facts: list[StatementFacts] = []
    # Relations created so far, as written: name -> the schemas it was written with (None:
    # unqualified). Keyed by name, so each lock is checked in constant time; a set of
    # names scanned per lock made planning quadratic (10,000 statements: 1.7 s).
    created: dict[str, set[str | None]] = {}
    block_start: Statement | None = None

    def step_locks(facts: list[StatementFacts]) -> tuple[RelationLock, ...]:
        # Locks on relations created earlier in this migration conflict with nobody; the
        # strongest mode per relation is what the step must acquire.
        strongest: dict[QualifiedName, RelationLock] = {}
        for fact in facts:
            for lock in fact.locks:
                if _created_before(lock.relation, created):
                    continue
                known = strongest.get(lock.relation)
                if known is None or lock.mode > known.mode:
                    strongest[lock.relation] = lock
            for made in fact.creates:
                created.setdefault(made.name, set()).add(made.schema)
        return tuple(strongest.values())

    def flush() -> None:
        if run:
            steps.append(
                Step(
                    len(steps),
                    StepKind.TRANSACTION,
                    tuple(run),
                    envelope,
                    retry,
                    locks=step_locks(run_facts),
                )
            )
            run.clear()
            run_facts.clear()

    for statement in statements:
        facts = (
            facts_of(statement)
            if facts_of is not None
            else statement_facts(statement, version)
        )
        control = facts.transaction_control
        where = _where(script, statement)
        if control is TransactionControl.BEGIN:
            if block_start is not None:
                raise SourceError(
                    "nested BEGIN: a transaction block is already open "
                    f"(line {block_start.span.line})",
                    location=where,
                    hint="close the first block with COMMIT before opening another",
                )
            flush()
            block_start = statement
            continue
        if control is TransactionControl.COMMIT:
            if block_start is None:
                raise SourceError(
                    "COMMIT without BEGIN", location=where, hint="remove it"
                )
            flush()
            block_start = None
            continue
        if control in (
            TransactionControl.ROLLBACK,
            TransactionControl.PREPARE,
            TransactionControl.COMMIT_PREPARED,
            TransactionControl.ROLLBACK_PREPARED,
        ):
            raise SourceError(
                f"{statement.text.split()[0].upper()} in a migration: atomig owns the "
                "transaction outcome (it rolls back on failure by itself)",
                location=where,
                hint="remove it; use BEGIN … COMMIT to group statements",
            )
        if statement.directive("backfill") is not None:
            if statement.kind not in _BACKFILL_KINDS:
                raise SourceError(
                    "-- atomig: backfill applies to UPDATE or DELETE statements only",
                    location=where,
                    hint="a backfill rewrites an UPDATE/DELETE into key-window batches",
                )
            from atomig.plan.backfill import backfill_options  # backfills are rare

            # Options are checked now, so a typo fails before anything runs.
            backfill_options(settings, statement, script.path)
            if block_start is not None:
                raise SourceError(
                    "a backfill runs in batches of its own transactions; it cannot be inside "
                    f"BEGIN … COMMIT (line {block_start.span.line})",
                    location=where,
                    hint="move the backfill after COMMIT",
                )
            flush()
            steps.append(
                Step(
                    len(steps),
                    StepKind.BACKFILL,
                    (statement,),
                    envelope,
                    retry,
                    locks=step_locks([facts]),
                )
            )
            continue
        if not facts.transactional:
            if block_start is not None:
                raise SourceError(
                    f"{facts.no_transaction_reason} cannot run inside a transaction block "
                    f"(BEGIN on line {block_start.span.line})",
                    location=where,
                    hint="move it after COMMIT: atomig runs it as its own step",
                )
            if statement.kind == "IndexStmt" and not statement.body.get("idxname"):
                raise SourceError(
                    "CREATE INDEX CONCURRENTLY without an index name: if the build fails, "
                    "the INVALID index it leaves cannot be found and dropped by name",
                    location=where,
                    hint="name the index: CREATE INDEX CONCURRENTLY IF NOT EXISTS "
                    "<name> ON …",
                )
            flush()
            steps.append(
                Step(
                    len(steps),
                    StepKind.AUTOCOMMIT,
                    (statement,),
                    autocommit_envelope,
                    retry,
                    locks=step_locks([facts]),
                    concurrent=facts.concurrent,
                )
            )
            continue
        if block_start is None and run and validates_constraint(statement):
            # The statements before it in the run hold their locks until the step commits
            # (ADD CONSTRAINT … NOT VALID: ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE
            # for a foreign key); holding them through VALIDATE's full scan would undo what
            # NOT VALID bought. Run one statement at a time, as psql would, it commits first.
            flush()
        run.append(statement)
        run_facts.append(facts)
    if block_start is not None:
        raise SourceError(
            "BEGIN without COMMIT",
            location=_where(script, block_start),
            hint="close the block with COMMIT",
        )
    flush()
    return Plan(
        migration=migration,
        direction=direction,
        path=script.path,
        steps=tuple(steps),
        envelope=envelope,
        on_failure=directives.get("on_failure") or settings.on_failure,
    )


def _created_before(
    relation: QualifiedName, created: dict[str, set[str | None]]
) -> bool:
    # Names as written: an unqualified name matches a qualified one of the same name.
    schemas = created.get(relation.name)
    if not schemas:
        return False
    return relation.schema is None or None in schemas or relation.schema in schemas
