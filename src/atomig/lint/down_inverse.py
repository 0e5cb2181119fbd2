"""Does a down file undo its up? The schema before the up against the schema after the up
then the down, both from the replay, on what the replay knows well: tables, views, each
table's columns (and their types when known), indexes and constraints, by name
(down-incomplete).

Only the tables and views the up or the down touched are compared
(:class:`~atomig.lint.down_journal.UpRecord` keeps them as they were before the up). A
difference is reported only where the replay is sure of both sides:

* something there before the up and gone after the down was known to the history (so it
  existed), and a table rebuilt by the down with unknown columns is not looked into;
* something there after the down and not before is reported when the table was fully
  known before the up (created by the history with its columns), or when the up created
  it (its ``CREATE``/``ADD`` succeeded: it was not there);
* what goes with something else is not reported apart, nor kept when PostgreSQL drops it:
  the columns, indexes and constraints of a table (only the table is named), the indexes
  reading a dropped column, the partitions and partition indexes attached to a dropped
  parent.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from atomig.lint.down_journal import UpRecord
from atomig.lint.down_links import Links, line_of, statement_of
from atomig.lint.layered import Layered
from atomig.lint.schema import SchemaState
from atomig.lint.schema_model import Column, Key, Table
from atomig.lint.schema_views import View
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Script
from atomig.sql.quote import quote_ident
from atomig.sql.types import TypeRef

# Constraints compared by name (a NOT NULL constraint of its own, PG 18, goes with DROP NOT
# NULL, which the replay does not follow to it).
_NAMED_KINDS = frozenset({"check", "foreign", "primary", "unique", "exclusion"})
_SERIALS = {"serial": "int4", "bigserial": "int8", "smallserial": "int2"}


@dataclass(frozen=True, slots=True)
class Leftover:
    """One difference: the object (``label``: ``index items_d``; ``name``: ``items_d``),
    what the up did to it (``origin``, at ``line`` of the up file), what the down leaves
    (``outcome``), the fix (``sql``: the statement to add, when it is one), and the down
    statement nearest the cause (its index; ``None``: the down file's first)."""

    label: str
    name: str
    origin: str
    line: int | None
    outcome: str
    tail: str
    fix: str
    statement: int | None = None
    sql: str = ""

    @property
    def message(self) -> str:
        """The finding's message (after the whole up)."""
        line = "" if self.line is None else f" (line {self.line})"
        return f"{self.label}, {self.origin}{line}, {self.outcome}{self.tail}"


def leftovers(
    record: UpRecord,
    down: SchemaState,
    down_script: Script,
    migration: str,
    links: Links | None = None,
    middle: Mapping[Key, Table | None] | None = None,
    skip: Collection[str] = (),
) -> list[Leftover]:
    """What the down file (replayed into ``down``) leaves different from before the up;
    after part of the up only (down_partial), ``links`` are those of that part and the
    down, ``middle`` holds the tables the up touched as that part left them, and the
    objects labelled as in ``skip`` (reported already) are left out."""
    comparison = _Comparison(record, down, down_script, migration, links, middle)
    comparison.skip = skip
    return comparison.run()


def shown(key: Key) -> QualifiedName:
    """How a table or index is named in messages (its schema when not public)."""
    return QualifiedName(None if key[0] == "public" else key[0], key[1])


def _same_type(a: TypeRef | None, b: TypeRef | None) -> bool:
    if a is None or b is None:
        return True  # not known: not compared
    return (
        _SERIALS.get(a.name, a.name),
        a.typmods,
        a.array,
        a.schema or "public",
    ) == (_SERIALS.get(b.name, b.name), b.typmods, b.array, b.schema or "public")


class _Comparison:
    def __init__(
        self,
        record: UpRecord,
        down: SchemaState,
        script: Script,
        migration: str,
        links: Links | None,
        middle: Mapping[Key, Table | None] | None,
    ) -> None:
        self.record, self.after, self.down = record, record.after, down
        self.script, self.migration = script, migration
        self.links = Links.of(record.up, script) if links is None else links
        self.middle = middle
        self.skip: Collection[str] = ()
        self.out: list[Leftover] = []

    # ---- the two sides ----------------------------------------------------------------

    def before(self, key: Key) -> Table | None:
        tables = self.record.tables
        return tables[key] if key in tables else self.after.tables.get(key)

    def now(self, key: Key) -> Table | None:
        table = self.down.tables.get(key)
        parent = self.links.table_parents.get(key)
        if table is not None and parent is not None and parent not in self.down.tables:
            return None  # a partition goes with its parent
        return table

    def by_up(self, kind: str, key: Key, sub: str = "") -> bool:
        """The up created the object (the history's log, as the up left it)."""
        return self.after.created.get((kind, *key, sub)) == self.migration

    def up_line(self, *names: str) -> int | None:
        return line_of(self.record.up, *names)

    def down_stmt(self, *names: str) -> int | None:
        stmt = statement_of(self.script, *names)
        return None if stmt is None else stmt.index

    def renamed(self, kind: str, key: Key, old: str) -> str | None:
        """What the up renamed ``old`` (a column or constraint of the table ``key``, or
        an object of its schema) to."""
        renames = self.links.renames
        if kind in ("column", "constraint"):
            return renames.get((kind, *key, old))
        found = renames.get((kind, key[0], "", old))
        if found is None and kind == "index":  # ALTER TABLE … RENAME of an index
            found = renames.get(("table", key[0], "", old))
        return found

    # ---- the comparison ---------------------------------------------------------------

    def run(self) -> list[Leftover]:
        tables = self.down.tables
        touched = set(self.record.tables)
        if isinstance(tables, Layered):
            touched.update(tables.changed())
        views = self._views()
        for key in sorted(touched):
            if key in views:
                continue  # a materialized view: compared as a view
            self._table(key)
        return self.out

    def _views(self) -> set[Key]:
        keys = set(self.record.views)
        views = self.down.views
        if isinstance(views, Layered):
            keys.update(views.changed())
        for key in sorted(keys):
            old = self._view_before(key)
            new = views.get(key)
            if old is not None and new is None:
                self._gone("view", key, old.label, f"view {shown(key)}")
            elif old is None and new is not None and self.by_up("relation", key):
                what = "MATERIALIZED VIEW" if new.materialized else "VIEW"
                self._left(
                    new.label,
                    (key[1],),
                    f"DROP {what} IF EXISTS {shown(key)};",
                )
        return keys

    def _view_before(self, key: Key) -> View | None:
        views = self.record.views
        return views[key] if key in views else self.after.views.get(key)

    def _table(self, key: Key) -> None:
        old, new = self.before(key), self.now(key)
        if old is None and new is None:
            return
        if new is None:
            assert old is not None
            if key not in self.links.table_parents:
                label = f"table {shown(key)}"
                self._gone("table", key, label, label)
            return
        if old is None:
            if not new.placeholder and self.by_up("relation", key):
                fix = f"DROP TABLE IF EXISTS {shown(key)};"
                self._left(f"table {shown(key)}", (key[1],), fix)
                return
            if not new.placeholder:
                return  # made by the down: what was there before is not known
            old = Table(new.name, columns_known=False, placeholder=True)
        self._parts(key, old, new)

    def _parts(self, key: Key, old: Table, new: Table) -> None:
        # Differences of the name sets first: a table is compared in time proportional
        # to what changed, not to its size (most objects are the same values).
        known = not old.placeholder and old.columns_known
        certain_drops = new.placeholder or new.columns_known
        extra_columns = self._columns(key, old, new, known, certain_drops)
        # (the index of a PRIMARY KEY, UNIQUE or EXCLUDE constraint is reported as it)
        backed = old.constraints.keys() | new.constraints.keys()
        added = new.indexes.keys() - old.indexes.keys() - backed
        if added:
            gone = (old.columns.keys() | self._after_columns(key)) - new.columns.keys()
            added = {
                name
                for name in added
                if not gone & {*new.indexes[name].columns, *new.indexes[name].reads}
                and not self._parent_gone((key[0], name))
            }
        self._objects(
            key, "index", old.indexes, new.indexes, added, extra_columns, known
        )
        if certain_drops:
            self._missing(
                key, "index", old.indexes.keys() - new.indexes.keys() - backed
            )
        new_constraints, old_constraints = new.constraints, old.constraints
        added = {
            name
            for name in new_constraints.keys() - old_constraints.keys()
            if new_constraints[name].kind in _NAMED_KINDS
        }
        self._objects(
            key,
            "constraint",
            old_constraints,
            new_constraints,
            added,
            extra_columns,
            known,
        )
        if certain_drops:
            missing = {
                name
                for name in old_constraints.keys() - new_constraints.keys()
                if old_constraints[name].kind in _NAMED_KINDS
            }
            self._missing(key, "constraint", missing)

    def _columns(
        self, key: Key, old: Table, new: Table, known: bool, certain_drops: bool
    ) -> set[str]:
        """Report the columns added, dropped or retyped; returns those left behind."""
        extra_columns: set[str] = set()
        added = new.columns.keys() - old.columns.keys()
        for name in [n for n in new.columns if n in added] if added else ():
            if known or self.by_up("column", key, name):
                if self._renamed_back(key, "column", old.columns, name):
                    continue
                extra_columns.add(name)
                table = shown(key)
                fix = f"ALTER TABLE {table} DROP COLUMN IF EXISTS {quote_ident(name)};"
                self._left(f"column {table}.{name}", (key[1], name), fix, "added")
        new_columns = new.columns
        for name, column in old.columns.items():
            now = new_columns.get(name)
            if now is column:
                continue  # (the same value: nothing changed it)
            if now is None and certain_drops:
                self._column_gone(key, name, column, new)
            elif now is not None and not _same_type(column.type, now.type):
                self._retyped(key, column, now)
        return extra_columns

    def _after_columns(self, key: Key) -> Mapping[str, Column]:
        # (after part of the up: the tables it touched as that part left them)
        middle = self.middle
        tables = middle if middle is not None and key in middle else self.after.tables
        table = tables.get(key)
        return {} if table is None else table.columns

    def _parent_gone(self, index: Key) -> bool:
        parent = self.links.index_parents.get(index)
        return parent is not None and parent not in self.down.index_owner

    def _objects(
        self,
        key: Key,
        kind: str,
        old: Mapping[str, object],
        new: Mapping[str, object],
        added: set[str],
        extra_columns: set[str],
        known: bool,
    ) -> None:
        """Report the indexes or constraints ``added`` (there after the down and not
        before)."""
        for name in sorted(added):
            label = (
                f"index {shown((key[0], name))}"
                if kind == "index"
                else f"constraint {name} of table {shown(key)}"
            )
            if label in self.skip or self._renamed_back(key, kind, old, name):
                continue
            logged = (key[0], name) if kind == "index" else key
            sub = "" if kind == "index" else name
            if not (known or self.by_up(kind, logged, sub)):
                continue
            if extra_columns & set(getattr(new[name], "columns", ())):
                continue  # goes with the column reported
            if kind == "index":
                fix = f"DROP INDEX CONCURRENTLY IF EXISTS {shown((key[0], name))};"
                self._left(label, (name,), fix)
            else:
                table = shown(key)
                fix = f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {quote_ident(name)};"
                self._left(label, (name,), fix, "added")

    def _missing(self, key: Key, kind: str, names: set[str]) -> None:
        """Report the indexes or constraints there before the up and not after."""
        for name in sorted(names):
            label = (
                f"index {shown((key[0], name))}"
                if kind == "index"
                else f"constraint {name} of table {shown(key)}"
            )
            self._gone(kind, key, label, label, name)

    def _renamed_back(
        self, key: Key, kind: str, old: Mapping[str, object], name: str
    ) -> bool:
        """``name`` is the new name of an up rename reported as not renamed back."""
        return any(
            new == name and self.renamed(kind, key, first) == name
            for (_, _, _, first), new in self.links.renames.items()
            if first in old
        )

    # ---- findings ---------------------------------------------------------------------

    def _left(
        self, label: str, names: tuple[str, ...], fix: str, verb: str = "created"
    ) -> None:
        if label in self.skip:
            return
        self.out.append(
            Leftover(
                label,
                names[-1],
                f"{verb} by the up",
                self.up_line(*names),
                "is still there after the down",
                ": the down file does not undo the up",
                f"add `{fix}` to the down file",
                sql=fix,
            )
        )

    def _gone(self, kind: str, key: Key, label: str, what: str, sub: str = "") -> None:
        """``label`` was there before the up and is not after the down."""
        if label in self.skip:
            return
        name = sub or key[1]
        new = self.renamed(kind, key, name)
        if new is not None:
            self._rename_back(kind, key, label, name, new)
            return
        down = self.down_stmt(name)
        if down is not None and line_of(self.record.up, name) is None:
            line = self.script.statements[down].span.line
            self.out.append(
                Leftover(
                    label,
                    name,
                    "there before the up",
                    None,
                    f"is dropped by the down (line {line})",
                    ": the down file does more than undo the up",
                    "remove that statement from the down file (the up did not create "
                    f"{what})",
                    down,
                )
            )
            return
        self.out.append(
            Leftover(
                label,
                name,
                "dropped by the up",
                self.up_line(name),
                "is not created again by the down",
                ": the schema is not restored (its data is gone anyway)",
                f"recreate {what} in the down file as it was before the up "
                "(its definition, indexes and constraints)",
            )
        )

    def _column_gone(self, key: Key, name: str, column: Column, new: Table) -> None:
        new_name = self.renamed("column", key, name)
        if new_name is not None and new_name in new.columns:
            self._rename_back(
                "column", key, f"column {shown(key)}.{name}", name, new_name
            )
            return
        kind = f" {column.type}" if column.type is not None else " …"
        label = f"column {shown(key)}.{name}"
        if label in self.skip:
            return
        self._gone("column", key, label, label, name)
        last = self.out[-1]
        if last.origin == "dropped by the up":
            sql = (
                f"ALTER TABLE {shown(key)} ADD COLUMN IF NOT EXISTS "
                f"{quote_ident(name)}{kind};"
            )
            fix = f"add `{sql}` to the down file (its data is gone)"
            self.out[-1] = replace(last, fix=fix, sql=sql)

    def _retyped(self, key: Key, old: Column, new: Column) -> None:
        table = shown(key)
        if f"column {table}.{old.name}" in self.skip:
            return
        sql = (
            f"ALTER TABLE {table} ALTER COLUMN {quote_ident(old.name)} TYPE {old.type};"
        )
        self.out.append(
            Leftover(
                f"column {table}.{old.name}",
                old.name,
                f"changed to {new.type} by the up",
                self.up_line(old.name),
                f"is still {new.type} after the down (it was {old.type})",
                "",
                f"add `{sql}` to the down file",
                sql=sql,
            )
        )

    def _rename_back(self, kind: str, key: Key, label: str, old: str, new: str) -> None:
        if label in self.skip:
            return
        table = shown(key)
        fixes = {
            "column": f"ALTER TABLE {table} RENAME COLUMN {quote_ident(new)} TO "
            f"{quote_ident(old)};",
            "constraint": f"ALTER TABLE {table} RENAME CONSTRAINT {quote_ident(new)} "
            f"TO {quote_ident(old)};",
            "index": f"ALTER INDEX IF EXISTS {shown((key[0], new))} RENAME TO "
            f"{quote_ident(old)};",
            "table": f"ALTER TABLE IF EXISTS {shown((key[0], new))} RENAME TO "
            f"{quote_ident(old)};",
            "view": f"ALTER VIEW IF EXISTS {shown((key[0], new))} RENAME TO "
            f"{quote_ident(old)};",
        }
        self.out.append(
            Leftover(
                label,
                old,
                f"renamed to {new} by the up",
                self.up_line(old, new),
                "is not renamed back by the down",
                "",
                f"add `{fixes[kind]}` to the down file",
                sql=fixes[kind],
            )
        )
