"""What makes an expression not IMMUTABLE where PostgreSQL requires IMMUTABLE.

A generated column's expression, an index expression or predicate and a partition key
expression must use IMMUTABLE functions only (``CheckMutability`` / ``contain_mutable_
functions`` after SQL functions are inlined). Some builtins are IMMUTABLE for one argument
type and STABLE for another (``date(timestamp)`` vs ``date(timestamptz)``): those are
judged only when the argument's type is known, so an unknown type never yields a claim.
Every verdict here was checked on PostgreSQL 15 and 18 (tests/integration/test_lint_good_
examples.py applies the GOOD examples; the BAD ones are rejected there too).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from atomig.sql.parse import Statement, walk
from atomig.sql.types import TypeRef
from atomig.sql.volatility import Volatility, builtin_volatility

Types = Callable[[str], "str | None"]  # column name -> catalog type name, if known


@dataclass(frozen=True, slots=True)
class Mutable:
    """One part of an expression that is not IMMUTABLE: ``what`` as written (``now()``,
    ``timestamptz::date``, ``CURRENT_DATE``), its ``level`` and ``fix``, the advice."""

    what: str
    level: Volatility
    location: int
    fix: str


_TEXT = frozenset({"text", "varchar", "bpchar"})
# Casts through a STABLE function (pg_cast.castfunc, PG 15 and 18): they depend on TimeZone.
_STABLE_CASTS = {
    ("timestamptz", "date"),
    ("timestamptz", "time"),
    ("timestamptz", "timetz"),
    ("timestamptz", "timestamp"),
    ("timestamp", "timestamptz"),
    ("date", "timestamptz"),
    ("time", "timetz"),
}
# Types whose text output (DateStyle, IntervalStyle) or input is STABLE: a cast to or from
# text is STABLE (typoutput / typinput in pg_type).
_STABLE_OUTPUT = frozenset({"date", "timestamp", "timestamptz", "interval", "money"})
_STABLE_INPUT = _STABLE_OUTPUT | {"time", "timetz"}
_UTC = "(col AT TIME ZONE 'UTC')"
_ZONED = "convert to a timestamp in a fixed zone first: "
_SVF = {
    "CURRENT_DATE": "date",
    "CURRENT_TIME": "timetz",
    "CURRENT_TIME_N": "timetz",
    "CURRENT_TIMESTAMP": "timestamptz",
    "CURRENT_TIMESTAMP_N": "timestamptz",
    "LOCALTIME": "time",
    "LOCALTIME_N": "time",
    "LOCALTIMESTAMP": "timestamp",
    "LOCALTIMESTAMP_N": "timestamp",
}
_NOW = (
    "the value would change over time: store it in a plain column (DEFAULT now()), or "
    "compare with the current time in the query"
)


def _may_hold_spots(text: str) -> bool:
    """The words without which a CREATE or ALTER TABLE has no such expression
    (substring tests: a case-blind regex search cost several times more)."""
    low = text.lower()
    return any(word in low for word in _TABLE_WORDS)


_TABLE_WORDS = ("generated", "exclude", "partition", "expression")


def immutable_spots(stmt: Statement) -> list[tuple[str, Any]]:
    """The expressions of a statement that PostgreSQL requires to be IMMUTABLE, each with
    where it is: ``generated`` (a STORED generated column), ``virtual`` (a VIRTUAL one, PG
    18), ``set-expression`` (ALTER COLUMN … SET EXPRESSION, PG 17), ``index`` (an index or
    EXCLUDE expression), ``predicate`` (their WHERE), ``partition`` (a partition key)."""
    body, spots = stmt.body, []
    if stmt.kind != "IndexStmt" and not _may_hold_spots(stmt.text):
        return []  # most ALTER and CREATE TABLE statements have none: skip the walk
    cmds = [c.get("AlterTableCmd", {}) for c in body.get("cmds", ())]
    elements = list(body.get("tableElts", ()))
    elements += [c.get("def") or {} for c in cmds if c.get("subtype") == "AT_AddColumn"]
    elements += [
        c.get("def") or {} for c in cmds if c.get("subtype") == "AT_AddConstraint"
    ]
    for element in elements:
        for con in [element.get("Constraint")] + [
            c.get("Constraint")
            for c in element.get("ColumnDef", {}).get("constraints", ())
        ]:
            kind = (con or {}).get("contype")
            if kind == "CONSTR_GENERATED":
                virtual = con.get("generated_kind") == "v"
                spots.append(
                    ("virtual" if virtual else "generated", con.get("raw_expr"))
                )
            elif kind == "CONSTR_EXCLUSION":
                spots.append(("index", con.get("exclusions")))
                spots.append(("predicate", con.get("where_clause")))
    spots += [
        ("set-expression", c.get("def"))
        for c in cmds
        if c.get("subtype") == "AT_SetExpression"
    ]
    if stmt.kind == "IndexStmt":
        for param in body.get("indexParams", ()):
            spots.append(("index", param.get("IndexElem", {}).get("expr")))
        spots.append(("predicate", body.get("whereClause")))
    for param in (body.get("partspec") or {}).get("partParams", ()):
        spots.append(("partition", param.get("PartitionElem", {}).get("expr")))
    return [(where, expr) for where, expr in spots if expr is not None]


def mutable_parts(
    node: Any,
    types: Types,
    known: Callable[[str | None, str], Volatility | None],
    major: int,
) -> Iterator[Mutable]:
    """The parts of expression ``node`` that are not IMMUTABLE, outermost first.

    ``types`` gives the column types known; ``known(schema, name)`` the volatility of a
    function that is not inlined (a user function, from history or catalog) or ``None``.
    """
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
            continue
        if not isinstance(item, dict):
            continue
        found = _judge(item, types, known, major)
        if found is not None:
            column = _first_column(item)
            if column is not None:  # the advice names the column it is about
                found = replace(found, fix=re.sub(r"\bcol\b", column, found.fix))
            yield found
            continue
        stack.extend(reversed(list(item.values())))


def _first_column(node: Any) -> str | None:
    """The name of the first column an expression reads, if any."""
    for key, value in walk(node):
        if key == "ColumnRef":
            fields = value.get("fields", ())
            last = fields[-1] if fields else {}
            return str(last["String"]["sval"]) if "String" in last else None
    return None


def _judge(
    item: Mapping[str, Any],
    types: Types,
    known: Callable[[str | None, str], Volatility | None],
    major: int,
) -> Mutable | None:
    if "SQLValueFunction" in item:
        svf = item["SQLValueFunction"]
        op = str(svf.get("op", "")).removeprefix("SVFOP_")
        what = op.removesuffix("_N")
        fix = _NOW if op in _SVF else "use a constant instead of the session's value"
        return Mutable(what, Volatility.STABLE, svf.get("location", -1), fix)
    if "TypeCast" in item:
        cast = item["TypeCast"]
        source = expression_type(cast.get("arg"), types)
        target = TypeRef.from_node(cast.get("typeName") or {}).name
        if source is None or source == target:
            return None
        if (source, target) in _STABLE_CASTS:
            fix = (
                f"{_ZONED}{_UTC}::{target}"
                if source == "timestamptz"
                else _cast_fix(source)
            )
        elif (source in _STABLE_OUTPUT and target in _TEXT) or (
            source in _TEXT and target in _STABLE_INPUT
        ):
            fix = (
                "keep the value typed (compare or index the column itself); a cast "
                f"between text and {target if source in _TEXT else source} depends on "
                "DateStyle/IntervalStyle"
            )
        else:
            return None
        return Mutable(
            f"{source}::{target}", Volatility.STABLE, cast.get("location", -1), fix
        )
    if "FuncCall" in item:
        return _call(item["FuncCall"], types, known, major)
    if "A_Expr" in item:
        return _operator(item["A_Expr"], types)
    return None


def _operator(expr: Mapping[str, Any], types: Types) -> Mutable | None:
    """``timestamptz ± interval`` is STABLE (a day is 23 to 25 hours, by TimeZone)."""
    names = [n["String"]["sval"] for n in expr.get("name", ()) if "String" in n]
    if expr.get("kind") != "AEXPR_OP" or names[-1:] not in (["+"], ["-"]):
        return None
    left = expression_type(expr.get("lexpr"), types)
    right = expression_type(expr.get("rexpr"), types)
    if {left, right} != {"timestamptz", "interval"} or (
        names[-1] == "-" and left != "timestamptz"
    ):
        return None
    return Mutable(
        f"timestamptz {names[-1]} interval",
        Volatility.STABLE,
        expr.get("location", -1),
        f"add the interval to a timestamp in a fixed zone: {_UTC} {names[-1]} interval …",
    )


def _cast_fix(source: str) -> str:
    return (
        f"a {source} becomes a timestamptz only in a time zone: name it, "
        f"(col AT TIME ZONE 'UTC') (IMMUTABLE), or keep the column {source}"
    )


def _call(
    call: Mapping[str, Any],
    types: Types,
    known: Callable[[str | None, str], Volatility | None],
    major: int,
) -> Mutable | None:
    names = [n["String"]["sval"] for n in call.get("funcname", ()) if "String" in n]
    if not names:
        return None
    schema, name = (names[-2] if len(names) > 1 else None), names[-1]
    args = list(call.get("args", ()))
    location = call.get("location", -1)
    level = known(schema, name)
    if level is None and schema in (None, "pg_catalog"):
        rule = _OVERLOADS.get(name)
        if name in MIXED:
            if rule is None:
                return None  # the overload depends on types this module does not judge
            fix = rule([expression_type(a, types) for a in args], major)
            if fix is None:
                return None
            return Mutable(f"{name}()", Volatility.STABLE, location, fix)
        level = builtin_volatility(name)
        if level in (Volatility.STABLE, Volatility.VOLATILE):
            return Mutable(f"{name}()", level, location, _builtin_fix(name, level))
        return None
    if level in (Volatility.STABLE, Volatility.VOLATILE):
        fix = (
            f"declare {name}() IMMUTABLE only if it truly is (same result for the same "
            "arguments, no table reads, no settings); otherwise store its result in a "
            "plain column"
        )
        return Mutable(f"{name}()", level, location, fix)
    return None


def _builtin_fix(name: str, level: Volatility) -> str:
    if name in ("now", "statement_timestamp", "transaction_timestamp", "timeofday"):
        return _NOW
    if name in ("concat", "concat_ws", "format"):
        return "concatenate text with || (IMMUTABLE), wrapping nullable parts in coalesce()"
    if name == "to_char":
        return (
            "to_char() is STABLE for every type (it reads lc_time and other settings): "
            f"use extract(… FROM {_UTC}), date_trunc(…, {_UTC}) or ::date on a timestamp"
        )
    if level is Volatility.VOLATILE:
        return (
            f"{name}() gives a new value per call: use a plain column with DEFAULT "
            f"{name}() instead"
        )
    return (
        f"{name}() is STABLE (it depends on settings or the catalog): compute the value "
        "in the application or keep it in a plain column"
    )


def _zoned(position: int, fix: str) -> Callable[[list[str | None], int], str | None]:
    """STABLE when argument ``position`` is a timestamptz (TimeZone decides)."""

    def rule(arg_types: list[str | None], major: int) -> str | None:
        hit = len(arg_types) > position and arg_types[position] == "timestamptz"
        return fix if hit else None

    return rule


def _arity(count: int, fix: str) -> Callable[[list[str | None], int], str | None]:
    """STABLE with exactly ``count`` arguments (the overload without a configuration)."""
    return lambda arg_types, major: fix if len(arg_types) == count else None


def _date_trunc(arg_types: list[str | None], major: int) -> str | None:
    # date_trunc(text, timestamptz, zone) is STABLE on PG 15 and IMMUTABLE on 18 (pg_proc);
    # 16 and 17 are not checked here: no claim for them.
    zoned = len(arg_types) > 1 and arg_types[1] == "timestamptz"
    if zoned and (len(arg_types) == 2 or major <= 15):
        return "truncate a timestamp in a fixed zone: date_trunc('day', col AT TIME ZONE 'UTC')"
    return None


def _timezone(arg_types: list[str | None], major: int) -> str | None:
    # AT LOCAL (PG 17) is timezone(x): the session's zone; a timetz needs today's date.
    if len(arg_types) == 1 or (len(arg_types) == 2 and arg_types[1] == "timetz"):
        return "name a fixed zone: col AT TIME ZONE 'UTC' on a timestamp or timestamptz"
    return None


def _to_zoned(arg_types: list[str | None], major: int) -> str | None:
    # timestamptz(date), (timestamp), (date, time); not (timestamptz, precision).
    if arg_types[:1] in (["date"], ["timestamp"]):
        return _cast_fix(arg_types[0] or "timestamp")
    return None


# pg_proc names with an IMMUTABLE overload and a STABLE one (PG 15 and 18): judged by
# _OVERLOADS when the argument types decide, never from the name alone.
MIXED = frozenset(
    str.split(
        """
    age date date_add date_part date_subtract date_trunc extract generate_series in_range
    json_to_tsvector jsonb_to_tsvector length numeric overlaps phraseto_tsquery
    plainto_tsquery quote_literal quote_nullable time timestamp timestamptz timetz timezone
    to_timestamp to_tsquery to_tsvector ts_headline ts_parse ts_rewrite ts_token_type
    websearch_to_tsquery
    """
    )
)
_TS_CONFIG = (
    "pass the text search configuration: to_tsvector('english', …) is IMMUTABLE"
)
_OVERLOADS: dict[str, Callable[[list[str | None], int], str | None]] = {
    "date": _zoned(0, f"{_ZONED}{_UTC}::date"),
    "time": _zoned(0, f"{_ZONED}{_UTC}::time"),
    "timetz": _zoned(
        0, "keep a time with its zone in a timetz column, or use a fixed zone"
    ),
    "timestamp": _zoned(0, f"name the zone: {_UTC}"),
    "date_part": _zoned(
        1, f"extract from a timestamp in a fixed zone: extract(year FROM {_UTC})"
    ),
    "extract": _zoned(
        1, f"extract from a timestamp in a fixed zone: extract(year FROM {_UTC})"
    ),
    "date_trunc": _date_trunc,
    "age": _arity(1, "age(x) reads the current date: compare two values, age(a, b)"),
    "to_tsvector": _arity(1, _TS_CONFIG),
    "to_tsquery": _arity(1, _TS_CONFIG),
    "plainto_tsquery": _arity(1, _TS_CONFIG),
    "phraseto_tsquery": _arity(1, _TS_CONFIG),
    "websearch_to_tsquery": _arity(1, _TS_CONFIG),
    "json_to_tsvector": _arity(2, _TS_CONFIG),
    "jsonb_to_tsvector": _arity(2, _TS_CONFIG),
    "timezone": _timezone,
    "timestamptz": _to_zoned,
    "date_add": _zoned(0, f"add to a timestamp in a fixed zone: {_UTC} + interval …"),
    "date_subtract": _zoned(
        0, f"subtract from a timestamp in a fixed zone: {_UTC} - …"
    ),
    "to_timestamp": _arity(
        2, "to_timestamp(text, format) is STABLE: store a typed column"
    ),
}


def expression_type(node: Any, types: Types) -> str | None:
    """The catalog type name of a simple expression (a column, a cast, ``AT TIME ZONE``),
    or ``None`` when it is not obvious.

    >>> expression_type({"ColumnRef": {"fields": [{"String": {"sval": "at"}}]}}, str)
    'at'
    """
    if not isinstance(node, dict):
        return None
    if "ColumnRef" in node:
        fields = node["ColumnRef"].get("fields", ())
        last = fields[-1] if fields else {}
        return types(last["String"]["sval"]) if "String" in last else None
    if "TypeCast" in node:
        return TypeRef.from_node(node["TypeCast"].get("typeName") or {}).name
    if "SQLValueFunction" in node:
        op = str(node["SQLValueFunction"].get("op", "")).removeprefix("SVFOP_")
        return _SVF.get(op)
    call = node.get("FuncCall")
    if call is not None:
        names = [n["String"]["sval"] for n in call.get("funcname", ()) if "String" in n]
        args = call.get("args", ())
        if names and names[-1] == "timezone" and len(args) == 2:
            inner = expression_type(args[1], types)
            return {"timestamptz": "timestamp", "timestamp": "timestamptz"}.get(
                inner or ""
            )
        if names and names[-1] in ("now", "clock_timestamp", "statement_timestamp"):
            return "timestamptz"
    return None
