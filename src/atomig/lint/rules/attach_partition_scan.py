"""ATTACH PARTITION scans the partition under ACCESS EXCLUSIVE unless a CHECK constraint
already proves its bound.

## Why
Attaching checks that every row of the new partition fits the partition bound, holding
ACCESS EXCLUSIVE on the partition (and, before PostgreSQL 12, on the parent). The scan is
skipped when a validated CHECK constraint on the partition implies the bound. A default
partition is scanned too, for rows that belong to the new partition — by ATTACH and by
`CREATE TABLE … PARTITION OF` alike, under ACCESS EXCLUSIVE on the default partition —
unless a validated CHECK on it excludes the new bound.

## Instead
Before attaching: `ALTER TABLE child ADD CONSTRAINT child_bound CHECK (<the bound>) NOT
VALID`, then `VALIDATE CONSTRAINT child_bound` (SHARE UPDATE EXCLUSIVE) in a later step,
then `ATTACH PARTITION` (no scan), then drop the helper constraint. The bound of a range
partition excludes NULL keys and a CHECK lets them pass, so the CHECK must say so too
(`k IS NOT NULL AND k >= … AND k < …`, or the key column NOT NULL): without it ATTACH
still scans (timed on PG 15). With a default
partition, give it the same kind of CHECK, excluding the new bound, before adding a
partition.

## Notes
Which partition is the default one, and which validated CHECKs exist, come from the
migration history, and with `--database-url` from the live catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import (
    alter_relation,
    commands,
    default_partition,
    has_validated_check,
)
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
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
TARGETS = ("AlterTableStmt", "CreateStmt")
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
_DEFAULT = "CREATE TABLE events_default PARTITION OF events DEFAULT;\n"
_CREATE = (
    "CREATE TABLE events_2025 PARTITION OF events "
    "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
)
BAD = (
    Example(_ATTACH, before=_PARENT + _CHILD),
    Example(_CREATE, before=_PARENT + _DEFAULT),
)
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
    Example(
        _CREATE,
        before=_PARENT
        + _DEFAULT
        + "ALTER TABLE events_default ADD CONSTRAINT events_default_not_2025 CHECK "
        "(at < '2025-01-01' OR at >= '2026-01-01') NOT VALID;\n"
        "ALTER TABLE events_default VALIDATE CONSTRAINT events_default_not_2025;",
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.kind == "CreateStmt":
        bound = stmt.body.get("partbound") or {}
        parents = [
            range_var(r.get("RangeVar")) for r in stmt.body.get("inhRelations", ())
        ]
        if bound and not bound.get("is_default") and parents:
            name = range_var(stmt.body.get("relation"))
            yield from _default_scan(f"creating partition {name}", parents[0], ctx)
        return
    parent = alter_relation(stmt)
    if parent is None:
        return  # ALTER INDEX … ATTACH PARTITION: a catalog change, nothing is scanned
    for _, cmd in commands(stmt, "AT_AttachPartition"):
        child = range_var(
            ((cmd.get("def") or {}).get("PartitionCmd") or {}).get("name")
        )
        if not has_validated_check(child, ctx, ctx.partition_key(parent)):
            yield Hit(
                f"ATTACH PARTITION {child} scans every row of {child} under an ACCESS "
                f"EXCLUSIVE lock to check the bound of {parent} (a default partition is "
                "scanned too)",
                f"first add a CHECK matching the bound to {child}, its key's IS NOT NULL "
                "included (CHECK (k IS NOT NULL AND k >= … AND k < …): a CHECK passes "
                "NULLs, the bound does not), NOT VALID, and VALIDATE it in a later step; "
                "then ATTACH skips the scan",
                relation=child,
            )
        else:  # the partition is proven; a default partition still is not
            yield from _default_scan(f"ATTACH PARTITION {child}", parent, ctx)


def _default_scan(
    action: str, parent: QualifiedName | None, ctx: LintContext
) -> Iterator[Hit]:
    """The parent's DEFAULT partition (history, else catalog) is scanned, under ACCESS
    EXCLUSIVE, for rows that belong to the new partition (checked on PG 15 and 18)."""
    default = default_partition(parent, ctx)
    if default is None or has_validated_check(default, ctx, ctx.partition_key(parent)):
        return
    yield Hit(
        f"{action} scans every row of {default}, the default partition of {parent}, "
        "under an ACCESS EXCLUSIVE lock: none may belong to the new partition",
        f"first add a CHECK to {default} that excludes the new bound, NOT VALID, and "
        "VALIDATE it in a later step; then the scan is skipped",
        relation=default,
    )
