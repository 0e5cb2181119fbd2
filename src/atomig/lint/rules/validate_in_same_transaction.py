"""VALIDATE CONSTRAINT in the same transaction as the NOT VALID constraint it validates.

## Why
`ADD CONSTRAINT … NOT VALID` takes a strong lock (ACCESS EXCLUSIVE for CHECK, SHARE ROW
EXCLUSIVE for FOREIGN KEY) that is held until the transaction ends. Validating in the same
transaction scans the table while that lock is still held: the NOT VALID step bought nothing.
So does any other lock that blocks writes (an `ADD COLUMN`, a `CREATE INDEX`, a trigger)
taken on the table earlier in the transaction.

## Instead
Put `VALIDATE CONSTRAINT` in a later transaction: after the `COMMIT` of the block that adds
the constraint, or in the next migration.

## Notes
atomig's planner already gives a `VALIDATE CONSTRAINT` written outside `BEGIN … COMMIT` a
transaction step of its own (`atomig plan` shows it), so only a VALIDATE inside the same
explicit block is reported. With `--for-runner=other` the file is assumed to run as one
transaction (Flyway and dbmate wrap each file in one), so consecutive statements are reported
too.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    added_constraints,
    alter_relation,
    commands,
    known_locks,
)
from atomig.lint.rule import Example
from atomig.lint.schema import Key, key_of
from atomig.sql.facts import QualifiedName
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement

ID = "validate-in-same-transaction"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … VALIDATE CONSTRAINT",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-VALIDATE-CONSTRAINT",
    ),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AddConstraint", "AT_ValidateConstraint")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2));"
_ADD = "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n"
_VALIDATE = "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;"
BAD = (
    Example(f"BEGIN;\n{_ADD}{_VALIDATE}\nCOMMIT;", before=_BEFORE),
    Example(_ADD + _VALIDATE, before=_BEFORE, runner="other"),
    # Any lock that blocks writes, taken earlier in the transaction, is held by the scan.
    Example(
        f"BEGIN;\nALTER TABLE orders ADD COLUMN note text;\n{_VALIDATE}\nCOMMIT;",
        before=_BEFORE + "\n" + _ADD,
    ),
)
GOOD = (
    Example(f"BEGIN;\n{_ADD}COMMIT;\n{_VALIDATE}", before=_BEFORE),
    # atomig plans the VALIDATE as a step of its own.
    Example(_ADD + _VALIDATE, before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    table = alter_relation(stmt)
    if table is None:
        return
    pending = ctx.scratch(ID)
    step = ctx.steps[stmt.index].step
    for con in added_constraints(stmt):
        if con.get("skip_validation") and con.get("conname"):
            pending[(key_of(table), con["conname"])] = step
    for _, cmd in commands(stmt, "AT_ValidateConstraint"):
        name = cmd.get("name", "")
        if not ctx.steps[stmt.index].transactional:
            continue
        if pending.get((key_of(table), name)) == step:
            yield Hit(
                f"{name} is validated in the same transaction that added it NOT VALID: the "
                f"scan of {table} runs while the ADD's lock is still held",
                "validate in a later transaction: COMMIT right after the ADD and VALIDATE "
                "after it, or move VALIDATE to the next migration",
                relation=table,
            )
        elif held := _held_before(stmt, table, ctx):
            line, mode = held
            waits = "reads and writes" if mode.blocks_reads else "writes"
            yield Hit(
                f"{name} is validated in a transaction that already holds {mode.label} on "
                f"{table} (line {line}): the scan runs under it, {waits} wait throughout",
                "validate in a transaction of its own: COMMIT before VALIDATE, or move "
                "VALIDATE to the next migration",
                relation=table,
            )


def _held_before(
    stmt: Statement, table: QualifiedName, ctx: LintContext
) -> tuple[int, LockMode] | None:
    """The first earlier statement of the step that locked ``table`` against writes
    (SHARE or stronger; VALIDATE itself takes SHARE UPDATE EXCLUSIVE), and its lock.

    The statements before are read once per file, in order, as VALIDATEs come: a file of
    100,000 statements asked each VALIDATE about all of them (quadratic: 50 s). Only the
    statements of the VALIDATE's own step are asked for their locks: later VALIDATEs are in
    that step or a later one (atomig starts a step at each VALIDATE outside a block, so
    most statements are never asked)."""
    seen = ctx.scratch(ID + ":held")
    held: dict[tuple[int, Key], tuple[int, LockMode]] = seen.setdefault("held", {})
    done: int = seen.get("done", 0)
    steps, current = ctx.steps, ctx.steps[stmt.index].step
    for prior in ctx.script.statements[done : stmt.index]:
        step = steps[prior.index].step
        if step != current:
            continue
        for lock in known_locks(prior, ctx):
            if lock.mode.conflicts_with(LockMode.ROW_EXCLUSIVE):
                held.setdefault(
                    (step, key_of(lock.relation)), (prior.span.line, lock.mode)
                )
    seen["done"] = max(done, stmt.index)
    return held.get((ctx.steps[stmt.index].step, key_of(table)))
