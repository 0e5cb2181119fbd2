"""Renaming a table (view, sequence, type, function, schema …) or moving it to another
schema breaks the code that uses the old name.

## Why
The running application (and views, functions and other services) still use the old name:
they fail from the moment the rename commits until every one of them is updated.

## Instead
Create the new name alongside (for a table: rename, then `CREATE VIEW old_name AS SELECT *
FROM new_name` in the same transaction, so old queries keep working), switch the code, drop
the compatibility view in a later migration.

## Notes
Renames of indexes, constraints and triggers are invisible to applications and are not
reported, nor is a table's rename or move followed in the same transaction by a view with
its old name, an object's rename followed there by another's to its old name (a swap), nor
the rename of what the same migration created.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import renamed_back
from atomig.lint.rule import Example
from atomig.lint.schema import key_of
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.objects import object_kind, object_label, object_name
from atomig.sql.parse import Statement, walk

ID = "rename-table"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (
    ("ALTER TABLE … RENAME", "sql-altertable.html#SQL-ALTERTABLE-DESC-RENAME"),
    ("ALTER TABLE … SET SCHEMA", "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-SCHEMA"),
)
TARGETS = ("RenameStmt", "AlterObjectSchemaStmt")
_SILENT = frozenset(
    {
        "OBJECT_COLUMN",
        "OBJECT_INDEX",
        "OBJECT_TABCONSTRAINT",
        "OBJECT_TRIGGER",
        "OBJECT_POLICY",
        "OBJECT_RULE",
        "OBJECT_DOMCONSTRAINT",
        "OBJECT_STATISTIC_EXT",
    }
)
# What keeps a renamed object's old name working meanwhile (a simple view is updatable).
_VIEW = (
    "a view with the old name: CREATE VIEW old AS SELECT * FROM new, in the same step"
)
_STAND_INS = {
    "table": _VIEW,
    "view": _VIEW,
    "materialized view": _VIEW,
    "foreign table": _VIEW,
    "function": "a function with the old name that calls the new one",
    "procedure": "a procedure with the old name that calls the new one",
}
BAD = (
    "ALTER TABLE orders RENAME TO purchases;",
    "ALTER TABLE orders SET SCHEMA archive;",
    "ALTER FUNCTION total(int) RENAME TO order_total;",
    "ALTER SCHEMA billing RENAME TO invoicing;",
)
GOOD = (
    "CREATE TABLE carts (id bigint);\nALTER TABLE carts RENAME TO baskets;",
    Example(
        "ALTER TABLE orders RENAME TO purchases;\n"
        "CREATE VIEW orders AS SELECT * FROM purchases;",
        before="CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);",
    ),
    # Prisma's enum change: the new type takes the old name in the same transaction.
    Example(
        "CREATE TYPE role_new AS ENUM ('user', 'admin');\n"
        "ALTER TYPE role RENAME TO role_old;\nALTER TYPE role_new RENAME TO role;\n"
        "DROP TYPE role_old;",
        before="CREATE TYPE role AS ENUM ('user', 'admin', 'guest');",
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    kind = (
        body.get("renameType") if stmt.kind == "RenameStmt" else body.get("objectType")
    )
    if kind in _SILENT:
        return
    relation = range_var(body.get("relation"))
    other = None if relation else object_name(body.get("object"))
    if (
        ctx.is_new(relation)
        or (other is not None and ctx.made_here(object_kind(kind or ""), other))
        or (kind == "OBJECT_TABLE" and _view_keeps(stmt, ctx))
        or renamed_back(stmt, relation or other, ctx.step_mates(stmt))
    ):
        return
    what = object_label(kind or "OBJECT")
    name = relation or other or body.get("subname") or "it"
    if stmt.kind == "RenameStmt":
        action = f"renaming {what} {name} to {body.get('newname')}"
    else:
        action = f"moving {what} {name} to schema {body.get('newschema')}"
    stand_in = _STAND_INS.get(what)
    yield Hit(
        f"{action} breaks every running query and object that uses the old name",
        f"keep the old name working during the transition ({stand_in}), switch the "
        "code, then drop it in a later migration"
        if stand_in
        else f"nothing can stand in for a {what}'s old name: first switch every user "
        "to the new one (code that works with both), then rename",
        relation=relation,
    )


def _view_keeps(stmt: Statement, ctx: LintContext) -> bool:
    """A view with the table's old name, reading the table under its new name, follows in
    the same transaction: old queries go on working through it (a simple view is
    updatable) from the moment both commit."""
    body, relation = stmt.body, range_var(stmt.body.get("relation"))
    if relation is None:
        return False
    new = key_of(
        QualifiedName(relation.schema, body["newname"])
        if stmt.kind == "RenameStmt"
        else QualifiedName(body.get("newschema"), relation.name)
    )
    return any(
        mate.kind == "ViewStmt"
        and (view := range_var(mate.body.get("view"))) is not None
        and key_of(view) == key_of(relation)
        and any(
            key == "RangeVar" and (read := range_var(value)) and key_of(read) == new
            for key, value in walk(mate.body.get("query"))
        )
        for mate in ctx.step_mates(stmt)
    )
