"""What an up file changed, kept while it is replayed, for the down file to be compared
with (down-incomplete): only the tables and views the up touches, as they were before it
and at each of its step boundaries.

Snapshotting the whole schema per migration (or per step) would make linting a directory
quadratic; the replay instead keeps each table the first time the up changes it
(:meth:`UpRecorder.remember`), the views through a layer that is written back once the up
is done, and at each step boundary the values of what it touched so far (a few
references: the tables are copied on their next change, not now).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from atomig.lint.layered import Layered
from atomig.lint.schema import Key, SchemaState, Table
from atomig.lint.schema_views import View
from atomig.sql.parse import Script


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The tables and views the up touched before statement ``start`` (the first of a
    step), as they were there; what it had not touched yet is as before the up."""

    start: int
    tables: Mapping[Key, Table | None]
    views: Mapping[Key, View | None]


@dataclass(frozen=True, slots=True)
class UpRecord:
    """The tables and views an up file touched, as they were before it, at each step
    boundary, its script, and the schema after it (valid until the next up is replayed
    into it)."""

    tables: Mapping[Key, Table | None]
    views: Mapping[Key, View | None]
    up: Script
    after: SchemaState
    checkpoints: tuple[Checkpoint, ...] = ()


class UpRecorder:
    """Records what the up file replayed into ``schema`` between :meth:`__init__` and
    :meth:`finish` touches."""

    def __init__(self, schema: SchemaState) -> None:
        self.schema = schema
        self.views = schema.views
        self.layer: Layered[Key, View] = Layered(schema.views)
        self.before: dict[Key, Table | None] = {}
        # Indexes of the statements that start a step after the first (see steps_from).
        self.starts: Collection[int] = ()
        self.checkpoints: list[Checkpoint] = []
        schema.recording = self
        schema.views = self.layer

    def steps_from(self, starts: Collection[int]) -> None:
        """Keep a checkpoint before each statement of ``starts``."""
        self.starts = starts

    def remember(self, key: Key) -> None:
        """Keep the table ``key`` as it is, the first time the up touches it."""
        before = self.before
        if key not in before:
            before[key] = self.schema.tables.get(key)
            self.schema._owned.discard(key)  # changed on a copy: the kept one stays

    def checkpoint(self, index: int) -> None:
        """Keep what the up touched so far: the statement ``index``, about to be
        replayed, starts a step."""
        tables = self.schema.tables
        kept = {key: tables.get(key) for key in self.before}
        # (changed on copies from now: the values kept here stay as they are)
        self.schema._owned.difference_update(kept)
        self.checkpoints.append(Checkpoint(index, kept, self.layer.changes()))

    def finish(self, up: Script) -> UpRecord:
        """Stop recording: the schema is as if nothing had watched it."""
        schema = self.schema
        schema.recording = None
        views = self.layer.commit()
        schema.views = self.views
        return UpRecord(self.before, views, up, schema, tuple(self.checkpoints))
