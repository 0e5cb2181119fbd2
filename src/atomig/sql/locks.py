"""Table-level lock modes, their conflicts, and what each one blocks.

Values mirror PostgreSQL's ``LOCKMODE`` numbering (``lockdefs.h``), names are the ones
``pg_locks.mode`` reports. Source: postgresql.org/docs/current/explicit-locking.html
("Conflicting Lock Modes").
"""

from __future__ import annotations

from enum import IntEnum


class LockMode(IntEnum):
    """A table-level lock mode, ordered by strength."""

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def pg_name(self) -> str:
        """The name as ``pg_locks.mode`` prints it, e.g. ``AccessExclusiveLock``."""
        return "".join(part.capitalize() for part in self.name.split("_")) + "Lock"

    @property
    def label(self) -> str:
        """The name as the PostgreSQL docs print it, e.g. ``ACCESS EXCLUSIVE``."""
        return self.name.replace("_", " ")

    @classmethod
    def from_pg_name(cls, name: str) -> LockMode:
        """Parse a ``pg_locks.mode`` value.

        >>> LockMode.from_pg_name("ShareUpdateExclusiveLock")
        <LockMode.SHARE_UPDATE_EXCLUSIVE: 4>
        """
        for mode in cls:
            if mode.pg_name == name:
                return mode
        raise ValueError(f"unknown lock mode {name!r}")

    def conflicts_with(self, other: LockMode) -> bool:
        """True when a session holding ``other`` makes a request for ``self`` wait.

        >>> LockMode.ACCESS_EXCLUSIVE.conflicts_with(LockMode.ACCESS_SHARE)
        True
        >>> LockMode.SHARE_UPDATE_EXCLUSIVE.conflicts_with(LockMode.ROW_EXCLUSIVE)
        False
        """
        return other in _CONFLICTS[self]

    @property
    def blocks_reads(self) -> bool:
        """Plain SELECT (ACCESS SHARE) waits behind this lock."""
        return self.conflicts_with(LockMode.ACCESS_SHARE)

    @property
    def blocks_writes(self) -> bool:
        """INSERT/UPDATE/DELETE (ROW EXCLUSIVE) wait behind this lock."""
        return self.conflicts_with(LockMode.ROW_EXCLUSIVE)

    @property
    def impact(self) -> str:
        """A short description of what waits behind this lock."""
        if self.blocks_reads:
            return "blocks reads and writes"
        if self.blocks_writes:
            return "blocks writes"
        if self.conflicts_with(LockMode.SHARE_UPDATE_EXCLUSIVE):
            return "blocks other schema changes and VACUUM"
        return "blocks almost nothing"


_M = LockMode
_CONFLICTS: dict[LockMode, frozenset[LockMode]] = {
    _M.ACCESS_SHARE: frozenset({_M.ACCESS_EXCLUSIVE}),
    _M.ROW_SHARE: frozenset({_M.EXCLUSIVE, _M.ACCESS_EXCLUSIVE}),
    _M.ROW_EXCLUSIVE: frozenset(
        {_M.SHARE, _M.SHARE_ROW_EXCLUSIVE, _M.EXCLUSIVE, _M.ACCESS_EXCLUSIVE}
    ),
    _M.SHARE_UPDATE_EXCLUSIVE: frozenset(
        {
            _M.SHARE_UPDATE_EXCLUSIVE,
            _M.SHARE,
            _M.SHARE_ROW_EXCLUSIVE,
            _M.EXCLUSIVE,
            _M.ACCESS_EXCLUSIVE,
        }
    ),
    _M.SHARE: frozenset(
        {
            _M.ROW_EXCLUSIVE,
            _M.SHARE_UPDATE_EXCLUSIVE,
            _M.SHARE_ROW_EXCLUSIVE,
            _M.EXCLUSIVE,
            _M.ACCESS_EXCLUSIVE,
        }
    ),
    _M.SHARE_ROW_EXCLUSIVE: frozenset(
        {
            _M.ROW_EXCLUSIVE,
            _M.SHARE_UPDATE_EXCLUSIVE,
            _M.SHARE,
            _M.SHARE_ROW_EXCLUSIVE,
            _M.EXCLUSIVE,
            _M.ACCESS_EXCLUSIVE,
        }
    ),
    _M.EXCLUSIVE: frozenset(set(_M) - {_M.ACCESS_SHARE}),
    _M.ACCESS_EXCLUSIVE: frozenset(_M),
}
