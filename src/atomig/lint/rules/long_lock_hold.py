"""Statements keep running after an ACCESS EXCLUSIVE lock is taken in the same
transaction step.

## Why
A lock is held until the transaction ends. Once a statement takes ACCESS EXCLUSIVE on a
busy table, every query on that table queues until COMMIT, so whatever runs after it in the
same transaction (data changes, index builds, statements that wait for locks on other
tables) extends the outage.

## Instead
Put the ACCESS EXCLUSIVE statement last in its step, or in its own step: wrap it alone in
`BEGIN … COMMIT`, or move the rest to another migration. Quick statements (`COMMENT`,
`GRANT`, `CREATE TABLE`, `CREATE FUNCTION`, `DROP FUNCTION`, a trigger on the locked table,
a `setval` to a constant or to the `max()` of an indexed column, …) and changes to tables
created in the same migration are not counted, nor are locks on a table a `DROP TABLE`
removes. Known from history or the live catalog: an index's lock stops its table's queries
(planning opens every index); dropping a foreign key (or a table or column with one) or
retyping a key column locks the table at the key's other end, a new partition the DEFAULT
partition. Each locked table (of `… PARTITION OF` too) gets its own finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    ACCESS_EXCLUSIVE_KINDS,
    CATALOG_ONLY_KINDS,
    DROPS_ITSELF,
    QUICK_KINDS,
    alter_relation,
    commands,
    dropped_tables,
    known_locks,
    quick_select,
    relation_location,
)
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement

ID = "long-lock-hold"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
    ("Lock conflicts", "explicit-locking.html#TABLE-LOCK-COMPATIBILITY"),
)
TARGETS = ACCESS_EXCLUSIVE_KINDS
_PARTITION_CMDS = ("AT_AttachPartition", "AT_DetachPartition")
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n"
    "CREATE TABLE audit (id bigint PRIMARY KEY, note text);"
)
BAD = (
    Example(
        "ALTER TABLE orders ADD COLUMN archived boolean;\n"
        "UPDATE audit SET note = 'archived column added' WHERE id = 1;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "UPDATE audit SET note = 'archived column added' WHERE id = 1;\n"
        "ALTER TABLE orders ADD COLUMN archived boolean;\n"
        "COMMENT ON COLUMN orders.archived IS 'soft delete';",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    info = ctx.steps[stmt.index]
    if not info.transactional:
        return
    reported = ctx.scratch(ID)
    table = alter_relation(stmt)
    if (
        table is not None
        and (info.step, key_of(table)) in reported
        and not any(True for _ in commands(stmt, *_PARTITION_CMDS))
    ):
        return  # already reported for this step (and no partition is locked too)
    locks = known_locks(stmt, ctx)
    locked = {lock.relation for lock in locks}  # held, or dropped: no later wait
    if stmt.kind == "DropStmt" and stmt.body.get("removeType") in DROPS_ITSELF:
        gone = {key_of(name) for name in dropped_tables(stmt)}  # gone anyway
        locks = tuple(lock for lock in locks if key_of(lock.relation) not in gone)
    held, via = [], {}  # via: table → its index, when the lock is on the index alone
    for lock in locks:
        if lock.mode is LockMode.ACCESS_EXCLUSIVE and not ctx.is_new(lock.relation):
            owner = ctx.table_of_index(lock.relation)  # DROP INDEX locks it too
            held.append(owner or lock.relation)
            if owner and stmt.kind != "DropStmt":
                via[owner] = lock.relation
    if not held:
        return
    step = info.step
    for number, relation in enumerate(held):
        if (step, key_of(relation)) in reported:
            continue
        mates = (m for m in ctx.step_mates(stmt) if _slow(m, relation, locked, ctx))
        slow = list(islice(mates, 6))
        if not slow:
            continue
        reported[(step, key_of(relation))] = True
        lines = ", ".join(str(m.span.line) for m in slow[:5]) + (
            " …" if len(slow) > 5 else ""
        )
        on = f"index {via[relation]} of {relation}" if relation in via else relation
        yield Hit(
            f"the ACCESS EXCLUSIVE lock on {on} is held while more statements run in "
            f"the same transaction (line {lines}): every query on "
            f"{relation} waits until COMMIT",
            "run this statement last in its step, or alone (BEGIN … COMMIT around it), "
            "and move the other work to another step",
            relation=relation,
            # One finding per table: the second and later point at the table's name.
            location=relation_location(stmt, relation) if number else None,
        )


def _slow(
    mate: Statement, relation: object, locked: set[Any], ctx: LintContext
) -> bool:
    """``mate`` extends the hold: it reads or writes rows, or may wait for a lock that the
    statement holding ``relation`` (which locked ``locked``) does not already have."""
    if mate.kind in QUICK_KINDS or (quick_select(mate, ctx)):
        return False
    facts = ctx.facts(mate)
    locks = known_locks(mate, ctx)
    if mate.kind == "AlterTableStmt" and relation in {k.relation for k in locks}:
        return False  # another ALTER of the same table: multiple-alters-same-table
    catalog_only = mate.kind in CATALOG_ONLY_KINDS or (
        mate.kind == "AlterTableStmt"
        and not (facts.scans or facts.rewrites or facts.may_rewrite)
    )
    if catalog_only:
        return any(
            lock.relation not in locked and not ctx.is_new(lock.relation)
            for lock in locks
        )
    return not (locks and all(ctx.is_new(lock.relation) for lock in locks))
