"""What an up file changed, kept while it is replayed, for the down file to be compared
with (down-incomplete): only the tables and views the up touches, as they were before it.

Snapshotting the whole schema per migration would make linting a directory quadratic; the
replay instead keeps each table the first time the up changes it
(:meth:`~atomig.lint.schema.SchemaState.remember`) and the views through a layer that is
written back once the up is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from atomig.lint.layered import Layered
from atomig.lint.schema import Key, SchemaState, Table
from atomig.lint.schema_views import View
from atomig.sql.parse import Script


@dataclass(frozen=True, slots=True)
class UpRecord:
    """The tables and views an up file touched, as they were before it, its script, and
    the schema after it (valid until the next up is replayed into it)."""

    tables: Mapping[Key, Table | None]
    views: Mapping[Key, View | None]
    up: Script
    after: SchemaState


class UpRecorder:
    """Records what the up file replayed into ``schema`` between :meth:`__init__` and
    :meth:`finish` touches."""

    def __init__(self, schema: SchemaState) -> None:
        self.schema = schema
        self.views = schema.views
        self.layer: Layered[Key, View] = Layered(schema.views)
        schema.before = {}
        schema.views = self.layer

    def finish(self, up: Script) -> UpRecord:
        """Stop recording: the schema is as if nothing had watched it."""
        schema = self.schema
        tables = schema.before or {}
        schema.before = None
        views = self.layer.commit()
        schema.views = self.views
        return UpRecord(tables, views, up, schema)
