"""Steps that finished while nobody saw: what the catalog shows of them.

An autocommit step commits on its own; the journal row that says it is done is written
after. If the runner is killed, or its connection drops, in between, the journal says
``started`` while the server has done the work. Most such steps can simply run again
(``REINDEX``, ``VACUUM``, ``ALTER SYSTEM``, ``ALTER DATABASE … SET TABLESPACE``, ``DROP …
IF EXISTS``); those that cannot fail on the second run (``already exists``, ``does not
exist``, ``is not a partition of``) and would leave the migration stuck. For those, the
catalog tells whether the step finished, and the runner (on reconnecting) and recovery
count it done.
"""

from __future__ import annotations

from atomig.db.indexes import index_exists
from atomig.db.shared_objects import shared_object_exists
from atomig.plan.model import Step, StepKind
from atomig.run.context import RunContext
from atomig.run.detach import detach_target, finished_detach
from atomig.run.heal import built_index, dropped_index, with_search_path
from atomig.sql.shared_objects import shared_object_change


def finished_in_flight(ctx: RunContext, step: Step) -> str | None:
    """What shows that an autocommit step whose end nobody saw (its runner or its
    connection died after it was sent) did finish — its index built and valid, gone for a
    ``DROP INDEX CONCURRENTLY``, its partition detached for a ``DETACH PARTITION …
    CONCURRENTLY``, its database, tablespace or subscription there (CREATE) or gone (DROP)
    — or ``None``."""
    if step.kind is not StepKind.AUTOCOMMIT or len(step.statements) != 1:
        return None
    if detach_target(step) is not None:
        return with_search_path(ctx, step, lambda: finished_detach(ctx, step))
    state = built_index(ctx, step)
    if state is not None:
        if state.valid and not state.building:
            return f"{state.qualified} is built and valid"
        return None
    dropped = dropped_index(step)
    if dropped is not None and not with_search_path(
        ctx, step, lambda: index_exists(ctx.conn, dropped)
    ):
        return f"index {dropped} is dropped"
    change = shared_object_change(step.statements[0])
    if change is not None and change.creates == shared_object_exists(
        ctx.conn, change.kind, change.name
    ):
        return change.describe()
    return None
