"""Does the down file undo its up when the up stops part-way (down-incomplete)? atomig's
runner applies an up file step by step; when step k+1 fails (k ≥ 1) it runs the down file
on the schema steps 1..k left, and expects the schema before the up back. A down that is
complete after the whole up may not be then: it drops a partition's index only with its
parent, once a later step attached it; a constraint by the name a later step gives it; a
table a later step renames into the name it drops.

The comparison of :mod:`atomig.lint.down_inverse` runs again at each step boundary, on
the state the replay kept there (:class:`~atomig.lint.down_journal.Checkpoint`: only what
the up touched, no snapshot of the schema), with the links (attached partitions, renames)
of steps 1..k only. What the comparison after the whole up reports is not reported again,
and each object once, at the first boundary where it is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from atomig.lint.context import LintContext
from atomig.lint.down_inverse import Leftover, leftovers, shown
from atomig.lint.down_journal import Checkpoint, UpRecord
from atomig.lint.down_links import Links, last_link, statement_of
from atomig.lint.schema import Key, SchemaState, Table
from atomig.sql.parse import Script, Statement


@dataclass(frozen=True, slots=True)
class PartialLeftover:
    """A difference the down leaves at a step boundary (its message names the step that
    fails): the object's label, the message, the fix, and the down statement to point
    at (its index; ``None``: the down file's first)."""

    label: str
    message: str
    fix: str
    statement: int | None


def partial_leftovers(
    ctx: LintContext, record: UpRecord, reported: set[str]
) -> list[PartialLeftover]:
    """What the down file of ``ctx`` leaves different from before the up at a step
    boundary of its up, and not after the whole up (``reported``: those labels)."""
    if not record.checkpoints:
        return []
    out: list[PartialLeftover] = []
    seen = set(reported)
    up, down = record.up, ctx.script
    # The links of steps 1..k, read on as k grows; the down's are read after them (a
    # down that links nothing, the common case, shares them).
    links, read = Links(), 0
    down_links = Links()
    for stmt in down.statements:
        down_links.read_statement(stmt, up=False)
    full: Links | None = None  # (the whole up's, read only when needed)
    starts: dict[int, int] | None = None  # first statement of a step -> its number
    count = 0
    # Boundaries after this statement may be skipped (_as_after_whole_up): none when the
    # down changes the schema, else those after the up's last link.
    linked = len(up) if any(map(_changes_schema, down.statements)) else last_link(up)
    for checkpoint in record.checkpoints:
        if starts is not None and checkpoint.start not in starts:
            continue  # (not a boundary of atomig's plan: see below)
        if linked < checkpoint.start and _as_after_whole_up(record, checkpoint):
            continue
        for stmt in up.statements[read : checkpoint.start]:
            links.read_statement(stmt, up=True)
        read = checkpoint.start
        both = links
        if down_links.read:
            both = Links.of(up, down, upto=checkpoint.start)
        found = _compare(ctx, record, checkpoint, seen, both)
        if not found:
            continue
        full = Links.of(record.up) if full is None else full
        found = [left for left in found if not _as_constraint(left, full, seen)]
        if not found:
            continue
        if starts is None:
            # Planned only now: most ups draw no difference. Lint's step grouping may
            # break where the planner does not (leading SETs go into its envelope).
            plan = ctx.plan_of("partner").plan
            if plan is None or plan.on_failure != "rollback":
                # (refused: it never runs; resume: a failure stops it without running
                # the down)
                return []
            count = len(plan.steps)
            starts = {
                step.statements[0].index: number
                for number, step in enumerate(plan.steps, 1)
                if number > 1 and step.statements
            }
            if checkpoint.start not in starts:
                continue
        step = starts[checkpoint.start]
        for left in found:
            seen.add(left.label)
            out.append(
                _explained(ctx, record, checkpoint, full, left, f"{step}/{count}")
            )
    return out


# Statements the schema replay does nothing with (a SELECT … INTO creates a table).
_INERT = frozenset(
    {
        "SelectStmt",
        "InsertStmt",
        "UpdateStmt",
        "DeleteStmt",
        "VariableSetStmt",
        "TransactionStmt",
        "CommentStmt",
    }
)


def _changes_schema(stmt: Statement) -> bool:
    return stmt.kind not in _INERT or bool(stmt.body.get("intoClause"))


def _as_after_whole_up(record: UpRecord, checkpoint: Checkpoint) -> bool:
    """The comparison at ``checkpoint`` can only find what it finds after the whole up
    (so it is not run: most boundaries of most files), for a down that changes no schema
    and an up that links nothing from there on: each view is as after the whole up, and
    each table too, or absent before and then, or holding a part of what it holds after
    the whole up: its columns and indexes there, as there or as before the up, and its
    constraints with the same kind and columns, while nothing there before the up is
    missing then and back after it, and no later constraint takes a name of its indexes.
    (tests/lint/test_down_partial.py checks both ways agree on some 250 boundaries.)"""
    kept, views, after = checkpoint.tables, checkpoint.views, record.after
    if any(view is not after.views.get(key) for key, view in views.items()):
        return False
    for key, old in record.tables.items():
        if key not in kept:
            continue  # (not touched yet: as before the up, so not compared as changed)
        part, whole = kept[key], after.tables.get(key)
        if part is whole or (part is None and old is None):
            continue
        if part is None or whole is None or not _part_of(part, whole, old):
            return False
    return True


def _part_of(part: Table, whole: Table, old: Table | None) -> bool:
    # (an object is read alike on both sides when it is the same value there, or when
    # the steps before the boundary left it as it was before the up: nothing to report)
    if (part.placeholder, part.columns_known) != (
        whole.placeholder,
        whole.columns_known,
    ):
        return False
    was = old if old is not None else Table(part.name)
    columns, indexes, constraints = whole.columns, whole.indexes, whole.constraints
    # (each column and index there then is there after the whole up too: which columns
    # are gone decides which indexes are reported)
    for name, column in part.columns.items():
        now = columns.get(name)
        if now is not column and (now is None or was.columns.get(name) is not column):
            return False
    for name, index in part.indexes.items():
        there = indexes.get(name)
        if there is not index and (there is None or was.indexes.get(name) is not index):
            return False
    for name, con in part.constraints.items():
        same = constraints.get(name)
        if same is None or (same.kind, same.columns) != (con.kind, con.columns):
            return False
    later = constraints.keys() - part.constraints.keys()
    return not (
        later & part.indexes.keys()
        or (columns.keys() - part.columns.keys()) & was.columns.keys()
        or (indexes.keys() - part.indexes.keys()) & was.indexes.keys()
        or later & was.constraints.keys()
        or later & was.indexes.keys()
    )


def _as_constraint(left: Leftover, full: Links, seen: set[str]) -> bool:
    """``left`` is an index the whole up makes a constraint's, and that constraint is
    reported (it is the same object: its fix removes both)."""
    if not left.label.startswith("index "):
        return False
    for (_, index), (table, name) in full.index_constraints.items():
        if index == left.name and f"constraint {name} of table {shown(table)}" in seen:
            return True
    return False


def _compare(
    ctx: LintContext,
    record: UpRecord,
    checkpoint: Checkpoint,
    seen: set[str],
    links: Links,
) -> list[Leftover]:
    state, middle = _state_at(record, checkpoint)
    script, migration = ctx.script, ctx.migration
    for stmt in script.statements:
        state.apply(stmt, migration)
    return leftovers(record, state, script, migration, links, middle, seen)


def _state_at(
    record: UpRecord, checkpoint: Checkpoint
) -> tuple[SchemaState, dict[Key, Table | None]]:
    """The schema at ``checkpoint`` (a fork of the one after the up, with what the up
    touched as it was there), and those tables."""
    after = record.after
    state = after.fork()
    kept = checkpoint.tables
    middle = {key: kept.get(key, old) for key, old in record.tables.items()}
    tables, owners = state.tables, state.index_owner
    for key, table in middle.items():
        now = after.tables.get(key)
        if table is now:
            continue
        # (which table an index belongs to: DROP INDEX and ALTER INDEX find it by it)
        for name in now.indexes if now is not None else ():
            if (table is None or name not in table.indexes) and owners.get(
                (key[0], name)
            ) == key:
                del owners[key[0], name]
        if table is None:
            tables.pop(key, None)
            continue
        tables[key] = table
        for name in table.indexes:
            if now is None or name not in now.indexes:
                owners[key[0], name] = key
    views = state.views
    for key, old in record.views.items():
        view = checkpoint.views.get(key, old)
        if view is None:
            views.pop(key, None)
        elif view is not after.views.get(key):
            views[key] = view
    return state, middle


def _explained(
    ctx: LintContext,
    record: UpRecord,
    checkpoint: Checkpoint,
    full: Links,
    left: Leftover,
    step: str,
) -> PartialLeftover:
    up, start = record.up, checkpoint.start
    reason, fix, statement = _cause(ctx, record, checkpoint, full, left)
    origin = left.origin + ("" if left.line is None else f", line {left.line}")
    outcome = (
        "is left after the down"
        if left.outcome == "is still there after the down"
        else left.outcome
    )
    if reason is None:
        later = statement_of(up, left.name, start=start)
        reason = (
            "the down undoes it only once the whole up has run"
            if later is None
            else f"the down undoes it only once a later step has run (line "
            f"{later.span.line})"
        )
    return PartialLeftover(
        left.label,
        f"when step {step} fails, {left.label} ({origin}) {outcome}: {reason}",
        fix or left.fix,
        left.statement if statement is None else statement,
    )


def _cause(
    ctx: LintContext,
    record: UpRecord,
    checkpoint: Checkpoint,
    full: Links,
    left: Leftover,
) -> tuple[str | None, str | None, int | None]:
    """Why the down undoes ``left`` after the whole up only (``None``: no known link),
    the fix when it must go at a given place, and the down statement to point at."""
    up, down, start, name = record.up, ctx.script, checkpoint.start, left.name
    for (_, index), (_, constraint) in full.index_constraints.items():
        if index != name or not left.label.startswith("index "):
            continue
        taken = statement_of(up, "using", name, start=start)
        if taken is not None:
            reason = (
                f"it is dropped with constraint {constraint} only once a later step "
                f"makes it that constraint's index (line {taken.span.line})"
            )
            return reason, None, None
    if left.label.startswith(("index ", "table ")):
        parents = full.index_parents if left.label[0] == "i" else full.table_parents
        parent = next((p for c, p in parents.items() if c[1] == name), None)
        attach = statement_of(up, "attach", name, start=start)
        if parent is not None and attach is not None:
            reason = (
                f"it is dropped with {parent[1]} only once attached (line "
                f"{attach.span.line})"
            )
            drop = statement_of(down, parent[1])
            if left.label[0] != "i" or drop is None or not left.sql:
                return reason, None, None
            # PostgreSQL refuses to drop an attached partition index on its own ("cannot
            # drop index … because index … requires it", PG 15 and 18): after the whole
            # up, only the DROP of its parent removes it.
            fix = (
                f"add `{left.sql}` to the down file after line {drop.span.line} "
                f"(while attached, PostgreSQL drops it only with {parent[1]})"
            )
            return reason, fix, drop.index
    for (_, _, _, old), new in _later_renames(up, start):
        if old == name:
            renamed = statement_of(up, old, new, start=start)
            line = "" if renamed is None else f" (line {renamed.span.line})"
            reason = (
                f"the down undoes it by the name a later step gives it, {new}{line}"
            )
            return reason, None, None
    return None, None, None


def _later_renames(up: Script, start: int) -> Iterator[tuple[tuple[str, ...], str]]:
    before = Links.of(up, upto=start).renames
    for key, new in Links.of(up).renames.items():
        if before.get(key) != new:
            yield key, new
