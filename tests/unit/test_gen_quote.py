"""Quoting and fragment parsing of sql-gen, against PostgreSQL's own parser (pglast)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pglast import parser
from pglast.keywords import (
    COL_NAME_KEYWORDS,
    RESERVED_KEYWORDS,
    TYPE_FUNC_NAME_KEYWORDS,
    UNRESERVED_KEYWORDS,
)

from atomig.gen import names
from atomig.gen.text import comment_safe
from atomig.sql.fragments import (
    FragmentError,
    parse_assignments,
    parse_expression,
    parse_index_element,
    parse_reference,
    parse_type,
    qualify_columns,
    rewrite_index,
)
from atomig.sql.quote import (
    dollar_quote,
    parse_identifiers,
    quote_ident,
    quote_literal,
)

# Identifiers PostgreSQL can hold: no NUL, 1..63 bytes.
identifiers = st.text(
    st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda s: len(s.encode()) <= 63)
HOSTILE = [
    'a"b',
    "Order Items",
    "ünïcödé ✓",
    "line\nbreak",
    "$1",
    "1abc",
    "user",
    "select",
    "ß" * 31 + "x",
    "a;DROP TABLE t--",
    "E'x'",
]


def column_of(sql: str) -> str:
    tree = json.loads(parser.parse_sql_json(sql))
    [stmt] = tree["stmts"]
    return stmt["stmt"]["CreateStmt"]["tableElts"][0]["ColumnDef"]["colname"]


@pytest.mark.parametrize(
    "word",
    sorted(
        RESERVED_KEYWORDS
        | TYPE_FUNC_NAME_KEYWORDS
        | COL_NAME_KEYWORDS
        | UNRESERVED_KEYWORDS
    ),
)
def test_every_keyword_round_trips_as_a_column_and_a_table(word):
    quoted = quote_ident(word)
    assert column_of(f"CREATE TABLE t ({quoted} int)") == word
    tree = json.loads(parser.parse_sql_json(f"CREATE TABLE {quoted} (a int)"))
    assert tree["stmts"][0]["stmt"]["CreateStmt"]["relation"]["relname"] == word


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_round_trip(name):
    quoted = quote_ident(name)
    assert column_of(f"CREATE TABLE t ({quoted} int)") == name
    assert parse_identifiers(quoted) == [name]


@settings(max_examples=300, deadline=None)
@given(identifiers)
def test_any_identifier_round_trips(name):
    quoted = quote_ident(name)
    assert column_of(f"CREATE TABLE t ({quoted} int)") == name
    assert parse_identifiers(quoted) == [name]


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
)
def test_any_literal_round_trips(text):
    tree = json.loads(parser.parse_sql_json(f"SELECT {quote_literal(text)}"))
    value = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"][0]["ResTarget"]["val"]
    assert value["A_Const"].get("sval", {}).get("sval", "") == text


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
)
def test_dollar_quote_never_ends_early(body):
    tree = json.loads(parser.parse_sql_json(f"DO {dollar_quote(body)}"))
    args = tree["stmts"][0]["stmt"]["DoStmt"]["args"][0]["DefElem"]["arg"]
    assert args["String"]["sval"] == body


def test_unquoted_names_fold_like_postgres():
    assert parse_identifiers("Orders") == ["orders"]
    assert parse_identifiers('App."Orders"') == ["app", "Orders"]
    for word in ("ÜBER", "Straße_X1$"):
        tree = json.loads(parser.parse_sql_json(f"CREATE TABLE {word} (a int)"))
        folded = tree["stmts"][0]["stmt"]["CreateStmt"]["relation"]["relname"]
        assert parse_identifiers(word) == [folded]


def test_identifier_characters_are_the_lexers():
    # scan.l: ident_start [A-Za-z\200-\377_], ident_cont [A-Za-z\200-\377_0-9\$]: in
    # a UTF-8 database every non-ASCII character is an identifier character.
    import re

    from atomig.sql import quote

    start = re.compile(r"[A-Za-z_\u0080-\U0010ffff]")
    cont = re.compile(r"[A-Za-z0-9_$\u0080-\U0010ffff]")
    for code in [*range(0x3000), 0xFFFF, 0x10000, 0x1F600, 0x10FFFF]:
        char = chr(code)
        assert bool(quote._IDENT_START.fullmatch(char)) == bool(start.fullmatch(char))
        assert bool(quote._IDENT_CONT.fullmatch(char)) == bool(cont.fullmatch(char))


@pytest.mark.parametrize(
    "text",
    ['"unterminated', "a..b", "a b", '""', "", "a.b.c.d", "x" * 64, "a; DROP TABLE t"],
)
def test_malformed_names_are_refused(text):
    with pytest.raises(ValueError):
        parts = parse_identifiers(text)
        if len(parts) > 3:
            raise ValueError("too many parts")


def test_long_names_are_shortened_with_a_stable_distinct_hash():
    a = names.index("t" * 40, ["c" * 30])
    b = names.index("t" * 40, ["c" * 29 + "d"])
    assert len(a.encode()) == len(b.encode()) == 63
    assert a != b and a == names.index("t" * 40, ["c" * 30])
    multibyte = names.index("ü" * 40, ["x"])
    assert len(multibyte.encode()) == 63
    multibyte.encode().decode()  # never cut inside a character


@pytest.mark.parametrize(
    "fragment",
    [
        "int); DROP TABLE users; --",
        "int DEFAULT 1",
        "int, b int",
        'text COLLATE "C"',
        "int NOT NULL",
    ],
)
def test_types_that_smuggle_sql_are_refused(fragment):
    with pytest.raises(FragmentError):
        parse_type(fragment)


@pytest.mark.parametrize(
    "fragment",
    [
        "1; DROP TABLE users",
        "1 FROM pg_sleep(10)",
        "x AS y",
        "*",
        "1, 2",
        "1 UNION SELECT 2",
        "1 WHERE true",
    ],
)
def test_expressions_that_smuggle_sql_are_refused(fragment):
    with pytest.raises(FragmentError):
        parse_expression(fragment)


def test_fragments_print_canonically():
    assert parse_type("character varying(20)") == "varchar(20)"
    assert parse_expression("NOW()").sql == "now()"
    assert parse_index_element('"Email" DESC NULLS LAST') == (
        '"Email" DESC NULLS LAST',
        ("Email",),
    )
    assert parse_reference("customers") == (parse_reference("customers")[0], ())
    assert parse_assignments('"A b" = 1') == (("A b", "1"),)
    assert qualify_columns('"Ref" + 1', "new") == 'new."Ref" + 1'
    assert (
        rewrite_index(
            'CREATE UNIQUE INDEX "i x" ON public.t USING btree ("C d")',
            name="j",
            renames={"C d": "e"},
        )
        == "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS j ON public.t (e)"
    )


def test_comments_cannot_be_broken_out_of():
    assert "\n" not in comment_safe("a\nDROP TABLE users;\r\u2028x")
