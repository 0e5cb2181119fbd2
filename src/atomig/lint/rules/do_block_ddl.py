"""A DO block hides a statement that locks and scans an existing table, or one it rejects.

## Why
Every statement of a `DO` block runs in one transaction, inside one top-level statement: a
`CREATE INDEX`, a `FOREIGN KEY` or `CHECK` added without `NOT VALID`, a `SET NOT NULL` or a
rewriting `ALTER COLUMN … TYPE` inside it takes the same SHARE, SHARE ROW EXCLUSIVE or ACCESS
EXCLUSIVE lock as written at top level, and holds it for the whole scan — but the other rules
and the lock preview see only the `DO`; an `UPDATE` or `DELETE` without `WHERE` changes
every row in that one transaction. The safe forms cannot run in a DO block at all: `CREATE
INDEX CONCURRENTLY` (like every statement that cannot run in a transaction block) and a
`COMMIT` in the block (atomig runs it in a transaction: "invalid transaction termination")
are rejected and fail the migration, and `VALIDATE CONSTRAINT` would share the transaction
of the `NOT VALID` constraint it validates.

## Instead
Write the statement at top level, where atomig checks and plans it, with the guards that
make it safe to run again (`IF NOT EXISTS`, `IF EXISTS`; `-- atomig: on_failure=resume` on
the up). Keep `DO` blocks for quick, guarded catalog changes (adding a constraint `NOT VALID`
when it is missing, say).

## Notes
Static SQL and `EXECUTE` of a constant string are read; SQL built at run time is not. A table
created earlier in the same migration is not reported. One finding per block: the first
hazard, and how many more there are."""

from __future__ import annotations

from collections.abc import Iterator

from atomig.errors import SourceError
from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import excerpt, proven_not_null, rewritten_tables
from atomig.lint.rule import Example
from atomig.sql.classify import def_names, range_var, statement_facts
from atomig.sql.facts import QualifiedName
from atomig.sql.locks import LockMode
from atomig.sql.parse import Statement, parse_script
from atomig.sql.plpgsql import embedded_sql

ID = "do-block-ddl"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (
    ("DO", "sql-do.html#SQL-DO"),
    ("Table-level locks", "explicit-locking.html#LOCKING-TABLES"),
)
TARGETS = ("DoStmt",)
_BEFORE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);"
BAD = (
    Example(
        "DO $$ BEGIN\n"
        "  IF to_regclass('orders_user_id_idx') IS NULL THEN\n"
        "    CREATE INDEX orders_user_id_idx ON orders (user_id);\n"
        "  END IF;\nEND $$;",
        before=_BEFORE,
    ),
    Example(
        "DO $$ BEGIN\n"
        "  EXECUTE 'ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL';\nEND $$;",
        before=_BEFORE,
    ),
    Example(
        "DO $$ BEGIN\n"
        "  UPDATE orders SET user_id = 0 WHERE user_id IS NULL;\n  COMMIT;\nEND $$;",
        before=_BEFORE,
    ),
)
GOOD = (
    Example(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_idx ON orders (user_id);",
        before=_BEFORE,
    ),
    Example(
        "DO $$ BEGIN\n"
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint\n"
        "                 WHERE conname = 'orders_user_id_check') THEN\n"
        "    ALTER TABLE orders ADD CONSTRAINT orders_user_id_check\n"
        "      CHECK (user_id > 0) NOT VALID;\n"
        "  END IF;\nEND $$;",
        before=_BEFORE,
    ),
    Example(
        "CREATE TABLE carts (id bigint PRIMARY KEY, user_id bigint);\n"
        "DO $$ BEGIN CREATE INDEX carts_user_id_idx ON carts (user_id); END $$;"
    ),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    if str(def_names(stmt.body.get("args")).get("language", "plpgsql")) != "plpgsql":
        return
    found: list[tuple[int, str, tuple[str, QualifiedName | None, str | None]]] = []
    for embedded in embedded_sql(stmt.text):
        try:
            inner = parse_script(embedded.text).statements
        except SourceError:  # PostgreSQL reports it when the block runs
            continue
        for piece in inner:
            if (hazard := _hazard(piece, ctx, stmt)) is not None:
                found.append((stmt.span.line + embedded.line - 1, piece.text, hazard))
    if not found:
        return
    line, text, (what, table, fix) = found[0]
    more = ", ".join(str(n) for n in sorted({other for other, _, _ in found[1:]}))
    also = f" (and {len(found) - 1} more: line {more})" if more else ""
    yield Hit(
        f"the DO block runs {excerpt(text)} (line {line}): {what}{also}",
        fix
        or "write that statement at top level, with its safe form and an IF [NOT] "
        "EXISTS guard (CREATE INDEX CONCURRENTLY, NOT VALID then VALIDATE in a "
        "later step, …): those cannot run inside a DO block",
        relation=table,
    )


def _hazard(
    piece: Statement, ctx: LintContext, block: Statement
) -> tuple[str, QualifiedName | None, str | None] | None:
    """Why ``piece`` is a hazard in a DO block: PostgreSQL rejects it there (CONCURRENTLY,
    VACUUM, COMMIT in a transaction …), it changes every row of an existing table, or it
    scans or rewrites one under more than SHARE UPDATE EXCLUSIVE (a VALIDATE's lock)."""
    facts = statement_facts(piece, ctx.version)  # not cached: not a file statement
    if facts.transaction_control is not None and ctx.steps[block.index].transactional:
        return _REJECTED, None, _BATCH
    if not facts.transactional and facts.transaction_control is None:
        reason = facts.no_transaction_reason or piece.kind.removesuffix("Stmt")
        return f"PostgreSQL rejects {reason} inside a DO block (a function)", None, None
    table = range_var(piece.body.get("relation"))
    if piece.kind in _DML and "whereClause" not in piece.body and not ctx.is_new(table):
        return f"it changes every row of {table} in one transaction", table, _BATCH
    rewrites = rewritten_tables(piece, facts, ctx, block)
    for verb, tables in (("rewrites", rewrites), ("scans", facts.scans)):
        for table in tables:
            mode = facts.lock_on(table)
            if mode is None or mode <= LockMode.SHARE_UPDATE_EXCLUSIVE:
                continue
            if ctx.is_new(table) or proven_not_null(piece, table, ctx):
                continue
            what = f"it {verb} {table} holding {mode.label} on it, hidden from atomig's"
            return what + " checks and lock plan", table, None
    return None


_DML = ("UpdateStmt", "DeleteStmt")
_REJECTED = "PostgreSQL rejects it inside a transaction, and each migration step is one"
_BATCH = (
    "run the UPDATE or DELETE at top level with -- atomig: backfill on the line before it: "
    "atomig commits each primary-key batch (other runners: batch by key ranges yourself)"
)
