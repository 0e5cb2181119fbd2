"""What a view's query reads: the relations it names and the columns it names in them.

PostgreSQL records a dependency of a view (or materialized view) on every relation its
query reads and on every column it names there (``SELECT *`` is expanded when the view is
created, so it names every column the relation had then): it rejects ``DROP TABLE``,
``ALTER TABLE … DROP COLUMN`` and ``ALTER COLUMN … TYPE`` of them without CASCADE (PG 15
and 18). Which relation an unqualified column belongs to needs the relations' columns, so
it is left to the caller. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import range_var


@dataclass(frozen=True, slots=True)
class QueryReads:
    """The relations a query reads, and the columns it names.

    Attributes:
        relations: every relation named in a FROM (CTE names excepted), in order.
        qualified: columns named through a relation's name or alias (``o.total``).
        bare: columns named alone (``total``): of one of ``relations``.
        stars: relations read with ``alias.*``; ``all_star``: a bare ``*``.
    """

    relations: tuple[QualifiedName, ...]
    qualified: Mapping[QualifiedName, frozenset[str]]
    bare: frozenset[str]
    stars: frozenset[QualifiedName]
    all_star: bool


def query_reads(query: Mapping[str, Any] | None) -> QueryReads:
    """What ``query`` (a parse-tree dict) reads.

    >>> from atomig.sql.parse import parse_script
    >>> [view] = parse_script(
    ...     "CREATE VIEW v AS SELECT o.id, note FROM orders o JOIN users u ON true"
    ... ).statements
    >>> reads = query_reads(view.body["query"])
    >>> [str(r) for r in reads.relations], sorted(reads.bare)
    (['orders', 'users'], ['note'])
    >>> sorted(reads.qualified[reads.relations[0]])
    ['id']
    """
    ctes: set[str] = set()
    relations: dict[QualifiedName, None] = {}
    aliases: dict[str, set[QualifiedName]] = {}
    refs: list[list[Any]] = []
    stack: list[Any] = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))  # (depth first, in order)
            continue
        if not isinstance(node, dict):
            continue
        if "ctename" in node:
            ctes.add(node["ctename"])
        if "relname" in node and "relpersistence" in node:  # a RangeVar
            name = range_var(node)
            if name is not None:
                relations[name] = None
                alias = (node.get("alias") or {}).get("aliasname") or name.name
                aliases.setdefault(alias, set()).add(name)
        ref = node.get("ColumnRef")
        if ref is not None:
            refs.append(ref.get("fields", []))
        stack.extend(reversed(node.values()))
    read = tuple(r for r in relations if r.schema is not None or r.name not in ctes)
    qualified: dict[QualifiedName, set[str]] = {}
    bare: set[str] = set()
    stars: set[QualifiedName] = set()
    all_star = False
    for fields in refs:
        last = fields[-1] if fields else {}
        column = last.get("String", {}).get("sval")
        if len(fields) == 1:
            if column is None:
                all_star = True
            else:
                bare.add(column)
            continue
        owner = fields[-2].get("String", {}).get("sval")
        targets = aliases.get(owner or "", set())
        if len(targets) != 1:
            continue  # a CTE's or subquery's columns, or an alias used twice
        [target] = targets
        if target not in read:
            continue
        if column is None:
            stars.add(target)
        else:
            qualified.setdefault(target, set()).add(column)
    return QueryReads(
        read,
        {r: frozenset(c) for r, c in qualified.items()},
        frozenset(bare),
        frozenset(stars),
        all_star,
    )


# The name PostgreSQL gives an output column left unnamed (parser/parse_target.c
# FigureColnameInternal), for the expressions whose rule is simple: (name, strength); a
# cast keeps a strong name of its argument, else takes its type's name.
_NAMED_EXPRESSIONS = {
    "CaseExpr": "case",
    "CoalesceExpr": "coalesce",
    "A_ArrayExpr": "array",
    "RowExpr": "row",
    "GroupingFunc": "grouping",
}


def _figure(node: Mapping[str, Any]) -> tuple[str | None, int]:
    """``(name, strength)`` of an unnamed output expression; ``(None, 0)``: unknown here."""
    if ref := node.get("ColumnRef"):
        last = (ref.get("fields") or [{}])[-1]
        return last.get("String", {}).get("sval"), 2
    if call := node.get("FuncCall"):
        return call["funcname"][-1]["String"]["sval"], 2
    if cast := node.get("TypeCast"):
        name, strength = _figure(cast.get("arg") or {})
        if strength <= 1:
            return cast["typeName"]["names"][-1]["String"]["sval"], 1
        return name, strength
    if "A_Const" in node:
        return "?column?", 0
    for kind, name in _NAMED_EXPRESSIONS.items():
        if kind in node:
            return name, 1
    return None, 0


def view_columns(
    body: Mapping[str, Any],
    expand: Callable[[QualifiedName], Sequence[str] | None],
) -> tuple[str | None, ...] | None:
    """The output column names of a ``CREATE VIEW`` (a ``ViewStmt`` body), in order: a
    name is None where atomig does not derive it; None for the whole when even the count
    is unknown (a ``*`` that ``expand``, the columns of a relation, cannot list).

    >>> from atomig.sql.parse import parse_script
    >>> [view] = parse_script(
    ...     "CREATE VIEW v (ident) AS SELECT id, total::bigint, count(*), 1, NULL::int, "
    ...     "o.* FROM orders o"
    ... ).statements
    >>> view_columns(view.body, lambda name: ("id", "total"))
    ('ident', 'total', 'count', '?column?', 'int4', 'id', 'total')
    """
    select = (body.get("query") or {}).get("SelectStmt") or {}
    ctes = set()
    while True:
        for cte in (select.get("withClause") or {}).get("ctes", ()):
            ctes.add(cte.get("CommonTableExpr", {}).get("ctename"))
        if select.get("op", "SETOP_NONE") == "SETOP_NONE":
            break
        select = select.get("larg") or {}  # a set operation is named by its first arm
    if values := select.get("valuesLists"):
        width = len(values[0].get("List", {}).get("items", ()))
        return tuple(f"column{n}" for n in range(1, width + 1))
    sources = _sources(select.get("fromClause") or (), ctes)
    names: list[str | None] = []
    for item in select.get("targetList") or ():
        target = item.get("ResTarget", {})
        fields = (target.get("val") or {}).get("ColumnRef", {}).get("fields", [{}])
        if "A_Star" not in fields[-1]:
            names.append(target.get("name") or _figure(target.get("val") or {})[0])
            continue
        owner = fields[-2].get("String", {}).get("sval") if len(fields) > 1 else None
        if owner is None and len(sources) == 1:
            owner = next(iter(sources))  # (a bare * over joins: USING merges columns)
        relation = sources.get(owner or "")
        columns = expand(relation) if relation is not None else None
        if columns is None:
            return None
        names.extend(columns)
    aliases = [a.get("String", {}).get("sval") for a in body.get("aliases") or ()]
    return tuple(aliases + names[len(aliases) :])


def _sources(
    from_clause: Sequence[Mapping[str, Any]], ctes: set[str]
) -> dict[str, QualifiedName | None]:
    """The items of a FROM list by the name a ``name.*`` uses (its alias, else its name):
    a relation, or None for a subquery, function or CTE (its columns are not known here)."""
    found: dict[str, QualifiedName | None] = {}
    stack = list(from_clause)
    while stack:
        item = stack.pop()
        if join := item.get("JoinExpr"):
            stack += [join.get("larg") or {}, join.get("rarg") or {}]
        elif (node := item.get("RangeVar")) and (name := range_var(node)) is not None:
            cte = name.schema is None and name.name in ctes
            found[(node.get("alias") or {}).get("aliasname") or name.name] = (
                None if cte else name
            )
        else:
            alias = next(
                (v.get("alias") for v in item.values() if isinstance(v, dict)), None
            )
            found[(alias or {}).get("aliasname") or f"#{len(found)}"] = None
    return found
