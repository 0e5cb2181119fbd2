"""Findings: what a rule reports, where, how bad, and the safe alternative."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from atomig.sql.facts import QualifiedName


class Severity(IntEnum):
    """How bad a finding is; ``ERROR`` findings make ``atomig lint`` exit 1."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        """``"info"``, ``"warning"`` or ``"error"``."""
        # (a lookup: Enum.name is a descriptor call, 0.5 µs, paid twice per rendered finding)
        return _LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """From its label (``"warning"``).

        >>> Severity.parse("error")
        <Severity.ERROR: 2>
        """
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(
                f"unknown severity {text!r}: use error, warning or info"
            ) from None


_LABELS = {severity: severity.name.lower() for severity in Severity}


@dataclass(frozen=True, slots=True)
class Hit:
    """What a rule's ``check`` yields; the engine turns it into a :class:`Finding`.

    Attributes:
        message: the consequence ("blocks writes to orders while the index builds").
        fix: the safe alternative PostgreSQL accepts.
        relation: the table the hazard is about (locking rules: drives the size threshold and
            the "created in this migration" exemption).
        location: a byte offset in the file (a parse-node ``location``) to point at instead of
            the statement's start.
        offset: the same as a character offset (for positions found in text).
        severity: overrides the rule's default severity for this hit (config still wins).
    """

    message: str
    fix: str
    relation: QualifiedName | None = None
    location: int | None = None
    offset: int | None = None
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One reported hazard. Positions are 1-based; ``end_column`` is exclusive."""

    rule: str
    severity: Severity
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of a finding."""
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "message": self.message,
            "fix": self.fix,
        }
