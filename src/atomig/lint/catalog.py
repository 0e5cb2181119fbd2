"""Live-catalog facts as plain values: read by :mod:`atomig.db.catalog`, used by the pure
engine. Nothing here touches a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from atomig.lint.schema import Key
from atomig.sql.quote import quote_ident
from atomig.sql.versions import ServerVersion
from atomig.sql.volatility import Volatility


@dataclass(frozen=True, slots=True)
class CatalogConstraint:
    """One constraint as ``pg_constraint`` has it.

    Attributes:
        kind: ``pg_constraint.contype`` (``f`` foreign key, ``c`` check, ``p``, ``u``,
            ``x``, ``n`` NOT NULL on PostgreSQL 18, ``t`` constraint trigger).
        validated: ``convalidated`` (false for a NOT VALID constraint).
        columns: the constrained columns, in key order.
        references: for a foreign key, the ``(schema, name)`` of the referenced table.
        enforced: ``conenforced`` (PostgreSQL 18; false for a NOT ENFORCED key).
    """

    kind: str
    validated: bool = True
    columns: tuple[str, ...] = ()
    references: Key | None = None
    enforced: bool = True


@dataclass(frozen=True, slots=True)
class CatalogDependent:
    """An object that makes PostgreSQL refuse to drop (or retype) a table or column without
    CASCADE: a view or materialized view reading it, or another table's foreign key.

    Attributes:
        kind: ``view``, ``materialized view`` or ``foreign key``.
        relation: the view, or the table holding the foreign key, as ``(schema, name)``.
        constraint: the foreign key's name.
    """

    kind: str
    relation: Key
    constraint: str = ""

    def __str__(self) -> str:
        return self.render(".".join(quote_ident(part) for part in self.relation))

    def render(self, relation: object) -> str:
        """This dependent, its relation named ``relation``."""
        if self.constraint:
            return f"foreign key {quote_ident(self.constraint)} of {relation}"
        return f"{self.kind} {relation}"


@dataclass(frozen=True, slots=True)
class CatalogTable:
    """One table as the server knows it.

    Attributes:
        rows: ``pg_class.reltuples``, summed over the leaf partitions of a partitioned
            table; for a table never vacuumed nor analyzed, the most rows its heap holds;
            -1 for a foreign table never analyzed (unknown).
        total_bytes: ``pg_total_relation_size`` (heap, indexes, TOAST).
        columns: column name → ``format_type`` text.
        indexes: ``(name, key column names, unique)`` per valid index without WHERE.
        not_null_checks: columns a validated CHECK proves NOT NULL (``col IS NOT NULL``,
            alone or AND-ed with more).
        constraints: constraint name → its kind, validity, columns and referenced table.
        populated: false for a materialized view created or refreshed ``WITH NO DATA``.
        plain_unique_indexes: unique indexes on plain columns without a WHERE clause,
            valid and not deferrable (what ``REFRESH … CONCURRENTLY`` needs).
        dependents: column name (``""``: the table itself) → the views and other tables'
            foreign keys that depend on it.
        default_partition: the ``(schema, name)`` of a partitioned table's DEFAULT one.
        policies: its permissive row-security policies (``pg_policy``).
        foreign: a foreign table (``relkind 'f'``): its rows are remote.
        collations: column name → its collation (``default`` when the type's), for
            collatable columns.
        identities: column name → ``pg_attribute.attidentity`` (``a`` ALWAYS, ``d`` BY
            DEFAULT, ``""`` not an identity column).
        child_rows: the rows of its inheritance children and their descendants (a
            plain table; its ALTER TABLE, UPDATE, TRUNCATE … reach them, unless ONLY).
        not_null: its NOT NULL columns (``pg_attribute.attnotnull``).
        partition_key: a partitioned table's key columns (None: an expression).
        persistence: ``pg_class.relpersistence`` (``p`` logged, ``u`` unlogged).
        tablespace: the tablespace its data is in (the database's when it names none).
        backfill_key: the columns atomig's backfill walks the table's windows by (its
            primary key, else the narrowest unique btree index on NOT NULL columns, as
            the runner chooses it); ``()`` when it has none (the runner refuses).
    """

    schema: str
    name: str
    rows: int
    total_bytes: int
    columns: Mapping[str, str] = field(default_factory=dict)
    indexes: tuple[tuple[str, tuple[str, ...], bool], ...] = ()
    not_null_checks: frozenset[str] = frozenset()
    partitioned: bool = False
    constraints: Mapping[str, CatalogConstraint] = field(default_factory=dict)
    populated: bool = True
    plain_unique_indexes: frozenset[str] = frozenset()
    dependents: Mapping[str, tuple[CatalogDependent, ...]] = field(default_factory=dict)
    default_partition: Key | None = None
    policies: int = 0
    foreign: bool = False
    collations: Mapping[str, str] = field(default_factory=dict)
    identities: Mapping[str, str] = field(default_factory=dict)
    backfill_key: tuple[str, ...] = ()
    child_rows: int = 0
    not_null: frozenset[str] = frozenset()
    partition_key: tuple[str | None, ...] = ()
    persistence: str = "p"
    tablespace: str = ""

    @property
    def estimated_rows(self) -> int:
        """Rows as the planner estimates them; a foreign table never analyzed counts as 0
        for locking (its changes touch no local rows), while a copy of it or a data change
        in it asks ``rows`` (unknown: -1)."""
        return max(self.rows, 0)


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """What the live database says: its version, tables, views, and functions."""

    server_version: ServerVersion
    tables: Mapping[Key, CatalogTable] = field(default_factory=dict)
    functions: Mapping[str, Volatility] = field(default_factory=dict)
    # Functions with a LANGUAGE sql overload ("schema.name" and "name"): PostgreSQL may
    # inline them, so their declared volatility does not decide an IMMUTABLE check.
    sql_functions: frozenset[str] = frozenset()
    database: str = ""
    search_path: tuple[str, ...] = ("public",)
    # (index schema, index name) -> (table schema, table name), for indexes the
    # migrations name (a DROP INDEX locks the table).
    index_owners: Mapping[Key, Key] = field(default_factory=dict)
    # Views the migrations name -> the tables (and materialized views) they read, through
    # other views: a copy of a view reads those; a view of a VALUES list reads none.
    views: Mapping[Key, tuple[Key, ...]] = field(default_factory=dict)
    # Views the migrations name -> their output columns, in order.
    view_columns: Mapping[Key, tuple[str, ...]] = field(default_factory=dict)
    # User-defined aggregates, as "schema.name" and (when every function of that name is
    # one) "name": a select list calling one returns one row, however many it reads.
    aggregates: frozenset[str] = frozenset()
    # Domains, as "schema.name" and (first along the search_path) "name" -> the base type
    # (format_type text, through domains over domains) and whether any constraint (CHECK,
    # NOT NULL) applies: a type change to a constrained domain checks every row.
    domains: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    # The TimeZone setting of the session that read the catalog (the database's and
    # role's defaults, which a migration session gets too).
    timezone: str = ""

    def table(self, schema: str | None, name: str) -> CatalogTable | None:
        """A table by name; an unqualified name is resolved along the ``search_path`` of
        the session that read the catalog (as the migration's statements will be)."""
        if schema is not None:
            return self.tables.get((schema, name))
        for candidate in self.search_path:
            found = self.tables.get((candidate, name))
            if found is not None:
                return found
        return None

    def table_of_index(self, schema: str | None, name: str) -> Key | None:
        """The ``(schema, name)`` of the table an index belongs to; an unqualified index
        name is resolved along the ``search_path``."""
        for candidate in (schema,) if schema is not None else self.search_path:
            owner = self.index_owners.get((candidate, name))
            if owner is not None:
                return owner
        return None

    def columns_of_view(self, schema: str | None, name: str) -> tuple[str, ...] | None:
        """The output columns of a view, or ``None`` when ``name`` is not a view the
        catalog knows; an unqualified name is resolved along the ``search_path``."""
        for candidate in (schema,) if schema is not None else self.search_path:
            if (candidate, name) in self.tables:
                return None
            found = self.view_columns.get((candidate, name))
            if found is not None:
                return found
        return None

    def view_reads(self, schema: str | None, name: str) -> tuple[Key, ...] | None:
        """The tables a view reads, or ``None`` when ``name`` is not a view the catalog
        knows; an unqualified name is resolved along the ``search_path`` (a table found
        first hides a view of the same name further on)."""
        for candidate in (schema,) if schema is not None else self.search_path:
            if (candidate, name) in self.tables:
                return None
            found = self.views.get((candidate, name))
            if found is not None:
                return found
        return None
