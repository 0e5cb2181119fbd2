"""The expression PostgreSQL inlines for a call of a ``LANGUAGE sql`` function.

The planner replaces a call of a SQL function whose body is a single ``SELECT expr`` (no
``FROM``, ``WHERE``, aggregate, window, set-returning call or sub-query) by ``expr``
(``inline_function`` in clauses.c) before anything asks whether the expression is
volatile. So ``ADD COLUMN … DEFAULT f()`` with ``f`` declared VOLATILE (the default when
no volatility is written) but returning ``SELECT 'free'`` rewrites nothing: checked on
PostgreSQL 15 and 18 (``relfilenode`` unchanged), while ``SELECT random()``, ``SELECT
max(1)`` and ``SELECT (SELECT 1)`` bodies rewrite. Only the forms known to be inlined are
recognised here; any doubt answers ``None`` (the declared volatility then decides).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atomig.errors import SourceError
from atomig.sql.parse import parse_script

# A SELECT with only these keys (set by pglast for ``SELECT expr``) is a bare expression.
_BARE_SELECT = frozenset({"targetList", "limitOption", "op"})
# Nodes that keep a body from being inlined (a sub-query), or that cannot appear in one
# of a function without parameters.
_NOT_INLINED = frozenset({"SubLink", "ColumnRef", "ParamRef", "GroupingFunc"})
# A call that makes the SELECT an aggregate, window or set-returning one.
_CALL_FLAGS = (
    "over",
    "agg_star",
    "agg_distinct",
    "agg_order",
    "agg_filter",
    "agg_within_group",
)
# Aggregates and set-returning builtins a scalar body could call (by name: the call's
# flags above do not show them). A name missing here could only make an uninlined body
# look inlined; the list holds every builtin aggregate or set-returning function whose
# name could plausibly appear in a default's helper.
_AGGREGATE_OR_SET = frozenset(
    {
        "array_agg",
        "avg",
        "bit_and",
        "bit_or",
        "bit_xor",
        "bool_and",
        "bool_or",
        "count",
        "every",
        "json_agg",
        "json_object_agg",
        "jsonb_agg",
        "jsonb_object_agg",
        "max",
        "min",
        "range_agg",
        "range_intersect_agg",
        "string_agg",
        "sum",
        "xmlagg",
        "stddev",
        "variance",
        "generate_series",
        "generate_subscripts",
        "unnest",
        "regexp_matches",
        "regexp_split_to_table",
        "string_to_table",
        "json_each",
        "json_each_text",
        "jsonb_each",
        "jsonb_each_text",
        "json_array_elements",
        "json_array_elements_text",
        "jsonb_array_elements",
        "jsonb_array_elements_text",
        "json_object_keys",
        "jsonb_object_keys",
        "json_populate_recordset",
        "jsonb_populate_recordset",
        "json_to_recordset",
        "jsonb_to_recordset",
        "jsonb_path_query",
        "pg_listening_channels",
        "pg_ls_dir",
    }
)


def inlined_expression(body: str) -> Mapping[str, Any] | None:
    """The expression a parameterless SQL function body ``SELECT expr`` is inlined as, or
    ``None`` when the body is anything else (or not sure to be inlined).

    >>> inlined_expression(" SELECT 'free' ")
    {'A_Const': {'sval': {'sval': 'free'}, 'location': 8}}
    >>> [inlined_expression(b) for b in ("SELECT max(1)", "SELECT 1 FROM t", "SELECT 1; SELECT 2")]
    [None, None, None]
    """
    try:
        statements = list(parse_script(body).statements)
    except SourceError:
        return None
    if len(statements) != 1 or statements[0].kind != "SelectStmt":
        return None
    select = statements[0].body
    if set(select) - _BARE_SELECT or select.get("op") != "SETOP_NONE":
        return None
    if select.get("limitOption") != "LIMIT_OPTION_DEFAULT":
        return None
    targets = select.get("targetList") or []
    if len(targets) != 1:
        return None
    expr = (targets[0].get("ResTarget") or {}).get("val")
    if not isinstance(expr, dict) or not _inlinable(expr):
        return None
    return expr


def _inlinable(node: Any) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if _NOT_INLINED.intersection(item):
                return False
            call = item.get("FuncCall")
            if call is not None:
                names = [
                    n.get("String", {}).get("sval") for n in call.get("funcname", ())
                ]
                if any(call.get(flag) for flag in _CALL_FLAGS):
                    return False
                if names and names[-1] in _AGGREGATE_OR_SET:
                    return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
