"""CREATE OR REPLACE VIEW that drops, renames or moves one of the view's columns:
PostgreSQL rejects it.

## Why
`CREATE OR REPLACE VIEW` keeps the view's columns: the new query must produce every column
the view has, with the same names, in the same order (and of the same types); it may only
add columns at the end. Anything else fails with "cannot drop columns from view" or
"cannot change name of view column" (PG 15 and 18), and the migration with it. The common
victim is a down file: it puts back the view's old query after the up added a column to
it, and the rollback fails when it is needed.

## Instead
Keep the existing columns in place and add new ones at the end. To really remove or rename
a column, in one transaction: `DROP VIEW v`, then `CREATE VIEW v AS …` (views that read `v`
must be dropped first and created again, and its grants given again), or `ALTER VIEW v
RENAME COLUMN old TO new` for a rename alone. A down file that undoes an added column
drops and creates the view the same way.

## Notes
The view's columns come from the migration history (the up, for a down file), else from
the live catalog (`--database-url`). Names PostgreSQL derives for a column left unnamed are
followed for plain columns, casts, function calls and constants; other expressions, and a
`*` over a relation whose columns are not known, leave that column (or the whole list)
unchecked. Types are not compared.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers.views import view_columns_now
from atomig.lint.rule import Example
from atomig.lint.schema_views import output_columns
from atomig.sql.classify import range_var
from atomig.sql.parse import Statement

ID = "view-column-change"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = ()
TARGETS = ("ViewStmt",)
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric, note text);\n"
    "CREATE VIEW order_totals AS SELECT id, total FROM orders;"
)
BAD = (
    Example(
        "CREATE OR REPLACE VIEW order_totals AS SELECT id FROM orders;", before=_BEFORE
    ),
    Example(
        "CREATE OR REPLACE VIEW order_totals AS SELECT id, total AS amount FROM orders;",
        before=_BEFORE,
    ),
    Example(
        "CREATE OR REPLACE VIEW order_totals AS SELECT note, id, total FROM orders;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "CREATE OR REPLACE VIEW order_totals AS SELECT id, total, note FROM orders;",
        before=_BEFORE,
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    name = range_var(stmt.body.get("view"))
    if not stmt.body.get("replace") or name is None:
        return
    new = output_columns(ctx.schema, stmt.body)
    old = view_columns_now(name, ctx)
    if old is None or new is None:
        return
    fix = (
        f"keep the columns of {name} in place and add new ones at the end; to remove or "
        f"rename one: DROP VIEW {name} and CREATE VIEW {name} AS … in one transaction "
        "(views reading it dropped first and created again, its grants given again)"
    )
    if len(new) < len(old):
        gone = ", ".join(str(c) for c in old if c is not None and c not in new)
        yield Hit(
            f"CREATE OR REPLACE VIEW {name} gives it {len(new)} columns where it has "
            f"{len(old)}{f' (no {gone})' if gone else ''}: PostgreSQL rejects it (cannot "
            "drop columns from view) and the migration fails",
            fix,
            relation=name,
        )
        return
    for position, (before, after) in enumerate(zip(old, new, strict=False), 1):
        if before is not None and after is not None and before != after:
            rename = f"ALTER VIEW {name} RENAME COLUMN {before} TO {after}"
            yield Hit(
                f"CREATE OR REPLACE VIEW {name} names its column {position} {after} where "
                f"it is {before}: PostgreSQL rejects it (cannot change name of view "
                "column) and the migration fails",
                fix
                if after in old or before in new
                else f"{fix}; or, a rename: {rename}",
                relation=name,
            )
            return
