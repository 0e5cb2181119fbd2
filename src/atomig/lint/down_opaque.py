"""Statements whose effect on tables, columns, indexes, constraints and views the schema
replay does not know precisely: a migration holding one is not compared with its down file
(down-incomplete), since a difference could be the replay's and not the files'.

>>> from atomig.sql.parse import parse_script
>>> opaque_reason(parse_script("DO $$ BEGIN END $$;", "x.sql"))
'a DO block'
>>> opaque_reason(parse_script("DROP TABLE t CASCADE;", "x.sql"))
'DROP … CASCADE'
>>> opaque_reason(parse_script("SELECT 1; UPDATE t SET a = lower(b);", "x.sql")) is None
True
>>> opaque_reason(parse_script("SELECT rebuild_things();", "x.sql"))
'a call of rebuild_things()'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atomig.sql.depends import function_calls
from atomig.sql.parse import Script, Statement

_OPAQUE_KINDS = {
    "DoStmt": "a DO block",
    "CallStmt": "a CALL",
    "ExecuteStmt": "EXECUTE",
    "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA",
    "DropOwnedStmt": "DROP OWNED",
    "ReassignOwnedStmt": "REASSIGN OWNED",
    "CreateEventTrigStmt": "an event trigger",
    "RuleStmt": "a rule",
    "AlterObjectSchemaStmt": "SET SCHEMA",
}
# Statements that may call a function (which may run DDL): only built-in functions that
# cannot change the schema are known.
_CALLERS = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt"})
_SAFE_FUNCTIONS = frozenset(
    [
        "abs",
        "age",
        "array_agg",
        "array_length",
        "avg",
        "btrim",
        "cardinality",
        "ceil",
        "char_length",
        "clock_timestamp",
        "concat",
        "concat_ws",
        "count",
        "current_setting",
        "date_part",
        "date_trunc",
        "decode",
        "encode",
        "floor",
        "format",
        "gen_random_uuid",
        "generate_series",
        "greatest",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_set",
        "lag",
        "lead",
        "least",
        "left",
        "length",
        "lower",
        "ltrim",
        "make_interval",
        "max",
        "md5",
        "min",
        "now",
        "nextval",
        "nullif",
        "octet_length",
        "pg_sleep",
        "position",
        "random",
        "regexp_replace",
        "repeat",
        "replace",
        "right",
        "round",
        "row_number",
        "rtrim",
        "setval",
        "split_part",
        "statement_timestamp",
        "string_agg",
        "substr",
        "substring",
        "sum",
        "timezone",
        "to_char",
        "to_json",
        "to_jsonb",
        "to_timestamp",
        "trim",
        "txid_current",
        "unnest",
        "upper",
        "uuid_generate_v4",
    ]
)
_BUILTIN_SCHEMAS = frozenset({None, "pg_catalog"})


def opaque_reason(script: Script) -> str | None:
    """Why the replay cannot know what ``script`` does to the schema (``None``: it can)."""
    for stmt in script.statements:
        reason = _statement_reason(stmt)
        if reason is not None:
            return reason
    return None


def _statement_reason(stmt: Statement) -> str | None:
    kind, body = stmt.kind, stmt.body
    known = _OPAQUE_KINDS.get(kind)
    if known is not None:
        return known
    if kind == "DropStmt":
        if body.get("behavior") == "DROP_CASCADE":
            return "DROP … CASCADE"
        if body.get("removeType") == "OBJECT_SCHEMA":
            return "DROP SCHEMA"
    elif kind == "AlterTableStmt" and _cascades(body):
        return "DROP … CASCADE"
    elif kind == "RenameStmt" and body.get("renameType") == "OBJECT_SCHEMA":
        return "ALTER SCHEMA … RENAME"
    elif kind == "CreateSchemaStmt" and body.get("schemaElts"):
        return "CREATE SCHEMA with its objects"
    elif kind == "TransactionStmt" and str(body.get("kind", "")).startswith(
        "TRANS_STMT_ROLLBACK"
    ):
        # (the replay applies what a ROLLBACK undoes)
        return "ROLLBACK"
    elif kind in _CALLERS and "(" in stmt.text:  # (no call without a parenthesis)
        for name, _ in function_calls(body):
            if name.schema not in _BUILTIN_SCHEMAS or name.name not in _SAFE_FUNCTIONS:
                return f"a call of {name}()"
    return None


def _cascades(body: Mapping[str, Any]) -> bool:
    return any(
        item.get("AlterTableCmd", {}).get("behavior") == "DROP_CASCADE"
        for item in body.get("cmds", ())
    )
