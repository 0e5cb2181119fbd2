"""Pre-flight: refuse to start a migration that would create an object that already exists.

Such an object predates the migration — made by hand, left by another tool (drift). Running
anyway breaks the rollback promise: ``CREATE INDEX IF NOT EXISTS`` (``ADD COLUMN IF NOT
EXISTS``, ``CREATE TABLE IF NOT EXISTS`` …) skips silently and a later ``atomig down`` drops
the object with the down file's ``DROP … IF EXISTS``; a plain ``CREATE`` fails part-way, and
the rollback of the steps before it runs that same down file. Both drop an index in use, a
column and its data, a table.

What the steps still to run create is known from their text (:mod:`atomig.sql.objects`);
one catalog query, with each migration's ``search_path``, tells which of those objects exist.
Not reported: what an earlier statement of the run drops or renames away first (``DROP INDEX
IF EXISTS i; CREATE INDEX i …``), what the run creates itself (a column of a table it
creates, the objects of the steps of a resumed migration that are done), ``CREATE OR
REPLACE``, and an ``IF NOT EXISTS`` object the down file does not drop (``CREATE EXTENSION IF
NOT EXISTS pgcrypto`` with a down file that keeps it). An object an earlier migration of the
same run creates is reported without asking the catalog: the later one would adopt it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from atomig.db.compose import set_config_params, set_config_query
from atomig.errors import NeedsAttention, SourceLocation
from atomig.plan.model import Plan
from atomig.run.context import Conn
from atomig.sql.objects import (
    COLUMN,
    CONSTRAINT,
    INDEX,
    RELATION,
    SCHEMA,
    Creation,
    Removal,
    SchemaObject,
    created_objects,
    removed_objects,
    same_name,
)
from atomig.sql.parse import Statement


class PreexistingObjects(NeedsAttention):
    """A migration would create objects that already exist; nothing was run (exit 4)."""

    kind = "preexisting-objects"


@dataclass(frozen=True, slots=True)
class Pending:
    """A migration about to run: its plans, and how many of its steps are its own already
    (done before a resume, or a build in flight when its runner died): what those create is
    the migration's, not a collision."""

    up: Plan
    down: Plan | None
    own_steps: int = 0


