"""Objects other than tables that the schema replay follows
(:class:`~atomig.lint.schema.SchemaState`): functions (their volatility, and whether
PostgreSQL may inline them), extensions, constraints added to domains, aggregates,
triggers and row-security policies.

A function without a volatility clause is VOLATILE. A ``LANGUAGE sql`` function may be
inlined into an index or generated-column expression before PostgreSQL checks that the
expression is IMMUTABLE, so its declared volatility does not decide (a VOLATILE ``sql``
function returning ``$1`` is accepted in an index on PG 15 and 18; a plpgsql one is not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atomig.lint.schema_model import key_of
from atomig.sql.classify import name_list, range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.volatility import Volatility

if TYPE_CHECKING:
    from atomig.lint.schema import SchemaState


@dataclass(frozen=True, slots=True)
class Routine:
    """A function the history created: its declared volatility, and whether it may be
    inlined (``LANGUAGE sql``, not SECURITY DEFINER, no ``SET``)."""

    volatility: Volatility
    inlinable: bool
    # The body of a parameterless, single-valued one, as written (``AS $$ … $$``):
    # PostgreSQL may inline it into a default (see atomig.sql.inlining).
    body: str | None = None


def _options(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        elem = item.get("DefElem") or {}
        arg = elem.get("arg")
        value = arg.get("String", {}).get("sval") if isinstance(arg, dict) else None
        out[str(elem.get("defname"))] = value if value is not None else arg
    return out


def _inlinable(options: Mapping[str, Any]) -> bool:
    security = options.get("security")
    definer = isinstance(security, dict) and security.get("Boolean", {}).get("boolval")
    return options.get("language") == "sql" and not definer and "set" not in options


def _scalar_body(body: Mapping[str, Any], options: Mapping[str, Any]) -> str | None:
    """The ``AS`` text of a function without parameters returning one value."""
    if body.get("parameters") or (body.get("returnType") or {}).get("setof"):
        return None
    items = (options.get("as") or {}).get("List", {}).get("items", ())
    texts = [item.get("String", {}).get("sval") for item in items]
    return texts[0] if len(texts) == 1 and isinstance(texts[0], str) else None


def _level(word: Any) -> Volatility:
    return {"immutable": Volatility.IMMUTABLE, "stable": Volatility.STABLE}.get(
        str(word), Volatility.VOLATILE
    )


def create_function(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE [OR REPLACE] FUNCTION`` (the latest definition of a name wins)."""
    if not body.get("funcname"):
        return
    name = name_list(body["funcname"])
    state._log("function", name, origin)
    if body.get("is_procedure"):
        return
    options = _options(body.get("options", ()))
    if body.get("sql_body") is not None:
        options.setdefault("language", "sql")
    inlinable = _inlinable(options)
    state.routines[name.name] = Routine(
        _level(options.get("volatility")),
        inlinable,
        _scalar_body(body, options) if inlinable else None,
    )


def alter_function(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``ALTER FUNCTION … IMMUTABLE | STABLE | VOLATILE``."""
    func = body.get("func") or {}
    if body.get("objtype") != "OBJECT_FUNCTION" or not func.get("objname"):
        return
    name = name_list(func["objname"]).name
    known, options = state.routines.get(name), _options(body.get("actions", ()))
    if known is not None and "volatility" in options:
        state.routines[name] = Routine(
            _level(options["volatility"]), known.inlinable, known.body
        )


def create_extension(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE EXTENSION`` (pgcrypto gives ``gen_random_uuid()`` before PG 13)."""
    if body.get("extname"):
        state._log("extension", QualifiedName(None, body["extname"]), origin)


def alter_domain(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``ALTER DOMAIN … ADD CONSTRAINT``: a down file dropping it undoes its own up
    (drop-object)."""
    con = (body.get("def") or {}).get("Constraint") or {}
    if body.get("subtype") == "C" and con.get("conname") and body.get("typeName"):
        state._log("constraint", name_list(body["typeName"]), origin, con["conname"])


def define(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE AGGREGATE``: a select list calling it returns one row
    (bulk-table-copy)."""
    if body.get("kind") == "OBJECT_AGGREGATE" and body.get("defnames"):
        state._log("aggregate", name_list(body["defnames"]), origin)


def create_trigger(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE TRIGGER`` (logged with its table)."""
    table = range_var(body.get("relation"))
    trigger = body.get("trigname")
    if table is not None and trigger:
        state._log("trigger", table, origin, trigger)


def create_policy(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE POLICY``: only permissive policies open rows (restrictive ones
    alone still deny every row: logged apart, for a down file that drops them)."""
    table = range_var(body.get("table"))
    if table is not None and body.get("policy_name"):
        kind = "policy" if body.get("permissive") else "restrictive policy"
        state._log(kind, table, origin, body["policy_name"])


def create_schema(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``CREATE SCHEMA`` (not ``IF NOT EXISTS``: the schema may be older)."""
    if body.get("schemaname") and not body.get("if_not_exists"):
        state._log("schema", QualifiedName(None, body["schemaname"]), origin)


def logged(kind: str, field: str, *, relation: bool = False) -> Any:
    """A replay handler that logs the creation of a non-table object (a sequence, a
    type …) named by the statement's ``field``."""

    def handle(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
        value = body.get(field)
        name = range_var(value) if relation else name_list(value) if value else None
        if name is not None:
            state._log(kind, name, origin)

    return handle


def refresh(state: SchemaState, body: Mapping[str, Any], origin: str) -> None:
    """Replay ``REFRESH MATERIALIZED VIEW [WITH NO DATA]``: populated or not."""
    name = range_var(body.get("relation"))
    table = None if name is None else state._mutable(key_of(name))
    if table is not None:
        table.populated = not body.get("skipData")
