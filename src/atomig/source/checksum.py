"""Content checksums of migration files (the "edited after apply" check uses them).

A checksum is the SHA-256 of the file's text *normalised*: CRLF as LF, whitespace at the
end of each line and blank lines at the end of the file dropped, one final newline. An
editor that adds a final newline or trims trailing spaces on save therefore does not make
an applied (or reviewed) migration look edited; any other change does — a character inside
a statement, and a comment too (comments carry ``-- atomig:`` directives, and a reviewer
approved them). One blind spot, by design: trailing whitespace on a line *inside* a
multi-line string literal is data, yet ignored here.

atomig before this form hashed the text with only CRLF normalised (the *legacy* form).
Both forms are accepted when comparing (:func:`checksum_matches`), so every checksum an
older atomig stored in a ledger or review file keeps matching the unchanged file. For a
file that is already clean (LF, no trailing blanks, one final newline) both forms are the
same digest, so older and newer atomig agree on it.
"""

from __future__ import annotations

# PostgreSQL's scanner whitespace (besides the newline that splits lines).
_LINE_END_BLANKS = " \t\r\f\v"


def normalise(text: str) -> str:
    """The text a checksum covers: line-end whitespace and trailing blank lines dropped.

    >>> normalise("SELECT 1;  \\r\\n\\n\\n")
    'SELECT 1;\\n'
    >>> normalise("SELECT 1;") == normalise("SELECT 1;\\n")
    True
    >>> normalise(" \\n")
    ''
    """
    lines = [line.rstrip(_LINE_END_BLANKS) for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def checksum_text(text: str) -> str:
    """SHA-256 hex digest of :func:`normalise` (text): what atomig records today.

    >>> checksum_text("SELECT 1;\\r\\n") == checksum_text("SELECT 1;\\n")
    True
    >>> checksum_text("SELECT 1;") == checksum_text("SELECT 1;  \\n\\n")
    True
    >>> checksum_text("SELECT 1;") == checksum_text("SELECT 2;")
    False
    >>> len(checksum_text(""))
    64
    """
    return _sha256(normalise(text))


def legacy_checksum(text: str) -> str:
    """The digest older atomig recorded: the text with only CRLF normalised.

    >>> legacy_checksum("SELECT 1;\\n") == checksum_text("SELECT 1;\\n")
    True
    >>> legacy_checksum("SELECT 1;") == checksum_text("SELECT 1;")
    False
    """
    return _sha256(text.replace("\r\n", "\n"))


def accepted_checksums(text: str) -> tuple[str, ...]:
    """Every recorded checksum that means "this text, unchanged": today's form first.

    >>> len(accepted_checksums("SELECT 1;\\n")), len(accepted_checksums("SELECT 1;"))
    (1, 2)
    """
    current, legacy = checksum_text(text), legacy_checksum(text)
    return (current,) if legacy == current else (current, legacy)


def checksum_matches(recorded: str, text: str) -> bool:
    """True when ``recorded`` (today's or the legacy form) is a checksum of ``text`` up to
    whitespace at line ends and blank lines at the end.

    >>> checksum_matches(legacy_checksum("SELECT 1;"), "SELECT 1;")
    True
    >>> checksum_matches(checksum_text("SELECT 1;"), "SELECT 1;\\n\\n")
    True
    >>> checksum_matches(checksum_text("SELECT 1;"), "SELECT 1 ;")
    False
    """
    return recorded == checksum_text(text) or recorded == legacy_checksum(text)


def same_as_recorded(text: str, recorded: str, recorded_text: str | None) -> bool:
    """True when ``text`` is the file a ledger row recorded, up to line-end whitespace.

    ``recorded_text`` is the text the ledger stored with ``recorded``: an older atomig's
    legacy checksum of a file without a final newline matches no form of the same file
    saved with one, but the stored text shows the difference is only whitespace. It counts
    only when ``recorded`` is its checksum (the ledger row is consistent).

    >>> old = "SELECT 1;"
    >>> same_as_recorded(old + "\\n", legacy_checksum(old), old)
    True
    >>> same_as_recorded("SELECT 2;\\n", legacy_checksum(old), old)
    False
    >>> same_as_recorded(old + "\\n", legacy_checksum(old), "SELECT 2;")
    False
    """
    if checksum_matches(recorded, text):
        return True
    return (
        recorded_text is not None
        and checksum_matches(recorded, recorded_text)
        and normalise(recorded_text) == normalise(text)
    )


def _sha256(text: str) -> str:
    # hashlib loads OpenSSL (3 ms): only commands that compare checksums pay for it.
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()
