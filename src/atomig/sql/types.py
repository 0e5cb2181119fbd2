"""Column types as written (``TypeName`` nodes) and which type changes rewrite a table.

PostgreSQL skips the table rewrite of ``ALTER COLUMN … TYPE`` when the old type is
binary-coercible to the new one and the typmod change needs no check (``ATColumnChangeRequires
Rewrite`` in tablecmds.c; the length/precision "support functions" such as ``varchar_support``
and ``numeric_support`` turn the coercion into a no-op). Confirmed against real servers by
reading ``relfilenode`` before and after (tests/integration/test_lint_facts_trace.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Spellings the parser keeps as written, mapped to the catalog name.
_ALIASES = {
    "int": "int4",
    "integer": "int4",
    "smallint": "int2",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "float": "float8",
    "decimal": "numeric",
    "character varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "bool": "bool",
    "boolean": "bool",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
    "bit varying": "varbit",
    "serial4": "serial",
    "serial8": "bigserial",
    "serial2": "smallserial",
}
SERIAL_TYPES = frozenset({"serial", "bigserial", "smallserial"})
INTEGER_TYPES = frozenset({"int2", "int4", "int8"})

# Typmod-carrying types whose widening (or removal) of the limit needs no rewrite: the pair is
# (type, how typmods compare). "length": one number that may grow; "numeric": precision may
# grow at the same scale; "precision": fractional-seconds precision may grow.
_WIDENABLE = {
    "varchar": "length",
    "varbit": "length",
    "numeric": "numeric",
    "timestamp": "precision",
    "timestamptz": "precision",
    "time": "precision",
    "interval": "precision",
}
# Binary-coercible casts between distinct types, without a length check (pg_cast with
# castmethod 'b' that need no typmod coercion).
_BINARY = {
    ("varchar", "text"),
    ("text", "varchar"),
    ("cidr", "inet"),
    ("xml", "text"),
    ("bit", "varbit"),
}


_FROM_NODE: dict[int, tuple[Mapping[str, Any], TypeRef]] = {}


@dataclass(frozen=True, slots=True)
class TypeRef:
    """A column type: catalog-style name, integer typmods, array dimensions.

    >>> TypeRef.parse("character varying(20)")
    TypeRef(name='varchar', typmods=(20,), array=False, schema=None)
    >>> str(TypeRef("numeric", (12, 2)))
    'numeric(12,2)'
    """

    name: str
    typmods: tuple[int, ...] = ()
    array: bool = False
    schema: str | None = None

    @classmethod
    def from_node(cls, node: Mapping[str, Any]) -> TypeRef:
        """From a libpg_query ``TypeName`` dict."""
        # The replay and several rules ask for the same column's type in turn: remembered
        # by the node's identity, the node kept alive with it so the id cannot be reused.
        known = _FROM_NODE.get(id(node))
        if known is not None and known[0] is node and type(known[1]) is cls:
            return known[1]
        if len(_FROM_NODE) >= 256:
            _FROM_NODE.clear()
        found = cls._from_node(node)
        _FROM_NODE[id(node)] = (node, found)
        return found

    @classmethod
    def _from_node(cls, node: Mapping[str, Any]) -> TypeRef:
        names = [n["String"]["sval"] for n in node.get("names", ()) if "String" in n]
        schema = names[-2] if len(names) > 1 and names[-2] != "pg_catalog" else None
        name = _ALIASES.get(names[-1], names[-1]) if names else ""
        mods = []
        for mod in node.get("typmods", ()):
            const = mod.get("A_Const", {})
            if "ival" in const:
                mods.append(int(const["ival"].get("ival", 0)))
        if name == "bpchar" and not mods and len(names) > 1:
            mods = [1]  # char without a length is char(1)
        return cls(name, tuple(mods), bool(node.get("arrayBounds")), schema)

    @classmethod
    def parse(cls, text: str) -> TypeRef:
        """From ``format_type`` text as the catalog prints it (``numeric(10,2)``, ``text[]``)."""
        text = text.strip()
        array = text.endswith("[]")
        text = text.removesuffix("[]")
        mods: tuple[int, ...] = ()
        if text.endswith(")") and "(" in text:
            head, _, inner = text.partition("(")
            tail = inner.rstrip(")")
            after = ""
            if ")" in tail:  # "timestamp(3) with time zone"
                tail, _, after = tail.partition(")")
            try:
                mods = tuple(int(part) for part in tail.split(",") if part.strip())
            except ValueError:
                mods = ()
            text = (head.strip() + after).strip()
        elif "(" in text:  # "timestamp(3) with time zone"
            head, _, rest = text.partition("(")
            inner, _, after = rest.partition(")")
            if inner.strip().isdigit():
                mods = (int(inner),)
            text = (head.strip() + " " + after.strip()).strip()
        schema = None
        if "." in text and not text.startswith('"'):
            schema, _, text = text.rpartition(".")
        name = _ALIASES.get(text.strip('"'), text.strip('"'))
        return cls(name, mods, array, schema)

    def __str__(self) -> str:
        mods = f"({','.join(str(m) for m in self.typmods)})" if self.typmods else ""
        return f"{self.name}{mods}{'[]' if self.array else ''}"


# Names of TimeZone settings with a fixed offset of zero. PostgreSQL 12+ changes
# timestamp <-> timestamptz without a rewrite only in such a zone (tablecmds.c
# TimestampTimestampTzRequiresRewrite: a fixed offset, and zero); Europe/London is at +0
# in winter but not fixed (checked via relfilenode on PG 15 and 18).
UTC_ZONES = frozenset(
    {
        "utc", "etc/utc", "uct", "etc/uct", "gmt", "etc/gmt", "gmt0", "etc/gmt0",
        "gmt+0", "etc/gmt+0", "gmt-0", "etc/gmt-0", "greenwich", "etc/greenwich",
        "universal", "etc/universal", "zulu", "etc/zulu", "0",
    }
)  # fmt: skip
_TIME_ZONE_PAIR = frozenset({"timestamp", "timestamptz"})


def change_rewrites(
    old: TypeRef, new: TypeRef, *, using: bool = False, utc: bool = False
) -> bool:
    """True when ``ALTER COLUMN … TYPE new`` rewrites (or, for a narrowing, rechecks) a
    column of type ``old``.

    >>> change_rewrites(TypeRef("varchar", (10,)), TypeRef("varchar", (20,)))
    False
    >>> change_rewrites(TypeRef("varchar", (20,)), TypeRef("text"))
    False
    >>> change_rewrites(TypeRef("numeric", (10, 2)), TypeRef("numeric", (12, 2)))
    False
    >>> change_rewrites(TypeRef("numeric", (10, 2)), TypeRef("numeric", (12, 3)))
    True
    >>> change_rewrites(TypeRef("int4"), TypeRef("int8"))
    True
    >>> change_rewrites(TypeRef("timestamp"), TypeRef("timestamptz"), utc=True)
    False

    An array is coerced element by element (an ``ArrayCoerceExpr``, which the rewrite test
    does not see through): only the same element type, its limit kept or removed, skips
    the rewrite (checked via relfilenode on PG 15 and 18).

    >>> change_rewrites(TypeRef("varchar", (10,), True), TypeRef("text", (), True))
    True
    >>> change_rewrites(TypeRef("varchar", (10,), True), TypeRef("varchar", (20,), True))
    True
    >>> change_rewrites(TypeRef("varchar", (10,), True), TypeRef("varchar", (), True))
    False

    ``utc``: the session's TimeZone is a fixed zero offset, on PostgreSQL 12+.
    """
    if using or old.array != new.array or old.schema != new.schema:
        return True
    if old.array:
        return old.name != new.name or (new.typmods not in ((), old.typmods))
    if utc and not old.array and {old.name, new.name} == _TIME_ZONE_PAIR:
        return not _typmod_widens("timestamp", old.typmods, new.typmods)
    if old.name == new.name:
        return not _typmod_widens(old.name, old.typmods, new.typmods)
    if (old.name, new.name) in _BINARY:
        # text → varchar(n) must check every value's length: a rewrite in practice.
        return bool(new.typmods) and new.name in _WIDENABLE
    return True


def using_keeps_column(coldef: Mapping[str, Any], column: str) -> bool:
    """The ``USING`` of ``ALTER COLUMN column TYPE …`` (the ``ColumnDef`` dict) is absent,
    or is the column itself, bare or cast to the new type (``USING col::varchar(40)``):
    PostgreSQL then strips it to the same coercion as without ``USING`` and skips the
    rewrite exactly when that would (tablecmds.c ``ATColumnChangeRequiresRewrite``; checked
    via relfilenode on PG 15 and 18). Any other expression rewrites.

    >>> using_keeps_column({"typeName": {"names": [{"String": {"sval": "text"}}]}}, "c")
    True
    """
    expr = coldef.get("raw_default")
    if expr is None:
        return True
    new = TypeRef.from_node(coldef.get("typeName") or {})
    while "TypeCast" in expr:
        cast = expr["TypeCast"]
        if TypeRef.from_node(cast.get("typeName") or {}) != new:
            return False
        expr = cast.get("arg") or {}
    fields = (expr.get("ColumnRef") or {}).get("fields", ())
    return bool(fields) and (fields[-1].get("String") or {}).get("sval") == column


def _typmod_widens(name: str, old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    if old == new:
        return True
    kind = _WIDENABLE.get(name)
    if kind is None:
        return False
    if not new:
        return True  # the limit is removed
    if not old:
        return False  # a limit is added: every value must be checked
    if kind == "numeric":
        old_scale = old[1] if len(old) > 1 else 0
        new_scale = new[1] if len(new) > 1 else 0
        return new_scale == old_scale and new[0] >= old[0]
    return new[0] >= old[0]


def type_names(nodes: Iterable[Mapping[str, Any]]) -> list[TypeRef]:
    """``TypeRef`` of each ``TypeName`` dict."""
    return [TypeRef.from_node(node) for node in nodes]


# Builtin collatable types: without COLLATE, a column of one gets the type's collation.
_COLLATABLE = frozenset({"text", "varchar", "bpchar", "name", "citext"})


def declared_collation(
    coldef: Mapping[str, Any], declared: TypeRef | None = None
) -> str | None:
    """The collation a column definition gives (``ColumnDef``, also of ``ALTER COLUMN …
    TYPE``): its COLLATE clause, else ``default`` for a builtin collatable type (the new
    type's collation, even when the column had another), else unknown (``None``).
    ``declared``: the column's type when the caller has it already.

    >>> declared_collation({"typeName": {"names": [{"String": {"sval": "text"}}]}})
    'default'
    """
    clause = (coldef.get("collClause") or {}).get("collname") or ()
    names = [n["String"]["sval"] for n in clause if "String" in n]
    if names:
        return str(names[-1])
    ref = declared
    if ref is None:
        type_node = coldef.get("typeName")
        ref = TypeRef.from_node(type_node) if type_node else None
    return "default" if ref is not None and ref.name in _COLLATABLE else None
