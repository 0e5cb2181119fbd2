"""add-foreign-key: ``ADD CONSTRAINT … FOREIGN KEY … NOT VALID`` (no scan; new writes are
checked at once), ``VALIDATE CONSTRAINT`` in a step of its own (SHARE UPDATE EXCLUSIVE:
reads and writes go on while it scans), and an index on the referencing columns built
``CONCURRENTLY`` unless one already leads with them.

Both tables are locked briefly by the ``ADD CONSTRAINT`` (SHARE ROW EXCLUSIVE): with
atomig's short lock_timeout and retries, it never queues the application for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.patterns import foreign_key_action, index_sql, validate_step
from atomig.gen.refs import Reference, resolve_reference
from atomig.gen.text import SqlFile, alter, drop_index, header, in_schema_of
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import quote_ident, quote_name

KIND = "add-foreign-key"
SUMMARY = "Add a foreign key: NOT VALID, VALIDATE in its own step, index CONCURRENTLY."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen add-foreign-key TABLE COLUMN… --references T(col…)``."""

    table: QualifiedName
    columns: tuple[str, ...]
    references: Reference
    on_delete: str | None = None
    on_update: str | None = None
    index: bool = True
    name: str | None = None


def request(
    table: str,
    columns: Sequence[str],
    *,
    references: str | None,
    on_delete: str | None = None,
    on_update: str | None = None,
    no_index: bool = False,
    name: str | None = None,
) -> Request:
    """The request from command-line text."""
    ref = args.reference(references)
    if ref is None:
        raise UsageError(
            "--references is required", hint="--references 'customers(id)'"
        )
    return Request(
        args.table(table),
        args.columns(columns),
        ref,
        on_delete=args.fk_action(on_delete, "--on-delete"),
        on_update=args.fk_action(on_update, "--on-update"),
        index=not no_index,
        name=args.name(name),
    )


def needs(req: Request) -> Needs:
    """Both tables."""
    return Needs(tables=(req.table, req.references.table))


def generate(req: Request, ctx: GenContext) -> Series:
    """One phase: the constraint NOT VALID, VALIDATE, the index."""
    t = req.table
    for column in req.columns:
        ctx.column(t, column)
    ref = resolve_reference(ctx, t, req.columns, req.references)
    fk = req.name or names.foreign_key(t.name, req.columns)
    ctx.require_absent_object(t, fk)
    idx = in_schema_of(t, names.index(t.name, req.columns))
    build = req.index and not ref.child_indexed
    actions = " ".join(
        part
        for part in (
            f"ON DELETE {req.on_delete}" if req.on_delete else "",
            f"ON UPDATE {req.on_update}" if req.on_update else "",
        )
        if part
    )
    when = "deploy once no code writes rows that would violate it"
    up = SqlFile(header(ctx.command, 1, 1, when, "up"))
    down = SqlFile(header(ctx.command, 1, 1, when, "down"))
    up.statement(
        alter(t, foreign_key_action(fk, req.columns, ref.table, ref.columns, actions)),
        "The foreign key NOT VALID: new writes are checked at once, existing rows are "
        f"not scanned (brief SHARE ROW EXCLUSIVE on {quote_name(t)} and "
        f"{quote_name(ref.table)}).",
    )
    validate_step(up, t, fk, "foreign key")
    if build:
        up.statement(
            index_sql(idx, t, [quote_ident(c) for c in req.columns]),
            f"An index on the referencing columns: deletes and key updates on "
            f"{quote_name(ref.table)} look up rows of {quote_name(t)} through it. Built "
            "CONCURRENTLY, its own step.",
        )
        down.statement(drop_index(idx))
    down.statement(alter(t, f"DROP CONSTRAINT IF EXISTS {quote_ident(fk)}"))
    slug = names.slug("add_fk", t.name, *req.columns)
    notes = []
    if not build and req.index:
        notes.append(f"an index of {quote_name(t)} already leads with the columns")
    return Series(KIND, (Phase(1, slug, when, up.text(), down.text()),), tuple(notes))
