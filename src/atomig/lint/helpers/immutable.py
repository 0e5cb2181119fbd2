"""Which expressions of a statement PostgreSQL will reject as not IMMUTABLE, judged with
what the history and the live catalog know (column types, function volatility). Shared
by ``non-immutable-expression`` (which reports them) and ``stored-generated-column`` (a
rejected statement rewrites nothing)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomig.lint.helpers.shapes import alter_relation
from atomig.sql.classify import range_var
from atomig.sql.immutability import Mutable, immutable_spots, mutable_parts
from atomig.sql.inlining import inlined_expression
from atomig.sql.parse import Statement
from atomig.sql.volatility import Volatility, called_functions, expression_volatility

if TYPE_CHECKING:
    from atomig.lint.context import LintContext
    from atomig.lint.schema_objects import Routine

# Before 18 (VIRTUAL) and 17 (SET EXPRESSION) the syntax itself is rejected:
# unsupported-feature's finding.
_SINCE = {"virtual": 18, "set-expression": 17}


def not_immutable(stmt: Statement, ctx: LintContext) -> list[tuple[str, Mutable]]:
    """``(where, part)`` for each part of an expression PostgreSQL requires IMMUTABLE that
    is not (``where`` as :func:`~atomig.sql.immutability.immutable_spots` names it)."""
    spots = [
        (where, expr)
        for where, expr in immutable_spots(stmt)
        if ctx.version.at_least(_SINCE.get(where, 0))
    ]
    if not spots:
        return []
    table = (
        range_var(stmt.body.get("relation"))
        if stmt.kind == "IndexStmt"
        else alter_relation(stmt)
    )
    declared = {name: ref.name for name, ref, _ in ctx.declared_types(stmt)}

    def types(column: str) -> str | None:
        ref = None if table is None else ctx.column_type(table, column)
        return declared.get(column) or (None if ref is None else ref.name)

    return [
        (where, part)
        for where, expr in spots
        for part in mutable_parts(
            expr, types, lambda s, n: _known(ctx, s, n), ctx.version.major
        )
    ]


def _known(ctx: LintContext, schema: str | None, name: str) -> Volatility | None:
    """A user function's volatility, ``UNKNOWN`` when it may be inlined (LANGUAGE sql)."""
    if schema in (None, "public"):
        routine = ctx.schema.routines.get(name)
        if routine is not None:
            return Volatility.UNKNOWN if routine.inlinable else routine.volatility
    catalog = ctx.catalog
    key = f"{schema}.{name}" if schema else name
    if catalog is None or key not in catalog.functions:
        return None
    return (
        Volatility.UNKNOWN if key in catalog.sql_functions else catalog.functions[key]
    )


def declared_volatility(
    ctx: LintContext, node: Mapping[str, Any]
) -> Mapping[str, Volatility] | None:
    """The volatility of the functions ``node`` calls, for
    :func:`~atomig.sql.volatility.expression_volatility`: the history's CREATE FUNCTION
    (or ALTER FUNCTION) declares it for the ones it made, over the live catalog's.

    PostgreSQL inlines a LANGUAGE sql function only when its body is no more volatile
    than declared (inline_function), so a STABLE or IMMUTABLE one stays so either way.
    The history knows its functions by name only: a call qualified with another schema
    than ``public`` is left to the catalog (unknown offline)."""
    made = {
        f"{schema}.{name}" if schema else name: _effective(routine)
        for schema, name, _ in called_functions(node)
        if schema in (None, "public")
        and (routine := ctx.schema.routines.get(name)) is not None
    }
    if not made:
        return ctx.functions()
    return ChainMap(made, dict(ctx.functions() or {}))


def _effective(routine: Routine) -> Volatility:
    """A history function's volatility where its call is evaluated: a VOLATILE one
    PostgreSQL inlines (``SELECT 'free'``) is as volatile as its body, builtins only (a
    body calling other user functions keeps the declared volatility)."""
    if routine.volatility is not Volatility.VOLATILE or routine.body is None:
        return routine.volatility
    expr = inlined_expression(routine.body) if routine.inlinable else None
    if expr is None:
        return routine.volatility
    level, _ = expression_volatility(expr)
    return level if level < Volatility.VOLATILE else routine.volatility
