"""The SQL statements a PL/pgSQL body runs, as far as its text tells.

A ``DO`` block's static SQL and its ``EXECUTE`` of constant strings, read with PostgreSQL's
own PL/pgSQL parser (dynamic SQL built at run time is not known), for the rules that judge
what a block does (DDL inside DO, its COMMIT and ROLLBACK).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pglast import parser as _pg


@dataclass(frozen=True, slots=True)
class EmbeddedSql:
    """One SQL statement a PL/pgSQL body runs: static SQL, or ``EXECUTE`` of a constant
    string; ``line`` is its line in the body's statement (1-based)."""

    text: str
    line: int


def embedded_sql(statement_text: str) -> list[EmbeddedSql]:
    """The SQL statements a ``DO`` block runs, as far as its text tells (dynamic SQL built
    at run time is not known; a body PL/pgSQL cannot compile yields nothing), its
    ``COMMIT`` and ``ROLLBACK`` included.

    >>> [e.text for e in embedded_sql(
    ...     "DO $$ BEGIN IF true THEN CREATE INDEX i ON t (a); END IF;"
    ...     " EXECUTE 'DROP INDEX j'; EXECUTE format('DROP INDEX %I', 'k'); COMMIT; END $$")]
    ['CREATE INDEX i ON t (a)', 'DROP INDEX j', 'COMMIT']
    """
    try:
        tree = json.loads(_pg.parse_plpgsql_json(statement_text))
    except Exception:  # not PL/pgSQL, or PostgreSQL would reject the body anyway
        return []
    found: list[EmbeddedSql] = []
    _collect(tree, found)
    return found


def _collect(node: Any, found: list[EmbeddedSql]) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, found)
        return
    if not isinstance(node, dict):
        return
    for kind, value in node.items():
        if kind == "PLpgSQL_stmt_execsql":
            query = value.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query")
            if query:
                found.append(EmbeddedSql(query, value.get("lineno", 1)))
        elif kind in _TRANSACTION_CONTROL:
            # PL/pgSQL's own COMMIT / ROLLBACK (PostgreSQL 11+), run as the SQL statement.
            found.append(
                EmbeddedSql(_TRANSACTION_CONTROL[kind], value.get("lineno", 1))
            )
        elif kind == "PLpgSQL_stmt_dynexecute":
            query = value.get("query", {}).get("PLpgSQL_expr", {}).get("query", "")
            constant = _constant_string(query)
            if constant:
                found.append(EmbeddedSql(constant, value.get("lineno", 1)))
        else:
            _collect(value, found)


_TRANSACTION_CONTROL = {
    "PLpgSQL_stmt_commit": "COMMIT",
    "PLpgSQL_stmt_rollback": "ROLLBACK",
}


def _constant_string(expression: str) -> str | None:
    """The value of a PL/pgSQL expression that is one string literal."""
    try:
        tree = json.loads(_pg.parse_sql_json(f"SELECT {expression}"))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
        value = target[0]["ResTarget"]["val"]["A_Const"]["sval"]["sval"]
    except (_pg.ParseError, KeyError, IndexError, TypeError):
        return None
    return value if len(target) == 1 and isinstance(value, str) else None
