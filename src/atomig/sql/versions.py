"""PostgreSQL server versions and the named feature gates that depend on them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class ServerVersion:
    """A server version as ``server_version_num`` (e.g. 150008, 180001).

    >>> ServerVersion(150008).major
    15
    >>> str(ServerVersion(180001))
    '18.1'
    >>> ServerVersion.from_major(12).num
    120000
    """

    num: int

    @classmethod
    def from_major(cls, major: int) -> ServerVersion:
        """The first release of a major version (``from_major(15)`` is 15.0)."""
        return cls(major * 10000)

    @property
    def major(self) -> int:
        """The major version (10 and later numbering)."""
        return self.num // 10000

    def __str__(self) -> str:
        return f"{self.major}.{self.num % 10000}"

    def at_least(self, major: int) -> bool:
        """True when this server is ``major`` or newer."""
        return self.num >= major * 10000

    # Named feature gates: each says which release made a safe tactic possible.

    @property
    def enum_add_value_in_transaction(self) -> bool:
        """``ALTER TYPE … ADD VALUE`` may run in a transaction block since PG 12."""
        return self.at_least(12)

    @property
    def set_not_null_uses_check(self) -> bool:
        """``SET NOT NULL`` skips the full scan when a validated CHECK proves it (PG 12)."""
        return self.at_least(12)

    @property
    def fast_column_default(self) -> bool:
        """``ADD COLUMN … DEFAULT <non-volatile>`` does not rewrite the table (PG 11)."""
        return self.at_least(11)

    @property
    def reindex_concurrently(self) -> bool:
        """``REINDEX CONCURRENTLY`` exists since PG 12."""
        return self.at_least(12)

    @property
    def detach_partition_concurrently(self) -> bool:
        """``ALTER TABLE … DETACH PARTITION … CONCURRENTLY`` exists since PG 14."""
        return self.at_least(14)

    @property
    def not_valid_foreign_key_on_partitioned(self) -> bool:
        """``ADD FOREIGN KEY … NOT VALID`` on a partitioned table is accepted since PG 18."""
        return self.at_least(18)

    @property
    def client_connection_check(self) -> bool:
        """``client_connection_check_interval`` exists since PG 14."""
        return self.at_least(14)


DEFAULT_LINT_VERSION = ServerVersion.from_major(15)
