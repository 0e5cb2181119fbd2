"""Source positions: character offsets to 1-based line/column, and back to text snippets."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a file. Lines and columns are 1-based; ``end_column`` is exclusive.

    Columns count characters (not bytes), as editors do.
    """

    line: int
    column: int
    end_line: int
    end_column: int


class LineIndex:
    """Maps character offsets of one text to line/column positions (built once per file).

    >>> index = LineIndex("ab\\ncd")
    >>> index.position(0), index.position(3), index.position(4)
    ((1, 1), (2, 1), (2, 2))
    """

    __slots__ = ("_starts",)

    def __init__(self, text: str) -> None:
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self._starts = starts

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based ``(line, column)`` of a 0-based character offset."""
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def span(self, start: int, end: int) -> Span:
        """The span of characters ``[start, end)``."""
        line, column = self.position(start)
        end_line, end_column = self.position(max(start, end - 1))
        return Span(line, column, end_line, end_column + 1)


class ByteToChar:
    """Converts UTF-8 byte offsets (libpg_query's JSON locations) to character offsets.

    Offsets must be asked in non-decreasing order for the incremental fast path; any order
    works. ASCII text is the identity.

    >>> ByteToChar("é;x").offset(3)
    2
    """

    __slots__ = ("_ascii", "_data", "_last_byte", "_last_char")

    def __init__(self, text: str) -> None:
        self._ascii = text.isascii()
        self._data = b"" if self._ascii else text.encode("utf-8")
        self._last_byte = 0
        self._last_char = 0

    def offset(self, byte_offset: int) -> int:
        """The character offset of ``byte_offset``."""
        if self._ascii:
            return byte_offset
        if byte_offset < self._last_byte:
            self._last_byte = self._last_char = 0
        chunk = self._data[self._last_byte : byte_offset]
        self._last_char += len(chunk.decode("utf-8", errors="replace"))
        self._last_byte = byte_offset
        return self._last_char
