"""The indexed dependency store of the schema replay (lint/schema_deps.py): a fork or a
copy never changes the state it came from, and the indexes follow every change."""

from __future__ import annotations

from atomig.lint.schema_deps import Need, Uses

SEQ = Need("sequence", "public", "s")
FN = Need("function", "public", "f", ("int4",))


def _keys(uses: Uses) -> dict:
    return {
        "needs": dict(uses.needs),
        "by_table": {k: set(v) for k, v in uses.by_table.items()},
        "by_need": {k: set(v) for k, v in uses.by_need.items()},
    }


def test_a_fork_or_copy_leaves_its_origin_as_it_was():
    base = Uses()
    base.set(("default", "public", "t", "a"), [SEQ])
    base.set(("default", "public", "t", "b"), [SEQ, FN])
    before = _keys(base)
    child = base.fork()
    child.set(("check", "public", "t", "c"), [FN])
    child.remove(("default", "public", "t", "a"))
    child.move_table(("public", "t"), ("public", "u"))
    assert _keys(base) == before
    assert set(child.of_table(("public", "u"))) == {
        ("default", "public", "u", "b"),
        ("check", "public", "u", "c"),
    }
    assert child.of_table(("public", "t")) == ()
    copy = base.copy()
    base.set(("default", "public", "t", "z"), [SEQ])  # the origin changes on
    copy.remove(("default", "public", "t", "b"))
    assert set(copy.needing(("public", "s"))) == {("default", "public", "t", "a")}
    assert set(base.needing(("public", "s"))) == {
        ("default", "public", "t", "a"),
        ("default", "public", "t", "b"),
        ("default", "public", "t", "z"),
    }


def test_renames_follow_the_object_and_schema():
    uses = Uses()
    uses.set(("view", "public", "v", ""), [SEQ, FN])
    uses.move_need(("public", "s"), ("public", "s2"), "sequence")
    assert uses.needs[("view", "public", "v", "")] == (
        SEQ._replace(name="s2"),
        FN,
    )
    uses.rename_schema("public", "app")
    assert uses.needs == {
        ("view", "app", "v", ""): (
            Need("sequence", "app", "s2"),
            Need("function", "app", "f", ("int4",)),
        )
    }
    assert uses.needing(("public", "s2")) == ()


def test_a_call_is_resolved_only_when_one_function_fits():
    uses = Uses()
    uses.define(("public", "f"), (("int4",), 1, False))
    uses.define(("public", "f"), (("int4", "int4"), 1, False))  # a default: 1 or 2
    uses.define(("public", "g"), (("int4[]",), 1, True))  # VARIADIC
    assert uses.resolve(("public", "f"), 2) == ("int4", "int4")
    assert uses.resolve(("public", "f"), 1) is None  # both fit
    assert uses.resolve(("public", "g"), 3) == ("int4[]",)
    assert uses.resolve(("public", "h"), 0) is None
    uses.undefine(("public", "f"), ("int4",))
    assert uses.resolve(("public", "f"), 1) == ("int4", "int4")


def test_cascade_drops_what_postgresql_drops_with_it():
    # PG 15 and 18: DROP FUNCTION … CASCADE drops the index, CHECK and generated column
    # calling it; DROP COLUMN … CASCADE the generated columns computed from it.
    from atomig.lint.schema import SchemaState
    from atomig.sql import parse_script

    state = SchemaState()
    script = parse_script(
        "CREATE FUNCTION g(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';\n"
        "CREATE TABLE t (a int, b int CHECK (g(b) > 0), c int GENERATED ALWAYS AS "
        "(g(a)) STORED, d int GENERATED ALWAYS AS (b + 1) STORED, e int);\n"
        "CREATE INDEX t_g ON t (g(e));\n"
        "DROP FUNCTION g(int) CASCADE;\n"
        "ALTER TABLE t DROP COLUMN b CASCADE;\n"
    )
    for statement in script.statements:
        state.apply(statement, "m1")
    table = state.tables[("public", "t")]
    assert set(table.columns) == {"a", "e"}
    assert table.constraints == {}
    assert table.indexes == {}
    assert ("public", "t_g") not in state.index_owner
