"""Other tools' layouts read from file names (and dbmate's marker lines): which layout a
directory follows, the order its tool applies the migrations in, the pairing of ups and
downs, and what a stray file was expected to be called."""

from __future__ import annotations

import doctest

import pytest

import atomig.source.dbmate_sections
import atomig.source.foreign_layouts
from atomig.source.dbmate_sections import dbmate_sections
from atomig.source.foreign_layouts import Layout, arrange

DBMATE_UP = "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"


def test_doctests():
    for module in (atomig.source.dbmate_sections, atomig.source.foreign_layouts):
        assert doctest.testmod(module).failed == 0


def arranged(names, texts=None):
    texts = texts or {}
    return arrange(names, lambda name: texts.get(name, "SELECT 1;"))


def order(arrangement):
    return [(m.up, m.down) for m in arrangement.migrations]


def test_golang_migrate_orders_versions_numerically_and_pairs_by_version():
    found = arranged(
        ["10_ten.up.sql", "10_ten.down.sql", "2_two.up.sql", "2_two.down.sql"]
    )
    assert found.layout is Layout.GOLANG_MIGRATE
    assert order(found) == [
        ("2_two.up.sql", "2_two.down.sql"),
        ("10_ten.up.sql", "10_ten.down.sql"),
    ]
    assert [m.name for m in found.migrations] == ["2_two", "10_ten"]


def test_golang_migrate_names_the_missing_down_file():
    found = arranged(["000001_init.up.sql", "1700000000_users.up.sql"])
    assert [m.missing_down for m in found.migrations] == [
        "000001_init.down.sql",
        "1700000000_users.down.sql",
    ]
    assert [m.down for m in found.migrations] == [None, None]


def test_flyway_orders_by_numeric_parts_and_repeatables_last_by_description():
    found = arranged(
        [
            "R__b_views.sql",
            "R__a_functions.sql",
            "V1.10__later.sql",
            "V1.2__earlier.sql",
            "V1_1__first.sql",
            "U1.2__earlier.sql",
            "V2__last_versioned.sql",
        ]
    )
    assert found.layout is Layout.FLYWAY
    assert order(found) == [
        ("V1_1__first.sql", None),
        ("V1.2__earlier.sql", "U1.2__earlier.sql"),
        ("V1.10__later.sql", None),
        ("V2__last_versioned.sql", None),
        ("R__a_functions.sql", None),
        ("R__b_views.sql", None),
    ]
    needs = {m.up: m.needs_down for m in found.migrations}
    assert needs["R__a_functions.sql"] is False and needs["V2__last_versioned.sql"]
    assert found.migrations[0].missing_down == "U1_1__first.sql"


def test_flyway_versions_equal_after_trailing_zeros_are_duplicates():
    found = arranged(["V1__a.sql", "V1.0__b.sql", "V2__c.sql"])
    assert order(found) == [("V1.0__b.sql", None), ("V2__c.sql", None)]
    assert "same version as V1.0__b.sql" in found.misnamed["V1__a.sql"].reason


def test_dbmate_needs_its_up_marker_and_applies_files_by_name():
    texts = {
        "1_a.sql": DBMATE_UP,
        "10_b.sql": DBMATE_UP,
        "2_c.sql": DBMATE_UP,
        "3_plain.sql": "SELECT 1;",
    }
    found = arranged(list(texts), texts)
    assert found.layout is Layout.DBMATE
    # As dbmate sorts them (file names), whatever their versions say.
    assert [m.up for m in found.migrations] == ["10_b.sql", "1_a.sql", "2_c.sql"]
    assert all(m.sections for m in found.migrations)
    assert found.loose == ("3_plain.sql",)
    assert "no `-- migrate:up` line" in found.misnamed["3_plain.sql"].reason


