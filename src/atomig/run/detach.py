"""Finishing a ``DETACH PARTITION … CONCURRENTLY`` that was cut off.

Its first transaction marks the partition *pending detach* and commits; its second waits for
every older snapshot, then detaches. Cut off in that wait (atomig's own lock_timeout, a
cancel, a lost connection, a killed runner), it leaves the partition pending: running the
statement again fails ("already pending detach"), and so does the down file's ``ATTACH
PARTITION`` (it is still a partition). The only way on is ``… DETACH PARTITION … FINALIZE``
(PostgreSQL 14+), which completes the detach. atomig sends it instead of the step's
statement when the catalog shows the partition pending, and before a rollback runs the down
file. A detach that finished while nobody saw it (the runner or its connection died after
the server committed it, before the journal said so) cannot be sent again either ("is not a
partition of"): the catalog shows it done and the step is counted done
(:func:`atomig.run.unseen.finished_in_flight`).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from atomig.db.compose import set_config_params, set_config_query
from atomig.db.partitions import detach_pending, detached
from atomig.plan.model import Step
from atomig.run.context import RunContext
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName


def detach_target(step: Step) -> tuple[QualifiedName, QualifiedName] | None:
    """(partitioned table, partition) of a ``DETACH PARTITION … CONCURRENTLY`` step."""
    if not step.concurrent or len(step.statements) != 1:
        return None
    statement = step.statements[0]
    if statement.kind != "AlterTableStmt":
        return None
    cmds: list[dict[str, Any]] = statement.body.get("cmds") or []
    command = cmds[0].get("AlterTableCmd", {}) if len(cmds) == 1 else {}
    partcmd = command.get("def", {}).get("PartitionCmd", {})
    if command.get("subtype") != "AT_DetachPartition" or not partcmd.get("concurrent"):
        return None
    parent = range_var(statement.body.get("relation"))
    partition = range_var(partcmd.get("name"))
    return None if parent is None or partition is None else (parent, partition)


def finalize_statement(ctx: RunContext, step: Step) -> sql.Composed | None:
    """``ALTER TABLE parent DETACH PARTITION child FINALIZE`` when ``step`` detaches a
    partition the catalog shows pending detach (an earlier attempt was cut off), else
    ``None``."""
    target = detach_target(step)
    if target is None:
        return None
    parent, partition = target
    quoted = [_identifier(name).as_string(ctx.conn) for name in target]
    if not detach_pending(ctx.conn, *quoted):
        return None
    ctx.say(
        "step.heal",
        f"step {step.index + 1}: {partition} is pending detach from {parent} (an earlier "
        "attempt was cut off in its wait): finishing it with DETACH PARTITION … FINALIZE",
        level="warning",
    )
    return sql.SQL("ALTER TABLE {} DETACH PARTITION {} FINALIZE").format(
        _identifier(parent), _identifier(partition)
    )


def finished_detach(ctx: RunContext, step: Step) -> str | None:
    """What shows that ``step``, a ``DETACH PARTITION … CONCURRENTLY``, finished — its
    partition no longer a partition of its table, nor pending — or ``None``. Names resolve
    with the connection's search_path: the caller sets the step's."""
    target = detach_target(step)
    if target is None:
        return None
    parent, partition = target
    quoted = [_identifier(name).as_string(ctx.conn) for name in target]
    if not detached(ctx.conn, *quoted):
        return None
    return f"{partition} is detached from {parent}"


def finish_pending_detach(ctx: RunContext, step: Step) -> bool:
    """Before a rollback: complete a detach ``step`` left pending, so that the down file's
    ``ATTACH PARTITION`` can run; True when it did. A failure (it waits for older
    snapshots again) is said, and the down file runs anyway: the rollback then fails and
    is recorded, and ``atomig recover --rollback`` comes back here."""
    if detach_target(step) is None:
        return False
    try:
        # In the step's envelope, as the step ran: its search_path resolves the names (a
        # miss would leave the partition pending and the down's ATTACH failing), and its
        # lock_timeout bounds FINALIZE's wait.
        pairs = step.envelope.settings()
        ctx.conn.execute(
            set_config_query(len(pairs)), set_config_params(pairs, local=False)
        )
        statement = finalize_statement(ctx, step)
        if statement is None:
            return False
        ctx.conn.execute(statement)
    except psycopg.Error as exc:
        ctx.say(
            "step.heal.failed",
            f"step {step.index + 1}: could not finish the pending detach: {exc}",
            level="error",
        )
        return False
    finally:
        # The down file's steps must not inherit the up step's settings.
        if not ctx.connection_lost():
            ctx.reset_session()
    return True


def _identifier(name: QualifiedName) -> sql.Identifier:
    return (
        sql.Identifier(name.schema, name.name)
        if name.schema
        else sql.Identifier(name.name)
    )
