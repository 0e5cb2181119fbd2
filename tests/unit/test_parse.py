"""The statement model: exact spans, errors at file:line:column, directives."""

import pytest

from atomig.errors import SourceError
from atomig.sql import parse_script


def test_spans_are_one_based_and_exact():
    script = parse_script(
        "SELECT 1;\n\n  CREATE TABLE t (\n    id int\n  );\n", "f.sql"
    )
    first, second = script.statements
    assert (first.span.line, first.span.column, first.span.end_column) == (1, 1, 9)
    assert first.text == "SELECT 1"
    assert (second.span.line, second.span.column) == (3, 3)
    assert (second.span.end_line, second.span.end_column) == (5, 4)
    assert second.text == "CREATE TABLE t (\n    id int\n  )"
    assert second.kind == "CreateStmt"


def test_non_ascii_text_keeps_character_positions():
    script = parse_script("SELECT 'ééé';\nSELECT 'ü', 2;\n", "f.sql")
    first, second = script.statements
    assert first.text == "SELECT 'ééé'"
    assert second.text == "SELECT 'ü', 2"
    assert (second.span.line, second.span.column) == (2, 1)


def test_syntax_error_is_file_line_column_with_postgres_message():
    with pytest.raises(SourceError) as info:
        parse_script("SELECT 1;\n-- é\n  SELEC x;\n", "bad.sql")
    error = info.value
    assert str(error.location) == "bad.sql:3:3"
    assert error.message == 'syntax error at or near "SELEC"'


def test_unterminated_dollar_quote():
    with pytest.raises(SourceError, match="unterminated dollar-quoted string"):
        parse_script("DO $$ BEGIN", "bad.sql")


def test_psql_meta_commands_get_a_hint():
    with pytest.raises(SourceError) as info:
        parse_script("\\set ON_ERROR_STOP on\nSELECT 1;", "bad.sql")
    assert "psql meta-commands" in (info.value.hint or "")


def test_dollar_quoted_bodies_with_semicolons_are_one_statement():
    script = parse_script("DO $$ BEGIN RAISE NOTICE 'a;b'; END $$;\nSELECT 1;", "f.sql")
    assert [s.kind for s in script] == ["DoStmt", "SelectStmt"]


def test_statement_directives_attach_to_next_statement():
    script = parse_script(
        "-- atomig: lock_timeout=5s\nSELECT 1;\n-- atomig: backfill batch_size=2000\n"
        "UPDATE t SET a = 1;\n",
        "f.sql",
    )
    select, update = script.statements
    assert select.directives == ()
    directive = update.directive("backfill")
    assert directive is not None and directive.options == {"batch_size": "2000"}
    assert directive.line == 3


def test_file_directive_after_first_statement_is_an_error():
    with pytest.raises(SourceError, match="applies to the whole migration") as info:
        parse_script("SELECT 1;\n-- atomig: lock_timeout=5s\nSELECT 2;", "f.sql")
    assert info.value.location.line == 2


def test_unknown_statement_directive():
    with pytest.raises(SourceError, match="unknown directive 'bakfill'"):
        parse_script("SELECT 1;\n-- atomig: bakfill\nUPDATE t SET a = 1;", "f.sql")


def test_dangling_directive():
    with pytest.raises(SourceError, match="not followed by a statement"):
        parse_script("SELECT 1;\n-- atomig: backfill\n", "f.sql")


def test_comments_only_and_empty_files():
    assert len(parse_script("-- nothing\n", "f.sql")) == 0
    assert len(parse_script("", "f.sql")) == 0
    assert len(parse_script(";;\n", "f.sql")) == 0


def test_lint_suppressions_are_kept_as_comments():
    script = parse_script(
        "-- atomig-ignore: drop-column reviewed\nALTER TABLE t DROP COLUMN c;", "f.sql"
    )
    [statement] = script.statements
    assert statement.comments[0].text.startswith("-- atomig-ignore:")
    assert statement.directives == ()


def test_copy_from_stdin_data_gets_a_hint():
    """pg_dump writes COPY … FROM stdin; followed by the rows, which psql sends: not SQL."""
    dump = (
        "CREATE TABLE actor (id int, name text);\n"
        "COPY public.actor (id, name) FROM stdin;\n1\tPENELOPE\n\\.\n"
    )
    with pytest.raises(SourceError) as info:
        parse_script(dump, "bad.sql")
    assert "COPY … FROM stdin" in (info.value.hint or "")
    with pytest.raises(SourceError) as other:
        parse_script("SELECT 1;\nSELEC 2;", "bad.sql")
    assert other.value.hint is None
