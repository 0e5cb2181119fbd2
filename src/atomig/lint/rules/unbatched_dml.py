"""UPDATE or DELETE of an existing table in one statement, above all without WHERE.

## Why
One statement changes every matching row in one transaction: it locks those rows until the
end (writers of any of them wait), bloats the table and WAL in one burst, can lag replicas,
and — if it fails after an hour — rolls back an hour of work. Without WHERE it touches every
row of the table.

## Instead
Run it as a batched backfill: put `-- atomig: backfill` on the line before the UPDATE/DELETE
and atomig runs it in primary-key windows, one short transaction each, with checkpoints and
throttling; out of any `BEGIN … COMMIT` (atomig refuses a backfill inside one). With
another runner, batch it yourself by key ranges outside the schema change.

## Notes
Not reported for a table created earlier in the same migration, nor for a point change: a
WHERE pinning a single-column primary or unique key to constants (`WHERE id = 42`, `WHERE
code IN ('a', 'b')`). Error without WHERE, warning with one. An UPDATE or DELETE in a
`WITH` (`WITH moved AS (DELETE … RETURNING *) INSERT …`) is one statement too, as is a
`MERGE` that updates or deletes matched rows (not one that only inserts, or reads a `VALUES`
list). A table the live catalog has below `small_table_rows` is info."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import keyless_note, small_table_note
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.nodes import pinned_columns, reaches_children
from atomig.sql.parse import Statement

ID = "unbatched-dml"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    ("UPDATE", "sql-update.html#SQL-UPDATE"),
    ("Row-level locks", "explicit-locking.html#LOCKING-ROWS"),
)
TARGETS = ("UpdateStmt", "DeleteStmt", "InsertStmt", "SelectStmt", "MergeStmt")
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, status text);"
BAD = (
    "UPDATE orders SET status = 'new';",
    "DELETE FROM orders WHERE status = 'void';",
)
GOOD = (
    Example(
        "-- atomig: backfill\nUPDATE orders SET status = 'new' WHERE status IS NULL;",
        before=_BEFORE,
        apply=False,
    ),
    "CREATE TABLE carts (id bigint PRIMARY KEY, status text);\n"
    "UPDATE carts SET status = 'new';",
    Example("UPDATE orders SET status = 'void' WHERE id IN (1, 2);", before=_BEFORE),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.kind in _VERBS and stmt.directive("backfill") is None:
        block = ctx.steps[stmt.index].in_block
        yield from _unbatched(stmt.kind, stmt.body, ctx, None, block)
    elif stmt.kind == "MergeStmt":
        yield from _merge(stmt.body, ctx)
    # A data-modifying WITH (… DELETE … RETURNING) runs as one statement too.
    for item in (stmt.body.get("withClause") or {}).get("ctes", ()):
        cte = item.get("CommonTableExpr") or {}
        query = cte.get("ctequery") or {}
        for kind in _VERBS:
            if kind in query:
                yield from _unbatched(kind, query[kind], ctx, cte.get("location"))


_VERBS = {"UpdateStmt": "UPDATE", "DeleteStmt": "DELETE"}


def _unbatched(
    kind: str,
    body: Mapping[str, Any],
    ctx: LintContext,
    cte: int | None,
    block: bool = False,
) -> Iterator[Hit]:
    table = range_var(body.get("relation"))
    if ctx.is_new(table):
        return
    verb, clause = _VERBS[kind], body.get("whereClause")
    if clause is not None and pinned_columns(clause) & ctx.unique_columns(table):
        return  # a point change: a handful of rows by key
    scope = "EVERY row" if clause is None else "the matching rows"
    fix = f"batch the {verb} {_BATCH}"
    if cte is not None:
        fix += f" (-- atomig: backfill takes a plain {verb}, not one inside WITH)"
    elif not ctx.other_runner:
        move = "move it after COMMIT and " if block else ""  # (BEGIN: plan-rejected)
        fix = (
            f"{move}put -- atomig: backfill on the line before the {verb}: atomig runs "
            "it in primary-key batches, one short transaction each"
        ) + keyless_note(ctx, table)
    small, level = (
        small_table_note(
            table, ctx, table is None or reaches_children(kind, body, table)
        ),
        Severity.WARNING if clause else None,
    )
    yield Hit(
        f"{verb} of {table} changes {scope}{_COST}" + (f" ({small})" if small else ""),
        fix,
        relation=table,
        severity=Severity.INFO if small else level,
        location=cte,
    )


def _merge(body: Mapping[str, Any], ctx: LintContext) -> Iterator[Hit]:
    table, clauses = range_var(body.get("relation")), body.get("mergeWhenClauses", ())
    kinds = {(c.get("MergeWhenClause") or {}).get("commandType") for c in clauses}
    done = " and ".join(verb for cmd, verb in _MERGE_VERBS.items() if cmd in kinds)
    sub = (body.get("sourceRelation") or {}).get("RangeSubselect") or {}
    listed = "valuesLists" in ((sub.get("subquery") or {}).get("SelectStmt") or {})
    if done and not listed and not ctx.is_new(table):  # VALUES: a handful of rows
        yield Hit(
            f"MERGE into {table} does {done} on every row the source matches{_COST}",
            f"run the {done} as plain statements batched {_BATCH}",
            relation=table,
            severity=Severity.WARNING,
        )


_MERGE_VERBS = {"CMD_UPDATE": "UPDATE", "CMD_DELETE": "DELETE"}
_BATCH = "by primary-key ranges, one short transaction per batch"
_COST = (
    " in one transaction: row locks held to the end, a burst of WAL and bloat, an hour "
    "of rollback if it fails"
)
