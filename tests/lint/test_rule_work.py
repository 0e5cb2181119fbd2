"""Rules skip the per-statement work that cannot change their findings (what they ask of
statements, not timings: the findings themselves are checked everywhere else)."""

from __future__ import annotations

import pytest

import atomig.lint.rules.validate_in_same_transaction as validate_rule
from atomig.lint import LintOptions, MigrationSource, SourceFile, lint_migrations

BEFORE_VALIDATE = (
    "ALTER TABLE orders ADD COLUMN note text;\n"
    "ALTER TABLE orders ADD CONSTRAINT orders_note_check CHECK (note <> '') NOT VALID;\n"
    "COMMIT;\n"
    "LOCK TABLE orders IN SHARE MODE;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_note_check;\n"
)


@pytest.mark.parametrize(
    ("runner", "asked", "fires"),
    [
        # A step of its own: atomig starts one at a VALIDATE outside a block.
        ("atomig", [], False),
        # One transaction: the statements since the COMMIT share the VALIDATE's.
        ("other", [4], True),
    ],
)
def test_validate_asks_only_its_own_step_for_locks(monkeypatch, runner, asked, fires):
    seen = []
    real = validate_rule.known_locks

    def known_locks(stmt, ctx):
        seen.append(stmt.index)
        return real(stmt, ctx)

    monkeypatch.setattr(validate_rule, "known_locks", known_locks)
    up = SourceFile("20240101_0000_v.up.sql", "BEGIN;\n" + BEFORE_VALIDATE, "up")
    result = lint_migrations(
        [MigrationSource("20240101_0000_v", up, None, ("up",))],
        options=LintOptions(runner=runner),
    )
    assert seen == asked
    assert (validate_rule.ID in {f.rule for f in result.findings}) is fires


def test_jsonb_alone_is_not_searched_for_newer_calls(monkeypatch):
    # unsupported-feature searches the text for calls newer than the target only when a
    # word of them is there: "json" (IS JSON, json(…)) is not the start of "jsonb".
    from atomig.sql import features as feat
    from atomig.sql.parse import parse_script

    needles, pattern = feat._calls_newer_than(15)
    searched = []

    class Spy:
        def search(self, text):
            searched.append(text)
            return pattern.search(text)

    monkeypatch.setattr(feat, "_calls_newer_than", lambda major: (needles, Spy()))
    script = parse_script(
        "CREATE TABLE t (payload jsonb DEFAULT '{}'::jsonb);\n"
        "SELECT payload::jsonb IS JSON FROM t;"
    )
    found = [list(feat.features(stmt, newer_than=15)) for stmt in script.statements]
    assert searched == [script.statements[1].text]
    assert not found[0] and [f.label for f in found[1]] == ["IS JSON"]


def test_a_type_node_is_read_once():
    # The replay and the type rules ask for the same column's type in turn.
    from atomig.sql.parse import parse_script
    from atomig.sql.types import TypeRef

    [stmt] = parse_script("CREATE TABLE t (code varchar(20)[]);").statements
    node = stmt.body["tableElts"][0]["ColumnDef"]["typeName"]
    first = TypeRef.from_node(node)
    assert TypeRef.from_node(node) is first
    assert first == TypeRef("varchar", (20,), True)
    # An equal node elsewhere (another statement, a copy) is read for itself.
    copy = TypeRef.from_node(dict(node))
    assert copy == first and copy is not first


def test_alters_are_not_looked_at_for_foreign_tables_when_none_is_known(monkeypatch):
    # Relabelling ALTER TABLE of a foreign table as ALTER FOREIGN TABLE works out each
    # ALTER's table only once some foreign table is known (history, catalog, this file).
    import atomig.lint.foreign as foreign
    from atomig.lint.schema import SchemaState
    from atomig.sql.parse import parse_script

    named = []
    real = foreign.range_var

    def range_var(node):
        named.append(node)
        return real(node)

    monkeypatch.setattr(foreign, "range_var", range_var)
    plain = parse_script(
        "ALTER TABLE t ADD COLUMN a int;\nALTER TABLE t DROP COLUMN a;"
    )
    assert foreign.as_foreign_alters(plain, SchemaState(), None) is plain
    assert named == []
    mixed = parse_script(
        "CREATE FOREIGN TABLE f (a int) SERVER s;\nALTER TABLE f ADD COLUMN b int;"
    )
    relabelled = foreign.as_foreign_alters(mixed, SchemaState(), None)
    assert relabelled.statements[1].body["objtype"] == "OBJECT_FOREIGN_TABLE"
    assert len(named) == 2  # the CREATE's table and the ALTER's
