"""add-column: a nullable column (optionally with a non-volatile default, a foreign key and
its index, a batched backfill and NOT NULL), never rewriting or scanning under a lock that
blocks the application.

* ``ADD COLUMN`` with no default or a non-volatile one is a catalog change (PostgreSQL 11+
  stores the default once): a brief ACCESS EXCLUSIVE lock, no rewrite.
* ``--references`` adds the foreign key ``NOT VALID`` (no scan), validates it in a step of
  its own, and builds ``idx_<table>_<column>`` concurrently (deletes on the parent need it).
* ``--backfill EXPR`` fills existing rows in batches; a trigger fills rows the current
  application inserts meanwhile. The trigger is dropped by phase 2, once the application
  writes the column itself.
* ``--not-null`` (with ``--default`` or ``--backfill``): ``CHECK NOT VALID`` → ``VALIDATE``
  → ``SET NOT NULL`` → drop the check.
"""

from __future__ import annotations

from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen import args, names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.patterns import (
    foreign_key_action,
    index_sql,
    not_null_steps,
    validate_step,
)
from atomig.gen.refs import Reference, resolve_reference
from atomig.gen.text import (
    SqlFile,
    alter,
    drop_function,
    drop_index,
    drop_trigger,
    guarded_trigger,
    header,
    in_schema_of,
    sync_function,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import Expression, qualify_columns
from atomig.sql.quote import quote_ident, quote_name
from atomig.sql.volatility import Volatility

KIND = "add-column"
SUMMARY = "Add a nullable column (default, foreign key, backfill, NOT NULL optional)."


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen add-column TABLE COLUMN TYPE …``."""

    table: QualifiedName
    column: str
    type: str
    default: Expression | None = None
    references: Reference | None = None
    on_delete: str | None = None
    index: bool = True
    backfill: Expression | None = None
    not_null: bool = False

    @property
    def slug(self) -> str:
        """``add_<table>_<column>``."""
        return names.slug("add", self.table.name, self.column)


def request(
    table: str,
    column: str,
    type: str,
    *,
    default: str | None = None,
    references: str | None = None,
    on_delete: str | None = None,
    no_index: bool = False,
    backfill: str | None = None,
    not_null: bool = False,
) -> Request:
    """The request from command-line text."""
    ref = args.reference(references)
    if ref is None and (on_delete or no_index):
        raise UsageError("--on-delete and --no-index go with --references")
    return Request(
        args.table(table),
        args.column(column),
        args.type_(type),
        default=args.expression(default, "--default"),
        references=ref,
        on_delete=args.fk_action(on_delete, "--on-delete"),
        index=not no_index,
        backfill=args.expression(backfill, "--backfill"),
        not_null=not_null,
    )


def needs(req: Request) -> Needs:
    """The tables and types to read from the catalog."""
    tables = [req.table] + ([req.references.table] if req.references else [])
    return Needs(tables=tuple(tables), types=(req.type,))


def _check(req: Request, ctx: GenContext) -> None:
    ctx.table(req.table)
    ctx.require_absent_column(req.table, req.column)
    ctx.check_type(req.type)
    if req.default is not None and req.default.volatility is Volatility.VOLATILE:
        raise UsageError(
            f"the default {req.default.sql} is volatile ({req.default.culprit}): every "
            "existing row would get its own value, which rewrites the table under ACCESS "
            "EXCLUSIVE",
            hint="add the column without a default and fill it with --backfill EXPR "
            "(batched), then set the default in a later migration",
        )
    if req.default is not None and req.backfill is not None:
        raise UsageError(
            "--default already fills the existing rows (stored once, no rewrite): "
            "--backfill is for values computed from other columns",
            hint="use one of --default and --backfill",
        )
    if req.not_null and req.default is None and req.backfill is None:
        raise UsageError(
            f"--not-null needs a value for the existing rows of {quote_name(req.table)}",
            hint="add --default VALUE (non-volatile) or --backfill EXPR",
        )
    if req.backfill is not None and req.backfill.volatility is Volatility.VOLATILE:
        pass  # a batched backfill may compute per-row values (gen_random_uuid()).


def generate(req: Request, ctx: GenContext) -> Series:
    """The phases of an added column (two when a sync trigger fills it meanwhile)."""
    _check(req, ctx)
    ref = (
        resolve_reference(ctx, req.table, (req.column,), req.references)
        if req.references is not None
        else None
    )
    t, c = req.table, req.column
    col = quote_ident(c)
    fk = names.foreign_key(t.name, [c])
    idx = in_schema_of(t, names.index(t.name, [c]))
    chk = names.check(t.name, [c, "not_null"])
    trg = names.trigger(t.name, ["fill", c])
    fn = in_schema_of(t, names.function(t.name, ["fill", c]))
    index_needed = ref is not None and req.index and not ref.child_indexed
    two = req.backfill is not None
    count = 2 if two else 1
    when_now = "deploy now, before the application uses the column"
    up = SqlFile(header(ctx.command, 1, count, when_now, "up"))
    down = SqlFile(header(ctx.command, 1, count, when_now, "down"))

    add = f"ADD COLUMN IF NOT EXISTS {col} {req.type}"
    if req.default is not None:
        add += f" DEFAULT {req.default.sql}"
    actions = [add]
    if ref is not None:
        on_delete = f"ON DELETE {req.on_delete}" if req.on_delete else ""
        actions.append(foreign_key_action(fk, [c], ref.table, ref.columns, on_delete))
    # The strongest lock first: taking ACCESS EXCLUSIVE after a weaker lock on the same
    # table could deadlock with an application transaction.
    first = [alter(t, *actions)]
    first_note = [
        f"Add {c} ({req.type}, nullable"
        + (f", default {req.default.sql}" if req.default else "")
        + "): a catalog change, no table rewrite (brief ACCESS EXCLUSIVE lock)."
    ]
    if req.backfill is not None:
        fill = qualify_columns(req.backfill.sql, "new")
        first.append(sync_function(fn, [f"NEW.{col} := coalesce(NEW.{col}, {fill});"]))
        first.append(
            guarded_trigger(
                t, trg, fn, "INSERT", or_replace_ok=ctx.version.at_least(14)
            )
        )
        first_note.append(
            f"A trigger fills {c} for rows the current application inserts, until it "
            "writes the column itself (phase 2 drops the trigger)."
        )
    if ref is not None:
        first_note.append(
            "The foreign key NOT VALID: enforced for new writes at once, no scan yet."
        )
    if len(first) == 1:
        up.statement(first[0], *first_note)
    else:
        up.transaction(first, *first_note)
    if ref is not None:
        validate_step(up, t, fk, "foreign key")
    if index_needed and ref is not None:
        up.statement(
            index_sql(idx, t, [col]),
            f"An index on {c}: deletes and key updates on {quote_name(ref.table)} look up "
            "referencing rows through it. Built CONCURRENTLY (writes go on), its own step.",
        )
    if req.backfill is not None:
        up.backfill(
            f"UPDATE {quote_name(t)} SET {col} = {req.backfill.sql} WHERE {col} IS NULL",
            "Fill the existing rows in batches along the primary key, each batch its own "
            "short transaction (resumable; see README: Backfills).",
        )
    if req.not_null:
        not_null_steps(up, t, c, chk)

    if index_needed:
        down.statement(drop_index(idx))
    undo = []
    if req.backfill is not None:
        undo += [drop_trigger(t, trg), drop_function(fn)]
    undo.append(alter(t, f"DROP COLUMN IF EXISTS {col}"))
    if len(undo) == 1:
        down.statement(
            undo[0], f"Drops {c} with its constraints (the data it holds is lost)."
        )
    else:
        down.transaction(
            undo, f"Drops {c} with its constraints (the data it holds is lost)."
        )
    phases = [Phase(1, req.slug, when_now, up.text(), down.text())]
    if two:
        phases.append(_contract(req, ctx, trg, fn))
    notes = []
    if two:
        notes.append(
            "phase 2 drops the fill trigger: release it once every instance of the "
            "application writes the column"
        )
    return Series(KIND, tuple(phases), tuple(notes))


def _contract(req: Request, ctx: GenContext, trg: str, fn: QualifiedName) -> Phase:
    t, c = req.table, req.column
    col = quote_ident(c)
    when = f"after every instance of the application writes {c} itself"
    up = SqlFile(header(ctx.command, 2, 2, when, "up"))
    down = SqlFile(header(ctx.command, 2, 2, when, "down"))
    assert req.backfill is not None
    up.transaction(
        [drop_trigger(t, trg), drop_function(fn)],
        f"The application fills {c} now: the fill trigger goes.",
    )
    fill = qualify_columns(req.backfill.sql, "new")
    down.transaction(
        [
            sync_function(fn, [f"NEW.{col} := coalesce(NEW.{col}, {fill});"]),
            guarded_trigger(
                t, trg, fn, "INSERT", or_replace_ok=ctx.version.at_least(14)
            ),
        ],
        f"The fill trigger again: rows inserted without {c} get it computed.",
    )
    slug = names.slug("drop", t.name, c, "fill_trigger")
    return Phase(2, slug, when, up.text(), down.text())
