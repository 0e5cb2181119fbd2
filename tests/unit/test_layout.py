"""Migration files on disk: every malformed layout is a clear error naming the file."""

from pathlib import Path

import pytest

from atomig.errors import SourceError, UsageError
from atomig.source.checksum import checksum_text
from atomig.source.layout import discover_migrations, find_migration, parse_version


def write(directory: Path, name: str, text: str = "SELECT 1;\n") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def pair(
    directory: Path, stem: str, up: str = "SELECT 1;\n", down: str = "SELECT 1;\n"
) -> None:
    write(directory, f"{stem}.up.sql", up)
    write(directory, f"{stem}.down.sql", down)


def test_both_layouts_sort_numerically(tmp_path):
    pair(tmp_path, "20261124153012_b")
    pair(tmp_path, "20261124_1530_a")
    pair(tmp_path, "20250101_0000_old")
    (tmp_path / "README.md").write_text("not a migration")
    found = discover_migrations(tmp_path)
    assert [m.id.name for m in found] == [
        "20250101_0000_old",
        "20261124_1530_a",
        "20261124153012_b",
    ]
    assert found[1].id.order_key == 20261124153000


def test_duplicate_versions_across_spellings(tmp_path):
    pair(tmp_path, "20261124_1530_a")
    pair(tmp_path, "20261124153000_b")
    with pytest.raises(SourceError, match="duplicate version") as info:
        discover_migrations(tmp_path)
    assert (
        "20261124153000_b" in info.value.message
        or "20261124_1530_a" in info.value.message
    )


def test_up_without_down(tmp_path):
    write(tmp_path, "20261124_1530_a.up.sql")
    with pytest.raises(
        SourceError, match=r"20261124_1530_a\.up\.sql: up file has no down file"
    ):
        discover_migrations(tmp_path)


def test_down_without_up(tmp_path):
    write(tmp_path, "20261124_1530_a.down.sql")
    with pytest.raises(
        SourceError, match=r"20261124_1530_a\.down\.sql: down file has no up file"
    ):
        discover_migrations(tmp_path)


def test_mismatched_slugs(tmp_path):
    write(tmp_path, "20261124_1530_a.up.sql")
    write(tmp_path, "20261124_1530_b.down.sql")
    with pytest.raises(SourceError):
        discover_migrations(tmp_path)


@pytest.mark.parametrize(
    "name",
    [
        "create_users.up.sql",
        "2026_1124_users.up.sql",
        "20261324_1530_bad_month.up.sql",
        "20261124_2561_bad_minute.up.sql",
        "20261124_1530_.up.sql",
        "20261124_1530_spaces here.up.sql",
        "20261124_1530_x.sql",
        "V1__flyway_style.sql",
    ],
)
def test_names_that_do_not_parse(tmp_path, name):
    write(tmp_path, name)
    with pytest.raises(SourceError, match="file name does not parse") as info:
        discover_migrations(tmp_path)
    assert name in info.value.message
    assert info.value.hint and "YYYYMMDD_HHMM_slug" in info.value.hint


def test_non_utf8_file(tmp_path):
    pair(tmp_path, "20261124_1530_a")
    (tmp_path / "20261124_1530_a.down.sql").write_bytes(b"SELECT 1;\n-- caf\xe9\n")
    with pytest.raises(
        SourceError,
        match=r"20261124_1530_a.down.sql is not valid UTF-8 \(byte 16, line 2\)",
    ):
        discover_migrations(tmp_path)


def test_utf8_bom_is_accepted(tmp_path):
    pair(tmp_path, "20261124_1530_a")
    (tmp_path / "20261124_1530_a.up.sql").write_bytes(b"\xef\xbb\xbfSELECT 1;\n")
    [migration] = discover_migrations(tmp_path)
    assert migration.up.text == "SELECT 1;\n"


def test_missing_directory(tmp_path):
    with pytest.raises(SourceError, match="does not exist") as info:
        discover_migrations(tmp_path / "nope")
    assert "atomig init" in (info.value.hint or "")


