"""Token-level facts the parse tree cannot give (the scanner has already changed them)."""

from __future__ import annotations

import re

from pglast import parser as _pg

NAMEDATALEN = 64
# A cheap pre-filter: only text with a run of 64+ non-separator characters can hold one.
_LONG_RUN = re.compile(r"[^\s,;()]{" + str(NAMEDATALEN) + ",}")


def long_identifiers(text: str) -> list[tuple[int, str]]:
    """``(character offset, identifier)`` of identifiers over 63 bytes in ``text``.

    PostgreSQL's scanner truncates them (with a NOTICE) before the parser sees them, so the
    parse tree only holds the truncated name.

    >>> long_identifiers("CREATE TABLE " + "x" * 64 + " ()")
    [(13, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')]
    """
    if len(text) < NAMEDATALEN or not _LONG_RUN.search(text):
        return []
    try:
        tokens = _pg.scan(text)
    except Exception:  # an unparsable statement never reaches the rules
        return []
    data = text.encode("utf-8")
    found = []
    for token in tokens:
        if token.name != "IDENT" or token.end - token.start + 1 < NAMEDATALEN:
            continue
        raw = data[token.start : token.end + 1].decode("utf-8")
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw
        if len(name.encode("utf-8")) >= NAMEDATALEN:
            found.append((len(data[: token.start].decode("utf-8")), name))
    return found
