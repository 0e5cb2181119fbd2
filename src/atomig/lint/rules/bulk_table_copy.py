"""A whole existing table is copied in one statement, so in one transaction.

## Why
`INSERT INTO archive SELECT * FROM orders`, `CREATE TABLE copy AS SELECT * FROM orders`,
`SELECT … INTO` and `CREATE MATERIALIZED VIEW … AS` read every row of the source and write
them all before COMMIT: a burst of WAL (replicas lag behind, archives fill), a long
transaction that holds back vacuum on every table of the database, and — if it fails after
an hour — an hour of work rolled back. The source only takes ACCESS SHARE, so nothing
waits on a lock: the harm is the size of the one transaction.

## Instead
Copy in primary-key ranges, one short transaction per batch, outside the schema change:
`INSERT INTO archive SELECT * FROM orders WHERE id > 0 AND id <= 10000;` and so on. For a
new table, create it empty first (`CREATE TABLE copy AS SELECT * FROM orders WITH NO DATA;`
or `CREATE TABLE copy (LIKE orders)`). atomig's `-- atomig: backfill` batches UPDATE and
DELETE only, not INSERT … SELECT.

## Notes
Only a table read in full is reported: named alone in a FROM (or in one arm of a UNION) with
no WHERE, LIMIT, GROUP BY or HAVING. A copy with a WHERE, a join or a subquery is not
reported: how many rows it selects is not in the text. `INSERT … VALUES` and a source table
created earlier in the same migration (new, so small) are not reported, nor `WITH NO DATA`.
With `--database-url`, a view is a copy of the tables it reads (a view of a VALUES list
reads none: not reported), a user-defined aggregate is known as one, and a copy reading
only tables below `small_table_rows` is info.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import copy_sources, small_copy
from atomig.lint.rule import Example
from atomig.sql.parse import Statement

ID = "bulk-table-copy"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = (
    ("INSERT", "sql-insert.html#SQL-INSERT"),
    ("CREATE TABLE AS", "sql-createtableas.html#SQL-CREATETABLEAS"),
    ("Recovering disk space", "routine-vacuuming.html#VACUUM-FOR-SPACE-RECOVERY"),
)
TARGETS = ("InsertStmt", "CreateTableAsStmt", "SelectStmt")
_BEFORE = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n"
    "CREATE TABLE orders_archive (id bigint PRIMARY KEY, status text);"
)
BAD = (
    Example("INSERT INTO orders_archive SELECT * FROM orders;", before=_BEFORE),
    Example("CREATE TABLE orders_copy AS SELECT * FROM orders;", before=_BEFORE),
)
GOOD = (
    Example(
        "INSERT INTO orders_archive SELECT * FROM orders WHERE id > 0 AND id <= 10000;",
        before=_BEFORE,
    ),
    Example(
        "CREATE TABLE orders_copy AS SELECT * FROM orders WITH NO DATA;",
        before=_BEFORE,
    ),
)
_VERBS = {
    "InsertStmt": "INSERT … SELECT",
    "CreateTableAsStmt": "CREATE TABLE … AS",
    "SelectStmt": "SELECT … INTO",
}


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    copies = copy_sources(stmt, ctx)
    if not copies:
        return
    sources = [name for name, _ in copies]
    names = ", ".join(dict.fromkeys(str(name) for name in sources))
    small = small_copy(copies, ctx)
    verb = _VERBS[stmt.kind]
    if stmt.body.get("objtype") == "OBJECT_MATVIEW":
        verb = "CREATE MATERIALIZED VIEW … AS"
        fix = (
            "create it WITH NO DATA and fill it with REFRESH MATERIALIZED VIEW in a step "
            "of its own, off-peak (a materialized view cannot be filled in batches)"
        )
    elif stmt.kind == "InsertStmt":
        fix = (
            "copy in primary-key ranges, one short transaction per batch "
            "(… WHERE id > $last AND id <= $last + 10000), outside the schema change "
            "(-- atomig: backfill batches only UPDATE and DELETE)"
        )
    else:
        fix = (
            "create the table empty (CREATE TABLE … AS … WITH NO DATA), then copy in "
            "primary-key ranges, one short transaction per batch"
        )
    yield Hit(
        f"{verb} copies every row of {names} in one transaction: a burst of WAL "
        "(replicas lag), a long transaction holding back vacuum, and all of it rolled "
        "back if it fails" + (f" ({small})" if small else ""),
        fix,
        relation=sources[0],
        severity=Severity.INFO if small else None,
    )
