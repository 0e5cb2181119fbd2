"""The names PostgreSQL gives constraints declared without one.

A migration that writes ``PRIMARY KEY (id)`` or ``REFERENCES users`` without ``CONSTRAINT
name`` gets a generated name (``orders_pkey``, ``orders_user_id_fkey``), and a later
migration drops it by that name: the history replay must know the same name to recognise it.
This mirrors ``ChooseConstraintName`` / ``makeObjectName`` (src/backend/commands/indexcmds.c,
src/backend/catalog/pg_constraint.c): ``table_columns_label``, each part shortened until the
whole fits in NAMEDATALEN - 1 bytes, and a number appended to the label while the name is
taken.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from typing import Any

# NAMEDATALEN - 1
_MAX_BYTES = 63
_LABELS = {
    "primary": "pkey",
    "unique": "key",
    "foreign": "fkey",
    "check": "check",
    "exclusion": "excl",
}


def default_constraint_name(
    table: str,
    kind: str,
    columns: Sequence[str],
    taken: Container[str] = (),
) -> str:
    """The name PostgreSQL generates for an unnamed constraint of ``kind`` (``primary``,
    ``unique``, ``foreign``, ``check``, ``exclusion``) on ``columns`` of ``table``.

    For a CHECK, ``columns`` are the columns its expression reads: one names it
    ``table_column_check``, none or several ``table_check`` (PostgreSQL cannot tell a
    column constraint from a table constraint any more, and approximates so).

    >>> default_constraint_name("orders", "primary", ["id"])
    'orders_pkey'
    >>> default_constraint_name("orders", "foreign", ["user_id", "shop_id"])
    'orders_user_id_shop_id_fkey'
    >>> default_constraint_name("orders", "check", ["a", "b"])
    'orders_check'
    >>> default_constraint_name("orders", "unique", ["email"], taken={"orders_email_key"})
    'orders_email_key1'
    """
    label = _LABELS[kind]
    if kind == "primary":
        addition = ""
    elif kind == "check":
        addition = columns[0] if len(set(columns)) == 1 else ""
    else:
        addition = "_".join(columns)
    return _choose(table, addition, label, taken)


def default_index_name(
    table: str,
    params: Sequence[Mapping[str, Any]],
    taken: Container[str] = (),
    including: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The name PostgreSQL gives ``CREATE INDEX`` without a name (``ChooseIndexName``):
    ``table_columns_idx`` (unique or not), an expression named as ``FigureIndexColname``
    names it (a function call by the function, else ``expr``), the ``INCLUDE`` columns
    after the key columns (PG 15 and 18: ``ON t (a) INCLUDE (c)`` is ``t_a_c_idx``),
    shortened to fit and numbered while the name is ``taken`` by a relation of the schema.

    >>> p = [{"IndexElem": {"name": "a"}}, {"IndexElem": {"expr": {"FuncCall": {
    ...     "funcname": [{"String": {"sval": "lower"}}]}}}}]
    >>> default_index_name("t", p, taken={"t_a_lower_idx"})
    't_a_lower_idx1'
    """
    columns = [
        _index_column_name(p["IndexElem"])
        for p in (*params, *including)
        if "IndexElem" in p
    ]
    return _choose(table, "_".join(columns), "idx", taken)


def _index_column_name(elem: Mapping[str, Any]) -> str:
    if elem.get("name"):
        return str(elem["name"])
    return _figure_name(elem.get("expr")) or "expr"


# FigureColnameInternal (src/backend/parser/parse_target.c): the fixed names.
_NODE_NAMES = {
    "CaseExpr": "case",
    "A_ArrayExpr": "array",
    "RowExpr": "row",
    "CoalesceExpr": "coalesce",
    "NullIfExpr": "nullif",
}


def _figure_name(node: Any) -> str | None:
    """The name ``FigureColnameInternal`` gives an expression, if any."""
    if not isinstance(node, dict) or len(node) != 1:
        return None
    ((kind, body),) = node.items()
    if kind == "ColumnRef":
        fields = [f["String"]["sval"] for f in body.get("fields", ()) if "String" in f]
        return fields[-1] if fields else None
    if kind == "FuncCall":
        names = [f["String"]["sval"] for f in body.get("funcname", ()) if "String" in f]
        return names[-1] if names else None
    if kind == "TypeCast":
        named = _figure_name(body.get("arg"))
        type_names = (body.get("typeName") or {}).get("names", ())
        last = [n["String"]["sval"] for n in type_names if "String" in n][-1:]
        return named or (last[0] if last else None)
    if kind == "CollateClause":
        return _figure_name(body.get("arg"))
    if kind == "MinMaxExpr":
        return "greatest" if body.get("op") == "IS_GREATEST" else "least"
    if kind == "A_Expr" and body.get("kind") == "AEXPR_NULLIF":
        return "nullif"
    return _NODE_NAMES.get(kind)


