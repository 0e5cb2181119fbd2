"""Scratch databases of a database whose schema predates its migrations: ``[verify]
scratch_from = "target"`` starts them from the target's schema, so verify, trace and
up --dry-run work on pending migrations that alter pre-existing tables (PG 15 and 18)."""

from __future__ import annotations

import json

UP = "CREATE INDEX CONCURRENTLY IF NOT EXISTS legacy_email ON legacy (email);\n"
DOWN = "DROP INDEX CONCURRENTLY IF EXISTS legacy_email;\n"
# A second migration, pending after the first is applied.
NOTE = (
    "20261202_0900_legacy_note",
    "ALTER TABLE legacy ADD COLUMN note text;\n",
    "ALTER TABLE legacy DROP COLUMN IF EXISTS note;\n",
)


def _brownfield(project):
    # Made before atomig was adopted: no migration creates it.
    project.database.execute(
        "CREATE TABLE legacy (id bigint PRIMARY KEY, email text);"
        "CREATE VIEW legacy_emails AS SELECT email FROM legacy;"
    )
    project.add("20261201_0900_legacy_email", UP, DOWN)


def _from_target(project):
    (project.dir / "atomig.toml").write_text('[verify]\nscratch_from = "target"\n')


def test_by_default_a_pending_migration_on_a_pre_existing_table_does_not_verify(
    project,
):
    _brownfield(project)
    result = project.cli("verify")
    assert result.exit_code == 1, result.output
    assert 'relation "legacy" does not exist' in result.output
    assert 'scratch_from = "target"' in result.output  # the way out is named


def test_verify_trace_and_dry_run_start_from_the_target_schema(project):
    _brownfield(project)
    _from_target(project)
    result = project.cli("verify", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [m["ok"] for m in document["migrations"]] == [True]
    assert document["replayed"] == 0
    assert any("target's schema" in note for note in document["notes"])
    traced = project.cli("trace")
    assert traced.exit_code == 0, traced.output
    assert "on public.legacy" in traced.output
    dry = project.cli("up", "--dry-run")
    assert dry.exit_code == 0, dry.output
    # The target is only read.
    assert project.database.scalar("SELECT to_regclass('public.legacy_email')") is None


def test_applied_migrations_are_in_the_target_schema_not_replayed(project):
    _brownfield(project)
    _from_target(project)
    assert project.cli("up").exit_code == 0
    project.add(*NOTE)
    result = project.cli("verify", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [m["version"] for m in document["migrations"]] == ["20261202_0900"]
    # Tracing the applied migration itself replays the migrations before it instead:
    # the target's schema already holds what it did.
    traced = project.cli("trace", "20261201_0900")
    assert traced.exit_code == 1  # legacy predates the migrations: not on a replay
    assert 'relation "legacy" does not exist' in traced.output


def test_a_bad_scratch_from_is_a_configuration_error(project):
    _brownfield(project)
    (project.dir / "atomig.toml").write_text('[verify]\nscratch_from = "nowhere"\n')
    result = project.cli("verify")
    assert result.exit_code == 2
    assert "scratch_from must be 'migrations' or 'target'" in result.output


# ---- base_schema: the schema the migrations start from, as a file ---------------------

BASE = (
    "CREATE TABLE legacy (id bigint PRIMARY KEY, email text, lang bigint);\n"
    "CREATE TABLE langs (id bigint PRIMARY KEY);\n"
    "CREATE INDEX legacy_lang ON legacy (lang);\n"
)


def _with_base(project, base=BASE):
    (project.dir / "db").mkdir(exist_ok=True)
    (project.dir / "db" / "base.sql").write_text(base)
    (project.dir / "atomig.toml").write_text('base_schema = "db/base.sql"\n')


def test_verify_all_starts_from_the_base_schema(project):
    # CI: every migration from an empty database, which the base schema starts.
    _with_base(project)
    project.add("20261201_0900_legacy_email", UP, DOWN)
    result = project.cli("verify", "--all")
    assert result.exit_code == 0, result.output
    # Without it the first migration cannot apply there.
    (project.dir / "atomig.toml").write_text("")
    assert project.cli("verify", "--all").exit_code == 1


def test_verify_pending_replays_the_applied_migrations_after_the_base_schema(project):
    _with_base(project)
    project.database.execute(BASE)  # the target as it was before its first migration
    project.add("20261201_0900_legacy_email", UP, DOWN)
    assert project.cli("up").exit_code == 0
    project.add(*NOTE)
    result = project.cli("verify", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["replayed"] == 1


def test_a_missing_or_broken_base_schema_is_a_clear_error(project):
    project.add("20261201_0900_legacy_email", UP, DOWN)
    (project.dir / "atomig.toml").write_text('base_schema = "db/nope.sql"\n')
    result = project.cli("verify", "--all")
    assert result.exit_code == 2, result.output
    assert "base_schema" in result.output and "atomig schema" in result.output
    _with_base(project, "CREATE TABLE broken (id int REFERENCES nowhere);\n")
    result = project.cli("verify", "--all")
    assert result.exit_code == 1, result.output
    assert "creating base_schema" in result.output
    assert 'relation "nowhere" does not exist' in result.output
