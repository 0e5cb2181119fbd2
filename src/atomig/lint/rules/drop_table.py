"""Dropping a table, schema or database destroys data and breaks code that uses it.

## Why
`DROP TABLE` (and `DROP SCHEMA … CASCADE`, `DROP DATABASE`) cannot be undone by a down file:
the data is gone. Running code that still queries the table fails at once. `DROP TABLE`
also takes ACCESS EXCLUSIVE on the table (and on tables referencing it through foreign
keys). PostgreSQL rejects it while a view, a row-security policy or a `BEGIN ATOMIC` function
body reads the table or another table's foreign key references it (known from history, and
for views and keys with `--database-url` from the live catalog), unless
CASCADE, which drops those silently too. It rejects `DROP TABLE` of a foreign table and
`DROP FOREIGN TABLE` of a table, IF EXISTS or not, and `DROP SCHEMA` without CASCADE while
a table, view or function the history made is in it. Dropping a foreign table leaves its rows
on the remote server, but code that reads it still breaks.

## Instead
Stop using it in the code first, rename it aside (`ALTER TABLE t RENAME TO t_retired`) in one
migration, and drop it in a later one once nothing broke; back it up if in doubt.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import dependents, schema_members
from atomig.lint.schema import key_of
from atomig.sql.classify import name_list
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "drop-table"
SEVERITY = Severity.WARNING
CATEGORY = "compatibility"
DOCS = (("DROP TABLE", "sql-droptable.html#SQL-DROPTABLE"),)
TARGETS = ("DropStmt", "DropdbStmt")
_KINDS = {
    "OBJECT_TABLE": "table",
    "OBJECT_SCHEMA": "schema",
    "OBJECT_FOREIGN_TABLE": "foreign table",
}
BAD = ("DROP TABLE orders;", "DROP SCHEMA archive CASCADE;", "DROP DATABASE shop;")
GOOD = ("CREATE TABLE scratch (id bigint PRIMARY KEY);\nDROP TABLE scratch;",)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if stmt.kind == "DropdbStmt":
        yield Hit(
            f"DROP DATABASE {stmt.body.get('dbname')} destroys every table in it",
            "never drop a database from a migration",
        )
        return
    kind = _KINDS.get(stmt.body.get("removeType", ""))
    if kind is None:
        return
    names = [
        name_list(obj.get("List", {}).get("items") or [obj])
        for obj in stmt.body.get("objects", ())
    ]
    cascade = stmt.body.get("behavior") == "DROP_CASCADE"
    for name in names:
        deps = []
        if kind == "table":
            deps = dependents(ctx, name, dropped_too={key_of(n) for n in names})
        elif kind == "schema":
            deps = schema_members(ctx, name.name)
        if deps and not cascade:
            # Rejected even for a table this migration made (a down file dropping the
            # referenced table before the referencing one).
            yield Hit(
                f"PostgreSQL rejects DROP {kind.upper()} {name}: {', '.join(deps)} "
                f"depend{'s' if len(deps) == 1 else ''} on it",
                f"drop {'it' if len(deps) == 1 else 'them'} first, in the same migration "
                "(DROP VIEW …; ALTER TABLE … DROP CONSTRAINT …; DROP TABLE …), so that "
                "the down file can create them again",
                severity=Severity.ERROR,
            )
            continue
        if kind == "table" and ctx.is_foreign(name):
            yield _wrong_keyword(
                stmt, name, "TABLE", "FOREIGN TABLE", "a foreign table"
            )
            continue
        if kind == "foreign table" and _local(ctx, name):
            yield _wrong_keyword(stmt, name, "FOREIGN TABLE", "TABLE", "not foreign")
            continue
        if kind != "schema" and (ctx.is_new(name) or ctx.created_by_this_up(name)):
            continue
        if kind == "schema" and ctx.made_here("schema", name):
            continue  # made by this migration (its up, for a down file)
        if kind == "foreign table":
            yield Hit(
                f"dropping foreign table {name} breaks code that still uses it (its "
                "rows stay on the remote server)",
                "stop using it first, then drop it in a later migration",
            )
            continue
        yield Hit(
            f"dropping {kind} {name}{' with CASCADE' if cascade else ''} destroys its "
            "data (the down file cannot restore it) and breaks code that still uses it"
            + (f"; CASCADE drops {', '.join(deps)} too" if deps else ""),
            "stop using it first; rename it aside, drop it in a later migration",
            relation=name if kind == "table" else None,
        )


def _local(ctx: LintContext, name: QualifiedName) -> bool:
    """``name`` is known (from history, else the catalog) to be a table that is not
    foreign."""
    known = ctx.table(name)
    if known is not None:
        return not (known.foreign or known.placeholder)
    live = ctx.catalog_table(name)
    return live is not None and not live.foreign


def _wrong_keyword(
    stmt: Statement, name: QualifiedName, used: str, right: str, why: str
) -> Hit:
    """PostgreSQL rejects DROP TABLE of a foreign table and DROP FOREIGN TABLE of a table
    (even with IF EXISTS: checked on PG 15 and 18)."""
    guard = "IF EXISTS " if stmt.body.get("missing_ok") else ""
    return Hit(
        f"PostgreSQL rejects DROP {used} {name}: it is {why}",
        f"DROP {right} {guard}{name}",
        severity=Severity.ERROR,
    )
