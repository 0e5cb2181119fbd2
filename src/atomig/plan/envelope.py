"""The session envelope: the settings every step of a migration runs under."""

from __future__ import annotations

from dataclasses import dataclass, replace

from atomig.units import format_duration_ms

# application_name is truncated by the server at NAMEDATALEN - 1 bytes.
_MAX_APPLICATION_NAME = 63


def application_name_for(version: str, slug: str) -> str:
    """``migration:<version>_<slug>``, cut to what PostgreSQL keeps (63 bytes).

    >>> application_name_for("20261124_1530", "add_users")
    'migration:20261124_1530_add_users'
    """
    name = f"migration:{version}_{slug}"
    encoded = name.encode("utf-8")[:_MAX_APPLICATION_NAME]
    return encoded.decode("utf-8", errors="ignore")


@dataclass(frozen=True, slots=True)
class SessionEnvelope:
    """Timeouts (milliseconds), application_name, and any extra settings from leading SETs.

    Rendered as ``set_config(name, value, is_local)`` calls by the database layer, so values
    always travel as parameters.
    """

    lock_timeout_ms: int
    statement_timeout_ms: int
    idle_in_transaction_session_timeout_ms: int
    application_name: str
    extra: tuple[tuple[str, str], ...] = ()

    def settings(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs in the order they are applied.

        >>> SessionEnvelope(2000, 900000, 60000, "migration:x").settings()[:2]
        [('lock_timeout', '2s'), ('statement_timeout', '15min')]
        """
        pairs = [
            ("lock_timeout", format_duration_ms(self.lock_timeout_ms)),
            ("statement_timeout", format_duration_ms(self.statement_timeout_ms)),
            (
                "idle_in_transaction_session_timeout",
                format_duration_ms(self.idle_in_transaction_session_timeout_ms),
            ),
            ("application_name", self.application_name),
        ]
        return pairs + list(self.extra)

    def with_lock_timeout(self, ms: int) -> SessionEnvelope:
        """A copy with another lock_timeout (per-attempt timeouts of the retry loop)."""
        return replace(self, lock_timeout_ms=ms)
