"""The layered mapping the lint schema forks with, and the fork built on it."""

from __future__ import annotations

import pytest

from atomig.lint.layered import Layered
from atomig.lint.schema import SchemaState
from atomig.sql.parse import parse_script


def test_reads_fall_through_and_writes_stay_on_top():
    base = {"a": 1, "b": 2}
    top = Layered(base)
    assert top["a"] == 1 and top.get("b") == 2 and top.get("z", 9) == 9
    top["a"] = 10
    top["c"] = 3
    assert top["a"] == 10 and top["c"] == 3
    assert base == {"a": 1, "b": 2}
    assert dict(top) == {"a": 10, "b": 2, "c": 3} and len(top) == 3


def test_deleting_a_base_key_hides_it_without_touching_the_base():
    base = {"a": 1, "b": 2}
    top = Layered(base)
    assert top.pop("a") == 1
    assert "a" not in top and top.get("a") is None and top.pop("a", None) is None
    with pytest.raises(KeyError):
        top["a"]
    with pytest.raises(KeyError):
        del top["a"]
    top["a"] = 5  # set again after the deletion
    assert top["a"] == 5 and base["a"] == 1
    del top["b"]
    top["n"] = 1
    del top["n"]  # a key only the layer had
    assert dict(top) == {"a": 5} and base == {"a": 1, "b": 2}


def _apply(state: SchemaState, sql: str) -> None:
    for stmt in parse_script(sql):
        state.apply(stmt, "m1")


def test_a_fork_sees_the_parent_and_never_changes_it():
    parent = SchemaState()
    _apply(
        parent,
        "CREATE TABLE t (id bigint PRIMARY KEY, a int);"
        "CREATE INDEX t_a ON t (a); CREATE TABLE gone (id int);",
    )
    child = parent.fork()
    _apply(
        child,
        "ALTER TABLE t ADD COLUMN b text; DROP INDEX t_a; DROP TABLE gone;"
        "CREATE TABLE fresh (id int);",
    )
    t_parent, t_child = parent.tables[("public", "t")], child.tables[("public", "t")]
    assert t_parent is not t_child  # copied on the child's first change
    assert set(t_child.columns) == {"id", "a", "b"} and "t_a" not in t_child.indexes
    assert set(t_parent.columns) == {"id", "a"} and "t_a" in t_parent.indexes
    assert ("public", "gone") in parent.tables and (
        "public",
        "gone",
    ) not in child.tables
    assert ("public", "fresh") not in parent.tables and (
        "public",
        "fresh",
    ) in child.tables
    assert parent.index_owner.get(("public", "t_a")) == ("public", "t")
    assert child.index_owner.get(("public", "t_a")) is None
    assert child.creator("relation", None) is None


def test_a_snapshot_of_a_fork_is_a_plain_copy():
    parent = SchemaState()
    _apply(parent, "CREATE TABLE t (id int);")
    child = parent.fork()
    _apply(child, "CREATE TABLE u (id int);")
    copy = child.snapshot()
    assert isinstance(copy.tables, dict)
    assert set(copy.tables) == {("public", "t"), ("public", "u")}
