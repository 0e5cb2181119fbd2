"""Quoting for SQL text atomig writes itself (generated migrations), and the reverse: reading
an identifier the way PostgreSQL's lexer reads it.

Pure layers cannot use ``psycopg.sql``; generated migration files are text anyway. Every
identifier goes through :func:`quote_ident`, every value through :func:`quote_literal`;
nothing a user typed is ever pasted into SQL unquoted. The tests round-trip hostile names
(quotes, spaces, unicode, keywords, 63 bytes) through PostgreSQL's own parser.
"""

from __future__ import annotations

import re

from pglast.keywords import UNRESERVED_KEYWORDS

from atomig.sql.facts import QualifiedName

# NAMEDATALEN - 1: PostgreSQL truncates longer identifiers (with only a NOTICE).
MAX_IDENTIFIER_BYTES = 63

_SIMPLE = re.compile(r"[a-z_][a-z0-9_$]*")
# The lexer's identifier characters: ASCII letters, digits, _ and $, and every non-ASCII
# character (scan.l: ident_start [A-Za-z\200-\377_], ident_cont adds [0-9\$]). Written as
# "anything but the other ASCII characters": the same sets, but a class spanning
# U+0080..U+10FFFF took 18 ms to compile at every start-up of every command.
_IDENT_START = re.compile(r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]")
_IDENT_CONT = re.compile(r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*")


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier: bare when PostgreSQL would read it back unchanged,
    double-quoted otherwise (upper case, spaces, quotes, unicode, keywords).

    >>> quote_ident("orders"), quote_ident("Order Items"), quote_ident('a"b')
    ('orders', '"Order Items"', '"a""b"')
    >>> quote_ident("user"), quote_ident("name")
    ('"user"', 'name')

    Raises:
        ValueError: for an empty name or one holding a NUL character (neither can exist).
    """
    if not name or "\x00" in name:
        raise ValueError(f"not a valid identifier: {name!r}")
    # Unreserved keywords are valid bare in every position; all others are quoted.
    if _SIMPLE.fullmatch(name) and (
        name in UNRESERVED_KEYWORDS or not _is_keyword(name)
    ):
        return name
    return '"' + name.replace('"', '""') + '"'


def _is_keyword(name: str) -> bool:
    from pglast.keywords import (
        COL_NAME_KEYWORDS,
        RESERVED_KEYWORDS,
        TYPE_FUNC_NAME_KEYWORDS,
    )

    return (
        name in RESERVED_KEYWORDS
        or name in TYPE_FUNC_NAME_KEYWORDS
        or name in COL_NAME_KEYWORDS
    )


def quote_name(name: QualifiedName) -> str:
    """A possibly schema-qualified name, each part quoted.

    >>> quote_name(QualifiedName("app", "Order Items"))
    'app."Order Items"'
    """
    if name.schema is None:
        return quote_ident(name.name)
    return f"{quote_ident(name.schema)}.{quote_ident(name.name)}"


def quote_literal(text: str) -> str:
    """``text`` as a string constant, right whatever ``standard_conforming_strings`` says.

    >>> quote_literal("it's")
    "'it''s'"
    >>> quote_literal("C:\\\\temp")
    "E'C:\\\\\\\\temp'"

    Raises:
        ValueError: for text holding a NUL character (PostgreSQL text cannot).
    """
    if "\x00" in text:
        raise ValueError("a string constant cannot hold a NUL character")
    body = text.replace("'", "''")
    if "\\" in body:
        # An escape-string constant means the same with or without
        # standard_conforming_strings.
        return "E'" + body.replace("\\", "\\\\") + "'"
    return "'" + body + "'"


def dollar_quote(body: str, tag: str = "atomig") -> str:
    """``body`` between dollar quotes whose tag does not occur in it (function bodies).

    >>> dollar_quote("BEGIN RETURN NEW; END")
    '$atomig$BEGIN RETURN NEW; END$atomig$'
    >>> dollar_quote("x $atomig$ y")
    '$atomig_1$x $atomig$ y$atomig_1$'
    """
    candidate, n = tag, 0
    while f"${candidate}$" in body or body.endswith(f"${candidate}"):
        n += 1
        candidate = f"{tag}_{n}"
    return f"${candidate}${body}${candidate}$"


def identifier_bytes(name: str) -> int:
    """The length PostgreSQL checks against its 63-byte limit (UTF-8 bytes)."""
    return len(name.encode("utf-8"))


def parse_identifiers(text: str) -> list[str]:
    """Read a dotted chain of identifiers as PostgreSQL's lexer does: unquoted names fold to
    lower case (ASCII letters only, as in a UTF-8 database), quoted names are exact.

    >>> parse_identifiers('app."Order Items"')
    ['app', 'Order Items']
    >>> parse_identifiers("Orders")
    ['orders']

    Raises:
        ValueError: with the reason, for anything else (an empty part, an unterminated
            quote, stray characters, a name longer than 63 bytes).
    """
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == '"':
            j, chars = i + 1, []
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise ValueError(f"unterminated quoted identifier in {text!r}")
                chars.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    chars.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            part = "".join(chars)
            if not part:
                raise ValueError(f'empty quoted identifier "" in {text!r}')
        else:
            start = _IDENT_START.match(text, i)
            if start is None:
                where = repr(text[i:]) if i < n else "the end"
                raise ValueError(f"expected an identifier at {where} in {text!r}")
            end = _IDENT_CONT.match(text, i + 1)
            stop = end.end() if end else i + 1
            part = _fold(text[i:stop])
            i = stop
        if identifier_bytes(part) > MAX_IDENTIFIER_BYTES:
            raise ValueError(
                f"identifier {part!r} is {identifier_bytes(part)} bytes long: PostgreSQL "
                f"allows {MAX_IDENTIFIER_BYTES} and would truncate it"
            )
        parts.append(part)
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            return parts
        if text[i] != ".":
            raise ValueError(f"unexpected {text[i:]!r} in {text!r}")
        i += 1


def _fold(word: str) -> str:
    # downcase_identifier(): only ASCII A-Z fold in a multi-byte encoding.
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in word)


def parse_qualified_name(text: str) -> QualifiedName:
    """``name`` or ``schema.name`` as written in SQL.

    >>> parse_qualified_name('app."Order Items"')
    QualifiedName(schema='app', name='Order Items')

    Raises:
        ValueError: for a malformed name or one of more than two parts.
    """
    parts = parse_identifiers(text)
    if len(parts) == 1:
        return QualifiedName(None, parts[0])
    if len(parts) == 2:
        return QualifiedName(parts[0], parts[1])
    raise ValueError(
        f"expected name or schema.name, got {len(parts)} parts in {text!r}"
    )


def parse_column_name(text: str) -> str:
    """One column name as written in SQL (``"Total"`` keeps its case, ``Total`` folds).

    Raises:
        ValueError: for a malformed or qualified name.
    """
    parts = parse_identifiers(text)
    if len(parts) != 1:
        raise ValueError(f"expected a column name, got {text!r}")
    return parts[0]
