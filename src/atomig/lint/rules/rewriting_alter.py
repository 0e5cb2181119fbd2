"""SET LOGGED/UNLOGGED, SET TABLESPACE and SET ACCESS METHOD rewrite the relation under
ACCESS EXCLUSIVE.

## Why
`SET LOGGED` and `SET UNLOGGED` rewrite the table (and write it all to WAL); `SET
TABLESPACE` copies every file of the table or index; `SET ACCESS METHOD` rewrites into the
new format. Reads and writes wait the whole time.

## Instead
Create the new relation alongside (new tablespace, logged, other access method), copy in
batches while a trigger keeps it in sync, then swap names in a short transaction; or use
pg_repack (`--tablespace`). For indexes: `REINDEX (TABLESPACE x) INDEX CONCURRENTLY …`
(PG 14+).

## Notes
`ALTER TABLE|INDEX|MATERIALIZED VIEW ALL IN TABLESPACE … SET TABLESPACE` copies every such
relation of the tablespace, each under ACCESS EXCLUSIVE held to the end of the transaction
(pg_locks and relfilenode on PG 15 and 18): move them one at a time, as above.
`SET LOGGED` of a logged table, `SET UNLOGGED` of an unlogged one and `SET TABLESPACE` to
its own tablespace change nothing (relfilenode kept, PG 15 and 18): not reported when the
live catalog says so of a table no migration has altered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import commands
from atomig.lint.rule import Example
from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "rewriting-alter"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    (
        "ALTER TABLE … SET LOGGED/UNLOGGED",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-LOGGED-UNLOGGED",
    ),
    (
        "ALTER TABLE … SET TABLESPACE",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-TABLESPACE",
    ),
    (
        "ALTER TABLE … SET ACCESS METHOD",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-SET-ACCESS-METHOD",
    ),
)
TARGETS = ("AlterTableStmt", "AlterTableMoveAllStmt")
SUBTYPES = ("AT_SetLogged", "AT_SetUnLogged", "AT_SetTableSpace", "AT_SetAccessMethod")
_WHAT = {
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
}
_KINDS = {
    "OBJECT_TABLE": "table",
    "OBJECT_INDEX": "index",
    "OBJECT_MATVIEW": "materialized view",
}
BAD = (
    "ALTER TABLE events SET LOGGED;",
    "ALTER TABLE events SET TABLESPACE archive;",
    "ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE archive;",
    Example("ALTER TABLE events SET ACCESS METHOD heap;", pg=(15, None)),
)
GOOD = (
    "CREATE UNLOGGED TABLE staging (id bigint PRIMARY KEY);\n"
    "ALTER TABLE staging SET LOGGED;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    if stmt.kind == "AlterTableMoveAllStmt":
        kind = _KINDS.get(body.get("objtype", ""), "relation")
        old, new = body.get("orig_tablespacename"), body.get("new_tablespacename")
        yield Hit(
            f"ALL IN TABLESPACE {old} copies every {kind} there to {new}, each under an "
            "ACCESS EXCLUSIVE lock held until COMMIT: reads and writes of all of them wait",
            "move them one at a time (tables: copy alongside and swap, or pg_repack "
            f"--tablespace; indexes: {_reindex(new)})",
        )
        return
    if body.get("objtype") == "OBJECT_FOREIGN_TABLE":
        return  # nothing to rewrite, and rejected: foreign-table-unsupported
    relation = range_var(body.get("relation"))
    for number, (subtype, cmd) in enumerate(commands(stmt, *_WHAT)):
        index = body.get("objtype") == "OBJECT_INDEX" and subtype == "AT_SetTableSpace"
        if number == 0 and not index and _no_op(subtype, cmd, relation, ctx):
            continue
        yield Hit(
            f"{_WHAT[subtype]} rewrites {relation} under an ACCESS EXCLUSIVE lock: reads "
            "and writes wait for the whole copy",
            _reindex(cmd.get("name"), relation)
            if index
            else "build the new relation alongside, copy in batches, swap names in a "
            "short transaction (or use pg_repack)",
            relation=relation,
        )


def _no_op(
    subtype: str, cmd: Any, relation: QualifiedName | None, ctx: LintContext
) -> bool:
    """The live catalog shows the table already as asked; only trusted when no migration
    (nor an earlier statement of this one) has altered it: the history would know it."""
    live = ctx.catalog_table(relation)
    if live is None or relation is None or ctx.table(relation) is not None:
        return False
    if subtype == "AT_SetTableSpace":
        return bool(live.tablespace) and cmd.get("name") == live.tablespace
    wanted = {"AT_SetLogged": "p", "AT_SetUnLogged": "u"}.get(subtype)
    return wanted is not None and live.persistence == wanted


def _reindex(tablespace: str | None, index: object = "…") -> str:
    """The copy that leaves reads and writes going (PostgreSQL 14+)."""
    return (
        f"REINDEX (TABLESPACE {tablespace}) INDEX CONCURRENTLY {index} (PostgreSQL 14+)"
    )
