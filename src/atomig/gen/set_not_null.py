"""set-not-null: NOT NULL without a scan under ACCESS EXCLUSIVE — ``CHECK (c IS NOT NULL)
NOT VALID`` → ``VALIDATE`` (SHARE UPDATE EXCLUSIVE: reads and writes go on) → ``SET NOT
NULL`` (PostgreSQL 12+ proves it from the validated check, no scan) → drop the check."""

from __future__ import annotations

from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.patterns import not_null_steps
from atomig.gen.text import SqlFile, alter, header
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import quote_ident, quote_name

KIND = "set-not-null"
SUMMARY = "Make a column NOT NULL: CHECK NOT VALID, VALIDATE, SET NOT NULL, drop check."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen set-not-null TABLE COLUMN``."""

    table: QualifiedName
    column: str


def request(table: str, column: str) -> Request:
    """The request from command-line text."""
    return Request(args.table(table), args.column(column))


def needs(req: Request) -> Needs:
    """The table."""
    return Needs(tables=(req.table,))


def generate(req: Request, ctx: GenContext) -> Series:
    """One phase: the four steps."""
    t, c = req.table, req.column
    known = ctx.column(t, c)
    if known is not None and known.not_null:
        raise UsageError(
            f"{quote_name(t)}.{quote_ident(c)} is already NOT NULL: nothing to do"
        )
    chk = names.check(t.name, [c, "not_null"])
    ctx.require_absent_object(t, chk)
    when = f"deploy once every writer sets {c} (existing NULLs fail the validation)"
    up = SqlFile(header(ctx.command, 1, 1, when, "up"))
    down = SqlFile(header(ctx.command, 1, 1, when, "down"))
    not_null_steps(up, t, c, chk)
    down.statement(
        alter(
            t,
            f"DROP CONSTRAINT IF EXISTS {quote_ident(chk)}",
            f"ALTER COLUMN {quote_ident(c)} DROP NOT NULL",
        ),
        "The check (if the up stopped before dropping it) and NOT NULL: catalog "
        "changes, no scan.",
    )
    slug = names.slug("set_not_null", t.name, c)
    return Series(KIND, (Phase(1, slug, when, up.text(), down.text()),))
