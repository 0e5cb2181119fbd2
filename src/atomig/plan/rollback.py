"""Can a migration be rolled back after it stopped part-way? Checked before it starts. Pure.

A migration of one transaction step never needs this: PostgreSQL rolls it back. A migration
of several steps under the ``rollback`` failure policy may have to run its down file on a
schema where only steps 1..k-1 happened; every down statement must then be safe on that
partial state (:func:`atomig.sql.guards.partial_state_hazard`). atomig refuses to *start*
such a migration when its down file is not, naming the statement, rather than discovering
it at 3 a.m. half-way through.
"""

from __future__ import annotations

from collections.abc import Mapping

from atomig.errors import SourceError, SourceLocation
from atomig.plan.model import Plan, StepKind
from atomig.sql.classify import statement_facts
from atomig.sql.column_needs import (
    added_column_names,
    displaced_columns,
    named_columns,
    new_columns,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.guards import (
    Displaced,
    cleared_relations,
    displaced_relations,
    partial_state_hazard,
    renamed_to,
)
from atomig.sql.parse import Statement
from atomig.sql.versions import ServerVersion


def needs_partial_rollback(up: Plan) -> bool:
    """True when a failure could leave ``up`` part-way (more than one step, or a step that
    commits on its own): its down file may have to run on a partial state."""
    if len(up.steps) > 1:
        return True
    return any(step.kind is not StepKind.TRANSACTION for step in up.steps)


def moved_aside_late(up: Plan, version: ServerVersion) -> dict[Displaced, int]:
    """What was there before the up and is moved out of its name (a relation renamed,
    moved or dropped; a column dropped or renamed) after the up's first step, then made
    again under that name, with the step (1-based) that moves it: a failure before that
    step leaves the original in place. A name the up makes first is its own."""
    first_seen: dict[Displaced, int] = {}  # step that moves it aside; 0: the up's own
    moved: dict[Displaced, int] = {}
    for step in up.steps:
        for statement in step.statements:
            gone: list[Displaced] = [
                *displaced_relations(statement),
                *displaced_columns(statement),
            ]
            for name in gone:
                first_seen.setdefault(name, step.index + 1)
            made: list[Displaced] = [
                *statement_facts(statement, version).creates,
                *added_column_names(statement),
                *renamed_to(statement),
            ]
            for name in made:
                first_seen.setdefault(name, 0)
                if first_seen[name] > 1:
                    moved.setdefault(name, first_seen[name])
    return moved


def drops_original(statement: Statement, moved: Mapping[Displaced, int]) -> str | None:
    """Why a down ``statement`` may drop what was there before the up: something the up
    moves aside late and makes again (``moved``). On a partial state where the up stopped
    before moving it, the DROP hits the original, rows and all, even with IF EXISTS."""
    if statement.kind not in ("DropStmt", "AlterTableStmt"):
        return None
    gone: list[Displaced] = [
        *displaced_relations(statement),
        *displaced_columns(statement),
    ]
    for name in gone:
        step = moved.get(name)
        if step is None:
            continue
        what = f"{name[0]}.{name[1]}" if isinstance(name, tuple) else str(name)
        data = "its data" if isinstance(name, tuple) else "its rows"
        return (
            f"the up moves {what} aside in step {step} and makes a new {what}; if it "
            f"stops before step {step}, this DROP removes the original {what} and {data}"
        )
    return None


def added_late(up: Plan) -> dict[tuple[str, str], int]:
    """The columns the up brings into existence after its first step (ADD COLUMN, or
    RENAME COLUMN to the name) that were not there before it, by (table name, column),
    with that step (1-based): an up that stopped earlier has no such column. A column
    the up moves aside first was there before it (:func:`moved_aside_late`)."""
    seen: set[tuple[str, str]] = set()
    late: dict[tuple[str, str], int] = {}
    for step in up.steps:
        for statement in step.statements:
            for table, column in displaced_columns(statement):
                seen.add((table.name, column))
            for table, column in new_columns(statement):
                key = (table.name, column)
                if key not in seen and step.index > 0:
                    late.setdefault(key, step.index + 1)
                seen.add(key)
    return late


def needs_late_column(
    statement: Statement, late: Mapping[tuple[str, str], int]
) -> str | None:
    """Why a down ``statement`` fails when the up stopped before adding a column it
    names (``late``, :func:`added_late`): PostgreSQL rejects it (42703)."""
    for table, column in named_columns(statement) if late else ():
        step = late.get((table.name, column))
        if step is not None:
            return (
                f"it names {table}.{column}, which the up adds in step {step}; if the up "
                f"stops before step {step}, the column does not exist"
            )
    return None


def rollback_hazard(
    up: Plan, down: Plan, version: ServerVersion
) -> tuple[Statement, str] | None:
    """The first down statement that may fail on a partial up (or destroy what was there
    before it), and why; else ``None``."""
    created: set[QualifiedName] = set()
    for step in up.steps:
        for statement in step.statements:
            created.update(statement_facts(statement, version).creates)
    moved, late = moved_aside_late(up, version), added_late(up)
    cleared: set[QualifiedName] = set()
    for step in down.steps:
        for statement in step.statements:
            reason = (
                partial_state_hazard(statement, created, cleared)
                or drops_original(statement, moved)
                or needs_late_column(statement, late)
            )
            if reason is not None:
                return statement, reason
            cleared |= cleared_relations(statement)
    return None


def require_safe_rollback(up: Plan, down: Plan, version: ServerVersion) -> None:
    """Refuse a multi-step migration under the rollback policy whose down file is not safe
    on a partial state.

    Raises:
        SourceError: naming the down statement (file:line:column) and why.
    """
    if up.on_failure != "rollback" or not needs_partial_rollback(up):
        return
    found = rollback_hazard(up, down, version)
    if found is None:
        return
    statement, reason = found
    first = " ".join(statement.text.split())[:80]
    raise SourceError(
        f"{up.migration.name} runs in {len(up.steps)} steps, so a failure may roll it back "
        f"from a partial state, but its down file is not safe there: {first!r}: {reason}",
        location=SourceLocation(down.path, statement.span.line, statement.span.column),
        hint=(
            # A guarded DROP that may hit the original: no guard helps.
            "move what the up renames or drops into its first step, or make the "
            "migration stop and wait for you instead: -- atomig: on_failure=resume at "
            "the top of the up file"
            if drops_original(statement, moved_aside_late(up, version)) is not None
            else "move the ADD COLUMN into the up's first step, or check the column in "
            "a DO block, or make the migration stop and wait for you instead: -- "
            "atomig: on_failure=resume at the top of the up file"
            if needs_late_column(statement, added_late(up)) is not None
            else "guard the down statements (DROP … IF EXISTS, ADD COLUMN IF NOT EXISTS, "
            "CREATE … IF NOT EXISTS, OR REPLACE, or a DO block), or make the migration "
            "stop and wait for you instead: -- atomig: on_failure=resume at the top of "
            "the up file"
        ),
        details={"statement": statement.text, "reason": reason},
    )
