"""What a view's query reads: the relations it names and the columns it names in them.

PostgreSQL records a dependency of a view (or materialized view) on every relation its
query reads and on every column it names there (``SELECT *`` is expanded when the view is
created, so it names every column the relation had then): it rejects ``DROP TABLE``,
``ALTER TABLE … DROP COLUMN`` and ``ALTER COLUMN … TYPE`` of them without CASCADE (PG 15
and 18). Which relation an unqualified column belongs to needs the relations' columns, so
it is left to the caller. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
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
