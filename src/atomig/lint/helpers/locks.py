"""The locks a statement takes beyond its own facts: what the history or the live catalog adds
(the tables a dropped or retyped foreign key references, the referrers of a dropped table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.lint.helpers.knowledge import (
    _CONTYPES,
    constraint_known,
    default_partition,
    dependents,
)
from atomig.lint.helpers.shapes import (
    added_constraints,
    alter_relation,
    commands,
    dropped_tables,
    q,
)
from atomig.lint.schema import Key, key_of
from atomig.sql.classify import (
    dropped_foreign_key_locks,
    range_var,
)
from atomig.sql.facts import QualifiedName, RelationLock
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


def known_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    """The statement's locks: its facts, plus those only the history or the live catalog
    can tell (dropping a foreign key, a table with foreign keys, or changing the type of a
    key column locks the table at the key's other end ACCESS EXCLUSIVE). An ALTER TABLE's
    are worked out once per file (several rules ask, some about every statement before)."""
    if stmt.kind != "AlterTableStmt":
        return _known_locks(stmt, ctx)
    memo = ctx.scratch("known_locks")
    found: tuple[RelationLock, ...] | None = memo.get(stmt.index)
    if found is None:
        found = memo[stmt.index] = _known_locks(stmt, ctx)
    return found


def _known_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    locks = ctx.facts(stmt).locks
    if stmt.kind == "DropStmt" and stmt.body.get("removeType") == "OBJECT_TABLE":
        return locks + _dropped_table_locks(stmt, ctx)
    if stmt.kind == "CreateStmt" and stmt.body.get("partbound"):
        return locks + _default_partition_locks(stmt, ctx)
    if stmt.kind != "AlterTableStmt":
        return locks
    if any(True for _ in commands(stmt, "AT_AttachPartition")):
        locks += _default_partition_locks(stmt, ctx)
    if any(True for _ in commands(stmt, "AT_AlterColumnType", "AT_DropColumn")):
        locks += _retyped_key_locks(stmt, ctx)
    if not any(True for _ in commands(stmt, "AT_DropConstraint")):
        return locks

    def referenced_by(table: QualifiedName, constraint: str) -> QualifiedName | None:
        known = ctx.schema.referenced_by(table, constraint)
        if known is not None or constraint_known(ctx, table, constraint):
            return known
        # A foreign key older than the history: only the live catalog knows it.
        live = ctx.catalog_table(table)
        con = None if live is None else live.constraints.get(constraint)
        if con is None or con.references is None:
            return None
        return ctx.live_name(con.references)

    return locks + dropped_foreign_key_locks(stmt, referenced_by)


def _default_partition_locks(
    stmt: Statement, ctx: LintContext
) -> tuple[RelationLock, ...]:
    """A new partition (ATTACH PARTITION, CREATE TABLE … PARTITION OF) takes ACCESS
    EXCLUSIVE on the parent's DEFAULT partition, whose rows are checked against the new
    bound (checked in pg_locks on PG 15 and 18). From history, else the live catalog."""
    if stmt.kind == "CreateStmt":
        parents = stmt.body.get("inhRelations") or ()
        parent = range_var(parents[0].get("RangeVar")) if parents else None
    else:
        parent = alter_relation(stmt)
    default = default_partition(parent, ctx)
    if default is None:
        return ()
    return (RelationLock(default, LockMode.ACCESS_EXCLUSIVE),)


def _retyped_key_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    """Changing the type of a column in a foreign key, on either side, drops and adds the
    key again, and dropping the column drops the key: ACCESS EXCLUSIVE on the table at
    its other end, even for a change that rewrites nothing (checked in pg_locks on PG 15
    and 18). From history and catalog."""
    table = alter_relation(stmt)
    if table is None:
        return ()
    columns = {
        cmd.get("name", "")
        for _, cmd in commands(stmt, "AT_AlterColumnType", "AT_DropColumn")
    }
    known, live = ctx.table(table), ctx.catalog_table(table)
    others = [
        con.references
        for con in (known.constraints.values() if known else ())
        if con.references is not None and columns & set(con.columns)
    ]
    if live is not None and ctx.schema.creator("relation", table) is None:
        others += [
            ctx.live_name(con.references)
            for name, con in live.constraints.items()
            if con.references is not None
            and columns & set(con.columns)
            and not constraint_known(ctx, table, name)
        ]
        for column in columns:
            for dep in live.dependents.get(column, ()):
                other = ctx.live_name(dep.relation)
                if dep.constraint and not ctx.schema.dropped(
                    "constraint", other, dep.constraint
                ):
                    others.append(other)
    found = {key_of(o): o for o in others if key_of(o) != key_of(table)}
    return tuple(RelationLock(o, LockMode.ACCESS_EXCLUSIVE) for o in found.values())


def _dropped_table_locks(stmt: Statement, ctx: LintContext) -> tuple[RelationLock, ...]:
    """Dropping a table drops its foreign keys, which takes ACCESS EXCLUSIVE on each table
    they reference (their triggers go; checked in pg_locks on PG 15 and 18): known from
    the history, else the live catalog."""
    dropped = dropped_tables(stmt)
    gone = {key_of(name) for name in dropped}
    found: dict[Key, QualifiedName] = {}
    for name in dropped:
        known = ctx.table(name)
        refs = [c.references for c in known.constraints.values()] if known else []
        live = ctx.catalog_table(name)
        if live is not None and (known is None or known.placeholder):
            refs += [
                ctx.live_name(con.references)
                for con_name, con in live.constraints.items()
                if con.references is not None
                and not constraint_known(ctx, name, con_name)
                and not ctx.schema.dropped("constraint", name, con_name)
            ]
        if stmt.body.get("behavior") == "DROP_CASCADE":
            # CASCADE drops the foreign keys other tables have to it, locking those too.
            refs += _referencing_tables(ctx, name)
        for ref in refs:
            if ref is not None and key_of(ref) not in gone:
                found.setdefault(key_of(ref), ref)
    return tuple(RelationLock(ref, LockMode.ACCESS_EXCLUSIVE) for ref in found.values())


def _referencing_tables(ctx: LintContext, table: QualifiedName) -> list[QualifiedName]:
    """The other tables with a foreign key to ``table``: history, then live catalog."""
    schema, target = ctx.schema, key_of(table)
    found: list[QualifiedName] = []
    for here in schema.referrers.get(target, ()):
        other = schema.tables.get(here)
        if other is not None and any(
            c.references is not None and key_of(c.references) == target
            for c in other.constraints.values()
        ):
            found.append(other.name)
    live = ctx.catalog_table(table)
    if live is None or schema.creator("relation", table) is not None:
        return found
    for deps in live.dependents.values():
        for dep in deps:
            holder = ctx.live_name(dep.relation)
            if dep.constraint and not (
                schema.dropped("constraint", holder, dep.constraint)
                or constraint_known(ctx, holder, dep.constraint)
            ):
                found.append(holder)
    return found


def key_referrers(ctx: LintContext, table: QualifiedName, constraint: str) -> list[str]:
    """The foreign keys that use ``table``'s PRIMARY KEY or UNIQUE ``constraint``:
    PostgreSQL refuses to drop it without CASCADE. From the history (a foreign key naming
    no columns uses the primary key), else the live catalog when the table has no other
    such constraint (every foreign key to it then uses this one)."""
    known, schema, target = ctx.table(table), ctx.schema, key_of(table)
    con = known.constraints.get(constraint) if known is not None else None
    if con is not None:
        found = []
        for here in schema.referrers.get(target, ()):
            other = schema.tables.get(here)
            for fk in other.constraints.values() if other is not None else ():
                refs, cols = fk.references, fk.referenced_columns
                uses = set(cols) == set(con.columns) if cols else con.kind == "primary"
                if other is not None and refs and key_of(refs) == target and uses:
                    found.append(f"foreign key {q(fk.name)} of {other.name}")
        return found if con.kind in ("primary", "unique") else []
    live = ctx.catalog_table(table)
    kinds = [_CONTYPES.get(c.kind) for c in (live.constraints if live else {}).values()]
    mine = live.constraints.get(constraint) if live is not None else None
    keys = kinds.count("primary") + kinds.count("unique")
    if mine is None or _CONTYPES.get(mine.kind) is None or keys != 1:
        return []
    return [dep for dep in dependents(ctx, table) if dep.startswith("foreign key ")]


def readded_in_step(stmt: Statement, ctx: LintContext, constraint: str) -> bool:
    """``stmt`` (or a statement after it in the same transaction step) adds a constraint
    named ``constraint`` to the same table again: dropped and re-added (a primary key
    moved to a new column, a CHECK redefined), the rule is never off for other sessions."""
    table = alter_relation(stmt)
    return table is not None and any(
        mate.kind == "AlterTableStmt"
        and alter_relation(mate) == table
        and any(con.get("conname") == constraint for con in added_constraints(mate))
        for mate in (stmt, *ctx.step_mates(stmt))
    )
