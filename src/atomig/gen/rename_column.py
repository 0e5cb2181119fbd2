"""rename-column: a new name without breaking the running application — expand and
contract.

Phase 1 (deploy now, before the application that uses the new name): a column with the new
name, kept equal to the old one in both directions by a trigger (the old application writes
the old name, the new one the new name, both run during the deploy), filled by a batched
backfill, given copies of the old column's indexes (CONCURRENTLY), constraints (NOT VALID,
VALIDATE) and NOT NULL.

Phase 2 (once no running code uses the old name): drop the old column and the trigger; the
default moves to the new column. Its down file restores them (at the end of the table).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.change_column_type import COLUMN_ORDER
from atomig.gen.columns import (
    Sync,
    add_column_steps,
    column_facts,
    drop_column_steps,
    with_names,
)
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.text import SqlFile, alter, header, in_schema_of
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import quote_ident, quote_name

KIND = "rename-column"
SUMMARY = (
    "Rename a column: new column kept in sync both ways, backfill; drop the old later."
)


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen rename-column TABLE OLD NEW [--type TYPE]``."""

    table: QualifiedName
    old: str
    new: str
    type: str | None = None
    not_null: bool = False


def request(
    table: str, old: str, new: str, *, type: str | None = None, not_null: bool = False
) -> Request:
    """The request from command-line text."""
    req = Request(
        args.table(table),
        args.column(old),
        args.column(new),
        args.type_(type) if type else None,
        not_null,
    )
    if req.old == req.new:
        raise UsageError("the new name is the old name")
    return req


def needs(req: Request) -> Needs:
    """The table."""
    return Needs(tables=(req.table,))


def _renamed(name: str, old: str, new: str) -> str:
    """An index or constraint name for the new column: the old column's name replaced
    in it, or the new name appended."""
    if old in name:
        return names.fit(name.replace(old, new))
    return names.derived(name, new)


def _two_way(old: str, new: str) -> tuple[str, ...]:
    o, n = quote_ident(old), quote_ident(new)
    return (
        "IF TG_OP = 'INSERT' THEN",
        f"    IF NEW.{n} IS NULL THEN NEW.{n} := NEW.{o}; ELSE NEW.{o} := NEW.{n}; END IF;",
        f"ELSIF NEW.{n} IS DISTINCT FROM OLD.{n} THEN",
        f"    NEW.{o} := NEW.{n};",
        "ELSE",
        f"    NEW.{n} := NEW.{o};",
        "END IF;",
    )


def generate(req: Request, ctx: GenContext) -> Series:
    """Two phases: expand now, contract once no code uses the old name."""
    t, old, new = req.table, req.old, req.new
    source = column_facts(
        ctx, t, old, type_hint=req.type, not_null_hint=req.not_null, option="--type"
    )
    ctx.require_absent_column(t, new)
    copies = {a.name: _renamed(a.name, old, new) for a in source.attached}
    for name in copies.values():
        ctx.require_absent_object(t, name)
    fn = in_schema_of(t, names.function(t.name, ["sync", old, new]))
    trg = names.trigger(t.name, ["sync", old, new])
    sync = Sync(fn, trg, _two_way(old, new))
    target = with_names(replace(source, default=None), lambda n: copies[n], new)
    qt, qo, qn = quote_name(t), quote_ident(old), quote_ident(new)
    when1 = f"deploy now, before the application that uses {new}"
    when2 = f"once no running code reads or writes {old}"
    notes_up = []
    if not source.known:
        notes_up.append(
            "Generated WITHOUT a database: indexes, constraints and the default of "
            f"{old} were not read and are NOT carried over (NOT NULL only with "
            f"--not-null). Check with `atomig describe {qt}` before deploying."
        )
    up = SqlFile(header(ctx.command, 1, 2, when1, "up", notes_up))
    down = SqlFile(header(ctx.command, 1, 2, when1, "down"))
    add_column_steps(
        up,
        t,
        target,
        sync,
        f"UPDATE {qt} SET {qn} = {qo} WHERE {qn} IS NULL AND {qo} IS NOT NULL",
        version=ctx.version,
        guarded=False,
        with_default=False,
        not_null_check=names.check(t.name, [new, "not_null"]),
        note=f"{new}, kept equal to {old} by a trigger: writes to either name reach both.",
    )
    drop_column_steps(
        down,
        t,
        new,
        sync,
        [copies[a.name] for a in source.attached if a.kind == "index"],
        f"{new} and the trigger go; {old} holds every value.",
    )
    phase1 = Phase(
        1, names.slug("rename", t.name, old, "to", new), when1, up.text(), down.text()
    )

    up2 = SqlFile(header(ctx.command, 2, 2, when2, "up"))
    # The old column was before the new one (added last): re-added, it lands after it.
    down2 = SqlFile(
        [
            *header(
                ctx.command,
                2,
                2,
                when2,
                "down",
                [f"{old} comes back at the end of the table, filled from {new}."],
            ),
            COLUMN_ORDER,
        ]
    )
    drop_column_steps(
        up2,
        t,
        old,
        sync,
        (),  # one transaction: its indexes go with it
        f"{old} and the trigger go"
        + (f"; {new} takes the default {source.default}." if source.default else "."),
        then=[alter(t, f"ALTER COLUMN {qn} SET DEFAULT {source.default}")]
        if source.default is not None
        else [],
    )
    if source.default is not None:
        down2.transaction(
            [alter(t, f"ALTER COLUMN {qn} DROP DEFAULT")],
            f"{new} has no default while {old} exists (the trigger fills it).",
        )
    add_column_steps(
        down2,
        t,
        replace(source, default=source.default),
        sync,
        f"UPDATE {qt} SET {qo} = {qn} WHERE {qo} IS NULL AND {qn} IS NOT NULL",
        version=ctx.version,
        guarded=False,  # the up is one step: this never runs on a partial state
        with_default=True,
        not_null_check=names.check(t.name, [old, "not_null"]),
        note=f"{old} again, kept equal to {new} by the trigger.",
    )
    phase2 = Phase(2, names.slug("drop", t.name, old), when2, up2.text(), down2.text())
    return Series(KIND, (phase1, phase2))