def _choose(name1: str, name2: str, label: str, taken: Container[str]) -> str:
    """``makeObjectName``, then a number appended to the label while the name is taken
    (``ChooseRelationName`` / ``ChooseConstraintName``)."""
    name = _object_name(name1, name2, label)
    number = 0
    while name in taken:
        number += 1
        name = _object_name(name1, name2, f"{label}{number}")
    return name


def expression_columns(expression: Mapping[str, Any] | None) -> list[str]:
    """The column names an expression (a libpg_query node) reads, in order."""
    found: list[str] = []
    # Depth first, in order, without a generator per level: the schema replay asks this
    # of every CHECK and index expression.
    stack: list[Any] = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("ColumnRef")
            if ref is not None:
                fields = [
                    f["String"]["sval"] for f in ref.get("fields", ()) if "String" in f
                ]
                if fields:
                    found.append(fields[-1])
            stack.extend(reversed(node.values()))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return found


def _object_name(name1: str, name2: str, label: str) -> str:
    """``makeObjectName``: take bytes off the longer part until the name fits, then clip
    each part to a whole character (``pg_mbcliplen``)."""
    overhead = (len(label) + 1 if label else 0) + (1 if name2 else 0)
    available = _MAX_BYTES - overhead
    raw1, raw2 = name1.encode("utf-8"), name2.encode("utf-8")
    chars1, chars2 = len(raw1), len(raw2)
    while chars1 + chars2 > available:
        if chars1 > chars2:
            chars1 -= 1
        else:
            chars2 -= 1
    parts = [_clip(raw1, chars1), *([_clip(raw2, chars2)] if name2 else [])]
    return "_".join([*parts, *([label] if label else [])])


def _clip(raw: bytes, size: int) -> str:
    """The first ``size`` bytes of ``raw``, less a character cut in the middle."""
    return raw[:size].decode("utf-8", errors="ignore")


def default_name_columns(
    kind: str, con: Mapping[str, Any], keys: tuple[str, ...]
) -> list[str]:
    """The columns PostgreSQL builds an unnamed constraint's name from: a CHECK's are the
    ones its expression reads, an exclusion constraint's its elements ("expr" for an
    expression), the others' their key columns; a UNIQUE or exclusion constraint's
    ``INCLUDE`` columns follow (PG 15 and 18: ``UNIQUE (a) INCLUDE (b)`` is
    ``t_a_b_key``)."""
    if kind == "check":
        return expression_columns(con.get("raw_expr"))
    including = [i["String"]["sval"] for i in con.get("including", ()) if "String" in i]
    if kind == "exclusion" and not keys:
        names = []
        for pair in con.get("exclusions", ()):
            items = pair.get("List", {}).get("items", ()) if "List" in pair else pair
            elem = (items[0] if items else {}).get("IndexElem", {})
            names.append(elem.get("name") or "expr")
        return [*names, *including]
    return [*keys, *including]


def partition_key(
    partspec: Mapping[str, Any] | None,
) -> tuple[str, tuple[str, ...]] | None:
    """A ``PARTITION BY`` clause as ``(strategy, columns its key reads)``: ``range``,
    ``list`` or ``hash``, each column once, in order.

    >>> from atomig.sql.parse import parse_script
    >>> [s] = parse_script("CREATE TABLE e (a int, z text) PARTITION BY LIST (lower(z), a)")
    >>> partition_key(s.body["partspec"])
    ('list', ('z', 'a'))
    """
    if not partspec:
        return None
    strategy = str(partspec.get("strategy", "")).removeprefix("PARTITION_STRATEGY_")
    columns: list[str] = []
    for param in partspec.get("partParams", ()):
        elem = param.get("PartitionElem", {})
        name = elem.get("name")
        columns += [name] if name else expression_columns(elem.get("expr"))
    return strategy.lower(), tuple(dict.fromkeys(columns))


