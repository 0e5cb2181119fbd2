"""Content checksums of migration files (the "edited after apply" check uses them)."""

from __future__ import annotations

import hashlib


def checksum_text(text: str) -> str:
    """SHA-256 hex digest of a file's text with line endings normalised to ``\\n``.

    Normalising CRLF keeps a checkout on Windows (or with ``core.autocrlf``) from looking
    like an edit of every applied migration.

    >>> checksum_text("SELECT 1;\\r\\n") == checksum_text("SELECT 1;\\n")
    True
    >>> len(checksum_text(""))
    64
    """
    normalised = text.replace("\r\n", "\n")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
