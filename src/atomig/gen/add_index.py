"""add-index: an index built ``CONCURRENTLY`` (writes go on), named, in a step of its own;
``--unique`` optionally promoted to a constraint with ``ADD CONSTRAINT … USING INDEX``
(a catalog change: the index is already built and checked).

A failed concurrent build leaves an INVALID index behind; atomig drops it before a retry
and after the failure (README: Self-healing concurrent indexes), so the ``IF NOT EXISTS``
never meets a broken leftover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.patterns import index_sql
from atomig.gen.text import SqlFile, alter, drop_index, header, in_schema_of
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import Expression
from atomig.sql.quote import quote_ident, quote_name

KIND = "add-index"
SUMMARY = "Build an index CONCURRENTLY (unique, optionally promoted to a constraint)."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen add-index TABLE COLUMN… [--unique [--constraint]] …``."""

    table: QualifiedName
    elements: tuple[str, ...]
    columns: tuple[str, ...]
    unique: bool = False
    constraint: bool = False
    name: str | None = None
    method: str | None = None
    include: tuple[str, ...] = ()
    where: Expression | None = None


def request(
    table: str,
    columns: Sequence[str],
    *,
    unique: bool = False,
    constraint: bool = False,
    name: str | None = None,
    using: str | None = None,
    include: Sequence[str] = (),
    where: str | None = None,
) -> Request:
    """The request from command-line text."""
    elements, named = args.index_elements(columns)
    if constraint and not unique:
        raise UsageError("--constraint needs --unique (it promotes a unique index)")
    req = Request(
        args.table(table),
        elements,
        named,
        unique=unique,
        constraint=constraint,
        name=args.name(name),
        method=args.column(using).lower() if using else None,
        include=args.columns(include) if include else (),
        where=args.expression(where, "--where"),
    )
    if constraint and (
        req.where is not None
        or (req.method not in (None, "btree"))
        or len(elements) != len(named)
        or any(e != quote_ident(c) for e, c in zip(elements, named, strict=False))
    ):
        raise UsageError(
            "a unique constraint needs a plain btree index on columns (no WHERE, no "
            "expressions, no ASC/DESC)",
            hint="drop --constraint to keep a unique index",
        )
    return req


def needs(req: Request) -> Needs:
    """The table to read from the catalog."""
    return Needs(tables=(req.table,))


def index_name(req: Request) -> str:
    """``idx_<table>_<columns>`` (``uq_`` for a unique index) unless ``--name``."""
    if req.name:
        return req.name
    if req.unique:
        return names.unique(req.table.name, req.columns)
    return names.index(req.table.name, req.columns)


def generate(req: Request, ctx: GenContext) -> Series:
    """One phase: the concurrent build (and the constraint promotion)."""
    t = req.table
    for column in (*req.columns, *req.include):
        ctx.column(t, column)
    if req.where is not None:
        for column in req.where.columns:
            ctx.column(t, column)
    name = index_name(req)
    ctx.require_absent_object(t, name)
    idx = in_schema_of(t, name)
    when = "deploy any time: nothing changes for the application"
    up = SqlFile(header(ctx.command, 1, 1, when, "up"))
    down = SqlFile(header(ctx.command, 1, 1, when, "down"))
    up.statement(
        index_sql(
            idx,
            t,
            req.elements,
            unique=req.unique,
            method=req.method,
            include=req.include,
            where=req.where.sql if req.where else None,
        ),
        f"Built CONCURRENTLY: reads and writes of {quote_name(t)} go on while it builds "
        "(it waits for transactions older than itself). Its own step, outside any "
        "transaction.",
    )
    if req.constraint:
        up.transaction(
            [
                alter(
                    t,
                    f"ADD CONSTRAINT {quote_ident(name)} UNIQUE USING INDEX {quote_ident(name)}",
                )
            ],
            "Promote the index to a UNIQUE constraint: a catalog change (brief ACCESS "
            "EXCLUSIVE lock), the index is already built and every row checked.",
        )
        down.transaction(
            [alter(t, f"DROP CONSTRAINT IF EXISTS {quote_ident(name)}")],
            "The constraint (and the index it owns).",
        )
    down.statement(
        drop_index(idx),
        "Dropped CONCURRENTLY: no lock that blocks reads or writes.",
    )
    slug = names.slug("add_unique" if req.unique else "add_index", t.name, *req.columns)
    return Series(KIND, (Phase(1, slug, when, up.text(), down.text()),))
