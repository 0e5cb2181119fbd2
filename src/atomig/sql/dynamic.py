"""Dynamic SQL built by string concatenation inside PL/pgSQL bodies (DO blocks, functions).

``EXECUTE 'ALTER TABLE ' || name`` and ``EXECUTE format('… %s …', name)`` splice a value
into SQL text unquoted: an identifier with a capital letter, a space or a quote breaks the
statement, and a value from a table becomes an injection. ``format('%I')`` / ``'%L'``,
``quote_ident()`` arguments and ``EXECUTE … USING`` are the safe forms. The body is
tokenised with PostgreSQL's own scanner (PL/pgSQL shares its lexer), so string literals,
comments and dollar quotes are never mistaken for operators.
"""

from __future__ import annotations

from dataclasses import dataclass

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