@dataclass(frozen=True, slots=True)
class Candidate:
    """An object a step still to run creates, which must not exist yet."""

    creation: Creation
    statement: Statement
    up: Plan
    dropped_by: Statement | None  # the down statement that drops it
    down: Plan | None
    down_opaque: bool  # the down file has a DO block: it may drop anything
    made_by: str | None = None  # an earlier migration of the run creates it

    @property
    def location(self) -> SourceLocation:
        """Where the creating statement is."""
        span = self.statement.span
        return SourceLocation(self.up.path, span.line, span.column)

    @property
    def harmful(self) -> bool:
        """A collision here matters: the statement fails (a plain CREATE), or it skips and
        the down file drops the object (or may: a DO block)."""
        return not self.creation.if_not_exists or bool(
            self.dropped_by or self.down_opaque
        )

    def why(self) -> str:
        """Why the collision matters, for the message."""
        drop = ""
        if self.dropped_by is not None and self.down is not None:
            span = self.dropped_by.span
            where = SourceLocation(self.down.path, span.line, span.column)
            drop = f"the down file would drop it ({_short(self.dropped_by)} at {where})"
        elif self.down_opaque:
            drop = "the down file has a DO block that may drop it"
        first = (
            f"{self.made_by} creates it earlier in this run: " if self.made_by else ""
        )
        if self.creation.if_not_exists:
            return f"{first}IF NOT EXISTS would skip it and {drop}"
        fails = "the statement would fail with 'already exists'"
        return first + (f"{fails}, and {drop}" if drop else fails)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (in the error's details)."""
        obj = self.creation.object
        return {
            "object": str(obj),
            "kind": obj.what,
            "name": obj.name.name,
            "schema": obj.name.schema,
            "table": str(obj.table) if obj.table else None,
            "file": self.up.path,
            "line": self.location.line,
            "column": self.location.column,
            "statement": _short(self.statement, 200),
            "if_not_exists": self.creation.if_not_exists,
            "dropped_by": _short(self.dropped_by, 200) if self.dropped_by else None,
            "made_by": self.made_by,
            "why": self.why(),
        }


def _short(statement: Statement, limit: int = 80) -> str:
    text = " ".join(statement.text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _same_object(m: SchemaObject, obj: SchemaObject) -> bool:
    relations = (RELATION, INDEX)
    if m.kind in relations and obj.kind in relations:
        return same_name(m.name, obj.name)  # one namespace for tables and indexes
    return m.kind == obj.kind and m.name == obj.name and same_name(m.table, obj.table)


def _of_table(m: SchemaObject, obj: SchemaObject) -> bool:
    # A column or constraint of a table the run creates is new too (an index is not: its
    # name must be free in the whole schema).
    return (
        m.kind == RELATION
        and obj.kind in (COLUMN, CONSTRAINT)
        and same_name(m.name, obj.table)
    )


class _Seen:
    """What the run made and removed so far, in order, by name (a run of 500 migrations
    asks 500 times: a scan of everything seen would be quadratic)."""

    def __init__(self) -> None:
        self.count = 0
        self.made: dict[str, list[tuple[int, SchemaObject, str]]] = {}
        self.gone: dict[str, list[tuple[int, Removal]]] = {}
        self.gone_schemas: list[tuple[int, Removal]] = []

    def add_made(self, obj: SchemaObject, by: str) -> None:
        self.count += 1
        self.made.setdefault(obj.name.name, []).append((self.count, obj, by))

    def add_gone(self, removals: Iterable[Removal]) -> None:
        for removal in removals:
            self.count += 1
            if removal.kind == SCHEMA:
                self.gone_schemas.append((self.count, removal))
            else:
                self.gone.setdefault(removal.name.name, []).append(
                    (self.count, removal)
                )

    def verdict(self, obj: SchemaObject, migration: str) -> str | None:
        """``None``: ask the catalog; ``""``: the run creates it (or drops it first)
        itself; otherwise the earlier migration of the run that creates it too."""
        names = {obj.name.name} | ({obj.table.name} if obj.table else set())
        last, verdict = 0, None
        for n in names:
            for seq, removal in self.gone.get(n, ()):
                if seq > last and removal.covers(obj):
                    last, verdict = seq, ""
            for seq, m, by in self.made.get(n, ()):
                if seq > last and _of_table(m, obj):
                    last, verdict = seq, ""
                elif seq > last and _same_object(m, obj):
                    last, verdict = seq, "" if by == migration else by
        for seq, removal in self.gone_schemas:
            if seq > last and removal.covers(obj):
                last, verdict = seq, ""
        return verdict


def _down_drop(down: Plan | None, obj: SchemaObject) -> tuple[Statement | None, bool]:
    if down is None:
        return None, False
    opaque = False
    for step in down.steps:
        for statement in step.statements:
            removals = removed_objects(statement)
            if removals is None:
                opaque = True
            elif any(r.covers(obj) for r in removals):
                return statement, opaque
    return None, opaque


def _statements(plan: Plan, start: int, stop: int | None = None) -> Iterable[Statement]:
    for step in plan.steps[start:stop]:
        yield from step.statements


def planned_creations(pending: Sequence[Pending]) -> list[Candidate]:
    """The objects the steps still to run create that must not exist yet, in run order.

    Pure: walks the statements in the order they will run, skipping what the run drops or
    renames away before creating, and what the same migration creates itself. An object
    an earlier migration of the run creates is a collision known without the catalog
    (``made_by``): the later migration's down file would drop the earlier one's object.
    """
    seen = _Seen()
    out: list[Candidate] = []
    for item in pending:
        name = item.up.migration.name
        for statement in _statements(item.up, 0, item.own_steps):
            seen.add_gone(removed_objects(statement) or ())
            for creation in created_objects(statement):
                seen.add_made(creation.object, name)
        for statement in _statements(item.up, item.own_steps):
            seen.add_gone(removed_objects(statement) or ())
            for creation in created_objects(statement):
                obj = creation.object
                verdict = seen.verdict(obj, name)
                if verdict != "":
                    dropped_by, opaque = _down_drop(item.down, obj)
                    candidate = Candidate(
                        creation,
                        statement,
                        item.up,
                        dropped_by,
                        item.down,
                        opaque,
                        verdict,
                    )
                    if candidate.harmful:
                        out.append(candidate)
                seen.add_made(obj, name)
    return out


# One query for every object; names resolved as the statements will resolve them: an
# unqualified new relation, type or index lands in current_schema() (the first existing
# schema of the search_path), an index in its table's schema; a table is found with
# to_regclass (the search_path). An INVALID index a concurrent build of the same name left
# is not reported: the step drops it before building (atomig.run.heal). Values are
# parameters, never spliced.
_EXISTING = sql.SQL("""
WITH o AS (
    SELECT o.*,
        CASE WHEN o.tname IS NULL THEN NULL
             WHEN o.tnsp IS NULL THEN to_regclass(quote_ident(o.tname))
             ELSE to_regclass(quote_ident(o.tnsp) || '.' || quote_ident(o.tname))
        END AS tbl
    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bool[])
        WITH ORDINALITY AS o(kind, nsp, name, tnsp, tname, heals, i)
)
SELECT o.i FROM o
WHERE CASE o.kind
    WHEN 'relation' THEN EXISTS (
        SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = o.name AND n.nspname = coalesce(o.nsp, current_schema()))
    WHEN 'index' THEN EXISTS (
        SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = o.name AND CASE
            WHEN o.nsp IS NOT NULL THEN n.nspname = o.nsp
            ELSE c.relnamespace = coalesce(
                (SELECT t.relnamespace FROM pg_class t WHERE t.oid = o.tbl),
                (SELECT s.oid FROM pg_namespace s WHERE s.nspname = current_schema()))
        END
        AND NOT (o.heals AND EXISTS (
            SELECT FROM pg_index x WHERE x.indexrelid = c.oid AND NOT x.indisvalid)))
    WHEN 'column' THEN EXISTS (
        SELECT FROM pg_attribute a
        WHERE a.attrelid = o.tbl AND a.attname = o.name AND a.attnum > 0
          AND NOT a.attisdropped)
    WHEN 'constraint' THEN EXISTS (
        SELECT FROM pg_constraint k WHERE k.conrelid = o.tbl AND k.conname = o.name)
    WHEN 'type' THEN EXISTS (
        SELECT FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typname = o.name AND n.nspname = coalesce(o.nsp, current_schema()))
    WHEN 'schema' THEN EXISTS (SELECT FROM pg_namespace WHERE nspname = o.name)
    WHEN 'extension' THEN EXISTS (SELECT FROM pg_extension WHERE extname = o.name)
    ELSE false
END
ORDER BY o.i
""")


def _params(candidates: Sequence[Candidate]) -> list[list[str | bool | None]]:
    columns: list[list[str | bool | None]] = [[], [], [], [], [], []]
    for candidate in candidates:
        obj = candidate.creation.object
        table = obj.table
        row = (
            obj.kind,
            obj.name.schema,
            obj.name.name,
            table.schema if table else None,
            table.name if table else None,
            candidate.creation.concurrent,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def _existing_under(conn: Conn, candidates: Sequence[Candidate]) -> list[Candidate]:
    found = conn.execute(_EXISTING, _params(candidates)).fetchall()
    return [candidates[row[0] - 1] for row in found]


def existing_objects(conn: Conn, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates that exist now (one query per distinct ``search_path`` a migration
    sets; one in all for migrations that set none)."""
    groups: dict[str | None, list[Candidate]] = {}
    found: list[Candidate] = []
    for candidate in candidates:
        if candidate.made_by is not None:
            found.append(candidate)  # known without asking: the run creates it twice
            continue
        path = dict(candidate.up.envelope.extra).get("search_path")
        groups.setdefault(path, []).append(candidate)
    for path, group in groups.items():
        if path is None:
            found += _existing_under(conn, group)
            continue
        with conn.transaction():
            conn.execute(
                set_config_query(1),
                set_config_params([("search_path", path)], local=True),
            )
            found += _existing_under(conn, group)
    order = {id(c): i for i, c in enumerate(candidates)}
    return sorted(found, key=lambda c: order[id(c)])


def refuse_preexisting(conn: Conn, pending: Sequence[Pending]) -> None:
    """Raise :class:`PreexistingObjects` when a step still to run would create an object
    that exists already. Reads only; costs no round trip when nothing is created."""
    candidates = planned_creations(pending)
    if not candidates:
        return
    found = existing_objects(conn, candidates)
    if not found:
        return
    first = found[0]
    if len(found) == 1:
        exists = "already exists" if first.made_by is None else "is not its own"
        message = (
            f"{first.up.migration.name} would create {first.creation.object} "
            f"({_short(first.statement)}), which {exists}: {first.why()}. "
            "Nothing was run"
        )
    else:
        listed = "; ".join(
            f"{c.creation.object} at {c.location}: {c.why()}" for c in found[:8]
        )
        more = f"; and {len(found) - 8} more" if len(found) > 8 else ""
        message = (
            f"{len(found)} objects the pending migrations would create exist already "
            "(or are created earlier in this run): "
            f"{listed}{more}. Nothing was run"
        )
    raise PreexistingObjects(
        message,
        location=first.location,
        hint="it existed before the migration (made by hand, or by another tool), so "
        "undoing the migration must not drop it: drop or rename it if it may go, or take "
        "its creation out of the migration (and its DROP out of the down file) to adopt "
        "it; then run atomig up again",
        details={"objects": [c.to_dict() for c in found]},
    )


def pending_after(row: Any, up: Plan, down: Plan | None) -> Pending:
    """The :class:`Pending` of an unfinished migration's ledger ``row`` to be resumed (or
    rolled back and applied again): its steps done are its own, and so is an autocommit
    step in flight when its runner died (a concurrent build may have finished anyway)."""
    from atomig.plan.model import StepKind
    from atomig.run.status import unfinished_reason

    own = min(row.steps_done, len(up.steps))
    if (
        unfinished_reason(row) in ("interrupted", "interrupted_rollback")
        and own < len(up.steps)
        and up.steps[own].kind is StepKind.AUTOCOMMIT
    ):
        own += 1
    return Pending(up, down, own)
