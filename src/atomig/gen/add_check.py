"""add-check: ``ADD CONSTRAINT chk_… CHECK (…) NOT VALID`` (no scan; new writes are checked
at once), then ``VALIDATE CONSTRAINT`` in a step of its own (SHARE UPDATE EXCLUSIVE: reads
and writes go on while it scans the table)."""

from __future__ import annotations

from dataclasses import dataclass

from atomig.gen import args, names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.patterns import validate_step
from atomig.gen.text import SqlFile, alter, header
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import Expression
from atomig.sql.quote import quote_ident, quote_name

KIND = "add-check"
SUMMARY = "Add a CHECK constraint: NOT VALID, then VALIDATE in its own step."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen add-check TABLE EXPR [--name WHAT]``."""

    table: QualifiedName
    check: Expression
    name: str | None = None


def request(table: str, check: str, *, name: str | None = None) -> Request:
    """The request from command-line text."""
    expression = args.expression(check, "the check")
    assert expression is not None
    return Request(args.table(table), expression, args.name(name))


def needs(req: Request) -> Needs:
    """The table."""
    return Needs(tables=(req.table,))


def constraint_name(req: Request) -> str:
    """``chk_<table>_<what>``: ``--name`` or the columns the check names."""
    if req.name:
        return (
            req.name
            if req.name.startswith("chk_")
            else names.check(req.table.name, [req.name])
        )
    return names.check(req.table.name, req.check.columns or ("check",))


def generate(req: Request, ctx: GenContext) -> Series:
    """One phase: the check NOT VALID, then VALIDATE."""
    t = req.table
    for column in req.check.columns:
        ctx.column(t, column)
    chk = constraint_name(req)
    ctx.require_absent_object(t, chk)
    when = "deploy once no code writes rows that would violate it"
    up = SqlFile(header(ctx.command, 1, 1, when, "up"))
    down = SqlFile(header(ctx.command, 1, 1, when, "down"))
    up.statement(
        alter(
            t, f"ADD CONSTRAINT {quote_ident(chk)} CHECK ({req.check.sql}) NOT VALID"
        ),
        "The check NOT VALID: new writes are checked at once, existing rows are not "
        f"scanned (brief ACCESS EXCLUSIVE on {quote_name(t)}).",
    )
    validate_step(up, t, chk, "check")
    down.statement(alter(t, f"DROP CONSTRAINT IF EXISTS {quote_ident(chk)}"))
    slug = names.slug("add_check", t.name, *(req.check.columns or ("check",)))
    return Series(KIND, (Phase(1, slug, when, up.text(), down.text()),))
