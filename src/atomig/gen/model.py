"""What a generator returns: one migration per deployment phase, and what gen knows about
the target (server version, and the catalog when a database is configured). Pure."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from atomig.errors import UsageError
from atomig.schema.model import Column, EnumType, Table
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import quote_ident, quote_name
from atomig.sql.versions import ServerVersion

MIN_MAJOR = 12


@dataclass(frozen=True, slots=True)
class Phase:
    """One migration of a series: which deployment it belongs to, and its two files.

    Attributes:
        number: 1-based position in the series.
        slug: the migration's slug (``add_orders_note``).
        when: when to deploy it, for the file header and the command's output.
        up: the up file's text.
        down: the down file's text.
    """

    number: int
    slug: str
    when: str
    up: str
    down: str

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (without the file texts' paths: the api adds them)."""
        return {
            "phase": self.number,
            "slug": self.slug,
            "when": self.when,
            "up": self.up,
            "down": self.down,
        }


@dataclass(frozen=True, slots=True)
class Series:
    """What a generator produced: the phases in deployment order, plus notes for the user
    (assumptions made without a database, what to do between phases)."""

    kind: str
    phases: tuple[Phase, ...]
    notes: tuple[str, ...] = ()
    hold_all: bool = False  # even the first phase waits for a deployment (drop-column)


@dataclass(frozen=True, slots=True)
class Needs:
    """The objects a request names, for the api to read from the catalog."""

    tables: tuple[QualifiedName, ...] = ()
    types: tuple[str, ...] = ()
    enums: tuple[QualifiedName, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogView:
    """The part of the live catalog gen needs, read by the api before generating.

    Attributes:
        tables: the tables the request names, by the name as the user wrote it.
        table_names: every table of the database (qualified, as printed) for "did you mean".
        enums: the enum types the request names, by the name as written.
        types: for each type the request names, whether the server knows it.
        views_on: ``(view, column)`` pairs: views reading a column of each table named.
    """

    tables: Mapping[QualifiedName, Table] = field(default_factory=dict)
    table_names: tuple[str, ...] = ()
    enums: Mapping[QualifiedName, EnumType] = field(default_factory=dict)
    enum_names: tuple[str, ...] = ()
    types: Mapping[str, bool] = field(default_factory=dict)
    views_on: Mapping[QualifiedName, tuple[tuple[str, str], ...]] = field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class GenContext:
    """What a generator knows: the target version, the catalog (``None`` without a
    database) and the command line (written into the file headers)."""

    version: ServerVersion
    catalog: CatalogView | None = None
    command: str = "atomig gen"

    @property
    def online(self) -> bool:
        """True when a database was read."""
        return self.catalog is not None

    def table(self, name: QualifiedName) -> Table | None:
        """The table as the catalog knows it; ``None`` offline.

        Raises:
            UsageError: with a database, when no such table exists (did you mean …).
        """
        if self.catalog is None:
            return None
        found = self.catalog.tables.get(name)
        if found is None:
            raise UsageError(
                f"no table {quote_name(name)} in the database",
                hint=_did_you_mean(
                    name.name, self.catalog.table_names, "atomig schema"
                ),
            )
        return found

    def column(self, table: QualifiedName, column: str) -> Column | None:
        """The column as the catalog knows it; ``None`` offline.

        Raises:
            UsageError: with a database, when the table has no such column.
        """
        known = self.table(table)
        if known is None:
            return None
        for col in known.columns:
            if col.name == column:
                return col
        raise UsageError(
            f"table {quote_name(table)} has no column {quote_ident(column)}",
            hint=_did_you_mean(
                column,
                [quote_ident(c.name) for c in known.columns],
                f"atomig describe {quote_name(table)}",
            ),
        )

    def require_absent_column(self, table: QualifiedName, column: str) -> None:
        """Refuse a column name the table already has (with a database)."""
        known = self.table(table)
        if known is not None and any(c.name == column for c in known.columns):
            raise UsageError(
                f"table {quote_name(table)} already has a column {quote_ident(column)}",
                hint="choose another name, or `atomig describe` the table",
            )

    def require_absent_object(self, table: QualifiedName, name: str) -> None:
        """Refuse a constraint, index or trigger name already used on the table."""
        known = self.table(table)
        if known is None:
            return
        taken = {c.name for c in known.constraints} | {i.name for i in known.indexes}
        taken |= {t.name for t in known.triggers}
        if name in taken:
            raise UsageError(
                f"{quote_name(table)} already has an object called {quote_ident(name)}",
                hint="pass --name to choose another name",
            )

    def views_reading(self, table: QualifiedName, column: str) -> list[str]:
        """Views that read ``column`` of ``table`` (with a database; ``[]`` offline)."""
        if self.catalog is None:
            return []
        pairs = self.catalog.views_on.get(table, ())
        return [view for view, col in pairs if col == column]

    def enum(self, name: QualifiedName) -> EnumType | None:
        """The enum as the catalog knows it; ``None`` offline.

        Raises:
            UsageError: with a database, when no such enum type exists.
        """
        if self.catalog is None:
            return None
        found = self.catalog.enums.get(name)
        if found is None:
            raise UsageError(
                f"no enum type {quote_name(name)} in the database",
                hint=_did_you_mean(name.name, self.catalog.enum_names, "atomig schema"),
            )
        return found

    def check_type(self, type_sql: str) -> None:
        """Refuse a type the server does not know (with a database)."""
        if self.catalog is not None and not self.catalog.types.get(type_sql, True):
            raise UsageError(
                f"type {type_sql} does not exist in the database",
                hint="check the spelling (e.g. bigint, text, numeric(10,2), "
                "timestamptz) or create the type first",
            )


def _did_you_mean(word: str, candidates: Any, fallback: str) -> str:
    names = list(candidates)
    bare = {n: n.rsplit(".", 1)[-1].strip('"') for n in names}
    close = difflib.get_close_matches(word, list(bare.values()), n=3, cutoff=0.6)
    picked = [n for n in names if bare[n] in close]
    if picked:
        return "did you mean: " + ", ".join(picked[:3])
    return f"`{fallback}` lists what exists"
