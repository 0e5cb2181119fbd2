"""init and new: the project layout and migration pairs they write."""

from datetime import UTC, datetime

from atomig.api import init_project, new_migration
from atomig.source.layout import discover_migrations


def test_init_creates_layout_and_never_overwrites(offline_project):
    root = offline_project.dir / "fresh"
    root.mkdir()
    first = init_project(root)
    assert {p.name for p in first.created} == {"migrations", "atomig.toml"}
    assert '# lock_timeout = "2s"' in (root / "atomig.toml").read_text()
    (root / "atomig.toml").write_text("ledger_schema = 'mine'\n")
    second = init_project(root)
    assert second.created == () and len(second.existing) == 2
    assert (root / "atomig.toml").read_text() == "ledger_schema = 'mine'\n"


def test_new_writes_a_valid_pair_and_avoids_collisions(offline_project):
    settings = offline_project.settings()
    moment = datetime(2026, 11, 24, 15, 30, 42, tzinfo=UTC)
    first = new_migration(settings, "add_users", now=moment)
    second = new_migration(settings, "add_orders", now=moment)
    assert first.up.name == "20261124_1530_add_users.up.sql"
    assert second.up.name == "20261124_1531_add_orders.up.sql"
    assert "CREATE INDEX CONCURRENTLY" in first.up.read_text()
    assert "IF EXISTS" in first.down.read_text()
    found = discover_migrations(settings.migrations_dir)
    assert [m.slug for m in found] == ["add_users", "add_orders"]


def test_new_rejects_bad_slugs(offline_project):
    result = offline_project.cli("new", "bad slug!")
    assert result.exit_code == 2
    assert "invalid slug" in result.stderr


def test_a_new_pair_applies_and_reverts(project):
    assert project.cli("new", "empty_start").exit_code == 0
    assert project.cli("up").exit_code == 0
    assert project.cli("status", "--check").exit_code == 0
    assert project.cli("down").exit_code == 0
