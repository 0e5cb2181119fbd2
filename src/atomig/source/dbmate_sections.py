"""The two sections of a dbmate migration: ``-- migrate:up`` and ``-- migrate:down``.

dbmate keeps a migration's up and down in one file, each section opened by a comment line
(``-- migrate:up``, optionally followed by options such as ``transaction:false``). The
marker lines are found line by line, as dbmate finds them (a line starting with ``--``,
then ``migrate:up`` or ``migrate:down``, then the end of the line or blanks and options);
the SQL itself is never read here. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

_UP, _DOWN = "migrate:up", "migrate:down"


@dataclass(frozen=True, slots=True)
class DbmateSections:
    """Where a dbmate file's down sections lie, and how dbmate runs each direction.

    Each marker line opens a section that runs to the next marker line or the end of the
    file; ``downs`` are the ``-- migrate:down`` ones (empty: the file has no down), and
    everything else is the up (dbmate refuses SQL before the first marker). dbmate runs a
    section in a transaction unless its marker says ``transaction:false`` (for several
    sections of one direction, the first one's option is kept).
    """

    downs: tuple[tuple[int, int], ...]
    up_in_transaction: bool
    down_in_transaction: bool

    def up_text(self, text: str) -> str:
        """``text`` with the down sections blanked (every position unchanged)."""
        return _keep(text, self.downs, keep=False)

    def down_text(self, text: str) -> str | None:
        """``text`` with everything but the down sections blanked (``None``: no down)."""
        if not self.downs:
            return None
        return _keep(text, self.downs, keep=True)


def _keep(text: str, spans: tuple[tuple[int, int], ...], *, keep: bool) -> str:
    """``text`` with ``spans`` kept and the rest blanked, or the reverse."""
    out, at = [], 0
    for start, end in spans:
        outside = text[at:start]
        out.append(blank(outside) if keep else outside)
        inside = text[start:end]
        out.append(inside if keep else blank(inside))
        at = end
    out.append(blank(text[at:]) if keep else text[at:])
    return "".join(out)


def blank(text: str) -> str:
    """``text`` with every character but line breaks made a space, so that lines and
    columns after it stay where they were.

    >>> blank("a;\\r\\nbc")
    '  \\r\\n  '
    """
    return "".join(c if c in "\r\n" else " " for c in text)


def _marker(line: str) -> tuple[str, dict[str, str]] | None:
    """``("up" | "down", options)`` when ``line`` is a dbmate marker line.

    >>> _marker("-- migrate:up transaction:false")
    ('up', {'transaction': 'false'})
    >>> _marker("--migrate:down") is not None, _marker("-- migrate:upgrade")
    (True, None)
    """
    if not line.startswith("--"):
        return None
    rest = line[2:].lstrip()
    for name, word in (("up", _UP), ("down", _DOWN)):
        if rest.startswith(word):
            after = rest[len(word) :]
            if after and not after[0].isspace():
                return None
            options = {}
            for pair in after.split():
                key, sep, value = pair.partition(":")
                if sep and ":" not in value:
                    options[key] = value
            return name, options
    return None


def dbmate_sections(text: str) -> DbmateSections | None:
    """The sections of a dbmate migration; ``None`` when ``text`` has no
    ``-- migrate:up`` line (dbmate refuses such a file: it is no dbmate migration).

    >>> found = dbmate_sections("-- migrate:up\\nSELECT 1;\\n-- migrate:down\\nSELECT 2;\\n")
    >>> found.downs, found.up_in_transaction
    (((24, 50),), True)
    """
    markers: list[tuple[int, str, dict[str, str]]] = []
    offset = 0
    for line in text.split("\n"):
        found = _marker(line.rstrip("\r"))
        if found is not None:
            markers.append((offset, *found))
        offset += len(line) + 1
    ups = [options for _, name, options in markers if name == "up"]
    if not ups:
        return None
    ends = [start for start, _, _ in markers[1:]] + [len(text)]
    downs = tuple(
        (start, end)
        for (start, name, _), end in zip(markers, ends, strict=True)
        if name == "down"
    )
    down_options = next((o for _, name, o in markers if name == "down"), {})
    return DbmateSections(
        downs,
        ups[0].get("transaction") != "false",
        down_options.get("transaction") != "false",
    )
