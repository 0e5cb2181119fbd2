"""The names an unnamed index or constraint may not take in the schema replay.

PostgreSQL numbers a generated name (``t_a_idx1``, ``t_a_key1``) while it is taken in the
table's schema (PG 15 and 18): by any relation for an index (``ChooseRelationName``: a table,
index, sequence or view), by any table's constraint for a CHECK or FOREIGN KEY
(``ChooseConstraintName``), and by either for the index of a PRIMARY KEY, UNIQUE or EXCLUDE
constraint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomig.lint.schema_model import Key, Table, key_of
from atomig.sql.facts import QualifiedName

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState


class TakenNames:
    """A container of the names taken for an unnamed object of ``table``."""

    def __init__(
        self, state: SchemaState, table: Table, *, relations: bool, constraints: bool
    ) -> None:
        self.state, self.table = state, table
        self.relations, self.constraints = relations, constraints
        self.schema = key_of(table.name)[0]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self.constraints and name in self.table.constraints:
            return True
        if self.relations and self._relation(name):
            return True
        # Another table of the schema may bear it (table t's "t_a_x_check" and t_a's, a
        # CHECK named like an index-backed constraint's name): only the tables that have
        # had a constraint of that name are looked at, not every table.
        if self.constraints:
            for key in self.state.constraint_tables.get(name, ()):
                other = self.state.tables.get(key)
                if key[0] == self.schema and other and name in other.constraints:
                    return True
        return False

    def _relation(self, name: str) -> bool:
        key = (self.schema, name)
        state = self.state
        if name in self.table.indexes or key in state.tables:
            return True
        if key in state.index_owner:
            return True
        return ("relation", *key, "") in state.created and not state.dropped(
            "relation", QualifiedName(self.schema, name)
        )


def note_constraint(state: SchemaState, table: Key, name: str) -> None:
    """Remember that ``table`` has (had) a constraint called ``name``: candidates for
    :class:`TakenNames`, which checks that it still does."""
    tables = state.constraint_tables.get(name, frozenset())
    if table not in tables:
        state.constraint_tables[name] = tables | {table}
