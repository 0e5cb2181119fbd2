"""A column and what hangs on it, for the generators that copy, move or restore a column
(change-column-type, rename-column, drop-column): its type, NOT NULL, default, collation,
comment, and the indexes, CHECKs and foreign keys that involve it. Pure.

What cannot be carried along safely is refused up front, naming it: a primary key, a
UNIQUE or EXCLUDE constraint, foreign keys of other tables that reference the column, views
that read it, identity and generated columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from atomig.errors import UsageError
from atomig.gen.model import GenContext
from atomig.gen.patterns import guarded_not_null_steps, not_null_steps
from atomig.gen.refs import referenced_by
from atomig.gen.text import (
    SqlFile,
    alter,
    constraint_exists,
    do_if,
    drop_function,
    drop_index,
    drop_trigger,
    guarded_trigger,
    in_schema_of,
    sync_function,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.fragments import (
    expression_columns,
    index_uses,
    rewrite_constraint,
    rewrite_index,
)
from atomig.sql.quote import quote_ident, quote_literal, quote_name
from atomig.sql.versions import ServerVersion


@dataclass(frozen=True, slots=True)
class Attached:
    """An index or constraint that involves the column: ``kind`` is ``index``, ``check``
    or ``foreign key``; ``definition`` is PostgreSQL's own (``pg_get_indexdef`` /
    ``pg_get_constraintdef``)."""

    kind: str
    name: str
    definition: str
    validated: bool = True


_NOT_VALID = " NOT VALID"


def _constraint(kind: str, name: str, definition: str, validated: bool) -> Attached:
    # pg_get_constraintdef() ends a constraint that is not validated with NOT VALID.
    if definition.endswith(_NOT_VALID):
        definition = definition[: -len(_NOT_VALID)]
    return Attached(kind, name, definition, validated)


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """A column as it is now (from the catalog, or from the arguments offline)."""

    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    collation: str | None = None
    comment: str | None = None
    attached: tuple[Attached, ...] = ()
    last: bool = True  # the table's last column (a re-added column lands there)
    known: bool = False  # read from the catalog


def column_facts(
    ctx: GenContext,
    table: QualifiedName,
    column: str,
    *,
    type_hint: str | None,
    not_null_hint: bool = False,
    option: str = "--type",
) -> ColumnFacts:
    """The column and what hangs on it.

    Raises:
        UsageError: an unknown table or column (did you mean …), something that cannot be
            carried along (named), or — offline — no ``type_hint``.
    """
    known = ctx.table(table)
    if known is None:
        if type_hint is None:
            raise UsageError(
                f"without a database atomig cannot read the type of "
                f"{quote_name(table)}.{quote_ident(column)}",
                hint=f"give it with {option} TYPE (or configure the database)",
            )
        return ColumnFacts(column, type_hint, not_null=not_null_hint)
    col = ctx.column(table, column)
    assert col is not None
    blockers: list[str] = []
    if col.identity:
        blockers.append(f"it is an identity column (GENERATED {col.identity})")
    if col.generated:
        blockers.append("it is a generated column")
    attached: list[Attached] = []
    for constraint in known.constraints:
        if constraint.kind == "n" or column not in expression_columns(
            constraint.definition
        ):
            continue
        if constraint.kind in ("c", "f"):
            kind = "check" if constraint.kind == "c" else "foreign key"
            attached.append(
                _constraint(
                    kind, constraint.name, constraint.definition, constraint.validated
                )
            )
        else:
            blockers.append(f"{constraint.kind_name} constraint {constraint.name}")
    owned = {c.index for c in known.constraints if c.index}
    for index in known.indexes:
        if index.name in owned or column not in index_uses(index.definition):
            continue
        if known.kind == "partitioned table":
            blockers.append(
                f"index {index.name} on a partitioned table (no CONCURRENTLY there)"
            )
        attached.append(Attached("index", index.name, index.definition))
    blockers += [
        f"foreign key {fk} references it" for fk in referenced_by(known, column)
    ]
    blockers += [f"view {view} reads it" for view in ctx.views_reading(table, column)]
    if blockers:
        raise UsageError(
            f"{quote_name(table)}.{quote_ident(column)} cannot be handled by this "
            "generator: " + "; ".join(blockers),
            hint="these need a hand-written migration (or change them first): atomig "
            "would otherwise leave them on the wrong column",
            details={"blockers": blockers},
        )
    return ColumnFacts(
        column,
        col.type,
        not_null=col.not_null,
        default=col.default,
        collation=col.collation,
        comment=col.comment,
        attached=tuple(attached),
        last=known.columns[-1].name == column,
        known=True,
    )


def renamed(
    facts: ColumnFacts, names: Mapping[str, str], target: str
) -> list[Attached]:
    """The attached objects rewritten for the column ``target``, each with its new name."""
    renames = {facts.name: target}
    out = []
    for item in facts.attached:
        name = names[item.name]
        if item.kind == "index":
            definition = rewrite_index(item.definition, name=name, renames=renames)
        else:
            definition = rewrite_constraint(item.definition, renames)
        out.append(Attached(item.kind, name, definition, item.validated))
    return out


def column_sql(facts: ColumnFacts, *, with_default: bool = True) -> str:
    """``name type [COLLATE c] [DEFAULT d]`` for ``ADD COLUMN``."""
    sql = f"{quote_ident(facts.name)} {facts.type}"
    if facts.collation:
        sql += f" COLLATE {facts.collation}"
    if with_default and facts.default is not None:
        sql += f" DEFAULT {facts.default}"
    return sql


def comment_sql(table: QualifiedName, column: str, comment: str | None) -> str:
    """``COMMENT ON COLUMN t.c IS '…'`` (or ``IS NULL``)."""
    text = "NULL" if comment is None else quote_literal(comment)
    return f"COMMENT ON COLUMN {quote_name(table)}.{quote_ident(column)} IS {text}"


def attach_steps(
    out: SqlFile, table: QualifiedName, attached: Sequence[Attached], *, guarded: bool
) -> None:
    """Build the indexes CONCURRENTLY, add the constraints NOT VALID, validate each in a
    step of its own. ``guarded``: the ``ADD CONSTRAINT`` in a ``DO`` block (down files)."""
    for item in attached:
        if item.kind == "index":
            out.statement(
                rewrite_index(item.definition, name=item.name),
                f"Index {item.name}: CONCURRENTLY, reads and writes go on.",
            )
    for item in attached:
        if item.kind == "index":
            continue
        add = alter(
            table,
            f"ADD CONSTRAINT {quote_ident(item.name)} {item.definition} NOT VALID",
        )
        if guarded:
            add = do_if("NOT " + constraint_exists(table, item.name), [add])
        out.statement(
            add, f"The {item.kind} {item.name} NOT VALID: new writes checked, no scan."
        )
        if not item.validated:
            continue  # it was NOT VALID: it stays so
        out.transaction(
            [alter(table, f"VALIDATE CONSTRAINT {quote_ident(item.name)}")],
            "Validated in a step of its own (SHARE UPDATE EXCLUSIVE: reads and writes "
            "go on).",
        )


@dataclass(frozen=True, slots=True)
class Sync:
    """A trigger keeping one column filled from another while both exist."""

    function: QualifiedName
    trigger: str
    body: tuple[str, ...]
    events: str = "INSERT OR UPDATE"


def add_column_steps(
    out: SqlFile,
    table: QualifiedName,
    column: ColumnFacts,
    sync: Sync,
    backfill: str,
    *,
    version: ServerVersion,
    guarded: bool,
    with_default: bool,
    not_null_check: str,
    note: str,
) -> None:
    """A column added next to another, kept in sync by a trigger, backfilled in batches,
    given its indexes and constraints, then NOT NULL (when ``column.not_null``)."""
    statements = [
        alter(
            table,
            f"ADD COLUMN IF NOT EXISTS {column_sql(column, with_default=with_default)}",
        )
    ]
    statements.append(sync_function(sync.function, list(sync.body)))
    statements.append(
        guarded_trigger(
            table,
            sync.trigger,
            sync.function,
            sync.events,
            or_replace_ok=version.at_least(14),
        )
    )
    if column.comment is not None:
        statements.append(comment_sql(table, column.name, column.comment))
    out.transaction(statements, note)
    out.backfill(
        backfill,
        "Existing rows, in batches along the primary key (each batch a short "
        "transaction; resumable). The trigger covers rows written meanwhile.",
    )
    attach_steps(out, table, column.attached, guarded=guarded)
    if column.not_null:
        if guarded:
            guarded_not_null_steps(out, table, column.name, not_null_check)
        else:
            not_null_steps(out, table, column.name, not_null_check)


def drop_column_steps(
    out: SqlFile,
    table: QualifiedName,
    column: str,
    sync: Sync | None,
    indexes: Sequence[str],
    note: str,
    *,
    then: Sequence[str] = (),
) -> None:
    """Drop a column (and the sync trigger): its indexes CONCURRENTLY first; ``then``
    runs in the same transaction."""
    for name in indexes:
        out.statement(drop_index(in_schema_of(table, name)))
    statements: list[str] = []
    if sync is not None:
        statements += [drop_trigger(table, sync.trigger), drop_function(sync.function)]
    statements.append(alter(table, f"DROP COLUMN IF EXISTS {quote_ident(column)}"))
    out.transaction([*statements, *then], note)


def with_names(
    facts: ColumnFacts, name_of: Callable[[str], str], target: str
) -> ColumnFacts:
    """``facts`` for the column ``target``: attached objects renamed by ``name_of``."""
    mapping = {item.name: name_of(item.name) for item in facts.attached}
    return replace(facts, name=target, attached=tuple(renamed(facts, mapping, target)))
