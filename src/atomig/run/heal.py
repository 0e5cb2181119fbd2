"""Self-healing concurrent index builds: no INVALID index is ever left behind.

A failed ``CREATE INDEX CONCURRENTLY`` (lock timeout, cancel, unique violation, a killed
session) leaves the index it was building in the catalog, marked INVALID
(``pg_index.indisvalid = false``): useless for queries, yet maintained by every write, and in
the way of a re-run (``IF NOT EXISTS`` then skips the build and keeps the broken index). Before
(re)running such a step, and after it fails, atomig drops an INVALID index of that name with
``DROP INDEX CONCURRENTLY`` — unless a build of it is still running. Likewise for ``REINDEX
CONCURRENTLY``, whose failure leaves ``<index>_ccnew`` (the new build) or ``<index>_ccold``
(the old index it could not drop) INVALID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from psycopg import sql

from atomig.db.compose import set_config_params, set_config_query
from atomig.db.indexes import (
    IndexState,
    index_state,
    reindex_leftovers,
)
from atomig.plan.model import Step
from atomig.run.context import RunContext
from atomig.sql.classify import range_var
from atomig.sql.nodes import name_list
from atomig.sql.parse import Statement

T = TypeVar("T")


def concurrent_index_target(statement: Statement) -> tuple[str, str] | None:
    """``(table as written, index name)`` of a named ``CREATE INDEX CONCURRENTLY``."""
    if statement.kind != "IndexStmt" or not statement.body.get("concurrent"):
        return None
    table = range_var(statement.body.get("relation"))
    name = statement.body.get("idxname")
    if table is None or not name:
        return None
    return str(table), str(name)


def step_index_target(step: Step) -> tuple[str, str] | None:
    """The index a concurrent index step builds, if it is one."""
    if not step.concurrent or len(step.statements) != 1:
        return None
    return concurrent_index_target(step.statements[0])


def with_search_path(ctx: RunContext, step: Step, read: Callable[[], T]) -> T:
    """``read()`` with the step's search_path, so that names resolve as its statement
    sees them."""
    search_path = dict(step.envelope.extra).get("search_path")
    if search_path is None:
        return read()
    with ctx.conn.transaction():
        ctx.conn.execute(
            set_config_query(1),
            set_config_params([("search_path", search_path)], local=True),
        )
        return read()


def built_index(ctx: RunContext, step: Step) -> IndexState | None:
    """The index of a concurrent index step as it is in the catalog now, if it exists."""
    target = step_index_target(step)
    if target is None:
        return None
    table, index = target
    return with_search_path(ctx, step, lambda: index_state(ctx.conn, table, index))


def dropped_index(step: Step) -> str | None:
    """The index a ``DROP INDEX CONCURRENTLY`` step drops (it drops one: PostgreSQL
    refuses several with CONCURRENTLY)."""
    if not step.concurrent or len(step.statements) != 1:
        return None
    statement = step.statements[0]
    if (
        statement.kind != "DropStmt"
        or statement.body.get("removeType") != "OBJECT_INDEX"
    ):
        return None
    objects = list(statement.body.get("objects") or [])
    if len(objects) != 1:
        return None
    return str(name_list(objects[0].get("List", {}).get("items", [])))


def _reindex_target(step: Step) -> str | None:
    if not step.concurrent or len(step.statements) != 1:
        return None
    statement = step.statements[0]
    if statement.kind != "ReindexStmt":
        return None
    relation = range_var(statement.body.get("relation"))
    return str(relation) if relation else None


def _drop(ctx: RunContext, step: Step, state: IndexState, why: str) -> None:
    ctx.say(
        "step.heal",
        f"step {step.index + 1}: dropping INVALID index {state.qualified} ({why}) with "
        "DROP INDEX CONCURRENTLY",
        level="warning",
        step=step.index + 1,
        index=state.qualified,
    )
    # Sent alone, outside any transaction (it cannot run in one), with the step's envelope.
    pairs = step.envelope.settings()
    ctx.conn.execute(
        set_config_query(len(pairs)), set_config_params(pairs, local=False)
    )
    ctx.conn.execute(
        sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
            sql.Identifier(state.schema, state.name)
        )
    )


def drop_invalid_index(ctx: RunContext, step: Step, why: str) -> list[IndexState]:
    """Drop the INVALID indexes a concurrent index step (CREATE INDEX or REINDEX
    CONCURRENTLY) left — unless a build of them is running; return what was dropped."""
    relation = _reindex_target(step)
    if relation is not None:
        found = with_search_path(
            ctx, step, lambda: reindex_leftovers(ctx.conn, relation)
        )
    else:
        state = built_index(ctx, step)
        found = [state] if state is not None else []
    dropped = [s for s in found if not s.valid and not s.building]
    for state in dropped:
        _drop(ctx, step, state, why)
    return dropped
