"""Frozen dataclasses describing a database schema, as read from the catalogs.

Names are schema-qualified and quoted as PostgreSQL prints them with an empty search_path
(``public.orders``, ``public."Order Items"``), so the rendered DDL is unambiguous.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Column:
    """A table column."""

    name: str
    type: str
    not_null: bool
    default: str | None = None
    identity: str | None = None  # "ALWAYS" or "BY DEFAULT"
    generated: str | None = None  # the expression of a GENERATED … STORED column
    collation: str | None = None
    comment: str | None = None
    inherited: bool = False


@dataclass(frozen=True, slots=True)
class Constraint:
    """A table constraint (PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY, EXCLUDE)."""

    name: str
    kind: str  # "p", "u", "c", "f", "x"
    definition: str
    validated: bool
    inherited: bool = False
    references: str | None = None  # the referenced table of a foreign key
    index: str | None = None  # the index backing a PK/UNIQUE/EXCLUDE constraint

    @property
    def kind_name(self) -> str:
        """``PRIMARY KEY``, ``UNIQUE``, ``CHECK``, ``FOREIGN KEY`` or ``EXCLUDE``."""
        return {
            "p": "PRIMARY KEY",
            "u": "UNIQUE",
            "c": "CHECK",
            "f": "FOREIGN KEY",
            "x": "EXCLUDE",
        }.get(self.kind, self.kind)


@dataclass(frozen=True, slots=True)
class Index:
    """An index; ``valid`` is ``pg_index.indisvalid`` (false after a failed concurrent build)."""

    name: str
    qualified: str
    definition: str
    valid: bool
    unique: bool
    primary: bool
    size_bytes: int
    constraint: str | None = None
    parent: str | None = None  # the partitioned index this one is a partition of


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger (internal triggers of constraints excluded)."""

    name: str
    definition: str
    enabled: str  # "O" origin (default), "D" disabled, "R" replica, "A" always


@dataclass(frozen=True, slots=True)
class ForeignKeyIn:
    """A foreign key of another table that references this one."""

    table: str
    name: str
    definition: str
    validated: bool


@dataclass(frozen=True, slots=True)
class Table:
    """A table (plain, partitioned, foreign or unlogged) with everything that hangs on it."""

    schema: str
    name: str
    qualified: str
    kind: str  # "table", "partitioned table", "foreign table"
    unlogged: bool
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    referenced_by: tuple[ForeignKeyIn, ...] = ()
    partition_key: str | None = None
    partition_of: str | None = None
    partition_bound: str | None = None
    partitions: tuple[str, ...] = ()
    inherits: tuple[str, ...] = ()
    row_estimate: int | None = None  # pg_class.reltuples; None when never analyzed
    total_bytes: int = 0
    table_bytes: int = 0
    row_security: bool = False
    comment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig describe``."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class EnumType:
    """An enum type and its labels in sort order."""

    qualified: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Domain:
    """A domain: base type, default, NOT NULL and its CHECK constraints."""

    qualified: str
    base_type: str
    not_null: bool
    default: str | None
    checks: tuple[tuple[str, str], ...]  # (name, definition)


@dataclass(frozen=True, slots=True)
class CompositeType:
    """A composite type (CREATE TYPE … AS (…))."""

    qualified: str
    attributes: tuple[tuple[str, str], ...]  # (name, type)


@dataclass(frozen=True, slots=True)
class Sequence:
    """A standalone sequence (identity sequences belong to their column)."""

    qualified: str
    data_type: str
    start: int
    increment: int
    min_value: int
    max_value: int
    cache: int
    cycle: bool
    owned_by: str | None = None


@dataclass(frozen=True, slots=True)
class View:
    """A view or materialized view; ``depends_on`` lists views it reads (for ordering)."""

    qualified: str
    materialized: bool
    definition: str
    depends_on: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Function:
    """A function, procedure or aggregate."""

    qualified: str
    signature: str
    kind: str  # "function", "procedure", "aggregate", "window"
    returns: str | None
    language: str
    volatility: str  # "immutable", "stable", "volatile"
    definition: str | None  # CREATE OR REPLACE … (None for aggregates)


@dataclass(frozen=True, slots=True)
class SchemaModel:
    """Everything `atomig schema` shows, in the order it must be created."""

    server_version: str
    schemas: tuple[str, ...]
    extensions: tuple[tuple[str, str, str], ...]  # (name, version, schema)
    enums: tuple[EnumType, ...] = ()
    domains: tuple[Domain, ...] = ()
    composites: tuple[CompositeType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def table(self, qualified: str) -> Table | None:
        """The table called ``qualified`` (as printed, e.g. ``public.orders``)."""
        for table in self.tables:
            if table.qualified == qualified:
                return table
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig schema``."""
        out = asdict(self)
        out["version"] = 1
        return out
