"""What the up and down files of a migration say that the schema replay does not keep, for
comparing them (down-incomplete): which partitions and partition indexes they attach (a
``DROP`` of the parent takes those with it, PG 15 and 18), what the up renames, and where
each name first appears in a file.

>>> from atomig.sql.parse import parse_script
>>> up = parse_script(
...     "CREATE TABLE m_1 PARTITION OF m FOR VALUES IN (1);\\n"
...     "ALTER INDEX m_idx ATTACH PARTITION m_1_idx;\\n"
...     "ALTER TABLE users RENAME COLUMN email TO email_address;", "up.sql")
>>> links = Links.of(up)
>>> links.table_parents, links.index_parents
({('public', 'm_1'): ('public', 'm')}, {('public', 'm_1_idx'): ('public', 'm_idx')})
>>> links.renames
{('column', 'public', 'users', 'email'): 'email_address'}
>>> line_of(up, "email_address")
3
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from atomig.lint.schema_model import Key, key_of
from atomig.sql.nodes import range_var
from atomig.sql.parse import Script, Statement

# A rename by the up: (kind, schema, table or object, old name) -> new name; kind is
# ``table``, ``view``, ``index``, ``column`` or ``constraint``.
RenameKey = tuple[str, str, str, str]
_RENAMES = {
    "OBJECT_TABLE": "table",
    "OBJECT_VIEW": "view",
    "OBJECT_MATVIEW": "view",
    "OBJECT_INDEX": "index",
    "OBJECT_COLUMN": "column",
    "OBJECT_TABCONSTRAINT": "constraint",
}


@dataclass(slots=True)
class Links:
    """Partitions (tables and indexes) attached to a parent, the up's renames, and the
    indexes a constraint takes (``ADD CONSTRAINT … USING INDEX``: the index is the
    constraint's from then on, dropped with it)."""

    table_parents: dict[Key, Key] = field(default_factory=dict)
    index_parents: dict[Key, Key] = field(default_factory=dict)
    renames: dict[RenameKey, str] = field(default_factory=dict)
    index_constraints: dict[Key, tuple[Key, str]] = field(default_factory=dict)
    # A statement making or ending a link was read (even if nothing is left of it).
    read: bool = False

    @classmethod
    def of(
        cls, up: Script, down: Script | None = None, upto: int | None = None
    ) -> Links:
        """The links the up file (its statements before the one of index ``upto`` when
        given) then the down file make, in order."""
        links = cls()
        for stmt in up.statements[:upto]:
            links.read_statement(stmt, up=True)
        for stmt in down.statements if down is not None else ():
            links.read_statement(stmt, up=False)
        return links

    def read_statement(self, stmt: Statement, *, up: bool) -> None:
        """Read the links ``stmt`` (of the up file, or of the down) makes or ends."""
        body = stmt.body
        if stmt.kind == "CreateStmt" and body.get("partbound"):
            child = range_var(body.get("relation"))
            parents = [
                range_var(r.get("RangeVar")) for r in body.get("inhRelations", ())
            ]
            if child is not None and parents and parents[0] is not None:
                self.table_parents[key_of(child)] = key_of(parents[0])
                self.read = True
        elif stmt.kind == "AlterTableStmt":
            self._alter(body)
        elif stmt.kind == "RenameStmt" and up:
            self._rename(body)

    def _alter(self, body: Mapping[str, Any]) -> None:
        parent = range_var(body.get("relation"))
        parents = (
            self.index_parents
            if body.get("objtype") == "OBJECT_INDEX"
            else self.table_parents
        )
        for cmd in _commands(body):
            con = (cmd.get("def") or {}).get("Constraint") or {}
            if con.get("indexname") and parent is not None:
                self.read = True
                # (the index takes the constraint's name, PG 15 and 18)
                index = (key_of(parent)[0], con["indexname"])
                name = con.get("conname") or con["indexname"]
                self.index_constraints[index] = (key_of(parent), name)
            part = (cmd.get("def") or {}).get("PartitionCmd") or {}
            child = range_var(part.get("name"))
            if parent is None or child is None:
                continue
            self.read = True
            if cmd.get("subtype") == "AT_AttachPartition":
                # (a partition index is in its table's schema, as ALTER INDEX finds it)
                parents[key_of(child)] = key_of(parent)
            elif cmd.get("subtype") == "AT_DetachPartition":
                parents.pop(key_of(child), None)

    def _rename(self, body: Mapping[str, Any]) -> None:
        kind = _RENAMES.get(body.get("renameType", ""))
        relation = range_var(body.get("relation"))
        if kind is None or relation is None:
            return
        self.read = True
        schema, name = key_of(relation)
        if kind in ("column", "constraint"):
            self.renames[(kind, schema, name, body.get("subname", ""))] = body[
                "newname"
            ]
        else:
            self.renames[(kind, schema, "", name)] = body["newname"]


def last_link(script: Script) -> int:
    """The index of the last statement of the up file ``script`` that makes or ends a
    link (-1: none does)."""
    links, last = Links(), -1
    for stmt in script.statements:
        links.read = False
        links.read_statement(stmt, up=True)
        if links.read:
            last = stmt.index
    return last


def _commands(body: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    return (item.get("AlterTableCmd", {}) for item in body.get("cmds", ()))


def line_of(script: Script, *names: str) -> int | None:
    """The line of the first statement of ``script`` that names every one of ``names``
    (as whole words, any case); ``None`` when none does."""
    stmt = statement_of(script, *names)
    return None if stmt is None else stmt.span.line


def statement_of(script: Script, *names: str, start: int = 0) -> Statement | None:
    """The first statement of ``script`` (from the one of index ``start``) naming every
    one of ``names`` (see :func:`line_of`)."""
    wanted = [name.lower() for name in names]
    for stmt in script.statements[start:]:
        text = stmt.text.lower()
        if all(_has_word(text, name) for name in wanted):
            return stmt
    return None


def _has_word(text: str, word: str) -> bool:
    """``word`` is in ``text`` between characters no identifier holds (a plain search:
    compiling a pattern per name cost more than the whole comparison)."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not _in_identifier(before) and not _in_identifier(after):
            return True
        start = text.find(word, start + 1)
    return False


def _in_identifier(char: str) -> bool:
    return char.isalnum() or char in "_$"
