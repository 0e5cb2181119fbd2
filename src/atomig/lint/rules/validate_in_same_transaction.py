"""VALIDATE CONSTRAINT in the same transaction as the NOT VALID constraint it validates.

## Why
`ADD CONSTRAINT … NOT VALID` takes a strong lock (ACCESS EXCLUSIVE for CHECK, SHARE ROW
EXCLUSIVE for FOREIGN KEY) that is held until the transaction ends. Validating in the same
transaction scans the table while that lock is still held: the NOT VALID step bought nothing.

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
from atomig.lint.helpers import added_constraints, alter_relation, commands
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
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
        if (
            pending.get((key_of(table), name)) == step
            and ctx.steps[stmt.index].transactional
        ):
            yield Hit(
                f"{name} is validated in the same transaction that added it NOT VALID: the "
                f"scan of {table} runs while the ADD's lock is still held",
                "validate in a later transaction: COMMIT right after the ADD and VALIDATE "
                "after it, or move VALIDATE to the next migration",
                relation=table,
            )
