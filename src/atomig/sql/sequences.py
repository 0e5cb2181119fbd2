"""``setval(…)`` calls of a SELECT: which sequence each moves, and whether to a constant.

A ``setval('seq', 1)`` moves a sequence to a fixed value (likely behind keys in use); a
``setval('seq', (SELECT max(id) FROM t) + 1000)`` computes it and may well move it forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from atomig.sql.classify import range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import parse_qualified_name, quote_literal

Body = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Setval:
    """One ``setval`` call of a SELECT list.

    Attributes:
        target: the first argument as SQL (``'orders_id_seq'``,
            ``pg_get_serial_sequence('orders', 'id')``), ``<sequence>`` when it is built
            otherwise.
        sequence: the sequence named by a literal first argument.
        serial_of: the table of a ``pg_get_serial_sequence('table', 'column')`` argument.
        constant: the new value is a constant (not computed).
        location: where the call is (a parse-tree location).
        max_of: ``(table, column)`` when the value is ``(SELECT max(column) FROM table)``,
            plus or minus a constant: one index descent when the column leads an index.
    """

    target: str
    sequence: QualifiedName | None
    serial_of: QualifiedName | None
    constant: bool
    max_of: tuple[QualifiedName, str] | None = None
    location: int | None = None  # of the call, in the parse tree


def setval_calls(body: Body) -> Iterator[Setval]:
    """The ``setval`` calls of a SELECT's target list (``SELECT setval(…)``).

    >>> import json, pglast
    >>> sql = "SELECT setval('s', 1), setval(pg_get_serial_sequence('t', 'id'), max(id))"
    >>> body = json.loads(pglast.parser.parse_sql_json(sql))["stmts"][0]["stmt"]
    >>> [(c.target, c.constant) for c in setval_calls(body["SelectStmt"])]
    [("'s'", True), ("pg_get_serial_sequence('t', 'id')", False)]
    """
    for target in body.get("targetList", ()):
        call = (target.get("ResTarget", {}).get("val") or {}).get("FuncCall") or {}
        args = call.get("args", ())
        if _func(call)[-1:] != ["setval"] or len(args) < 2:
            continue
        found = _setval(args[0], "A_Const" in args[1])
        yield replace(found, max_of=_max_of(args[1]), location=call.get("location"))


def quick_setval(
    body: Body, indexed: Callable[[QualifiedName, tuple[str, ...]], bool]
) -> bool:
    """The SELECT does nothing but ``setval`` calls, each to a constant or to the
    ``max()`` of a column that ``indexed(table, (column,))`` says leads an index (one
    index descent): it is instant, even under a lock that blocks the table.

    >>> import json, pglast
    >>> def body(sql):
    ...     return json.loads(pglast.parser.parse_sql_json(sql))["stmts"][0]["stmt"]
    >>> sql = "SELECT setval('s', (SELECT max(id) FROM t) + 10)"
    >>> quick_setval(body(sql)["SelectStmt"], lambda table, cols: cols == ("id",))
    True
    >>> quick_setval(body(sql)["SelectStmt"], lambda table, cols: False)
    False
    >>> quick_setval(body("SELECT setval('s', 5), 1 FROM t")["SelectStmt"], print)
    False
    """
    targets = body.get("targetList", ())
    calls = list(setval_calls(body))
    if not targets or len(calls) != len(targets) or body.get("fromClause"):
        return False
    return all(
        c.constant or (c.max_of is not None and indexed(c.max_of[0], c.max_of[1:]))
        for c in calls
    )


def _max_of(value: Body) -> tuple[QualifiedName, str] | None:
    expr = value.get("A_Expr") or {}
    if expr.get("kind") == "AEXPR_OP" and "A_Const" in (expr.get("rexpr") or {}):
        value = expr.get("lexpr") or {}
    link = value.get("SubLink") or {}
    select = (link.get("subselect") or {}).get("SelectStmt") or {}
    targets, tables = select.get("targetList", ()), select.get("fromClause", ())
    if (
        link.get("subLinkType") != "EXPR_SUBLINK"
        or len(targets) != 1
        or len(tables) != 1
    ):
        return None
    call = (targets[0].get("ResTarget", {}).get("val") or {}).get("FuncCall") or {}
    args = call.get("args", ())
    fields = args[0].get("ColumnRef", {}).get("fields", ()) if len(args) == 1 else ()
    table = range_var(tables[0].get("RangeVar"))
    if (
        _func(call) != ["max"]
        or select.get("whereClause")
        or table is None
        or not fields
    ):
        return None
    column = fields[-1].get("String", {}).get("sval")
    return (table, column) if column else None


def _setval(arg: Body, constant: bool) -> Setval:
    arg = arg.get("TypeCast", {}).get("arg", arg)
    text = arg.get("A_Const", {}).get("sval", {}).get("sval")
    call = arg.get("FuncCall") or {}
    values = [
        a.get("A_Const", {}).get("sval", {}).get("sval") for a in call.get("args", ())
    ]
    try:
        if text is not None:
            return Setval(
                quote_literal(text), parse_qualified_name(text), None, constant
            )
        if _func(call)[-1:] == ["pg_get_serial_sequence"] and all(
            isinstance(v, str) for v in values
        ):
            sql = ", ".join(quote_literal(v) for v in values)
            table = parse_qualified_name(values[0])
            return Setval(f"pg_get_serial_sequence({sql})", None, table, constant)
    except ValueError:
        pass
    return Setval("<sequence>", None, None, constant)


def _func(call: Body) -> list[str]:
    return [n["String"]["sval"] for n in call.get("funcname", ()) if "String" in n]
