"""Progress events the library emits while it works; the CLI renders them, tests collect them.

The library never prints: it calls a :data:`Reporter` with :class:`Event` values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth telling the user: ``kind`` is a stable identifier, ``message`` prose."""

    kind: str
    message: str
    level: str = "info"
    data: dict[str, Any] = field(default_factory=dict)


Reporter = Callable[[Event], None]


def null_reporter(event: Event) -> None:
    """A reporter that drops every event."""


class EventLog:
    """A reporter that keeps events in a list (for tests and ``--json`` summaries)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        """The kinds of the collected events, in order."""
        return [event.kind for event in self.events]
