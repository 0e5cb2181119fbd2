"""ATTACH PARTITION scans the partition under ACCESS EXCLUSIVE unless a CHECK constraint
already proves its bound.

## Why
Attaching checks that every row of the new partition fits the partition bound, holding
ACCESS EXCLUSIVE on the partition (and, before PostgreSQL 12, on the parent); a default
partition is scanned too. The scan is skipped when a validated CHECK constraint on the
partition implies the bound.

## Instead
Before attaching: `ALTER TABLE child ADD CONSTRAINT child_bound CHECK (<the bound>) NOT
VALID`, then `VALIDATE CONSTRAINT child_bound` (SHARE UPDATE EXCLUSIVE) in a later step,
then `ATTACH PARTITION` (no scan), then drop the helper constraint.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import alter_relation, commands
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "attach-partition-scan"
SEVERITY = Severity.WARNING
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … ATTACH PARTITION",
        "sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION",
    ),
    (
        "Partition maintenance",
        "ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE",
    ),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_AttachPartition",)
_PARENT = (
    "CREATE TABLE events (id bigint, at date, name text, PRIMARY KEY (id, at)) "
    "PARTITION BY RANGE (at);\n"
)
_CHILD = (
    "CREATE TABLE events_2024 (id bigint, at date, name text, PRIMARY KEY (id, at));\n"
)
_ATTACH = (
    "ALTER TABLE events ATTACH PARTITION events_2024 "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
)
BAD = (Example(_ATTACH, before=_PARENT + _CHILD),)
GOOD = (
    Example(
        _ATTACH + "\nALTER TABLE events_2024 DROP CONSTRAINT events_2024_bound;",
        before=_PARENT
        + _CHILD
        + "ALTER TABLE events_2024 ADD CONSTRAINT events_2024_bound CHECK "
        "(at IS NOT NULL AND at >= '2024-01-01' AND at < '2025-01-01') NOT VALID;\n"
        "ALTER TABLE events_2024 VALIDATE CONSTRAINT events_2024_bound;",
    ),
    _PARENT + _CHILD + _ATTACH,
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    parent = alter_relation(stmt)
    if parent is None:
        return  # ALTER INDEX … ATTACH PARTITION: a catalog change, nothing is scanned
    for _, cmd in commands(stmt, "AT_AttachPartition"):
        child = range_var(
            ((cmd.get("def") or {}).get("PartitionCmd") or {}).get("name")
        )
        known = ctx.table(child)
        if known is not None and any(
            c.kind == "check" and c.validated for c in known.constraints.values()
        ):
            continue  # a validated CHECK on the partition: assumed to prove the bound
        yield Hit(
            f"ATTACH PARTITION {child} scans every row of {child} under an ACCESS "
            f"EXCLUSIVE lock to check the bound of {parent} (a default partition is "
            "scanned too)",
            f"first add a CHECK matching the bound to {child} NOT VALID and VALIDATE it in "
            "a later step; then ATTACH skips the scan",
            relation=child,
        )
