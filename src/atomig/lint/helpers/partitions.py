"""What a down file leaves of its up's ``DETACH PARTITION … CONCURRENTLY``: the CHECK the
detach added to the partition (its partition constraint), which re-attaching keeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from atomig.lint.helpers.shapes import Body, alter_relation, commands, dropped_tables
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.naming import detach_check_name
from atomig.sql.objects import same_name
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext

Kept = tuple[Statement, QualifiedName, QualifiedName, str | None]


def _partition(cmd: Body) -> Body:
    return dict((cmd.get("def") or {}).get("PartitionCmd", {}))


def kept_detach_checks(ctx: LintContext) -> Iterator[Kept]:
    """On a down file: ``(statement, parent, partition, CHECK name)`` for each partition
    the partner up detaches CONCURRENTLY whose CHECK (recorded by the history replay) the
    down keeps: it drops neither the CHECK nor the table. The statement is the down's
    ``ATTACH`` of it (else its first). When the history does not know the partition, the
    down must drop some constraint of it; the name is then from the parent's key, or
    ``None`` when that is unknown too."""
    if ctx.direction != "down" or ctx.partner is None or not len(ctx.script):
        return
    down = ctx.script.statements
    for up in ctx.partner:
        parent = alter_relation(up)
        for _, cmd in commands(up, "AT_DetachPartition"):
            partcmd = _partition(cmd)
            child = range_var(partcmd.get("name"))
            if not partcmd.get("concurrent") or parent is None or child is None:
                continue
            known, table = ctx.table(parent), ctx.table(child)
            key = known.partition_key if known is not None else None
            if key is not None and key[0] == "hash":
                continue  # a hash partition gets no CHECK (PG 15 and 18)
            if table is not None and table.detach_check:
                # After the down: still there unless it dropped it.
                name: str | None = table.detach_check
                where = _kept(down, child, "") if name in table.constraints else None
            else:
                name = detach_check_name(child.name, key) if key else None
                where = _kept(down, child, None)
            if where is not None:
                yield where, parent, child, name


def _drops(stmt: Statement, child: QualifiedName) -> bool:
    """``stmt`` drops ``child`` or a constraint of it."""
    if stmt.kind == "DropStmt":
        return any(same_name(child, t) for t in dropped_tables(stmt))
    if not same_name(alter_relation(stmt), child):
        return False
    return any(True for _ in commands(stmt, "AT_DropConstraint"))


def _kept(
    down: tuple[Statement, ...] | list[Statement],
    child: QualifiedName,
    name: str | None,
) -> Statement | None:
    """Where the down keeps ``child``'s CHECK: its ATTACH of it, else its first statement;
    ``None`` when it drops the table or, for ``name`` ``None``, any constraint of it
    (``""``: no DROP counts, the history replay said it stays)."""
    where = down[0]
    for stmt in down:
        if name is None and _drops(stmt, child):
            return None
        attached = commands(stmt, "AT_AttachPartition")
        if any(
            same_name(range_var(_partition(c).get("name")), child) for _, c in attached
        ):
            where = stmt
    return where
