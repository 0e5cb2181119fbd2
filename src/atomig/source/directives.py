"""Per-migration directives: ``-- atomig: key=value`` lines in a file's leading comments.

Only the leading comment block is read here (lines that are blank or start with ``--`` before
the first statement). Statement-level directives such as ``-- atomig: backfill`` belong to the
statement that follows them and are read by the statement model (``atomig.sql``); lint
suppressions use their own prefix (``-- atomig-ignore``) and are not directives.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from atomig.errors import SourceError, SourceLocation
from atomig.source.model import Directives
from atomig.units import parse_duration_ms

DIRECTIVE_PREFIX = "atomig:"


def _duration(value: str) -> str:
    parse_duration_ms(value)
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return check


def _positive_int(value: str) -> str:
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


# File-level directives and their validators. The value stays a string; consumers convert it.
FILE_DIRECTIVES: dict[str, Callable[[str], str]] = {
    "lock_timeout": _duration,
    "statement_timeout": _duration,
    "idle_in_transaction_session_timeout": _duration,
    "concurrent_statement_timeout": _duration,
    "on_failure": _choice("rollback", "resume"),
    "retry_max_attempts": _positive_int,
    "retry_budget": _duration,
    # A down file that re-adds dropped columns: PostgreSQL appends them at the end of the
    # table, so `atomig verify` compares the table's columns as a set, not in order.
    "column_order": _choice("restored", "appended"),
}

# Directives that attach to the next statement; read by atomig.sql, skipped here.
STATEMENT_DIRECTIVES = frozenset({"backfill"})


def directive_body(comment_line: str) -> str | None:
    """The text after ``atomig:`` in a ``--`` comment line, or ``None`` if it is not a directive.

    >>> directive_body("-- atomig: lock_timeout=5s")
    'lock_timeout=5s'
    >>> directive_body("-- atomig-ignore: drop-column reason") is None
    True
    >>> directive_body("-- just a comment") is None
    True
    """
    stripped = comment_line.strip()
    if not stripped.startswith("--"):
        return None
    body = stripped[2:].strip()
    if not body.startswith(DIRECTIVE_PREFIX):
        return None
    return body[len(DIRECTIVE_PREFIX) :].strip()


def parse_directives(text: str, path: Path | str) -> Directives:
    """Read and validate the file-level directives of a migration's leading comments.

    Raises:
        SourceError: on an unknown directive, a malformed ``key=value`` or an invalid value,
            naming the file and line.
    """
    settings: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        body = directive_body(stripped)
        if body is None:
            continue
        words = body.split()
        if words and words[0] in STATEMENT_DIRECTIVES:
            continue
        column = line.index(DIRECTIVE_PREFIX) + 1
        where = SourceLocation(str(path), number, column)
        if not words:
            raise SourceError(
                "empty atomig directive",
                location=where,
                hint=_known_hint(),
            )
        for word in words:
            key, sep, value = word.partition("=")
            if key not in FILE_DIRECTIVES:
                raise SourceError(
                    f"unknown directive {key!r}",
                    location=where,
                    hint=_known_hint(),
                )
            if not sep or not value:
                raise SourceError(
                    f"directive {key!r} needs a value: write {key}=VALUE",
                    location=where,
                )
            try:
                settings[key] = FILE_DIRECTIVES[key](value)
            except ValueError as exc:
                raise SourceError(
                    f"invalid value for directive {key!r}: {exc}", location=where
                ) from None
    return Directives(settings)


def _known_hint() -> str:
    known = ", ".join(sorted(FILE_DIRECTIVES))
    statement = ", ".join(sorted(STATEMENT_DIRECTIVES))
    return (
        f"file-level directives: {known}; statement-level (before a statement): "
        f"{statement}. Example: -- atomig: lock_timeout=5s"
    )
