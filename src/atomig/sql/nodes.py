"""Shared readers of libpg_query JSON nodes (plain dicts): names, option lists, and the
small builders every per-statement fact function uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from atomig.sql.facts import QualifiedName, RelationLock, StatementFacts
from atomig.sql.locks import LockMode

Body = Mapping[str, Any]


def range_var(node: Body | None) -> QualifiedName | None:
    """A ``RangeVar`` dict as a :class:`QualifiedName`."""
    if not node or "relname" not in node:
        return None
    return _qualified(node.get("schemaname"), node["relname"])


# Migrations name the same tables over and over, and lint asks each statement's relation
# several times: one (frozen) name per spelling is cheaper than a new one per question.
_qualified = lru_cache(maxsize=4096)(QualifiedName)


def name_list(items: Iterable[Body]) -> QualifiedName:
    """A ``[String, String]`` name list (as in DROP … and ALTER TYPE) as a name."""
    parts = [item["String"]["sval"] for item in items if "String" in item]
    if len(parts) >= 2:
        return QualifiedName(parts[-2], parts[-1])
    return QualifiedName(None, parts[-1] if parts else "")


def type_relation(type_name: Body | None) -> QualifiedName | None:
    """The relation of a composite type named by a ``TypeName`` dict (``OF type``)."""
    names = (type_name or {}).get("names")
    return name_list(names) if names else None


def def_names(options: Iterable[Body] | None) -> dict[str, Any]:
    """``DefElem`` option lists as ``{name: arg-or-True}``."""
    out: dict[str, Any] = {}
    for item in options or ():
        elem = item.get("DefElem")
        if elem is not None:
            arg = elem.get("arg")
            out[elem["defname"]] = _const_text(arg) if arg is not None else True
    return out


def _const_text(arg: Body) -> Any:
    if "String" in arg:
        return arg["String"].get("sval", "")
    if "Integer" in arg:
        return arg["Integer"].get("ival", 0)
    if "Boolean" in arg:
        return arg["Boolean"].get("boolval", False)
    if "A_Const" in arg:
        const = arg["A_Const"]
        for key in ("sval", "ival", "boolval", "fval"):
            if key in const:
                value = const[key]
                return (
                    next(iter(value.values()), "") if isinstance(value, dict) else value
                )
    if "TypeName" in arg:
        return arg
    return arg


def truthy(value: Any) -> bool:
    """An option value read as a boolean (``'off'``, ``'false'``, ``0`` are false).

    >>> truthy("off"), truthy(1)
    (False, True)
    """
    if isinstance(value, str):
        return value.lower() not in ("false", "off", "0", "no")
    return bool(value)


def locks_of(*pairs: tuple[QualifiedName | None, LockMode]) -> tuple[RelationLock, ...]:
    """The strongest mode per relation, in first-seen order (``None`` names skipped)."""
    strongest: dict[QualifiedName, LockMode] = {}
    for relation, mode in pairs:
        if relation is not None and mode > strongest.get(relation, 0):
            strongest[relation] = mode
    return tuple(RelationLock(rel, mode) for rel, mode in strongest.items())


def no_transaction(reason: str, **kwargs: Any) -> StatementFacts:
    """Facts of a statement that cannot run inside a transaction block, and why."""
    return StatementFacts(transactional=False, no_transaction_reason=reason, **kwargs)


def pinned_columns(clause: Body) -> set[str]:
    """Columns a WHERE clause sets equal to constants (through ANDs): ``id = 42``,
    ``code IN ('a', 'b')``, ``id = $1``."""
    if "BoolExpr" in clause:
        expr = clause["BoolExpr"]
        if expr.get("boolop") != "AND_EXPR":
            return set()
        return {c for arg in expr.get("args", ()) for c in pinned_columns(arg)}
    expr = clause.get("A_Expr") or {}
    names = [n.get("String", {}).get("sval") for n in expr.get("name", ())]
    if expr.get("kind") not in ("AEXPR_OP", "AEXPR_IN") or names != ["="]:
        return set()
    column = (expr.get("lexpr") or {}).get("ColumnRef", {}).get("fields", ())
    right = expr.get("rexpr") or {}
    values = right["List"].get("items", ()) if "List" in right else (right,)
    if not column or "String" not in column[-1]:
        return set()
    return {column[-1]["String"]["sval"]} if all(map(_constant, values)) else set()


def _constant(node: Body) -> bool:
    kind = next(iter(node), None)
    if kind == "TypeCast":
        return _constant(node["TypeCast"].get("arg") or {})
    return kind in ("A_Const", "ParamRef")


# Statements that act on the named table alone, never on its inheritance children (a
# partitioned table's partitions are another matter): checked in pg_locks on PG 15 and 18.
_PARENT_ONLY = frozenset(
    ("IndexStmt", "CreateTrigStmt", "ReindexStmt", "VacuumStmt", "ClusterStmt")
)


def reaches_children(kind: str, body: Body, relation: QualifiedName) -> bool:
    """Whether a statement of ``kind`` also scans or rewrites the inheritance children of
    ``relation``: ALTER TABLE, UPDATE, DELETE, TRUNCATE … recurse unless the name is
    written with ONLY; CREATE INDEX, CREATE TRIGGER, REINDEX, VACUUM, CLUSTER never do.

    >>> from atomig.sql.parse import parse_script
    >>> [only, plain] = parse_script(
    ...     "ALTER TABLE ONLY t ADD CHECK (a > 0); ALTER TABLE t ADD CHECK (a > 0)"
    ... ).statements
    >>> t = QualifiedName(None, "t")
    >>> reaches_children(only.kind, only.body, t), reaches_children(plain.kind, plain.body, t)
    (False, True)
    """
    if kind in _PARENT_ONLY:
        return False
    named = [body.get("relation") or {}]
    named += [item.get("RangeVar", {}) for item in body.get("relations") or ()]
    # (the JSON leaves a false inh out: ONLY)
    return not any(
        range_var(node) == relation and not node.get("inh") for node in named
    )


def partition_key_columns(partspec: Body | None) -> tuple[str | None, ...]:
    """The columns of a ``PARTITION BY`` (a ``PartitionSpec``), None for an expression;
    empty for a table that is not partitioned.

    >>> from atomig.sql.parse import parse_script
    >>> [create] = parse_script(
    ...     "CREATE TABLE e (at date, k text) PARTITION BY RANGE (at, lower(k))"
    ... ).statements
    >>> partition_key_columns(create.body["partspec"])
    ('at', None)
    """
    return tuple(
        param.get("PartitionElem", {}).get("name")
        for param in (partspec or {}).get("partParams", ())
    )
