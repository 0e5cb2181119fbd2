"""The down file does not undo its up: after the up then the down, the schema is not what it
was before the up.

## Why
A rollback runs the down file to return to the schema the application ran on. A down that
forgets something the up made (an index, a column, a constraint, a table), or does not
restore what the up dropped or renamed, leaves a schema nobody tested: the next deploy of
the same up fails on what is still there (`relation "items_d" already exists`), and what
is missing (a renamed-away column, a dropped index) breaks or slows the old code. Such
incomplete downs are common in hand-written and generated migrations alike.

A down also runs when an up of several steps fails part-way, on what steps 1..k left (the
migration is recorded partial if that schema is not back). Complete after the whole up, it
may not be then: `DROP INDEX events_kind_idx` takes the partitions' indexes only once a
later step attached them.

## Instead
Undo every change of the up, in reverse order, guarded with `IF EXISTS` so the down also
works after a partial up: `DROP INDEX CONCURRENTLY IF EXISTS …` for each index it builds,
`ALTER TABLE … DROP COLUMN IF EXISTS …`, `… DROP CONSTRAINT IF EXISTS …`, `DROP TABLE IF
EXISTS …`, a rename back for each rename, and what it dropped created again. Also drop
what an early step makes, by the name it has then; an attached partition index after its
parent (PostgreSQL refuses to drop it alone): `DROP INDEX CONCURRENTLY IF EXISTS
events_a_kind_idx;` after `DROP INDEX IF EXISTS events_kind_idx;`. `atomig verify` proves
it on a scratch database (up, down, same schema, at every step boundary too).

## Notes
Lint compares, without a database, the schema the history replay knows before the up with
the one after the up then the down: tables, views, each table's columns (and types when
known), indexes and constraints, by name; only what the replay is sure of on both sides
(a table older than the history only on what the migrations say of it). What goes with
another object is reported once: the columns and indexes of a table left behind, the
indexes of a column. A migration holding a statement whose effect the replay does not know
(a DO block, a CALL or a function call that may run DDL, EXECUTE, DROP … CASCADE, DROP
SCHEMA, SET SCHEMA, IMPORT FOREIGN SCHEMA, a ROLLBACK) is not compared: `atomig verify`
is the proof there. Sequences, types, functions, triggers, policies and NOT NULL are not
compared.

The same comparison runs at each step boundary of atomig's plan of the up, on what the
replay kept there (not under `on_failure=resume` or another runner: no down runs then); a
difference is reported once, at the first boundary (`when step 3/4 fails, …`), unless the
whole up draws it.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.down_inverse import Leftover, leftovers
from atomig.lint.down_opaque import opaque_reason
from atomig.lint.down_partial import PartialLeftover, partial_leftovers
from atomig.lint.finding import Hit, Severity
from atomig.lint.rule import Example
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "down-incomplete"
SEVERITY = Severity.WARNING
CATEGORY = "operations"
DOCS = (
    ("DROP INDEX (IF EXISTS)", "sql-dropindex.html#SQL-DROPINDEX"),
    (
        "ALTER TABLE … DROP COLUMN",
        "sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-COLUMN",
    ),
)
_INDEXES = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_c ON items (name);\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_d ON items (owner);"
)
_CARTS = "CREATE TABLE carts (id bigint PRIMARY KEY, owner text);"
# (steps: the parent index; each partition's, CONCURRENTLY; the attachments)
_PARTITION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events (kind);\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_a_kind_idx ON events_a (kind);\n"
    "ALTER INDEX events_kind_idx ATTACH PARTITION events_a_kind_idx;"
)
BAD = (
    Example(
        "DROP INDEX CONCURRENTLY IF EXISTS items_c;", before=_INDEXES, direction="down"
    ),
    Example(
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_note_check;",
        before="ALTER TABLE orders ADD COLUMN note text;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_note_check CHECK (note <> '');",
        direction="down",
    ),
    Example("SELECT 1;", before=_CARTS, direction="down"),
    Example(
        "DROP INDEX IF EXISTS events_kind_idx;",
        before=_PARTITION_INDEXES,
        direction="down",
    ),
)
# (items, orders, events predate the migrations: those are not applied to an empty database)
GOOD = (
    Example(
        "DROP INDEX CONCURRENTLY IF EXISTS items_d;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS items_c;",
        before=_INDEXES,
        direction="down",
        apply=False,
    ),
    Example(
        "ALTER TABLE orders DROP COLUMN IF EXISTS note;",
        before="ALTER TABLE orders ADD COLUMN note text;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_note_check CHECK (note <> '');",
        direction="down",
        apply=False,
    ),
    Example("DROP TABLE IF EXISTS carts;", before=_CARTS, direction="down"),
    # (when step 2 fails, the CHECK still has its first name)
    Example(
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_total_check;\n"
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_total_check_new;",
        before="ALTER TABLE orders ADD CONSTRAINT orders_total_check_new CHECK (total "
        ">= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_check_new;"
        "\nALTER TABLE orders RENAME CONSTRAINT orders_total_check_new TO "
        "orders_total_check;",
        direction="down",
        apply=False,
    ),
    # Not compared: a function may change the schema in any way (this one undoes the up).
    Example(
        "SELECT drop_carts();\nDROP FUNCTION IF EXISTS drop_carts();",
        before=_CARTS + "\nCREATE FUNCTION drop_carts() RETURNS void LANGUAGE plpgsql "
        "AS $$ BEGIN DROP TABLE IF EXISTS carts; END $$;",
        direction="down",
    ),
)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    record = ctx.up_record
    if ctx.direction != "down" or record is None:
        return
    statements = ctx.script.statements
    if not statements or not record.up.statements:
        return  # missing-down reports an empty down file
    found = leftovers(record, ctx.schema, ctx.script, ctx.migration)
    partial = partial_leftovers(ctx, record, {left.label for left in found})
    # (asked only when there is a difference: most downs are complete)
    if not (found or partial) or opaque_reason(record.up) or opaque_reason(ctx.script):
        return
    every: list[Leftover | PartialLeftover] = [*found, *partial]
    for left in every:
        at = statements[0 if left.statement is None else left.statement]
        # (one finding per object: several may point at the same statement)
        yield at, Hit(left.message, left.fix, relation=QualifiedName(None, left.label))
