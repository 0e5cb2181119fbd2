"""base_schema: the schema a database older than its migrations starts from, replayed by
lint as history."""

from __future__ import annotations

import json


def test_base_schema_is_history_for_lint(offline_project):
    """A database older than its migrations: the configured base_schema tells lint what
    the migrations start from (here: the foreign key's column has an index already)."""
    (offline_project.dir / "base.sql").write_text(
        "CREATE TABLE langs (id bigint PRIMARY KEY);\n"
        "CREATE TABLE film (id bigint PRIMARY KEY, lang bigint);\n"
        "CREATE INDEX film_lang ON film (lang);\n"
    )
    offline_project.add(
        "20261201_0900_fk",
        "ALTER TABLE film ADD CONSTRAINT film_lang_fk FOREIGN KEY (lang) "
        "REFERENCES langs (id) NOT VALID;\n",
        "ALTER TABLE film DROP CONSTRAINT IF EXISTS film_lang_fk;\n",
    )

    def rules():
        result = offline_project.cli("lint", "--format", "json", "--no-database")
        return [f["rule"] for f in json.loads(result.stdout)["findings"]]

    assert "foreign-key-without-index" in rules()
    (offline_project.dir / "atomig.toml").write_text('base_schema = "base.sql"\n')
    found = rules()
    assert "foreign-key-without-index" not in found
    # The base schema itself is never reported on (its CREATEs are not migrations).
    result = offline_project.cli("lint", "--format", "json", "--no-database")
    assert {f["file"] for f in json.loads(result.stdout)["findings"]} <= {
        str(offline_project.migrations / "20261201_0900_fk.up.sql"),
        str(offline_project.migrations / "20261201_0900_fk.down.sql"),
    }
