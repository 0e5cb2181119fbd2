"""The review gate's record: ``migrations/atomig.reviewed``, committed with the code.

One line per approval, tab-separated — the migration, the SHA-256 of its up and down files
(as :func:`~atomig.source.checksum.checksum_text` computes them: line-end whitespace does
not count; the legacy form of older atomig is accepted), when, and who — so that a
diff shows exactly what was approved and two branches approving different migrations merge
cleanly (lines are kept sorted by migration). An approval covers the files whose checksums
it holds: any edit afterwards, or a hand-made checksum that does not match, makes the
migration "changed since review" again. Pure: parsing, rendering and the verdicts; the api
reads and writes the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from atomig.errors import SourceError, SourceLocation

REVIEW_FILE = "atomig.reviewed"
HEADER = (
    "# atomig review approvals: one line per approval, written by\n"
    "#   atomig review approve VERSION --by NAME\n"
    "# Commit this file with the migrations. An approval covers the files whose SHA-256\n"
    "# checksums it holds; an edit afterwards needs a new review.\n"
    "# migration\tup_sha256\tdown_sha256\treviewed_at\treviewer\n"
)
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True, order=True)
class Approval:
    """One reviewer's approval of one migration's two files."""

    migration: str
    up: str
    down: str
    at: datetime
    by: str

    def line(self) -> str:
        """The approval as a line of the file."""
        at = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return "\t".join((self.migration, self.up, self.down, at, self.by))

    def covers(self, up: Sequence[str], down: Sequence[str]) -> bool:
        """True when it approved these files: ``up`` and ``down`` are the checksums that
        mean each file unchanged (:func:`~atomig.source.checksum.accepted_checksums`:
        today's form, and the legacy form an older atomig wrote)."""
        return self.up in up and self.down in down


class Verdict(Enum):
    """Where a migration stands with its reviews."""

    REVIEWED = "reviewed"
    UNREVIEWED = "unreviewed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class ReviewState:
    """A migration's verdict and the approvals behind it.

    ``changed`` names the files that differ from the latest approval (``up``, ``down``).
    """

    migration: str
    verdict: Verdict
    approvals: tuple[Approval, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Reviewed, with today's files."""
        return self.verdict is Verdict.REVIEWED

    def describe(self) -> str:
        """One line for humans: ``reviewed by alice at …`` / ``changed since …``."""
        if self.verdict is Verdict.UNREVIEWED:
            return "not reviewed"
        latest = self.approvals[-1]
        when = latest.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if self.verdict is Verdict.REVIEWED:
            names = ", ".join(dict.fromkeys(a.by for a in self.approvals))
            return f"reviewed by {names} ({when})"
        files = " and ".join(f"{f} file" for f in self.changed)
        return (
            f"changed since reviewed by {latest.by} ({when}): the {files} differ"
            + ("s" if len(self.changed) == 1 else "")
            + " from the approved checksum"
        )

    def to_dict(self) -> dict[str, object]:
        """The ``--json`` shape."""
        return {
            "migration": self.migration,
            "state": self.verdict.value,
            "changed": list(self.changed),
            "approvals": [
                {"by": a.by, "at": a.at.isoformat(), "up": a.up, "down": a.down}
                for a in self.approvals
            ],
        }


def parse_review_file(text: str, path: str = REVIEW_FILE) -> list[Approval]:
    """The approvals of a review file.

    Raises:
        SourceError: a malformed line, naming the file and line.
    """
    found: list[Approval] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        where = SourceLocation(path, number, 1)
        if len(parts) != 5:
            raise SourceError(
                f"expected 5 tab-separated fields, found {len(parts)}",
                location=where,
                hint="lines are written by `atomig review approve`; restore the file from "
                "version control or approve again",
            )
        migration, up, down, at_text, by = parts
        if not _SHA.fullmatch(up) or not _SHA.fullmatch(down):
            raise SourceError(
                "a checksum is not 64 lower-case hex digits", location=where
            )
        try:
            at = datetime.strptime(at_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise SourceError(
                f"bad time {at_text!r} (expected YYYY-MM-DDTHH:MM:SSZ)", location=where
            ) from None
        if not migration or not by.strip():
            raise SourceError("a line needs a migration and a reviewer", location=where)
        found.append(Approval(migration, up, down, at, by))
    return found


def render_review_file(approvals: Iterable[Approval]) -> str:
    """The file's text: the header, then one line per approval, sorted."""
    lines = sorted(set(approvals), key=lambda a: (a.migration, a.at, a.by))
    return HEADER + "".join(a.line() + "\n" for a in lines)


def review_state(
    migration: str,
    up: Sequence[str],
    down: Sequence[str],
    approvals: Sequence[Approval],
) -> ReviewState:
    """The verdict for a migration whose files have the accepted checksums ``up`` and
    ``down`` (:func:`~atomig.source.checksum.accepted_checksums` of each file)."""
    mine = tuple(sorted((a for a in approvals if a.migration == migration), key=_when))
    if not mine:
        return ReviewState(migration, Verdict.UNREVIEWED)
    current = tuple(a for a in mine if a.covers(up, down))
    if current:
        return ReviewState(migration, Verdict.REVIEWED, current)
    latest = mine[-1]
    changed = tuple(
        name
        for name, old, new in (("up", latest.up, up), ("down", latest.down, down))
        if old not in new
    )
    return ReviewState(migration, Verdict.CHANGED, mine, changed)


def approve(
    approvals: Sequence[Approval],
    migration: str,
    up: Sequence[str],
    down: Sequence[str],
    by: str,
    at: datetime,
) -> tuple[list[Approval], bool]:
    """The approvals after ``by`` approves these files; False when it was already so.

    ``up`` and ``down`` are each file's accepted checksums, today's form first (the one
    recorded). Approvals of older versions of the files are dropped (version control
    keeps them).
    """
    kept = [a for a in approvals if a.migration != migration or a.covers(up, down)]
    if any(a.migration == migration and a.by == by for a in kept):
        return kept, len(kept) != len(approvals)
    return [*kept, Approval(migration, up[0], down[0], at, by)], True


def review_file_path(migrations_dir: Path) -> Path:
    """Where the approvals of a migrations directory live."""
    return migrations_dir / REVIEW_FILE


def _when(approval: Approval) -> datetime:
    return approval.at
