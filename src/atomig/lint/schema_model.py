"""What the schema replay (:mod:`atomig.lint.schema`) knows of a table: its columns and
their types, indexes and constraints (with validity), as plain values. Nothing here reads
SQL: the replay fills these in."""

from __future__ import annotations

from dataclasses import dataclass, field

from atomig.sql.facts import QualifiedName
from atomig.sql.types import TypeRef

Key = tuple[str, str]
ObjectKey = tuple[
    str, str, str, str
]  # kind, schema, name, sub-name (column, trigger, …)


def key_of(name: QualifiedName) -> Key:
    """The lookup key of a name: ``(schema or "public", name)``."""
    return (name.schema or "public", name.name)


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its type when known, NOT NULL, where its type was last set, its
    collation when known (``default``: the type's), and its identity kind when known
    (``pg_attribute.attidentity``: ``a`` ALWAYS, ``d`` BY DEFAULT, ``""`` none)."""

    name: str
    type: TypeRef | None
    not_null: bool = False
    set_by: str = ""
    collation: str | None = None
    identity: str | None = None

    def with_not_null(self, not_null: bool) -> Column:
        """The column, NOT NULL or not. (dataclasses.replace costs several times a
        constructor call, and this runs per column; every other field is kept: a NOT NULL
        column keeps its collation and identity.)"""
        return Column(
            self.name, self.type, not_null, self.set_by, self.collation, self.identity
        )


@dataclass(frozen=True, slots=True)
class Index:
    """An index (or the index behind a PRIMARY KEY / UNIQUE constraint)."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    # CREATE INDEX … WHERE: it serves only queries that imply its predicate, so it covers
    # no foreign key's lookups and makes no column unique over the table.
    partial: bool = False
    # Columns its expressions or WHERE read: any type change of one rebuilds the index.
    reads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Constraint:
    """A table constraint; ``not_null_columns``: those a CHECK proves NOT NULL."""

    name: str
    kind: str  # check, foreign, primary, unique, exclusion
    columns: tuple[str, ...] = ()
    validated: bool = True
    not_null_columns: tuple[str, ...] = ()
    origin: str = ""
    references: QualifiedName | None = None  # the referenced table of a foreign key
    referenced_columns: tuple[
        str, ...
    ] = ()  # … and its columns (none: its primary key)


@dataclass(slots=True)
class Table:
    """A table's known shape; ``origin`` is the migration that created it."""

    name: QualifiedName
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    origin: str = ""
    columns_known: bool = True
    partitioned: bool = False
    placeholder: bool = False  # existed before the history: only its changes are known
    attached_by: str = ""  # the migration that attached it as a partition
    default_partition: QualifiedName | None = None  # of a partitioned table
    # False for a materialized view made or refreshed WITH NO DATA: nothing can read it,
    # and PostgreSQL rejects REFRESH … CONCURRENTLY of it.
    populated: bool = True
    # A foreign table: its rows are remote, so no ALTER of it scans or rewrites anything.
    foreign: bool = False
    # A partitioned table's (strategy, columns its key reads), from its CREATE TABLE.
    partition_key: tuple[str, tuple[str, ...]] | None = None
    # The CHECK a DETACH … CONCURRENTLY left on this former partition (its bound).
    detach_check: str = ""

    def copy(self) -> Table:
        """An independent copy (the schema forks per down file)."""
        return Table(
            self.name,
            dict(self.columns),
            dict(self.indexes),
            dict(self.constraints),
            self.origin,
            self.columns_known,
            self.partitioned,
            self.placeholder,
            self.attached_by,
            self.default_partition,
            self.populated,
            self.foreign,
            self.partition_key,
            self.detach_check,
        )

    @property
    def has_primary_key(self) -> bool:
        """True when a PRIMARY KEY constraint is known."""
        return any(c.kind == "primary" for c in self.constraints.values())

    def validated_not_null_check(self, column: str) -> bool:
        """A validated CHECK proves ``column IS NOT NULL`` (PG 12 skips the scan)."""
        return any(
            c.validated and column in c.not_null_columns
            for c in self.constraints.values()
        )

    def covered_by_index(self, columns: tuple[str, ...]) -> bool:
        """Some index has ``columns`` (in any order) as its leading columns."""
        wanted = set(columns)
        return any(
            set(index.columns[: len(columns)]) == wanted
            for index in self.indexes.values()
            if not index.partial
        )
