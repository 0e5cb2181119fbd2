"""Why PostgreSQL rejects a ``DROP TYPE``/``DOMAIN``/``SEQUENCE``/``FUNCTION`` of an
object the history knows something still needs (2BP01, PG 15 and 18): a column declared
with the type; a column default or view reading the sequence (or the identity column
owning it); a default, CHECK, generated column, index, view or trigger calling the
function. Even for what the migration made: a down file dropping it before what its up
made with it. With CASCADE, what it drops with it silently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.helpers.knowledge import constraint_of_index, type_users
from atomig.lint.helpers.shapes import q, swapped_out
from atomig.lint.schema_model import Index, key_of
from atomig.lint.schema_uses import UseKey, users_of
from atomig.sql.depends import dropped_signature
from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import name_list
from atomig.sql.objects import object_kind, object_name
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext

_ROUTINES = ("OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE")


def _plural(users: list[str], verb: str) -> str:
    return f"{', '.join(users)} {verb}{'s' if len(users) == 1 else ''} on it"


def drop_rejection(
    ctx: LintContext, body: Mapping[str, Any], obj: Any
) -> tuple[str, str] | None:
    """Why PostgreSQL rejects dropping ``obj`` (one of a DropStmt's objects), and what to
    drop first; ``None`` when nothing known needs it."""
    remove, name = body.get("removeType"), object_name(obj)
    cascade = body.get("behavior") == "DROP_CASCADE"
    if name is None:
        return None
    if remove in ("OBJECT_TYPE", "OBJECT_DOMAIN"):
        columns = [] if cascade else type_users(ctx, name)
        functions = [] if cascade else _signature_users(ctx, name)
        fix = "drop or change them first (" + ", ".join(
            [
                *(["DROP TABLE …, ALTER TABLE … DROP COLUMN …"] if columns else []),
                *(["DROP FUNCTION …"] if functions else []),
            ]
        )
        users = columns + functions
        return (_plural(users, "depend"), fix + ")") if users else None
    if (
        remove == "OBJECT_EXTENSION"
        and not cascade
        and not ctx.schema.creator("type", name)
    ):
        # Its own type bears its name (citext, hstore, ltree, cube …): a column of it
        # depends on the extension (2BP01 'column email of table people depends on type
        # citext', PG 15 and 18). Other types of an extension are not known.
        users = type_users(ctx, name)
        fix = "drop or change those columns first (ALTER TABLE … DROP COLUMN …, "
        return (_plural(users, "depend"), fix + "DROP TABLE …)") if users else None
    if remove == "OBJECT_SEQUENCE":
        uses = users_of(ctx.schema, "sequence", name)
        owners = [
            f"identity column {u[3]} of table {u[2]}"
            for u in uses
            if u[0] == "identity"
        ]
        if owners:  # internal to the column: CASCADE does not help
            return (
                f"{', '.join(owners)} require{'s' if len(owners) == 1 else ''} it",
                "drop the column instead (or ALTER TABLE … ALTER COLUMN … DROP "
                "IDENTITY, which drops its sequence)",
            )
        users = [] if cascade else [use_label(ctx, u) for u in uses]
        return (_plural(users, "depend"), _fix(uses)) if users else None
    if remove in _ROUTINES and not cascade:
        uses = users_of(ctx.schema, "function", name, dropped_signature(obj))
        users = [use_label(ctx, u) for u in uses]
        return (_plural(users, "depend"), _fix(uses)) if users else None
    return None


def policy_made_here(obj: Any, ctx: LintContext) -> bool:
    """DROP POLICY p ON [schema.]t: p was made by this migration (its up, for a down
    file)."""
    items = obj.get("List", {}).get("items", [])
    if len(items) < 2 or "String" not in items[-1]:
        return False
    on, policy = name_list(items[:-1]), items[-1]["String"]["sval"]
    return any(ctx.made_here(k, on, policy) for k in ("policy", "restrictive policy"))


def _signature_users(ctx: LintContext, name: QualifiedName) -> list[str]:
    """The functions of the history taking the type (or an array of it) as an argument:
    PostgreSQL rejects dropping the type without CASCADE (PG 15 and 18)."""
    schema, plain = key_of(name)
    wanted = plain if schema in ("public", "pg_catalog") else f"{schema}.{plain}"
    return [
        f"function {function[1]}({', '.join(types)})"
        for function, signatures in ctx.schema.uses.signatures.items()
        for types, _, _ in signatures
        if wanted in types or f"{wanted}[]" in types
    ]


def cascade_drops(ctx: LintContext, body: Mapping[str, Any], obj: Any) -> list[str]:
    """What ``DROP SEQUENCE``/``FUNCTION … CASCADE`` of ``obj`` silently drops with it
    (PG 15 and 18): the defaults, CHECK constraints, indexes, views, triggers and whole
    generated columns the history knows use it."""
    remove, name = body.get("removeType"), object_name(obj)
    if body.get("behavior") != "DROP_CASCADE" or name is None:
        return []
    if remove == "OBJECT_SEQUENCE":
        uses = users_of(ctx.schema, "sequence", name)
    elif remove in _ROUTINES:
        uses = users_of(ctx.schema, "function", name, dropped_signature(obj))
    else:
        return []
    return [use_label(ctx, u) for u in uses if u[0] != "identity"]


def use_label(ctx: LintContext, use: UseKey) -> str:
    """A use as PostgreSQL names it in its error detail."""
    kind, table, sub = use[0], use[2], use[3]
    if kind == "view":
        view = ctx.schema.views.get((use[1], table))
        return view.label if view is not None else f"view {table}"
    return _LABELS[kind].format(table=table, sub=sub)


_LABELS = {
    "default": "default value for column {sub} of table {table}",
    "generated": "column {sub} of table {table}",
    "check": "constraint {sub} on table {table}",
    "index": "index {sub}",
    "trigger": "trigger {sub} on table {table}",
    "policy": "policy {sub} on table {table}",
    "domain": "constraint {sub}",
}
_FIXES = {
    "default": "ALTER TABLE … ALTER COLUMN … DROP DEFAULT",
    "generated": "ALTER TABLE … DROP COLUMN",
    "check": "ALTER TABLE … DROP CONSTRAINT",
    "index": "DROP INDEX",
    "trigger": "DROP TRIGGER … ON …",
    "view": "DROP VIEW",
    "policy": "DROP POLICY … ON …",
    "domain": "ALTER DOMAIN … DROP CONSTRAINT",
}


def _fix(uses: list[UseKey]) -> str:
    ways = [*dict.fromkeys(_FIXES[u[0]] for u in uses)]
    if any(u[0] not in ("view", "domain") for u in uses):
        ways.append("or DROP TABLE …")
    return f"drop what depends on it first ({', '.join(ways)})"


def index_rejection(ctx: LintContext, index: QualifiedName) -> tuple[str, str] | None:
    """Why PostgreSQL rejects ``DROP INDEX index`` (2BP01, PG 15 and 18), and the way out:
    the index of a PRIMARY KEY, UNIQUE or EXCLUDE constraint, or the unique index a
    foreign key of the history was bound to; ``None`` when neither is known."""
    if (found := constraint_of_index(ctx, index)) is not None:
        owner, kind = found
        return (
            f"PostgreSQL rejects DROP INDEX {index}: the {kind} constraint "
            f"{index.name} of {owner} uses it",
            f"drop the constraint instead: ALTER TABLE {owner} DROP CONSTRAINT "
            f"{q(index.name)} (it drops the index, under ACCESS EXCLUSIVE)",
        )
    users = _foreign_keys_on(ctx, index)
    if not users:
        return None
    return (
        f"PostgreSQL rejects DROP INDEX {index}: {_plural(users, 'depend')}",
        "drop the foreign key first (ALTER TABLE … DROP CONSTRAINT …): it stays bound to "
        "this index even where another unique index covers its columns",
    )


def _foreign_keys_on(ctx: LintContext, index: QualifiedName) -> list[str]:
    """The foreign keys of the history that reference the columns of ``index`` (a unique
    index of the history, not a constraint's): PostgreSQL binds a foreign key to the
    first unique index on exactly its referenced columns, so the answer is certain only
    when this is the one such index."""
    table = ctx.schema.table_of_index(index)
    found = None if table is None else table.indexes.get(index.name)
    if table is None or found is None or not _keys(found):
        return []
    same = [i for i in table.indexes.values() if _keys(i) == _keys(found)]
    if len(same) != 1:
        return []
    target = key_of(table.name)
    return [
        f"constraint {con.name} on table {other.name}"
        for here in sorted(ctx.schema.referrers.get(target, ()))
        if (other := ctx.schema.tables.get(here)) is not None
        for con in other.constraints.values()
        if con.kind == "foreign"
        and con.references is not None
        and key_of(con.references) == target
        and frozenset(con.referenced_columns) == _keys(found)
    ]


def _keys(index: Index) -> frozenset[str]:
    """The columns a foreign key can reference through ``index`` (none: it cannot)."""
    if not index.unique or index.partial or "(expr)" in index.columns:
        return frozenset()
    return frozenset(index.columns)


def schema_members(ctx: LintContext, schema: str) -> list[str]:
    """The tables, views and functions of the history in ``schema``: PostgreSQL rejects
    ``DROP SCHEMA`` without CASCADE while it holds any (2BP01, PG 15 and 18: 'table
    app.things depends on schema app'). Sequences and types are not followed to their
    drops, so they are left out."""
    state = ctx.schema
    tables = sorted(k[1] for k in state.tables if k[0] == schema)
    views = sorted(k[1] for k in state.views if k[0] == schema)
    functions = sorted(k[1] for k in state.uses.signatures if k[0] == schema)
    return [
        *(f"table {schema}.{t}" for t in tables if (schema, t) not in state.views),
        *(f"view {schema}.{v}" for v in views),
        *(f"function {schema}.{f}" for f in functions),
    ]


def made_by_migration(
    ctx: LintContext, stmt: Statement, obj: Any, name: QualifiedName
) -> bool:
    """What a DROP names was made by this migration (its up, for a down file: a temporary
    helper, or undoing the up) or swapped out by it (renamed away, its name taken by
    another). ``made_here`` looks it up as the replay logs it (``object_kind``); a policy
    is logged with its table, permissive or restrictive."""
    remove = stmt.body.get("removeType", "")
    if remove == "OBJECT_POLICY":
        return policy_made_here(obj, ctx)
    return (
        key_of(name) in ctx.created_here
        or ctx.made_here(object_kind(remove), name)
        or swapped_out(stmt, name, ctx.script.statements)
    )