def test_checksums_ignore_line_endings_and_line_end_whitespace_only(tmp_path):
    assert checksum_text("SELECT 1;\r\n") == checksum_text("SELECT 1;\n")
    assert checksum_text("SELECT 1;") == checksum_text("SELECT 1; \t\n\n  \n")
    assert checksum_text("SELECT  1;") != checksum_text("SELECT 1;")
    assert checksum_text("\nSELECT 1;") != checksum_text("SELECT 1;")
    assert checksum_text("SELECT 1;\n") != checksum_text("SELECT 2;\n")
    pair(tmp_path, "20261124_1530_a", up="CREATE TABLE t ();\n", down="DROP TABLE t;\n")
    [migration] = discover_migrations(tmp_path)
    assert migration.up.checksum == checksum_text("CREATE TABLE t ();\n")
    assert migration.down.checksum == checksum_text("DROP TABLE t;\n")


def test_directives_are_read_and_validated(tmp_path):
    pair(
        tmp_path,
        "20261124_1530_a",
        up="-- atomig: lock_timeout=5s statement_timeout=1h\nSELECT 1;\n",
    )
    [migration] = discover_migrations(tmp_path)
    assert migration.directives.get("lock_timeout") == "5s"
    assert migration.directives.get("statement_timeout") == "1h"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- atomig: lok_timeout=5s\nSELECT 1;", "unknown directive 'lok_timeout'"),
        ("-- atomig: lock_timeout\nSELECT 1;", "needs a value"),
        ("-- atomig: lock_timeout=5 weeks\nSELECT 1;", "unknown directive 'weeks'"),
        (
            "-- atomig: lock_timeout=soon\nSELECT 1;",
            "invalid value for directive 'lock_timeout'",
        ),
        (
            "-- atomig: on_failure=pray\nSELECT 1;",
            "invalid value for directive 'on_failure'",
        ),
        ("-- atomig:\nSELECT 1;", "empty atomig directive"),
    ],
)
def test_bad_directives_name_file_and_line(tmp_path, text, message):
    pair(tmp_path, "20261124_1530_a", up=text)
    with pytest.raises(SourceError, match=message) as info:
        discover_migrations(tmp_path)
    assert info.value.location is not None
    assert info.value.location.path.endswith("20261124_1530_a.up.sql")
    assert info.value.location.line == 1


def test_directives_in_down_files_are_validated_too(tmp_path):
    pair(tmp_path, "20261124_1530_a", down="-- atomig: nope=1\nSELECT 1;")
    with pytest.raises(SourceError, match="unknown directive"):
        discover_migrations(tmp_path)


def test_find_migration_accepts_either_spelling(tmp_path):
    pair(tmp_path, "20261124_1530_a")
    found = discover_migrations(tmp_path)
    assert find_migration(found, "20261124_1530").slug == "a"
    assert find_migration(found, "20261124153000").slug == "a"
    assert find_migration(found, "20261124_1530_a").slug == "a"
    with pytest.raises(UsageError, match="no migration with version"):
        find_migration(found, "20990101_0000")


def test_parse_version():
    assert parse_version("20261124_1530") == ("20261124_1530", 20261124153000)
    with pytest.raises(ValueError):
        parse_version("20261124")


def test_nul_byte_is_a_source_error_naming_line_and_column(tmp_path):
    # PostgreSQL text cannot hold NUL: the ledger could not store the file, and `up` failed
    # with a psycopg traceback after the plan had been shown.
    pair(tmp_path, "20261124_1530_a")
    (tmp_path / "20261124_1530_a.up.sql").write_bytes(b"SELECT 1;\nSELECT\x00 2;\n")
    with pytest.raises(
        SourceError,
        match=r"20261124_1530_a.up.sql holds a NUL character \(line 2, column 7\)",
    ) as info:
        discover_migrations(tmp_path)
    assert "remove it" in (info.value.hint or "")
