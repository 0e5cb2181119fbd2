"""Hostile identifiers round-trip through every generator: quotes, spaces, unicode, SQL
keywords, a newline, names of exactly 63 bytes and generated names that would exceed it
(PG 15 and 18)."""

from __future__ import annotations

import itertools

import pytest

from atomig.sql.quote import parse_column_name
from tests.gen.base import gen, lint_errors, release_all, setup, verify

LONG = "ß" * 31 + "x"  # 63 bytes: the longest name PostgreSQL keeps
assert len(LONG.encode()) == 63
SCHEMA = "app ü"
TABLE = 'Order "Items" ✓'
PARENT = "Kunden ✓"
NEWLINE = "line\nbreak"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


T = f"{q(SCHEMA)}.{q(TABLE)}"
P = f"{q(SCHEMA)}.{q(PARENT)}"
ENUM = f"{q(SCHEMA)}.{q('Stimmung x')}"
HOSTILE_UP = f"""\
CREATE SCHEMA {q(SCHEMA)};
CREATE TYPE {ENUM} AS ENUM ('a''b', 'c');
CREATE TABLE {P} ({q("Kunden-ID")} bigint PRIMARY KEY);
CREATE TABLE {T} (
    {q("ID")} bigint PRIMARY KEY,
    {q("Total Amount")} numeric NOT NULL DEFAULT 0,
    "user" text,
    {q(LONG)} integer NOT NULL,
    {q("Ref;DROP TABLE x--")} bigint,
    {q(NEWLINE)} text,
    "select" text DEFAULT 'x',
    {q("Stimmung")} {ENUM} DEFAULT 'c'
);
CREATE INDEX {q("idx " + LONG[:20])} ON {T} ({q(LONG)});
INSERT INTO {P} SELECT g FROM generate_series(1, 20) g;
INSERT INTO {T} ({q("ID")}, {q("Total Amount")}, "user", {q(LONG)}, {q("Ref;DROP TABLE x--")}, "select")
SELECT g, g, 'u' || g, g, 1 + g % 20, 's' || g FROM generate_series(1, 100) g;
"""
HOSTILE_DOWN = f"DROP SCHEMA IF EXISTS {q(SCHEMA)} CASCADE;\n"

CASES = {
    "add-column": [
        "add-column",
        T,
        q('Neu "Wert" ✓'),
        "bigint",
        "--references",
        f'{P}("Kunden-ID")',
        "--backfill",
        q("Ref;DROP TABLE x--"),
        "--not-null",
    ],
    "add-column keyword with default": [
        "add-column",
        T,
        '"order"',
        "text",
        "--default",
        "'it''s'",
        "--not-null",
    ],
    "add-index long": ["add-index", T, q(LONG), '"user"', "--unique"],
    "add-unique": ["add-unique", T, q(LONG)],
    "add-foreign-key": [
        "add-foreign-key",
        T,
        q("Ref;DROP TABLE x--"),
        "--references",
        P,
    ],
    "add-check": ["add-check", T, f"{q('Total Amount')} >= 0 AND {q(LONG)} > -1"],
    "set-not-null": ["set-not-null", T, '"user"'],
    "change-column-type long": ["change-column-type", T, q(LONG), "bigint"],
    "change-column-type newline": ["change-column-type", T, q(NEWLINE), "varchar(50)"],
    "rename-column keyword": ["rename-column", T, '"select"', '"from"'],
    "rename-column long": ["rename-column", T, q(LONG), q("kurz ✓")],
    "drop-column": ["drop-column", T, q("Total Amount")],
    "add-enum-value": ["add-enum-value", ENUM, 'it\'s "new" ✓', "--after", "a'b"],
    "backfill": ["backfill", T, "--set", f'"user" = upper("user") || {q(NEWLINE)}'],
}


@pytest.mark.parametrize("args", CASES.values(), ids=list(CASES))
def test_hostile_identifiers_round_trip(project, args):
    setup(project, HOSTILE_UP, HOSTILE_DOWN)
    document = gen(project, *args)
    release_all(project)
    for phase in document["phases"]:
        for text in (phase["up"], phase["down"]):
            # A newline in a name never ends a comment early.
            lines = text.splitlines()
            for comment, after in itertools.pairwise(lines):
                assert not (comment.startswith("--") and after.startswith("break"))
    assert lint_errors(project) == []
    verify(project)
    up = project.cli("up")
    assert up.exit_code == 0, up.output
    names = project.database.execute(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s UNION ALL SELECT conname FROM pg_constraint "
        "WHERE connamespace = to_regnamespace(%s)",
        (SCHEMA, q(SCHEMA)),
    )
    assert all(len(n.encode()) <= 63 for (n,) in names)
    columns = {
        r[0]
        for r in project.database.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attnum > 0 AND NOT attisdropped",
            (T,),
        )
    }
    kind = args[0]
    if kind == "add-column":
        assert parse_column_name(args[2]) in columns
    if kind == "rename-column":
        assert parse_column_name(args[3]) in columns
    if kind == "change-column-type":
        column = parse_column_name(args[2])
        assert column in columns
        row = project.database.scalar(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(%s) AND attname = %s",
            (T, column),
        )
        assert row == ("bigint" if "bigint" in args else "character varying(50)")
    if kind == "add-enum-value":
        labels = [
            r[0]
            for r in project.database.execute(
                "SELECT enumlabel FROM pg_enum WHERE enumtypid = to_regtype(%s) "
                "ORDER BY enumsortorder",
                (ENUM,),
            )
        ]
        assert labels == ["a'b", 'it\'s "new" ✓', "c"]
    down = project.cli("down")
    assert down.exit_code == 0, down.output
