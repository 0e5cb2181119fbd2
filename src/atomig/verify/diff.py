"""Schema snapshots and precise differences: which object, and what about it changed.

A snapshot keeps, next to the fingerprint, the defining value of every object (the same
values the fingerprint digests: :func:`atomig.verify.fingerprint.schema_objects`), so a
mismatch is explained field by field — ``column public.orders.total: type: integer →
bigint`` — instead of "the digests differ".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg

from atomig.db.introspect import read_schema
from atomig.verify.fingerprint import Fingerprint, fingerprint_values, schema_objects

_SHORT = 100


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A schema read at one moment: per-object values and their fingerprint."""

    values: dict[str, Any]
    fingerprint: Fingerprint

    @property
    def digest(self) -> str:
        """The fingerprint's digest."""
        return self.fingerprint.digest


def take_snapshot(conn: psycopg.Connection[Any], ledger_schema: str) -> Snapshot:
    """Read the connected database's schema (``conn`` must not be in a transaction)."""
    model = read_schema(conn, ledger_schema=ledger_schema)
    values = dict(schema_objects(model))
    return Snapshot(values, fingerprint_values(values))


@dataclass(frozen=True, slots=True)
class ObjectDifference:
    """One object that is not as expected.

    ``change``: ``missing`` (expected, not there), ``unexpected`` (there, not expected) or
    ``changed`` (``details`` says which fields, from expected to actual).
    """

    key: str
    change: str
    details: tuple[str, ...] = ()

    def describe(self) -> str:
        """``index public.idx_a is unexpected: CREATE INDEX idx_a ON public.t USING …``."""
        text = f"{self.key} is {self.change}"
        if self.details:
            text += ": " + "; ".join(self.details)
        return text

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "object": self.key,
            "change": self.change,
            "details": list(self.details),
        }


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _summary(value: Any) -> tuple[str, ...]:
    if not isinstance(value, dict):
        return (_short(value),) if value not in (None, "") else ()
    if isinstance(value.get("definition"), str) and "\n" not in value["definition"]:
        return (_short(value["definition"]),)
    if "returns" in value:
        return (f"{value['kind']} returning {value['returns']}, {value['language']}",)
    if "type" in value:
        null = " NOT NULL" if value.get("not_null") else ""
        default = f" DEFAULT {value['default']}" if value.get("default") else ""
        return (f"{value['type']}{null}{default}",)
    return ()


def _text_change(field: str, expected: str, actual: str) -> str:
    old_lines, new_lines = expected.splitlines(), actual.splitlines()
    for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=False), 1):
        if old != new:
            return f"{field}: line {number}: {_short(old.strip())!r} → {_short(new.strip())!r}"
    shorter = min(len(old_lines), len(new_lines))
    longer = old_lines if len(old_lines) > shorter else new_lines
    extra = longer[shorter].strip() if shorter < len(longer) else ""
    verb = "lost" if len(old_lines) > shorter else "gained"
    return f"{field}: {verb} line {shorter + 1}: {_short(extra)!r}"


def field_changes(expected: Any, actual: Any, prefix: str = "") -> list[str]:
    """What differs between two defining values, field by field.

    >>> field_changes({"type": "integer", "not_null": False},
    ...               {"type": "bigint", "not_null": False})
    ['type: integer → bigint']
    >>> field_changes({"valid": True}, {"valid": False})
    ['valid: true → false']
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for name in sorted(set(expected) | set(actual)):
            if expected.get(name) != actual.get(name):
                path = f"{prefix}.{name}" if prefix else name
                out += field_changes(expected.get(name), actual.get(name), path)
        return out
    field = prefix or "value"
    if (
        isinstance(expected, str)
        and isinstance(actual, str)
        and ("\n" in expected or "\n" in actual)
    ):
        return [_text_change(field, expected, actual)]
    return [f"{field}: {_short(_json(expected))} → {_short(_json(actual))}"]


def _json(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def differences(expected: Snapshot, actual: Snapshot) -> list[ObjectDifference]:
    """Every object of ``actual`` that is not as in ``expected``, in key order."""
    out = []
    for key in sorted(set(expected.values) | set(actual.values)):
        if key not in actual.values:
            out.append(ObjectDifference(key, "missing", _summary(expected.values[key])))
        elif key not in expected.values:
            out.append(
                ObjectDifference(key, "unexpected", _summary(actual.values[key]))
            )
        elif expected.fingerprint.objects.get(key) != actual.fingerprint.objects.get(
            key
        ):
            changes = field_changes(expected.values[key], actual.values[key])
            out.append(ObjectDifference(key, "changed", tuple(changes)))
    return out
