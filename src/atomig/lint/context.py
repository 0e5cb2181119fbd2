"""What a rule knows while it looks at one statement: the file, its plan, the schema
history, the live catalog, the runner and the server version."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atomig.errors import SourceError
from atomig.lint.catalog import CatalogFacts, CatalogTable
from atomig.lint.finding import Severity
from atomig.lint.foreign import known_foreign, known_foreign_tables
from atomig.lint.helpers import declared_types
from atomig.lint.planning import PlanOutcome, file_steps, plan_file
from atomig.lint.schema import Key, SchemaState, Table, key_of
from atomig.source.foreign_layouts import Misnamed, ToolTransaction
from atomig.sql.classify import statement_facts
from atomig.sql.facts import QualifiedName, StatementFacts
from atomig.sql.parse import Script, Statement
from atomig.sql.types import TypeRef
from atomig.sql.versions import DEFAULT_LINT_VERSION, ServerVersion
from atomig.sql.volatility import Volatility

if TYPE_CHECKING:
    from atomig.lint.down_journal import UpRecord

RUNNERS = ("atomig", "other")
DEFAULT_SMALL_TABLE_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class LintOptions:
    """How to lint: target server version, runner, size threshold, rule configuration."""

    version: ServerVersion = DEFAULT_LINT_VERSION
    runner: str = "atomig"
    small_table_rows: int = DEFAULT_SMALL_TABLE_ROWS
    disabled: frozenset[str] = frozenset()
    severities: Mapping[str, Severity] = field(default_factory=dict)
    on_failure: str = "rollback"


class LintContext:
    """Per-file context handed to rules."""

    def __init__(
        self,
        script: Script,
        options: LintOptions,
        schema: SchemaState,
        catalog: CatalogFacts | None,
        *,
        direction: str | None,
        migration: str,
        tool_transaction: ToolTransaction = ToolTransaction.STATEMENTS,
    ) -> None:
        self.script = script
        self.path = script.path
        self.options = options
        self.version = options.version
        self.schema = schema
        self.catalog = catalog
        self.direction = direction
        self.migration = migration
        self.created_here: set[Key] = set()
        self.down_state = "ok"  # "missing" / "empty" for an up whose down is
        # How to name the down in messages (None: "the down file"), e.g. a dbmate section.
        self.down_name: str | None = None
        # A down file whose migration has no up (migration-file-name).
        self.up_missing = False
        # Why this loose file, which looks like a migration, is not read as one.
        self.misnamed: Misnamed | None = None
        # How the tool that applies the file wraps it in transactions (dbmate's sections,
        # golang-migrate's one query string), read with --for-runner=other.
        self.tool_transaction = tool_transaction
        # The schema after every up of the directory (None for a lone file).
        self.final_schema: SchemaState | None = None
        # For a down file: the parsed up file of the same migration, and the facts the up
        # file's lint computed (by statement index; filled on demand).
        self.partner: Script | None = None
        self.partner_facts: dict[int, StatementFacts] = {}
        # For a down file: what its up changed, as it was before (down-incomplete).
        self.up_record: UpRecord | None = None
        # Plans by (path, direction), shared by the engine across the files of a run: the
        # up file is planned once for plan-rejected and again for its down file's
        # non-idempotent; a directory of 1,000 migrations planned its ups twice.
        self.plans: dict[tuple[str, str], PlanOutcome] = {}
        self._facts: dict[int, StatementFacts] = {}
        self._scratch: dict[str, Any] = {}
        self._types: dict[int, list[tuple[str, TypeRef, Any]]] = {}
        self.steps = file_steps(script, self)

    # ---- per-statement facts ------------------------------------------------------------

    def facts(self, stmt: Statement) -> StatementFacts:
        """The statement's facts on the target version (computed once)."""
        found = self._facts.get(stmt.index)
        if found is None:
            found = self._facts[stmt.index] = statement_facts(stmt, self.version)
        return found

    @property
    def facts_cache(self) -> dict[int, StatementFacts]:
        """The facts computed so far, by statement index (the engine hands them to the
        down file of the same migration as its ``partner_facts``)."""
        return self._facts

    def facts_of(self, stmt: Statement) -> StatementFacts:
        """Facts of a statement of the partner up file (computed once, with that file's)."""
        found = self.partner_facts.get(stmt.index)
        if found is None:
            found = self.partner_facts[stmt.index] = statement_facts(stmt, self.version)
        return found

    def plan_of(self, direction: str) -> PlanOutcome:
        """atomig's plan of this file (``direction`` "up"/"down") or of its partner up file
        ("partner"), on the target version with the configured failure policy: the plan,
        or the planner's refusal (computed once per file and run)."""
        script = self.partner if direction == "partner" else self.script
        assert script is not None
        facts = self.facts_of if direction == "partner" else self.facts
        direction = "up" if direction == "partner" else direction
        key = (script.path, direction)
        found = self.plans.get(key)
        if found is None:
            found = self.plans[key] = plan_file(script, direction, self, facts)
        return found

    def plan_error(self, direction: str) -> SourceError | None:
        """The planner's refusal of this file (``direction`` "up"/"down"), if any; a file
        the planner cannot refuse (see :func:`~atomig.plan.planner.may_refuse`) is not
        planned for it."""
        if (self.script.path, direction) not in self.plans:
            from atomig.plan.planner import may_refuse

            if not may_refuse(self.script, self.facts):
                return None
        return self.plan_of(direction).error

    def step_mates(self, stmt: Statement) -> Iterator[Statement]:
        """The statements after ``stmt`` in the same transaction step, in order (lazily:
        callers stop early, so a file that is one long step stays linear)."""
        info = self.steps[stmt.index]
        if not info.transactional:
            return
        statements = self.script.statements
        for index in range(stmt.index + 1, len(statements)):
            if self.steps[index].step != info.step:
                return
            yield statements[index]

    def declared_types(self, stmt: Statement) -> list[tuple[str, TypeRef, Any]]:
        """Column types the statement declares (computed once; the type-choice rules read
        them). A foreign table's declare none: its types mirror the remote table's, so the
        choice is not the migration's."""
        found = self._types.get(stmt.index)
        if found is None:
            foreign = stmt.body.get("objtype") == "OBJECT_FOREIGN_TABLE"
            found = self._types[stmt.index] = (
                [] if foreign else list(declared_types(stmt))
            )
        return found

    def scratch(self, rule: str) -> Any:
        """A per-file dict a rule may keep state in (for its ``finish``)."""
        return self._scratch.setdefault(rule, {})

    @property
    def other_runner(self) -> bool:
        """The files are applied by another tool or psql (``--for-runner=other``)."""
        return self.options.runner == "other"

    # ---- schema knowledge -----------------------------------------------------------------

    def is_new(self, name: QualifiedName | None) -> bool:
        """Created earlier in this same migration file (empty: locking is harmless), under
        this name or renamed to it since. A ``CREATE … IF NOT EXISTS`` of a table the
        history already has created nothing."""
        if name is None:
            return False
        known = self.schema.table(name)
        if key_of(name) in self.created_here:
            return known is None or known.origin == self.migration
        # Made by this up file, then renamed: the replay logged it under its new name.
        return self.direction != "down" and self.made_here("relation", name)

    def table(self, name: QualifiedName | None) -> Table | None:
        """The table as the replayed history knows it."""
        return self.schema.table(name)

    def catalog_table(self, name: QualifiedName | None) -> CatalogTable | None:
        """The table as the live catalog knows it (only with a database), followed through
        the renames of the history (a pending migration renamed it)."""
        if self.catalog is None or name is None:
            return None
        name = self.schema.renamed_from.get(key_of(name), name)
        return self.catalog.table(name.schema, name.name)

    @property
    def knows_foreign_tables(self) -> bool:
        """The history or the live catalog knows some foreign table."""
        return known_foreign_tables(self.schema, self.catalog)

    def is_foreign(self, name: QualifiedName) -> bool:
        """``name`` is a foreign table (known from history or the live catalog)."""
        return known_foreign(name, self.schema, self.catalog)

    def table_of_index(self, name: QualifiedName) -> QualifiedName | None:
        """The table an index belongs to: from history, else the live catalog."""
        known = self.schema.table_of_index(name)
        if known is not None:
            return known.name
        if self.catalog is None or self.schema.dropped("index", name):
            return None  # (dropped or renamed by the history: the catalog is behind)
        first = self.schema.renamed_from.get(key_of(name), name)
        owner = self.catalog.table_of_index(first.schema, first.name)
        if owner is not None and self._now(owner)[0] != owner[0]:
            owner = None  # moved by SET SCHEMA: its indexes went with it (PG 15, 18)
        if owner is None:
            owner = self._table_of_moved_index(name)
        if owner is None:
            owner = self._table_of_renamed_constraint(name)
        table = None if owner is None else self.live_name(owner)
        if table is not None and self._dropped_with_constraint(table, name.name):
            return None
        return table

    def _dropped_with_constraint(self, table: QualifiedName, index: str) -> bool:
        """The history dropped the PRIMARY KEY, UNIQUE or EXCLUDE constraint of ``table``
        (known from the live catalog) that ``index`` is the index of: gone with it."""
        if not self.schema.dropped("constraint", table, index):
            return False
        live = self.catalog_table(table)
        con = (
            None
            if live is None
            else live.constraints.get(self.live_constraint_name(table, index))
        )
        return con is not None and con.kind in ("p", "u", "x")

    def _now(self, key: Key) -> Key:
        """The ``(schema, name)`` now of a table the live catalog knows as ``key``: the
        history may have renamed or moved it."""
        for now, first in self.schema.renamed_from.items():
            if self._catalog_key(first) == key:
                return now
        return key

    def _table_of_moved_index(self, index: QualifiedName) -> Key | None:
        """The table (as the live catalog knows it) that the history moved, with its
        indexes, into ``index``'s schema (``ALTER TABLE … SET SCHEMA``)."""
        assert self.catalog is not None
        schema = key_of(index)[0]
        for now, first in self.schema.renamed_from.items():
            old = self._catalog_key(first)
            owner = self.catalog.index_owners.get((old[0], index.name))
            if now[0] == schema != old[0] and owner == old:
                return old
        return None

    def live_name(self, key: Key) -> QualifiedName:
        """A relation the live catalog knows as ``(schema, name)``, named as findings name
        every table: under its name now (the history may have renamed or moved it), and
        schema-qualified only where the bare name would not find it (lint takes a bare
        name as ``public``'s, found first along the ``search_path``)."""
        schema, name = self._now(key)
        path = self.catalog.search_path if self.catalog else ("public",)
        for candidate in path:
            if candidate == schema == "public":
                return QualifiedName(None, name)
            if self.catalog and (candidate, name) in self.catalog.tables:
                break  # the bare name finds this one first
        return QualifiedName(schema, name)

    def _catalog_key(self, name: QualifiedName) -> Key:
        """The ``(schema, name)`` the live catalog has ``name`` under (along the
        ``search_path`` when unqualified)."""
        if self.catalog is None:
            return key_of(name)
        found = self.catalog.table(name.schema, name.name)
        return (found.schema, found.name) if found is not None else key_of(name)

    def live_constraint_name(self, table: QualifiedName, name: str) -> str:
        """The name the live catalog knows a constraint of ``table`` by (the history may
        have renamed it: RENAME CONSTRAINT, or ALTER INDEX of its index)."""
        first = key_of(self.schema.renamed_from.get(key_of(table), table))
        found = self.schema.constraints_renamed_from.get((*first, name))
        if found is not None:
            return found
        index = QualifiedName(table.schema, name)
        return self.schema.renamed_from.get(key_of(index), index).name

    def _table_of_renamed_constraint(self, index: QualifiedName) -> Key | None:
        """The table whose PRIMARY KEY, UNIQUE or EXCLUDE constraint the history renamed
        to ``index``'s name (its index was renamed with it, PG 15 and 18), as the live
        catalog knows the table."""
        assert self.catalog is not None
        schema, name = key_of(index)
        for (
            t_schema,
            t_name,
            new,
        ), old in self.schema.constraints_renamed_from.items():
            live = self.catalog.tables.get((t_schema, t_name))
            con = None if live is None else live.constraints.get(old)
            if new == name and t_schema == schema and con and con.kind in "pux":
                return (t_schema, t_name)
        return None

    def exists(self, name: QualifiedName | None) -> bool | None:
        """True: the table existed before this migration; False: created here; None: unknown
        (no history and no catalog mention it: treat as existing, the safe assumption)."""
        if name is None:
            return None
        if self.is_new(name):
            return False
        if self.table(name) is not None or self.catalog_table(name) is not None:
            return True
        return None

    def column_type(self, table: QualifiedName, column: str) -> TypeRef | None:
        """The column's current type: the live catalog's unless this file changed it."""
        known = self.table(table)
        col = known.columns.get(column) if known else None
        if col is not None and col.set_by == self.migration and col.type is not None:
            return col.type
        live = self.catalog_table(table)
        if live is not None and column in live.columns:
            return TypeRef.parse(live.columns[column])
        return col.type if col is not None else None

    def known_not_null(self, table: QualifiedName, column: str) -> bool:
        """The column is NOT NULL before this statement: as the history left it when it
        knows the column (it follows every pending SET/DROP NOT NULL, which the live
        catalog has not seen yet), else as the live catalog has it."""
        known = self.table(table)
        col = known.columns.get(column) if known else None
        if col is not None:
            return col.not_null
        live = self.catalog_table(table)
        return live is not None and column in live.not_null

    def column_identity(self, table: QualifiedName, column: str) -> str | None:
        """The column's identity kind (``a`` ALWAYS, ``d`` BY DEFAULT, ``""`` none) before
        this statement: the history's when it knows (it follows every pending change,
        which the live catalog has not seen yet), else the live catalog's; ``None`` when
        unknown."""
        known = self.table(table)
        col = known.columns.get(column) if known else None
        if col is not None and col.identity is not None:
            return col.identity
        live = self.catalog_table(table)
        return None if live is None else live.identities.get(column)

    def column_collation(self, table: QualifiedName, column: str) -> str | None:
        """The column's current collation (``default``: its type's), as
        :meth:`column_type` decides: ``None`` when unknown."""
        known = self.table(table)
        col = known.columns.get(column) if known else None
        if col is not None and col.set_by == self.migration:
            return col.collation
        live = self.catalog_table(table)
        if live is not None and column in live.columns:
            return live.collations.get(column)
        return col.collation if col is not None else None

    def has_validated_not_null_check(self, table: QualifiedName, column: str) -> bool:
        """A validated ``CHECK (column IS NOT NULL)`` exists (history or catalog)."""
        known = self.table(table)
        if known is not None and known.validated_not_null_check(column):
            return True
        live = self.catalog_table(table)
        return live is not None and column in live.not_null_checks

    def covered_later(self, table: QualifiedName, columns: tuple[str, ...]) -> bool:
        """A later migration of the directory creates an index leading with ``columns``."""
        final = self.final_schema.table(table) if self.final_schema else None
        return final is not None and final.covered_by_index(columns)

    def partition_key(self, name: QualifiedName | None) -> tuple[str | None, ...]:
        """A partitioned table's key columns (None for an expression; empty: not known to
        be partitioned): history, else catalog."""
        known = self.table(name)
        if known is not None and not known.placeholder:
            # (the history keeps the columns a key reads: an expression's too)
            return known.partition_key[1] if known.partition_key else ()
        live = self.catalog_table(name)
        return live.partition_key if live is not None else ()

    def is_partitioned(self, name: QualifiedName | None) -> bool:
        """The table is a partitioned table (history or catalog)."""
        known = self.table(name)
        if known is not None and not known.placeholder:
            return known.partitioned
        live = self.catalog_table(name)
        return live is not None and live.partitioned

    def covered_by_index(self, table: QualifiedName, columns: tuple[str, ...]) -> bool:
        """An index (history or catalog) leads with exactly these columns."""
        known = self.table(table)
        if known is not None and known.covered_by_index(columns):
            return True
        live = self.catalog_table(table)
        wanted = set(columns)
        return live is not None and any(
            set(cols[: len(columns)]) == wanted for _, cols, _ in live.indexes
        )

    def unique_columns(self, table: QualifiedName | None) -> set[str]:
        """Columns that alone are a PRIMARY KEY or UNIQUE key (history or catalog)."""
        found: set[str] = set()
        known = self.table(table)
        if known is not None:
            found.update(
                c.columns[0]
                for c in known.constraints.values()
                if c.kind in ("primary", "unique") and len(c.columns) == 1
            )
            found.update(
                i.columns[0]
                for i in known.indexes.values()
                if i.unique and len(i.columns) == 1
            )
        live = self.catalog_table(table)
        if live is not None:
            found.update(cols[0] for _, cols, unique in live.indexes if unique and cols)
        return found

    def created_by_this_up(
        self, name: QualifiedName | None, column: str | None = None
    ) -> bool:
        """In a down file: the table (or column) was created by this migration's up file."""
        if self.direction != "down" or name is None:
            return False
        known = self.table(name)
        if known is None:
            return False
        if column is None:
            return known.origin == self.migration
        col = known.columns.get(column)
        return known.origin == self.migration or (
            col is not None and col.set_by == self.migration
        )

    def made_here(self, kind: str, name: QualifiedName | None, sub: str = "") -> bool:
        """The object was created by this migration: earlier in this up file, or (for a
        down file) by its up file, even when the up dropped it again (a temporary helper).

        ``kind``: ``relation``, ``column``, ``constraint``, ``index``, ``trigger``,
        ``function`` or ``type`` (``sub`` names the column, constraint or trigger).
        """
        return self.schema.creator(kind, name, sub) == self.migration

    def functions(self) -> Mapping[str, Volatility] | None:
        """Function volatility from the live catalog (``None`` offline)."""
        return None if self.catalog is None else self.catalog.functions
