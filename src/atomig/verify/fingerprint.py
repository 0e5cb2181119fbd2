"""The schema fingerprint: a deterministic digest of the user's schema, object by object.

Built from the same catalog reader as ``atomig describe`` / ``atomig schema``
(:func:`atomig.db.introspect.read_schema`: one REPEATABLE READ snapshot, empty
``search_path``, the ledger schema and extension members left out), keeping only what defines
the schema — tables, columns (types, defaults, identity, generated, collation, order),
constraints with their validity, indexes with their validity, triggers, sequences, views,
functions, enums, domains, composite types, schemas, extensions, comments — and none of what
moves on its own (sizes, row estimates).

Each object gets its own digest, so two fingerprints can say *which* object differs
(:meth:`Fingerprint.diff`), and the whole schema one digest over all of them. The rollback
path compares the fingerprint after a rollback with the one taken before the migration; the
reversibility proofs of ``atomig verify`` build on the same values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import psycopg

from atomig.db.introspect import read_schema
from atomig.schema.model import Index, SchemaModel

Conn = psycopg.Connection[Any]
FORMAT = 1


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def plain(value: Any) -> Any:
    """A dataclass value as plain dicts and lists — what :func:`dataclasses.asdict` gives,
    tuples as lists (the same JSON), several times faster (the fingerprint of a large
    schema is taken often: before and after every multi-step migration, and by every
    proof of ``atomig verify``).

    >>> from atomig.schema.model import Trigger
    >>> plain((Trigger("t", "CREATE TRIGGER t …", "O"),))
    [{'name': 't', 'definition': 'CREATE TRIGGER t …', 'enabled': 'O'}]
    """
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    names = _FIELD_NAMES.get(type(value))
    if names is None:
        if not is_dataclass(value):
            return value
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    return {name: plain(getattr(value, name)) for name in names}


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _index(index: Index) -> dict[str, Any]:
    data: dict[str, Any] = plain(index)
    data.pop("size_bytes")
    return data


def schema_objects(model: SchemaModel) -> Iterator[tuple[str, Any]]:
    """``(key, defining value)`` for every object of ``model``; keys read like
    ``"column public.orders.user_id"`` or ``"index public.idx_orders_user_id"``."""
    for name in model.schemas:
        yield f"schema {name}", name
    for ext_name, version, schema in model.extensions:
        yield f"extension {ext_name}", {"version": version, "schema": schema}
    for enum in model.enums:
        yield f"enum {enum.qualified}", list(enum.labels)
    for domain in model.domains:
        yield f"domain {domain.qualified}", plain(domain)
    for composite in model.composites:
        yield f"type {composite.qualified}", plain(composite)
    for sequence in model.sequences:
        yield f"sequence {sequence.qualified}", plain(sequence)
    for table in model.tables:
        yield (
            f"table {table.qualified}",
            {
                "kind": table.kind,
                "unlogged": table.unlogged,
                # Column order is part of the table: SELECT * and COPY see it.
                "columns": [c.name for c in table.columns],
                "partition_key": table.partition_key,
                "partition_of": table.partition_of,
                "partition_bound": table.partition_bound,
                "inherits": list(table.inherits),
                "row_security": table.row_security,
                "comment": table.comment,
            },
        )
        for column in table.columns:
            yield f"column {table.qualified}.{column.name}", plain(column)
        for constraint in table.constraints:
            yield f"constraint {table.qualified}.{constraint.name}", plain(constraint)
        for index in table.indexes:
            yield f"index {index.qualified}", _index(index)
        for trigger in table.triggers:
            yield f"trigger {table.qualified}.{trigger.name}", plain(trigger)
    for view in model.views:
        data = plain(view)
        data["indexes"] = [_index(i) for i in view.indexes]
        yield (
            f"{'materialized view' if view.materialized else 'view'} {view.qualified}",
            data,
        )
    for function in model.functions:
        yield f"{function.kind} {function.signature}", plain(function)


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """One object that differs between two fingerprints."""

    key: str
    change: str  # "added", "removed" or "changed"

    def __str__(self) -> str:
        return f"{self.key} {self.change}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Per-object digests of a schema, and the digest of the whole."""

    objects: Mapping[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """One SHA-256 over every object's key and digest, in key order."""
        hasher = hashlib.sha256()
        for key in sorted(self.objects):
            hasher.update(f"{key}\x00{self.objects[key]}\n".encode())
        return hasher.hexdigest()

    def diff(self, other: Fingerprint) -> list[ObjectChange]:
        """What changed from ``self`` to ``other``, object by object, in key order.

        >>> a = Fingerprint({"table public.t": "1", "index public.i": "2"})
        >>> b = Fingerprint({"table public.t": "9", "column public.t.c": "3"})
        >>> [str(change) for change in a.diff(b)]
        ['column public.t.c added', 'index public.i removed', 'table public.t changed']
        """
        changes = []
        for key in sorted(set(self.objects) | set(other.objects)):
            before, after = self.objects.get(key), other.objects.get(key)
            if before == after:
                continue
            change = (
                "added" if before is None else "removed" if after is None else "changed"
            )
            changes.append(ObjectChange(key, change))
        return changes

    def to_dict(self) -> dict[str, Any]:
        """The stored / ``--json`` shape."""
        return {"format": FORMAT, "digest": self.digest, "objects": dict(self.objects)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        """Read back :meth:`to_dict`."""
        return cls(dict(data.get("objects", {})))


def fingerprint_model(model: SchemaModel) -> Fingerprint:
    """The fingerprint of a schema already read."""
    return fingerprint_values(dict(schema_objects(model)))


def fingerprint_values(values: Mapping[str, Any]) -> Fingerprint:
    """The fingerprint of :func:`schema_objects` values (key → defining value)."""
    return Fingerprint({key: _digest(value) for key, value in values.items()})


# The catalog reader takes ACCESS SHARE on tables for their sizes (which the fingerprint
# ignores); a session-level lock_timeout keeps it from queueing behind someone's pending
# ACCESS EXCLUSIVE request for longer than this.
_READ_LOCK_TIMEOUT = "5s"


def take_fingerprint(conn: Conn, ledger_schema: str) -> Fingerprint:
    """Read the schema of the connected database and fingerprint it.

    ``conn`` must not be inside a transaction; its session ``lock_timeout`` is restored.
    """
    previous = conn.execute("SELECT current_setting('lock_timeout')").fetchone()
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (_READ_LOCK_TIMEOUT,))
    try:
        model = read_schema(conn, ledger_schema=ledger_schema)
    finally:
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false)",
            (previous[0] if previous else "0",),
        )
    return fingerprint_model(model)
