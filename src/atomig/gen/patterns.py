"""The safe sequences several generators share, written into a :class:`SqlFile`. Pure.

Each sequence keeps the rule the step engine relies on: a statement that scans a table
(``VALIDATE``, a backfill, an index build) never runs while a lock that blocks the
application is held — ``VALIDATE`` is in a step of its own (``SHARE UPDATE EXCLUSIVE``:
reads and writes go on), indexes are built ``CONCURRENTLY``, backfills are batched.
"""

from __future__ import annotations

from collections.abc import Sequence

from atomig.gen.text import SqlFile, alter, columns_list, constraint_exists, do_if
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import quote_ident, quote_name


def not_null_steps(out: SqlFile, table: QualifiedName, column: str, check: str) -> None:
    """``CHECK (c IS NOT NULL) NOT VALID`` → ``VALIDATE`` → ``SET NOT NULL`` → drop the
    check (PostgreSQL 12+ proves NOT NULL from the validated check: no scan under the
    ACCESS EXCLUSIVE lock)."""
    c, chk = quote_ident(column), quote_ident(check)
    out.statement(
        alter(table, f"ADD CONSTRAINT {chk} CHECK ({c} IS NOT NULL) NOT VALID"),
        f"Rows written from now on must have {column} set; existing rows are checked by "
        "the next step.",
    )
    out.transaction(
        [alter(table, f"VALIDATE CONSTRAINT {chk}")],
        "Scan the table to prove the check (SHARE UPDATE EXCLUSIVE: reads and writes go "
        "on).",
    )
    out.transaction(
        [
            alter(
                table,
                f"ALTER COLUMN {c} SET NOT NULL",
                f"DROP CONSTRAINT IF EXISTS {chk}",
            )
        ],
        "PostgreSQL 12+ proves NOT NULL from the validated check: no scan while the "
        "ACCESS EXCLUSIVE lock is held. The check is then redundant.",
    )


def guarded_not_null_steps(
    out: SqlFile, table: QualifiedName, column: str, check: str
) -> None:
    """The same sequence for a down file: the ``ADD CONSTRAINT`` guarded by a ``DO`` block
    (it has no IF NOT EXISTS)."""
    c, chk = quote_ident(column), quote_ident(check)
    add = alter(table, f"ADD CONSTRAINT {chk} CHECK ({c} IS NOT NULL) NOT VALID")
    out.statement(
        do_if("NOT " + constraint_exists(table, check), [add]),
        f"NOT NULL on {column} again, without a scan under ACCESS EXCLUSIVE: a check "
        "NOT VALID,",
    )
    out.transaction([alter(table, f"VALIDATE CONSTRAINT {chk}")], "validated,")
    out.transaction(
        [
            alter(
                table,
                f"ALTER COLUMN {c} SET NOT NULL",
                f"DROP CONSTRAINT IF EXISTS {chk}",
            )
        ],
        "then SET NOT NULL (proven by the check) and the check dropped.",
    )


def foreign_key_action(
    name: str,
    columns: Sequence[str],
    parent: QualifiedName,
    parent_columns: Sequence[str],
    actions: str = "",
) -> str:
    """``ADD CONSTRAINT fk FOREIGN KEY (…) REFERENCES p (…) … NOT VALID``."""
    return (
        f"ADD CONSTRAINT {quote_ident(name)} FOREIGN KEY {columns_list(columns)} "
        f"REFERENCES {quote_name(parent)} {columns_list(parent_columns)}"
        f"{' ' + actions if actions else ''} NOT VALID"
    )


def validate_step(out: SqlFile, table: QualifiedName, name: str, what: str) -> None:
    """``VALIDATE CONSTRAINT`` in a transaction step of its own."""
    out.transaction(
        [alter(table, f"VALIDATE CONSTRAINT {quote_ident(name)}")],
        f"Check the existing rows against the {what} in a step of its own "
        "(SHARE UPDATE EXCLUSIVE: reads and writes go on while it scans).",
    )


def index_sql(
    index: QualifiedName,
    table: QualifiedName,
    elements: Sequence[str],
    *,
    unique: bool = False,
    method: str | None = None,
    include: Sequence[str] = (),
    where: str | None = None,
) -> str:
    """``CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS …`` (``elements`` already SQL)."""
    sql = (
        f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY IF NOT EXISTS "
        f"{quote_ident(index.name)} ON {quote_name(table)}"
    )
    if method:
        sql += f" USING {quote_ident(method)}"
    sql += " (" + ", ".join(elements) + ")"
    if include:
        sql += " INCLUDE " + columns_list(include)
    if where:
        sql += f" WHERE {where}"
    return sql