def test_atomig_wins_a_tie_and_its_names_vote_for_atomig_only():
    # 20240101_1200_x.up.sql is golang-migrate's too (version 20240101): it counts for
    # atomig, so one golang-migrate stray does not turn the directory into one.
    names = [
        "20240101_1200_a.up.sql",
        "20240101_1200_a.down.sql",
        "20240101_1300_b.up.sql",
        "20240101_1300_b.down.sql",
        "000001_stray.up.sql",
        "000001_stray.down.sql",
        "000002_stray.up.sql",
    ]
    found = arranged(names)
    assert found.layout is Layout.ATOMIG
    assert [m.name for m in found.migrations] == [
        "20240101_1200_a",
        "20240101_1300_b",
    ]
    stray = found.misnamed["000001_stray.up.sql"]
    assert stray.reason == (
        "is a golang-migrate migration in a directory of atomig migrations"
    )
    assert stray.expected.startswith("YYYYMMDD_HHMM_<slug>.up.sql")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("init.up.sql", "does not follow the golang-migrate layout of its directory"),
        ("1-init.up.sql", "does not follow the golang-migrate layout of its directory"),
        ("V1_init.sql", "does not follow the golang-migrate layout of its directory"),
        ("V2__users.sql", "is a Flyway migration in a directory of golang-migrate"),
    ],
)
def test_a_file_that_looks_like_a_migration_is_named_with_the_expected_pattern(
    name, reason
):
    found = arranged(["1_a.up.sql", "1_a.down.sql", "2_b.up.sql", name])
    assert found.layout is Layout.GOLANG_MIGRATE
    assert name in found.loose
    assert found.misnamed[name].reason.startswith(reason)
    assert found.misnamed[name].expected == Layout.GOLANG_MIGRATE.pattern


def test_other_sql_files_are_loose_without_a_word():
    found = arranged(["1_a.up.sql", "1_a.down.sql", "seed.sql", "schema.sql"])
    assert found.loose == ("schema.sql", "seed.sql")
    assert not found.misnamed


def test_a_directory_of_no_known_layout_lists_its_lookalikes():
    # goose's layout, for one: 001_init.sql with -- +goose Up (no dbmate marker).
    texts = {"001_init.sql": "-- +goose Up\nSELECT 1;\n", "notes.sql": "SELECT 1;"}
    found = arranged([*texts, "init.up.sql"], texts)
    assert found.layout is None and not found.migrations and not found.misnamed
    assert found.loose == ("001_init.sql", "init.up.sql", "notes.sql")
    assert found.unrecognised == ("001_init.sql", "init.up.sql")


def test_dbmate_sections_blank_the_other_section_and_keep_positions():
    text = "-- header\r\n-- migrate:up\r\nSELECT 1;\r\n-- migrate:down\r\nSELECT 2;\r\n"
    sections = dbmate_sections(text)
    up, down = sections.up_text(text), sections.down_text(text)
    assert len(up) == len(down) == len(text)
    assert up.splitlines() == [
        "-- header",
        "-- migrate:up",
        "SELECT 1;",
        " " * len("-- migrate:down"),
        " " * len("SELECT 2;"),
    ]
    assert down.split("\r\n")[3:] == ["-- migrate:down", "SELECT 2;", ""]


def test_dbmate_transaction_option_per_section():
    text = "-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"
    sections = dbmate_sections(text)
    assert (sections.up_in_transaction, sections.down_in_transaction) == (False, True)
    text = "-- migrate:up\nSELECT 1;\n--migrate:down   transaction:false foo:bar\n"
    sections = dbmate_sections(text)
    assert (sections.up_in_transaction, sections.down_in_transaction) == (True, False)


def test_dbmate_several_sections_and_lookalike_lines():
    text = (
        "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"
        "-- migrate:up\nSELECT 3;\n-- migrate:downgrade is no marker\n"
        "-- migrate:down\nSELECT 4;\n"
    )
    sections = dbmate_sections(text)
    up, down = sections.up_text(text), sections.down_text(text)
    assert "SELECT 1;" in up and "SELECT 3;" in up and "downgrade" in up
    assert "SELECT 2;" not in up and "SELECT 4;" not in up
    assert "SELECT 2;" in down and "SELECT 4;" in down and "SELECT 3;" not in down
    assert dbmate_sections("SELECT 1; -- migrate:up\n") is None
    assert dbmate_sections("  -- migrate:up\n") is None  # (dbmate: at the line start)
