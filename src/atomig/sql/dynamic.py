"""Dynamic SQL built by string concatenation inside PL/pgSQL bodies (DO blocks, functions).

``EXECUTE 'ALTER TABLE ' || name`` and ``EXECUTE format('… %s …', name)`` splice a value
into SQL text unquoted: an identifier with a capital letter, a space or a quote breaks the
statement, and a value from a table becomes an injection. ``format('%I')`` / ``'%L'``,
``quote_ident()`` arguments and ``EXECUTE … USING`` are the safe forms. The body is
tokenised with PostgreSQL's own scanner (PL/pgSQL shares its lexer), so string literals,
comments and dollar quotes are never mistaken for operators.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pglast import parser as _pg

_ENDS = frozenset({"ASCII_59", "USING", "INTO"})


@dataclass(frozen=True, slots=True)
class DynamicSqlHazard:
    """One ``EXECUTE`` whose SQL text is concatenated: ``offset`` is a character offset in
    the body, ``how`` is ``"||"`` or ``"format %s"``."""

    offset: int
    how: str


def dynamic_sql_hazards(body: str) -> list[DynamicSqlHazard]:
    """The ``EXECUTE`` statements of a PL/pgSQL body that build SQL by concatenation.

    >>> [h.how for h in dynamic_sql_hazards("BEGIN EXECUTE 'DROP TABLE ' || t; END")]
    ['||']
    >>> dynamic_sql_hazards("BEGIN EXECUTE format('DROP TABLE %I', t); END")
    []
    """
    if "execute" not in body.lower():
        return []
    try:
        tokens = _pg.scan(body)
    except Exception:  # an unterminated literal in a body PostgreSQL will reject anyway
        return []
    found: list[DynamicSqlHazard] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.name != "EXECUTE":
            continue
        start = token.start
        depth = 0
        how = None
        while index < len(tokens):
            inner = tokens[index]
            if inner.name == "ASCII_40":
                depth += 1
            elif inner.name == "ASCII_41":
                depth -= 1
            elif depth <= 0 and inner.name in _ENDS:
                break
            elif inner.name == "Op" and body_text(body, inner) == "||":
                how = how or "||"
            elif (
                inner.name == "FORMAT"
                and index + 2 < len(tokens)
                and tokens[index + 1].name == "ASCII_40"
                and tokens[index + 2].name == "SCONST"
                and "%s" in body_text(body, tokens[index + 2])
            ):
                how = how or "format %s"
            index += 1
        if how is not None:
            found.append(DynamicSqlHazard(start, how))
    return found


def body_text(body: str, token: _pg.Token) -> str:
    """The text of a scanner token (pglast reports character offsets)."""
    return body[token.start : token.end + 1]


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
