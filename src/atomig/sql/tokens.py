"""Token-level facts the parse tree cannot give (the scanner has already changed them)."""

from __future__ import annotations

import re
from functools import lru_cache

from pglast import parser as _pg

NAMEDATALEN = 64
# A cheap pre-filter: only text with a run of 64+ non-separator bytes can hold one (a
# character takes at most 4 bytes in UTF-8).
_LONG_RUN = re.compile(r"[^\s,;()]{" + str(NAMEDATALEN) + ",}")
_LONG_RUN_UTF8 = re.compile(r"[^\s,;()]{" + str(NAMEDATALEN // 4) + ",}")


def long_identifiers(text: str) -> list[tuple[int, str]]:
    """``(character offset, identifier)`` of identifiers over 63 bytes in ``text``.

    PostgreSQL's scanner truncates them (with a NOTICE) before the parser sees them, so the
    parse tree only holds the truncated name.

    >>> long_identifiers("CREATE TABLE " + "x" * 64 + " ()")
    [(13, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')]
    """
    ascii_only = text.isascii()
    if ascii_only and (len(text) < NAMEDATALEN or not _LONG_RUN.search(text)):
        return []
    if not ascii_only and not _LONG_RUN_UTF8.search(text):
        return []
    try:
        tokens = _pg.scan(text)
    except Exception:  # an unparsable statement never reaches the rules
        return []
    found = []
    # pglast's scanner reports character offsets (it converts libpg_query's byte offsets).
    for token in tokens:
        if token.name != "IDENT" or 4 * (token.end - token.start + 1) < NAMEDATALEN:
            continue
        raw = text[token.start : token.end + 1]
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw
        if len(name.encode("utf-8")) >= NAMEDATALEN:
            found.append((token.start, name))
    return found


# PostgreSQL folds unquoted identifiers to lower case for ASCII letters only.
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def name_offsets(text: str, name: str) -> list[int]:
    """Character offsets of the tokens of ``text`` that spell the identifier ``name``:
    quoted, or unquoted and folded (a keyword used as a name included).

    >>> name_offsets('ALTER TABLE t DROP COLUMN name, DROP COLUMN "Type", DROP a', "Type")
    [44]
    >>> name_offsets("ALTER TABLE Name DROP COLUMN name", "name")
    [12, 29]
    """
    return [start for start, spelled in _identifiers(text) if spelled == name]


@lru_cache(maxsize=64)
def _identifiers(text: str) -> tuple[tuple[int, str], ...]:
    """``(character offset, name as PostgreSQL reads it)`` of every identifier-like token
    of a statement. Cached: several rules ask about the same statement in a row, and the
    scan builds a Python object per token."""
    try:
        tokens = _pg.scan(text)
    except Exception:  # an unparsable statement never reaches the rules
        return ()
    found = []
    for token in tokens:
        if token.name != "IDENT" and token.kind == "NO_KEYWORD":
            continue  # a string, number or operator
        raw = text[token.start : token.end + 1]
        spelled = (
            raw[1:-1].replace('""', '"') if raw[:1] == '"' else raw.translate(_FOLD)
        )
        found.append((token.start, spelled))
    return tuple(found)


# The scanner's names for the punctuation that delimits a list element.
_OPEN, _CLOSE, _COMMA, _SEMICOLON = "ASCII_40", "ASCII_41", "ASCII_44", "ASCII_59"
# Characters scanned first: most elements end within them, and the scanner's cost grows
# with the text it is given (about 0.6 µs a token), not with what the caller reads of it.
_WINDOW = 160


def element_end(text: str, offset: int) -> int | None:
    """The character offset just past the list element of ``text`` that starts at
    ``offset`` (a column definition, a constraint, a subcommand, a relation of a list):
    it ends before the first comma or closing parenthesis outside its own parentheses, or
    at the end of the statement. ``None`` when the text there does not scan.

    A finding points at such an element; underlining it, rather than the rest of the
    statement, keeps the findings of one line apart. ``offset`` is where a parse node
    starts, so the tokens of the text from there are those of the whole statement.

    >>> text = "CREATE TABLE u (id serial PRIMARY KEY, n numeric(3, 2) CHECK (n > 0))"
    >>> text[16 : element_end(text, 16)]
    'id serial PRIMARY KEY'
    >>> text[39 : element_end(text, 39)]
    'n numeric(3, 2) CHECK (n > 0)'
    >>> text = "ALTER TABLE t ALTER COLUMN a TYPE text"
    >>> text[27 : element_end(text, 27)]
    'a TYPE text'
    >>> long = "CREATE TABLE u (a text DEFAULT '" + "x" * 300 + "', b int)"
    >>> element_end(long, 16) == long.index(", b")
    True
    """
    rest = text[offset:]
    if len(rest) > _WINDOW:
        # A window may cut a token: only a delimiter found before the window's last
        # token is trusted; anything else (no delimiter, a quote left open) scans it all.
        tokens = _punctuated(rest[:_WINDOW])
        end = _delimited(tokens[:-1]) if tokens else None
        if end is not None and end[1]:
            return offset + end[0]
    end = _delimited(_punctuated(rest))
    return None if end is None else offset + end[0]


def _delimited(tokens: tuple[tuple[int, int, str], ...]) -> tuple[int, bool] | None:
    """Where the element the tokens start ends, and whether a delimiter ended it
    (``False``: the tokens ran out first)."""
    end = None
    depth = 0
    for _, last, name in tokens:
        if name == _OPEN:
            depth += 1
        elif name == _CLOSE:
            if depth == 0:
                return (end, True) if end is not None else None
            depth -= 1
        elif depth == 0 and name in (_COMMA, _SEMICOLON):
            return (end, True) if end is not None else None
        end = last + 1
    return None if end is None else (end, False)


@lru_cache(maxsize=16)
def _punctuated(text: str) -> tuple[tuple[int, int, str], ...]:
    """``(start, inclusive end, scanner name)`` of each token of ``text``. Cached: several
    findings often point at one element (a serial key column draws two)."""
    try:
        return tuple((t.start, t.end, t.name) for t in _pg.scan(text))
    except Exception:  # an unparsable text: the caller falls back
        return ()
