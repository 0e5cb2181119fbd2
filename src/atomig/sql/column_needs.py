"""Which columns a statement needs to exist, and which it brings into existence: for a down
file run after an up that stopped part-way (:mod:`atomig.plan.rollback`).

A down ``UPDATE t SET a = b_new``, ``CREATE INDEX … ON t (b_new)`` (IF NOT EXISTS guards
only the index's name), ``ALTER TABLE t ALTER COLUMN b_new …`` or ``COMMENT ON COLUMN
t.b_new`` fails (42703, PG 15 and 18) when the up stopped before adding ``b_new``. A bare
column reference counts only when the statement reads no relation but its target (else it
may be another's); a ``DO`` block is trusted (not read). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import name_list, range_var
from atomig.sql.parse import Statement

Body = Mapping[str, Any]
Column = tuple[QualifiedName, str]

# ALTER TABLE sub-commands that name an existing column (``name``).
_COLUMN_ALTERS = frozenset(
    {
        "AT_ColumnDefault",
        "AT_DropNotNull",
        "AT_SetNotNull",
        "AT_AlterColumnType",
        "AT_SetStatistics",
        "AT_SetStorage",
        "AT_SetCompression",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_AddIdentity",
        "AT_SetIdentity",
        "AT_DropIdentity",
    }
)
_DML = ("UpdateStmt", "DeleteStmt", "InsertStmt")


def new_columns(statement: Statement) -> list[Column]:
    """The columns a statement proves were not there before it: ``ADD COLUMN`` without IF
    NOT EXISTS, and the new name of ``RENAME COLUMN`` (both fail on a taken name).

    >>> from atomig.sql.parse import parse_script
    >>> [(str(t), c) for s in parse_script(
    ...     "ALTER TABLE u ADD COLUMN a int, ADD COLUMN IF NOT EXISTS b int;"
    ...     " ALTER TABLE u RENAME COLUMN c TO d") for t, c in new_columns(s)]
    [('u', 'a'), ('u', 'd')]
    """
    body = statement.body
    table = range_var(body.get("relation"))
    if table is None:
        return []
    if statement.kind == "RenameStmt" and body.get("renameType") == "OBJECT_COLUMN":
        return [(table, str(body.get("newname", "")))]
    return added_column_names(statement, guarded=False)


def displaced_columns(statement: Statement) -> list[Column]:
    """The columns ``statement`` moves out of their names: dropped or renamed.

    >>> from atomig.sql.parse import parse_script
    >>> [(str(t), c) for s in parse_script(
    ...     "ALTER TABLE u DROP COLUMN IF EXISTS a, ADD COLUMN b int;"
    ...     " ALTER TABLE u RENAME COLUMN c TO d") for t, c in displaced_columns(s)]
    [('u', 'a'), ('u', 'c')]
    """
    body = statement.body
    table = range_var(body.get("relation"))
    if table is None:
        return []
    if statement.kind == "RenameStmt" and body.get("renameType") == "OBJECT_COLUMN":
        return [(table, str(body.get("subname", "")))]
    if statement.kind != "AlterTableStmt":
        return []
    return [
        (table, str(cmd.get("name", "")))
        for cmd in _commands(body)
        if cmd.get("subtype") == "AT_DropColumn"
    ]


def added_column_names(statement: Statement, *, guarded: bool = True) -> list[Column]:
    """The columns an ALTER TABLE adds (``guarded``: ADD COLUMN IF NOT EXISTS too).

    >>> from atomig.sql.parse import parse_script
    >>> [(str(t), c) for s in parse_script(
    ...     "ALTER TABLE u ADD COLUMN b int, ADD COLUMN IF NOT EXISTS e int")
    ...  for t, c in added_column_names(s)]
    [('u', 'b'), ('u', 'e')]
    """
    table = range_var(statement.body.get("relation"))
    if statement.kind != "AlterTableStmt" or table is None:
        return []
    return [
        (table, str(cmd.get("def", {}).get("ColumnDef", {}).get("colname", "")))
        for cmd in _commands(statement.body)
        if cmd.get("subtype") == "AT_AddColumn"
        and (guarded or not cmd.get("missing_ok"))
    ]


def named_columns(statement: Statement) -> list[Column]:
    """The columns of a table ``statement`` names, so needs to exist.

    >>> from atomig.sql.parse import parse_script
    >>> [[c for _, c in named_columns(s)] for s in parse_script(
    ...     "UPDATE t SET a = b WHERE c IN (SELECT c FROM o);"
    ...     " UPDATE t x SET a = x.b; DELETE FROM t WHERE d IS NULL;"
    ...     " CREATE INDEX IF NOT EXISTS i ON t (e, lower(f)) WHERE g;"
    ...     " ALTER TABLE t DROP COLUMN IF EXISTS h, ALTER COLUMN k DROP DEFAULT")]
    [['a'], ['a', 'b'], ['d'], ['e', 'f', 'g'], ['k']]
    """
    kind, body = statement.kind, statement.body
    if kind == "CommentStmt" and body.get("objtype") == "OBJECT_COLUMN":
        items = (body.get("object") or {}).get("List", {}).get("items", ())
        if len(items) >= 2:
            return [(name_list(items[:-1]), items[-1]["String"]["sval"])]
        return []
    relation = body.get("relation")
    table = range_var(relation)
    if table is None:
        return []
    if kind == "AlterTableStmt":
        return [
            (table, str(cmd.get("name", "")))
            for cmd in _commands(body)
            if cmd.get("subtype") in _COLUMN_ALTERS
        ]
    if kind == "IndexStmt":
        params = [
            p["IndexElem"] for p in body.get("indexParams", ()) if "IndexElem" in p
        ]
        found = [str(p["name"]) for p in params if p.get("name")]
        refs = [body.get("indexParams"), body.get("whereClause")]
        found += [fields[-1] for fields in _column_refs(refs)]
        return [(table, c) for c in dict.fromkeys(found)]
    if kind not in _DML:
        return []
    found = [
        str(t["ResTarget"]["name"])
        for t in (*body.get("targetList", ()), *body.get("cols", ()))
        if kind != "DeleteStmt" and t.get("ResTarget", {}).get("name")
    ]
    own = {table.name, ((relation or {}).get("alias") or {}).get("aliasname")}
    alone = not _reads_other_relations(body)
    for fields in _column_refs(body):
        if (len(fields) == 1 and alone) or (len(fields) > 1 and fields[-2] in own):
            found.append(fields[-1])
    return [(table, c) for c in dict.fromkeys(found)]


def _column_refs(node: Any) -> list[list[str]]:
    found: list[list[str]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("ColumnRef")
            if ref is not None:
                fields = ref.get("fields", ())
                if fields and all("String" in f for f in fields):
                    found.append([f["String"]["sval"] for f in fields])
                continue
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _reads_other_relations(body: Body) -> bool:
    stack: list[Any] = [v for k, v in body.items() if k != "relation"]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "RangeVar" in item or "RangeFunction" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _commands(body: Body) -> list[Body]:
    return [item.get("AlterTableCmd", {}) for item in body.get("cmds") or ()]
