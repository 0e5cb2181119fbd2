"""Dynamic SQL in PL/pgSQL bodies: which EXECUTEs splice a value in unquoted (sql/dynamic.py).

Read with PostgreSQL's PL/pgSQL parser: every form of dynamic statement, the quoting
functions, format() conversions by position, and a variable followed to the assignments
that build it (in order, and around loops)."""

from __future__ import annotations

import pytest

from atomig.sql.dynamic import dynamic_sql_hazards, format_specifiers


def hazards(body: str) -> list[tuple[int, str, str | None, int | None]]:
    """(body line of the EXECUTE, how, variable, body line of the assignment)."""
    text = f"CREATE FUNCTION f(t text, n int) RETURNS SETOF record LANGUAGE plpgsql AS $$\n{body}\n$$"
    inner = text[text.index("$$") + 2 : text.rindex("$$")]
    return [
        (inner.count("\n", 0, h.offset) + 1, h.how, h.variable, h.line)
        for h in dynamic_sql_hazards(text, inner)
    ]


def test_every_dynamic_statement_form_is_read():
    body = """DECLARE c refcursor; r record;
BEGIN
  EXECUTE 'ANALYZE ' || t;
  FOR r IN EXECUTE 'SELECT * FROM ' || t LOOP END LOOP;
  OPEN c FOR EXECUTE 'SELECT * FROM ' || t;
  RETURN QUERY EXECUTE 'SELECT * FROM ' || t;
END"""
    assert [(line, how) for line, how, _, _ in hazards(body)] == [
        (4, "||"),
        (5, "||"),
        (6, "||"),
        (7, "||"),
    ]


@pytest.mark.parametrize(
    ("expression", "how"),
    [
        ("concat('DROP TABLE ', t)", "concat()"),
        ("concat_ws(' ', 'DROP TABLE', t)", "concat()"),
        ("format('DROP TABLE %s', t)", "format %s"),
        ("format('DROP TABLE %1$s', t)", "format %s"),
        ("format('DROP TABLE %-20s', t)", "format %s"),
        ("format('SELECT %s, %s', 1, t)", "format %s"),
        ("format('SELECT %I, %s', t, 1 || t)", "format %s"),
        ("upper('select * from ' || t)", "||"),
        ("'SELECT ' || n", "||"),
        ("'SELECT ' || t::text", "||"),
        ("'DROP TABLE ' || lower(t)", "||"),
        ("'SELECT ' || format('%s', t)", "format %s"),
    ],
)
def test_unquoted_splices_are_found(expression, how):
    found = hazards(f"BEGIN\n  EXECUTE {expression};\nEND")
    assert [(line, h) for line, h, _, _ in found] == [(3, how)]


@pytest.mark.parametrize(
    "expression",
    [
        "'DROP TABLE ' || quote_ident(t)",
        "'SELECT ' || quote_literal(t) || ', ' || quote_nullable(t)",
        "'SELECT ' || coalesce(quote_literal(t), 'NULL')",
        "'SELECT ' || CASE WHEN n > 0 THEN 'a' ELSE 'b' END",
        "'CREATE TABLE ' || 'x (a int)'",
        "format('DROP TABLE %I', t)",
        "format('DROP TABLE %1$I.%1$I', t)",
        "format('SELECT %L, 100%%', t)",
        "format('SELECT %s', quote_literal(t))",
        "format('SELECT %s', 42)",
        "'SELECT $1'",
        "concat('SELECT ', quote_literal(t))",
        "pg_catalog.quote_ident(t)",
    ],
)
def test_quoted_and_constant_text_is_safe(expression):
    assert hazards(f"BEGIN\n  EXECUTE {expression};\nEND") == []


def test_a_variable_is_followed_to_the_assignment_that_builds_it():
    body = """DECLARE q text; done text := 'SELECT 1';
BEGIN
  q := 'DELETE FROM ' || t;
  EXECUTE q;
  EXECUTE done;
END"""
    assert hazards(body) == [(5, "||", "q", 4)]


def test_a_variable_declared_with_a_splice_is_found():
    body = """DECLARE q text := concat('DELETE FROM ', t);
BEGIN
  EXECUTE q USING n;
END"""
    assert hazards(body) == [(4, "concat()", "q", 2)]


def test_text_extended_with_constants_and_quoted_values_is_safe():
    body = """DECLARE q text := 'SELECT * FROM orders WHERE true';
BEGIN
  q := q || ' AND status = ' || quote_literal(t);
  q = q || ' LIMIT 10';
  EXECUTE q;
END"""
    assert hazards(body) == []


def test_only_assignments_above_the_execute_count():
    body = """DECLARE q text := 'SELECT 1'; q2 text;
BEGIN
  EXECUTE q;
  q2 := q;
  q := q || ' WHERE name = ' || t;
  EXECUTE q2;
  EXECUTE q;
END"""
    # q2 copied q before it was spliced into; only the last EXECUTE runs the splice.
    assert hazards(body) == [(8, "||", "q", 6)]


def test_in_a_loop_an_assignment_below_reaches_the_execute():
    body = """DECLARE q text := 'SELECT 1'; r record;
BEGIN
  FOR r IN SELECT tablename FROM pg_tables LOOP
    EXECUTE q;
    q := 'ANALYZE ' || r.tablename;
  END LOOP;
END"""
    assert hazards(body) == [(5, "||", "q", 6)]


def test_a_copy_is_followed_to_its_source():
    body = """DECLARE q text; q2 text;
BEGIN
  q := format('ANALYZE %s', t);
  q2 := q;
  EXECUTE q2;
END"""
    assert hazards(body) == [(6, "format %s", "q", 4)]


def test_a_body_the_plpgsql_parser_rejects_is_read_token_by_token():
    # "c" is not declared: PostgreSQL rejects the function; its || is still reported.
    assert [
        h[1] for h in hazards("BEGIN\n  OPEN c FOR EXECUTE 'SELECT ' || t;\nEND")
    ] == ["||"]


def test_format_specifiers_follow_postgresql_numbering():
    assert format_specifiers("%s %s %1$s %s") == [
        ("s", 0),
        ("s", 1),
        ("s", 0),
        ("s", 1),
    ]
    assert format_specifiers("%*s %*2$s %s") == [("s", 1), ("s", 2), ("s", 3)]
    assert format_specifiers("100%% done") == []
