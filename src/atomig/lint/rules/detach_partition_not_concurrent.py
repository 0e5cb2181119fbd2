"""DETACH PARTITION without CONCURRENTLY blocks reads and writes of the whole partitioned
table.

## Why
`ALTER TABLE parent DETACH PARTITION child` takes ACCESS EXCLUSIVE on the parent and the
partition: every query on any partition waits.

## Instead
`ALTER TABLE parent DETACH PARTITION child CONCURRENTLY` (PostgreSQL 14 and later): SHARE
UPDATE EXCLUSIVE only. It cannot run in a transaction block (atomig runs it as its own step)
and is not allowed when the parent has a default partition (known from history or the live
catalog: reported as rejected). Interrupted in its wait for older snapshots, it leaves the
partition *pending detach*: atomig's runner then finishes it with `… DETACH PARTITION child
FINALIZE` instead of sending it again (and before a rollback). It also adds the partition
constraint to the detached table as a CHECK, named as an unnamed one: `child_<key
column>_check`, or `child_check` when the key reads several columns; none for a hash
partition (PG 15 and 18). A down file that attaches the partition again must drop it after
the `ATTACH` (which it spares a scan), or the schema is not as before the up (`atomig
verify` reports it): on the down file, this rule names the CHECK and the `ALTER TABLE child
DROP CONSTRAINT IF EXISTS …` to add (IF EXISTS: the CHECK is absent when the up stopped
before the detach).
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import alter_relation, commands, default_partition, q
from atomig.lint.helpers.partitions import kept_detach_checks
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "detach-partition-not-concurrent"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … DETACH PARTITION",
        "sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION",
    ),
    (
        "Partition maintenance",
        "ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE",
    ),
)
TARGETS = ("AlterTableStmt",)
SUBTYPES = ("AT_DetachPartition",)
_BEFORE = (
    "CREATE TABLE events (at date NOT NULL, name text) PARTITION BY RANGE (at);\n"
    "CREATE TABLE events_2024 PARTITION OF events "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
)
# A down file re-attaching the partition its up detached CONCURRENTLY (the up is `before`).
_UP = (
    "-- atomig: on_failure=resume\n"
    + _BEFORE
    + "\nALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;"
)
_ATTACH = (
    "ALTER TABLE events ATTACH PARTITION events_2024 "
    "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
)
BAD = (
    "ALTER TABLE events DETACH PARTITION events_2024;",
    Example(
        "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
        before=_BEFORE + "\nCREATE TABLE events_other PARTITION OF events DEFAULT;",
        pg=(14, None),
    ),
    Example(_ATTACH, before=_UP, direction="down", pg=(14, None)),
)
GOOD = (
    Example(
        "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY;",
        before=_BEFORE,
        pg=(14, None),
    ),
    Example(
        "BEGIN;\n"
        + _ATTACH
        + "\nALTER TABLE events_2024 DROP CONSTRAINT IF EXISTS events_2024_at_check;"
        + "\nCOMMIT;\nDROP TABLE IF EXISTS events;",
        before=_UP,
        direction="down",
        pg=(14, None),
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    parent = alter_relation(stmt)
    # A default partition (history, else catalog) forbids CONCURRENTLY (PG 15 and 18).
    default = default_partition(parent, ctx)
    for _, cmd in commands(stmt, "AT_DetachPartition"):
        partcmd = (cmd.get("def") or {}).get("PartitionCmd", {})
        child = range_var(partcmd.get("name"))
        alone = "alone in its step, in a quiet period with a short lock_timeout"
        if partcmd.get("concurrent"):
            if default is not None:
                yield Hit(
                    f"PostgreSQL rejects DETACH … CONCURRENTLY while {parent} has a "
                    f"default partition ({default})",
                    f"DETACH PARTITION {child} without CONCURRENTLY, {alone}",
                )
            continue  # before PostgreSQL 14, rejected: unsupported-feature
        if default is not None:
            fix = (
                f"{parent} has a default partition, so no CONCURRENTLY: run it {alone}"
            )
        elif ctx.version.detach_partition_concurrently:
            fix = f"use DETACH PARTITION {child} CONCURRENTLY (its own step)"
        else:
            fix = (
                f"PostgreSQL {ctx.version.major} has no DETACH … CONCURRENTLY (14+): run it "
                "in a quiet period with a short lock_timeout"
            )
        yield Hit(
            f"DETACH PARTITION {child} takes an ACCESS EXCLUSIVE lock on {parent}: queries "
            "on every partition wait",
            fix,
            relation=parent,
        )


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    """On a down file: the CHECK each partition its up detaches CONCURRENTLY got, unless
    the down drops it (or the table)."""
    for where, parent, child, name in kept_detach_checks(ctx):
        check = q(name) if name else f"{child.name}_<key column>_check"
        look_up = "" if name else f"; look its name up in pg_constraint for {child}"
        yield (
            where,
            Hit(
                f"the up detaches {child} CONCURRENTLY, which leaves {parent}'s partition "
                f"constraint on it as the CHECK {check}; attached again, it keeps it: the "
                "down does not restore the schema as before the up",
                f"after the ATTACH, add ALTER TABLE {child} DROP CONSTRAINT IF EXISTS "
                f"{check}; (IF EXISTS: absent when the up stopped before the detach)"
                + look_up,
            ),
        )
