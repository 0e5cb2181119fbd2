"""backfill: the skeleton of a batched data change — an ``UPDATE`` under ``-- atomig:
backfill``, which atomig runs window by window along the table's key, each window its own
short transaction, checkpointed and resumable (README: Backfills).

A data change has no automatic inverse: give ``--down-set`` (and ``--down-where``) when one
exists; otherwise the down file is an explicit no-op that says so, to be edited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.text import SqlFile, header
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import Expression, FragmentError, parse_assignments
from atomig.sql.quote import quote_ident, quote_name

KIND = "backfill"
SUMMARY = "A batched UPDATE step (-- atomig: backfill), resumable, with its down."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen backfill TABLE --set 'col = expr' [--where COND] …``."""

    table: QualifiedName
    set: tuple[tuple[str, str], ...]
    where: Expression | None = None
    down_set: tuple[tuple[str, str], ...] = ()
    down_where: Expression | None = None
    batch_size: int | None = None
    name: str | None = None


def _assignments(texts: Sequence[str], option: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for text in texts:
        try:
            out += parse_assignments(text)
        except FragmentError as exc:
            raise UsageError(
                f"{option}: {exc}", hint=f"{option} 'status = ''new'''"
            ) from None
    return tuple(out)


def request(
    table: str,
    *,
    set: Sequence[str] = (),
    where: str | None = None,
    down_set: Sequence[str] = (),
    down_where: str | None = None,
    batch_size: int | None = None,
    name: str | None = None,
) -> Request:
    """The request from command-line text."""
    if not set:
        raise UsageError("--set is required", hint="--set 'status = ''new'''")
    if down_where and not down_set:
        raise UsageError("--down-where goes with --down-set")
    if batch_size is not None and batch_size <= 0:
        raise UsageError("--batch-size must be positive")
    return Request(
        args.table(table),
        _assignments(set, "--set"),
        args.expression(where, "--where"),
        _assignments(down_set, "--down-set"),
        args.expression(down_where, "--down-where"),
        batch_size,
        name,
    )


def needs(req: Request) -> Needs:
    """The table."""
    return Needs(tables=(req.table,))


def _update(
    table: QualifiedName, sets: Sequence[tuple[str, str]], where: Expression | None
) -> str:
    assignments = ", ".join(f"{quote_ident(c)} = {sql}" for c, sql in sets)
    sql = f"UPDATE {quote_name(table)} SET {assignments}"
    if where is not None:
        sql += f" WHERE {where.sql}"
    return sql


def generate(req: Request, ctx: GenContext) -> Series:
    """One phase: the backfill step and its down."""
    t = req.table
    known = ctx.table(t)
    for column, _ in (*req.set, *req.down_set):
        ctx.column(t, column)
    for expression in (req.where, req.down_where):
        for column in expression.columns if expression else ():
            ctx.column(t, column)
    if (
        known is not None
        and not any(c.kind == "p" for c in known.constraints)
        and not any(i.unique and i.valid for i in known.indexes)
    ):
        raise UsageError(
            f"{quote_name(t)} has no primary key or unique index: a backfill walks "
            "the table along its key",
            hint="add a primary key (atomig gen add-unique, then promote it) first",
        )
    when = "deploy when the change is wanted (the application keeps running)"
    up = SqlFile(header(ctx.command, 1, 1, when, "up"))
    down = SqlFile(header(ctx.command, 1, 1, when, "down"))
    size = req.batch_size
    # A given size is a fixed size: the adaptive bounds could otherwise reject it.
    options = (
        f"batch_size={size} min_batch_size={size} max_batch_size={size}" if size else ""
    )
    up.backfill(
        _update(t, req.set, req.where),
        "Batched along the primary key: each window its own short transaction, "
        "checkpointed; a killed run resumes where it stopped. Rows inserted during the "
        "backfill with a key below the walk are not visited: cover new rows in the "
        "application (or a trigger) too.",
        options=options,
    )
    if req.down_set:
        down.backfill(
            _update(t, req.down_set, req.down_where),
            "The inverse data change, batched the same way.",
            options=options,
        )
    else:
        down.comment(
            "A data change has no automatic inverse. Write one here if the old values "
            "can be recomputed (a batched UPDATE under -- atomig: backfill), or keep this "
            "no-op if the change is safe to keep after a rollback of the schema.",
        )
        down.statement("SELECT 1", "No-op: the changed rows keep their new values.")
    slug = names.slug("backfill", req.name or t.name, *(c for c, _ in req.set))
    return Series(KIND, (Phase(1, slug, when, up.text(), down.text()),))
