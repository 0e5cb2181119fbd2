"""Statements keep running after an ACCESS EXCLUSIVE lock is taken in the same
transaction step.

## Why
A lock is held until the transaction ends. Once a statement takes ACCESS EXCLUSIVE on a
busy table, every query on that table queues until COMMIT, so whatever runs after it in the
same transaction (data changes, index builds, statements that wait for locks on other
tables) extends the outage.

## Instead
Put the ACCESS EXCLUSIVE statement last in its step, or in its own step: wrap it alone in
`BEGIN … COMMIT`, or move the rest to another migration. Quick catalog-only statements
(`COMMENT`, `GRANT`, `CREATE TABLE`, …) and changes to tables created in the same migration
are not counted.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import alter_relation, commands
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement

ID = "long-lock-hold"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
TARGETS = (
    "AlterTableStmt",
    "DropStmt",
    "RenameStmt",
    "TruncateStmt",
    "LockStmt",
    "ClusterStmt",
    "RuleStmt",
    "CreatePolicyStmt",
    "AlterPolicyStmt",
    "AlterObjectSchemaStmt",
    "ViewStmt",
    "RefreshMatViewStmt",
    "ReindexStmt",
    "VacuumStmt",
)
_QUICK = frozenset(
    {
        "VariableSetStmt",
        "CommentStmt",
        "GrantStmt",
        "GrantRoleStmt",
        "CreateStmt",
        "CreateSeqStmt",
        "AlterSeqStmt",
        "ViewStmt",
        "CreateFunctionStmt",
        "CompositeTypeStmt",
        "CreateEnumStmt",
        "CreateDomainStmt",
        "TransactionStmt",
    }
)
_PARTITION_CMDS = ("AT_AttachPartition", "AT_DetachPartition")
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n"
    "CREATE TABLE audit (id bigint, note text);"
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
    facts = ctx.facts(stmt)
    held = []
    for lock in facts.locks:
        if lock.mode is LockMode.ACCESS_EXCLUSIVE and not ctx.is_new(lock.relation):
            # DROP INDEX names the index; the lock that hurts is on its table.
            owner = ctx.schema.table_of_index(lock.relation)
            held.append(owner.name if owner is not None else lock.relation)
    if not held:
        return
    step = info.step
    for relation in held:
        if (step, key_of(relation)) in reported:
            continue
        slow = []
        for mate in ctx.step_mates(stmt):
            if _slow(mate, relation, ctx):
                slow.append(mate)
                if len(slow) > 5:
                    break
        if not slow:
            continue
        reported[(step, key_of(relation))] = True
        lines = ", ".join(str(m.span.line) for m in slow[:5]) + (
            " …" if len(slow) > 5 else ""
        )
        yield Hit(
            f"the ACCESS EXCLUSIVE lock on {relation} is held while more statements run in "
            f"the same transaction (line {lines}): every query on "
            f"{relation} waits until COMMIT",
            "run this statement last in its step, or alone (BEGIN … COMMIT around it), "
            "and move the other work to another step",
            relation=relation,
        )


def _slow(mate: Statement, relation: object, ctx: LintContext) -> bool:
    if mate.kind in _QUICK:
        return False
    locks = ctx.facts(mate).locks
    if mate.kind == "AlterTableStmt" and any(
        lock.relation == relation for lock in locks
    ):
        return False  # another ALTER of the same table: multiple-alters-same-table
    return not (locks and all(ctx.is_new(lock.relation) for lock in locks))
