"""drop-column: two phases, because the running application may still use the column.

Phase 1 (deploy with the application that stops writing the column): ``DROP NOT NULL``
when the column is NOT NULL without a default, so that inserts which no longer name it do
not fail. When nothing is needed in the database (a nullable column), phase 1 has no SQL
and is not written: deploy the application, then release phase 2.

Phase 2 (once no running code reads or writes it): ``DROP COLUMN`` — a catalog change, the
data stays in the table's pages until rewritten. Its down file re-adds the column (empty:
the data is gone), its default, indexes and constraints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from atomig.gen import args, names
from atomig.gen.change_column_type import COLUMN_ORDER
from atomig.gen.columns import attach_steps, column_facts, column_sql, comment_sql
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.patterns import not_null_steps
from atomig.gen.text import SqlFile, alter, header
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import quote_ident, quote_name

KIND = "drop-column"
SUMMARY = "Drop a column in two phases: DROP NOT NULL now, DROP COLUMN once unused."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen drop-column TABLE COLUMN [--type TYPE] [--not-null]``."""

    table: QualifiedName
    column: str
    type: str | None = None
    not_null: bool = False


def request(
    table: str, column: str, *, type: str | None = None, not_null: bool = False
) -> Request:
    """The request from command-line text."""
    return Request(
        args.table(table),
        args.column(column),
        args.type_(type) if type else None,
        not_null,
    )


def needs(req: Request) -> Needs:
    """The table."""
    return Needs(tables=(req.table,))


def generate(req: Request, ctx: GenContext) -> Series:
    """Phase 1 (when the column is NOT NULL without a default) and phase 2."""
    t, c = req.table, req.column
    facts = column_facts(
        ctx, t, c, type_hint=req.type, not_null_hint=req.not_null, option="--type"
    )
    qc = quote_ident(c)
    phases: list[Phase] = []
    need_phase1 = facts.not_null and facts.default is None
    count = 2 if need_phase1 else 1
    when2 = f"once no running code reads or writes {c}"
    notes = []
    if need_phase1:
        when1 = f"deploy with the application that stops writing {c}"
        up1 = SqlFile(header(ctx.command, 1, 2, when1, "up"))
        down1 = SqlFile(header(ctx.command, 1, 2, when1, "down"))
        up1.statement(
            alter(t, f"ALTER COLUMN {qc} DROP NOT NULL"),
            f"Inserts that no longer name {c} must not fail: a catalog change, no scan.",
        )
        not_null_steps(down1, t, c, names.check(t.name, [c, "not_null"]))
        phases.append(
            Phase(
                1,
                names.slug("drop", t.name, c, "not_null"),
                when1,
                up1.text(),
                down1.text(),
            )
        )
    else:
        notes.append(
            f"{c} needs nothing in the database before the application stops using it"
            + (
                ""
                if facts.known
                else " (assumed without a database: nullable, or with "
                "a default; pass --not-null if it is NOT NULL without one)"
            )
            + ": deploy that application, then release this migration"
        )
    order = [COLUMN_ORDER] if not facts.last or not facts.known else []
    up2 = SqlFile(header(ctx.command, count, count, when2, "up"))
    restore_lines = [
        f"{c} comes back EMPTY (its data is gone) at the end of the table, with its "
        "default, indexes and constraints."
    ]
    if not facts.known:
        restore_lines.append(
            "Generated WITHOUT a database: only the type is known; indexes, constraints "
            "and the default are not restored."
        )
    down2 = SqlFile(
        [*header(ctx.command, count, count, when2, "down", restore_lines), *order]
    )
    up2.statement(
        alter(t, f"DROP COLUMN IF EXISTS {qc}"),
        f"A catalog change (brief ACCESS EXCLUSIVE lock on {quote_name(t)}), its indexes "
        "and constraints with it; the data stays on disk until the rows are rewritten. "
        "One step: if it fails, nothing changed.",
    )
    down2.statement(
        alter(
            t, f"ADD COLUMN IF NOT EXISTS {column_sql(replace(facts, not_null=False))}"
        ),
        f"{c} again, nullable.",
    )
    if facts.comment is not None:
        down2.statement(comment_sql(t, c, facts.comment))
    attach_steps(down2, t, facts.attached, guarded=False)
    if facts.not_null and not need_phase1:
        not_null_steps(down2, t, c, names.check(t.name, [c, "not_null"]))
    phases.append(
        Phase(count, names.slug("drop", t.name, c), when2, up2.text(), down2.text())
    )
    return Series(KIND, tuple(phases), tuple(notes), hold_all=not need_phase1)
