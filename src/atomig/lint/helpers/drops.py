"""Why PostgreSQL rejects a ``DROP TYPE``/``DOMAIN``/``SEQUENCE``/``FUNCTION`` of an
object the history knows something still needs (2BP01, PG 15 and 18): a column declared
with the type, a column default reading the sequence (or the identity column owning it),
a trigger running the function. Even for what the migration made: a down file dropping
it before what its up made with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.helpers.knowledge import type_users
from atomig.lint.schema_uses import users_of
from atomig.sql.nodes import name_list
from atomig.sql.objects import object_name

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
        users = [] if cascade else type_users(ctx, name)
        fix = "drop or change those columns first (DROP TABLE …, ALTER TABLE … DROP "
        return (_plural(users, "depend"), fix + "COLUMN …)") if users else None
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
        users = (
            []
            if cascade
            else [f"default value for column {u[3]} of table {u[2]}" for u in uses]
        )
        fix = "drop the default or the column first (ALTER TABLE … ALTER COLUMN … DROP "
        return (
            (_plural(users, "depend"), fix + "DEFAULT, DROP TABLE …)")
            if users
            else None
        )
    if remove in _ROUTINES and not cascade:
        args = obj.get("ObjectWithArgs") or {}
        if args.get("objargs"):  # a trigger function takes no arguments
            return None
        users = [
            f"trigger {u[3]} on table {u[2]}"
            for u in users_of(ctx.schema, "function", name)
        ]
        fix = "drop the triggers first (DROP TRIGGER … ON …, or DROP TABLE …)"
        return (_plural(users, "depend"), fix) if users else None
    return None


def policy_made_here(obj: Any, ctx: LintContext) -> bool:
    """DROP POLICY p ON [schema.]t: p was made by this migration (its up, for a down
    file)."""
    items = obj.get("List", {}).get("items", [])
    if len(items) < 2 or "String" not in items[-1]:
        return False
    on, policy = name_list(items[:-1]), items[-1]["String"]["sval"]
    return any(ctx.made_here(k, on, policy) for k in ("policy", "restrictive policy"))