def detach_check_name(
    partition: str, key: tuple[str, tuple[str, ...]], taken: Container[str] = ()
) -> str | None:
    """The CHECK that ``DETACH PARTITION … CONCURRENTLY`` adds to the detached table (its
    partition constraint; ``tablecmds.c`` DetachAddConstraintIfNeeded), named as an unnamed
    CHECK: ``partition_column_check`` when the key reads one column, ``partition_check``
    for several. None for a hash partition, which gets none (PG 15 and 18).

    >>> detach_check_name("events_2024", ("range", ("at",)))
    'events_2024_at_check'
    >>> detach_check_name("r1", ("range", ("a", "b"))), detach_check_name("h1", ("hash", ("a",)))
    ('r1_check', None)
    """
    strategy, columns = key
    if strategy == "hash":
        return None
    return default_constraint_name(partition, "check", columns, taken)


def default_sequence_name(table: str, column: str, taken: Container[str]) -> str:
    """The name PostgreSQL gives a ``serial`` or identity column's sequence
    (``ChooseRelationName(table, column, "seq")``: ``t_id_seq``, ``t_id_seq1`` when
    taken; PG 15 and 18)."""
    return _choose(table, column, "seq", taken)


_INDEX_CONSTRAINTS = ("CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION")
# What merged_index_constraints gives: the constraints a CREATE TABLE merges away, and
# the names the kept ones take (by id() of their dicts); none outside a CREATE TABLE.
Merged = tuple[frozenset[int], Mapping[int, str]]
NO_MERGE: Merged = (frozenset(), {})


def _shape(node: Any) -> Any:
    """A node without its source locations (two spellings of one index compare equal)."""
    if isinstance(node, dict):
        return tuple(sorted((k, _shape(v)) for k, v in node.items() if k != "location"))
    if isinstance(node, list):
        return tuple(_shape(v) for v in node)
    return node


def merged_index_constraints(
    elements: Sequence[Mapping[str, Any]],
) -> Merged:
    """The PRIMARY KEY, UNIQUE and EXCLUDE constraints of a ``CREATE TABLE``'s elements
    (``tableElts``) that PostgreSQL merges into an earlier one of the same index, and the
    names the kept ones take from them (by ``id()`` of their ``Constraint`` dicts).

    ``transformIndexConstraints`` (src/backend/parser/parse_utilcmd.c, PG 15 and 18)
    builds one index for equal definitions (same columns, INCLUDE, predicate, operators,
    method, NULLS NOT DISTINCT and deferrability; storage options aside), the primary key
    first: ``(a int UNIQUE, UNIQUE (a))`` makes ``t_a_key`` alone, ``(a int UNIQUE,
    PRIMARY KEY (a))`` the primary key alone, and an unnamed kept one takes the name of a
    named merged one. ``ALTER TABLE … ADD`` merges nothing.

    >>> u = {"Constraint": {"contype": "CONSTR_UNIQUE", "keys": [{"String": {"sval": "a"}}]}}
    >>> n = {"Constraint": {**u["Constraint"], "conname": "n"}}
    >>> dropped, names = merged_index_constraints([u, n])
    >>> id(n["Constraint"]) in dropped, names[id(u["Constraint"])]
    (True, 'n')
    """
    found: list[tuple[Mapping[str, Any], tuple[Any, ...]]] = []
    for element in elements:
        column = element.get("ColumnDef")
        if column is not None:
            for item in column.get("constraints", ()):
                con = item.get("Constraint") or {}
                if con.get("contype") in _INDEX_CONSTRAINTS:
                    found.append((con, (column.get("colname"),)))
        con = element.get("Constraint") or {}
        if con.get("contype") in _INDEX_CONSTRAINTS:
            keys = tuple(
                k["String"]["sval"] for k in con.get("keys", ()) if "String" in k
            )
            found.append((con, keys))
    # (most tables have one such constraint, or several on other columns: nothing to
    # compare in full)
    if len({keys for _, keys in found}) == len(found):
        return NO_MERGE
    found = [(con, _index_shape(con, keys)) for con, keys in found]
    found.sort(key=lambda pair: pair[0].get("contype") != "CONSTR_PRIMARY")  # stable
    kept: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    dropped: set[int] = set()
    names: dict[int, str] = {}
    for con, shape in found:
        prior = kept.setdefault(shape, con)
        if prior is con:
            continue
        dropped.add(id(con))
        if not (prior.get("conname") or names.get(id(prior))) and con.get("conname"):
            names[id(prior)] = con["conname"]
    return frozenset(dropped), names


def _index_shape(con: Mapping[str, Any], keys: tuple[Any, ...]) -> tuple[Any, ...]:
    return (
        keys,
        _shape(con.get("including")),
        _shape(con.get("exclusions")),
        _shape(con.get("where_clause")),
        con.get("access_method") or "btree",
        bool(con.get("nulls_not_distinct")),
        bool(con.get("deferrable")),
        bool(con.get("initdeferred")),
    )
