"""change-column-type: a new type without a rewrite under ACCESS EXCLUSIVE — expand and
contract.

Phase 1 (deploy now): a column ``<c>_new`` of the new type, kept equal to the conversion of
``<c>`` by a trigger on every write, filled for existing rows by a batched backfill, given
copies of ``<c>``'s indexes (CONCURRENTLY) and constraints (NOT VALID, VALIDATE) and its
NOT NULL (via a validated CHECK); then the swap, one short transaction: ``<c>`` becomes
``<c>_old``, ``<c>_new`` becomes ``<c>``, index and constraint names follow, and the
trigger now keeps ``<c>_old`` filled from ``<c>`` — so the down file can swap back without
losing a write.

Phase 2 (after the application runs well on the new type): drop ``<c>_old`` and the
trigger. Its down file restores them (the column comes back at the end of the table).

Clients holding prepared statements that return the column get "cached plan must not
change result type" once after the swap (PostgreSQL then re-plans): a retry succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.columns import (
    Sync,
    add_column_steps,
    column_facts,
    drop_column_steps,
    with_names,
)
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.text import (
    SqlFile,
    alter,
    column_exists,
    do_if,
    header,
    in_schema_of,
    sync_function,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import Expression, parse_expression, qualify_columns
from atomig.sql.quote import quote_ident, quote_name

KIND = "change-column-type"
SUMMARY = (
    "Change a column's type: new column, sync trigger, backfill, swap; drop later."
)
COLUMN_ORDER = "atomig: column_order=appended"


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen change-column-type TABLE COLUMN TYPE [--using EXPR] [--back EXPR]``."""

    table: QualifiedName
    column: str
    type: str
    using: Expression | None = None
    back: Expression | None = None
    from_type: str | None = None
    default: Expression | None = None


def request(
    table: str,
    column: str,
    type: str,
    *,
    using: str | None = None,
    back: str | None = None,
    from_type: str | None = None,
    default: str | None = None,
) -> Request:
    """The request from command-line text."""
    return Request(
        args.table(table),
        args.column(column),
        args.type_(type),
        args.expression(using, "--using"),
        args.expression(back, "--back"),
        args.type_(from_type) if from_type else None,
        args.expression(default, "--default"),
    )


def needs(req: Request) -> Needs:
    """The table and the new type."""
    return Needs(tables=(req.table,), types=(req.type,))


def _index_rename(kind: str, table: QualifiedName, old: str, new: str) -> str:
    if kind == "index":
        idx = in_schema_of(table, old)
        return f"ALTER INDEX {quote_name(idx)} RENAME TO {quote_ident(new)}"
    return alter(table, f"RENAME CONSTRAINT {quote_ident(old)} TO {quote_ident(new)}")


