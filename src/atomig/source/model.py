"""Value objects for migrations found on disk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atomig.source.checksum import checksum_matches


@dataclass(frozen=True, slots=True, order=True)
class MigrationId:
    """Identity of a migration: its version (as written in the file name) and slug.

    ``order_key`` is the version normalised to 14 digits (``YYYYMMDDHHMMSS``) so that both
    accepted spellings sort numerically together; two files with the same key are duplicates.
    """

    order_key: int
    version: str = field(compare=False)
    slug: str = field(compare=False)

    @property
    def name(self) -> str:
        """``<version>_<slug>``: the stem shared by the up and down files."""
        return f"{self.version}_{self.slug}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One SQL file of a migration: its path, text and checksum (today's form, see
    :mod:`atomig.source.checksum`)."""

    path: Path
    text: str
    checksum: str

    def matches(self, recorded: str) -> bool:
        """True when ``recorded`` (as a ledger or review file holds it, in today's or the
        legacy form) is a checksum of this file."""
        return recorded == self.checksum or checksum_matches(recorded, self.text)


@dataclass(frozen=True, slots=True)
class Directives:
    """Per-migration settings read from ``-- atomig: key=value`` leading comments.

    ``settings`` holds validated raw values by directive name (for example
    ``{"lock_timeout": "5s"}``); typed accessors live with their consumers.
    """

    settings: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        """The value of directive ``name``, or ``None`` when the file does not set it."""
        return self.settings.get(name)


@dataclass(frozen=True, slots=True)
class Migration:
    """An up/down pair of SQL files and the directives of each."""

    id: MigrationId
    up: MigrationFile
    down: MigrationFile
    directives: Directives
    down_directives: Directives = field(default_factory=Directives)

    def file(self, direction: str) -> MigrationFile:
        """The ``"up"`` or ``"down"`` file."""
        return self.up if direction == "up" else self.down

    def directives_for(self, direction: str) -> Directives:
        """The directives of the ``"up"`` or ``"down"`` file."""
        return self.directives if direction == "up" else self.down_directives

    @property
    def version(self) -> str:
        """The version as written in the file name."""
        return self.id.version

    @property
    def slug(self) -> str:
        """The human part of the file name."""
        return self.id.slug
