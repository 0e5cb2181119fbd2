"""Suppressions written in the migration files.

* ``-- atomig-ignore: rule-id[, rule-id] reason`` in the comments right before a statement
  suppresses those rules for that statement;
* ``-- atomig-ignore-file: rule-id[, rule-id] reason`` before the first statement suppresses
  them for the whole file.

A suppression needs a reason (``invalid-ignore`` otherwise) and must suppress something
(``unused-ignore`` otherwise), so stale ones do not pile up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from atomig.sql.parse import Comment, Script, Statement

# Rule ids are kebab-case; one written in capitals still names the rule.
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z", re.IGNORECASE)
STATEMENT_PREFIX = "atomig-ignore:"
FILE_PREFIX = "atomig-ignore-file:"


@dataclass(slots=True)
class Ignore:
    """One suppression comment."""

    rules: tuple[str, ...]
    reason: str
    line: int
    column: int
    end_column: int
    file_level: bool
    used: set[str] = field(default_factory=set)


def parse_ignore(comment: Comment, prefix: str) -> Ignore | None:
    """The suppression in ``comment`` if it is one of ``prefix``.

    >>> c = Comment("-- atomig-ignore: drop-column, rename-column old code is gone", 3, 1)
    >>> found = parse_ignore(c, STATEMENT_PREFIX)
    >>> found.rules, found.reason
    (('drop-column', 'rename-column'), 'old code is gone')
    """
    text = comment.text
    if not text.startswith("--"):
        return None
    body = text[2:].strip()
    if not body.startswith(prefix):
        return None
    words = body[len(prefix) :].replace(",", ", ").split()
    rules: list[str] = []
    expect_more = True
    index = 0
    while index < len(words) and expect_more:
        word = words[index]
        if word == ",":
            index += 1
            continue
        candidate = word.rstrip(",")
        if not _ID.match(candidate):
            break
        rules.append(candidate.lower())
        index += 1
        expect_more = word.endswith(",") or (index < len(words) and words[index] == ",")
    reason = " ".join(w for w in words[index:] if w != ",").strip()
    return Ignore(
        tuple(rules),
        reason,
        comment.line,
        comment.column,
        comment.column + len(text.rstrip()),
        prefix == FILE_PREFIX,
    )


def statement_ignores(stmt: Statement) -> list[Ignore]:
    """The ``atomig-ignore`` comments before a statement."""
    found = []
    for comment in stmt.comments:
        ignore = parse_ignore(comment, STATEMENT_PREFIX)
        if ignore is not None:
            found.append(ignore)
    return found


def file_ignores(script: Script) -> list[Ignore]:
    """The ``atomig-ignore-file`` comments at the top of a file."""
    found = []
    for comment in script.leading_comments:
        ignore = parse_ignore(comment, FILE_PREFIX)
        if ignore is not None:
            found.append(ignore)
    return found