def generate(req: Request, ctx: GenContext) -> Series:
    """Two phases: expand and swap now, contract later."""
    t, c = req.table, req.column
    ctx.check_type(req.type)
    source = column_facts(ctx, t, c, type_hint=req.from_type, option="--from")
    if source.type == req.type:
        raise UsageError(f"{quote_name(t)}.{quote_ident(c)} is already {req.type}")
    c_new, c_old = names.derived(c, "new"), names.derived(c, "old")
    for helper in (c_new, c_old):
        ctx.require_absent_column(t, helper)
    qc = quote_ident(c)
    using = req.using or parse_expression(f"{qc}::{req.type}")
    back = req.back or parse_expression(f"{qc}::{source.type}")
    if req.default is not None:
        default: str | None = req.default.sql
    elif source.default is not None:
        default = parse_expression(f"({source.default})::{req.type}").sql
    else:
        default = None
    fn = in_schema_of(t, names.function(t.name, ["sync", c]))
    trg = names.trigger(t.name, ["sync", c])
    forward = Sync(
        fn, trg, (f"NEW.{quote_ident(c_new)} := {qualify_columns(using.sql, 'new')};",)
    )
    backward = Sync(
        fn, trg, (f"NEW.{quote_ident(c_old)} := {qualify_columns(back.sql, 'new')};",)
    )
    temp = {a.name: names.derived(a.name, "new") for a in source.attached}
    aside = {a.name: names.derived(a.name, "old") for a in source.attached}
    for name in (*temp.values(), *aside.values()):
        ctx.require_absent_object(t, name)
    target = with_names(
        replace(source, type=req.type, default=None, collation=None),
        lambda n: temp[n],
        c_new,
    )
    check_new = names.check(t.name, [c_new, "not_null"])
    when1 = "deploy now: the application keeps using the column by its name"
    when2 = (
        f"after the application runs well with {c} as {req.type} (no way back after)"
    )
    notes_up = [
        f"{c} {source.type} → {req.type}: a new column, swapped in by renames; no "
        "table rewrite under ACCESS EXCLUSIVE."
    ]
    if not source.known:
        notes_up.append(
            "Generated WITHOUT a database: indexes, constraints, NOT NULL and the default "
            f"of {c} were not read and are NOT carried over. Check with `atomig describe "
            f"{quote_name(t)}` before deploying."
        )
    up = SqlFile(header(ctx.command, 1, 2, when1, "up", notes_up))
    down = SqlFile(header(ctx.command, 1, 2, when1, "down"))
    add_column_steps(
        up,
        t,
        target,
        forward,
        f"UPDATE {quote_name(t)} SET {quote_ident(c_new)} = {using.sql} "
        f"WHERE {quote_ident(c_new)} IS NULL AND {qc} IS NOT NULL",
        version=ctx.version,
        guarded=False,
        with_default=False,
        not_null_check=check_new,
        note=f"{c_new} ({req.type}), kept equal to the conversion of {c} by a trigger on "
        "every write.",
    )
    swap = []
    if default is not None:
        swap.append(
            alter(t, f"ALTER COLUMN {quote_ident(c_new)} SET DEFAULT {default}")
        )
        swap.append(alter(t, f"ALTER COLUMN {qc} DROP DEFAULT"))
    swap.append(alter(t, f"RENAME COLUMN {qc} TO {quote_ident(c_old)}"))
    swap.append(alter(t, f"RENAME COLUMN {quote_ident(c_new)} TO {qc}"))
    for item in source.attached:
        swap.append(_index_rename(item.kind, t, item.name, aside[item.name]))
        swap.append(_index_rename(item.kind, t, temp[item.name], item.name))
    swap.append(sync_function(fn, list(backward.body)))
    up.transaction(
        swap,
        f"The swap, one short transaction (ACCESS EXCLUSIVE, no scan): {c} is now the "
        f"{req.type} column; {c_old} keeps the old values, filled by the trigger from now "
        "on, so that the down file can swap back without losing a write.",
    )
    back_swap = [
        alter(t, f"RENAME COLUMN {qc} TO {quote_ident(c_new)}"),
        alter(t, f"RENAME COLUMN {quote_ident(c_old)} TO {qc}"),
    ]
    for item in source.attached:
        back_swap.append(_index_rename(item.kind, t, item.name, temp[item.name]))
        back_swap.append(_index_rename(item.kind, t, aside[item.name], item.name))
    if source.default is not None:
        back_swap.append(alter(t, f"ALTER COLUMN {qc} SET DEFAULT {source.default}"))
    down.statement(
        do_if(column_exists(t, c_old), back_swap),
        f"Swap back if the swap happened ({c_old} exists): renames have no IF EXISTS.",
    )
    drop_column_steps(
        down,
        t,
        c_new,
        forward,
        [temp[a.name] for a in source.attached if a.kind == "index"],
        f"{c_new} and the trigger go (the values converted so far with them).",
    )
    phase1 = Phase(
        1, names.slug("change_type", t.name, c), when1, up.text(), down.text()
    )

    up2 = SqlFile(header(ctx.command, 2, 2, when2, "up"))
    restored = with_names(
        replace(source, default=None, not_null=source.not_null),
        lambda n: aside[n],
        c_old,
    )
    # c_old was before c (which is new, hence last): re-added, it lands after c.
    down2 = SqlFile(
        [
            *header(
                ctx.command,
                2,
                2,
                when2,
                "down",
                [
                    f"{c_old} comes back at the end of the table (PostgreSQL adds columns "
                    "there), filled from the current values."
                ],
            ),
            COLUMN_ORDER,
        ]
    )
    drop_column_steps(
        up2,
        t,
        c_old,
        backward,
        (),  # one transaction: its indexes go with it
        f"{c_old} (the {source.type} values) and the trigger go.",
    )
    add_column_steps(
        down2,
        t,
        restored,
        backward,
        f"UPDATE {quote_name(t)} SET {quote_ident(c_old)} = {back.sql} "
        f"WHERE {quote_ident(c_old)} IS NULL AND {qc} IS NOT NULL",
        version=ctx.version,
        guarded=False,  # the up is one step: this never runs on a partial state
        with_default=False,
        not_null_check=names.check(t.name, [c_old, "not_null"]),
        note=f"{c_old} ({source.type}) again, filled from {c} by the trigger on every "
        "write.",
    )
    phase2 = Phase(
        2, names.slug("drop", t.name, c_old), when2, up2.text(), down2.text()
    )
    return Series(KIND, (phase1, phase2))
