"""Volatility of expressions (column defaults): immutable, stable, volatile or unknown.

A default whose value is computed once (immutable or stable, such as ``now()``) is stored
in the catalog by ``ADD COLUMN`` since PostgreSQL 11 ("fast default"); a volatile one
(``random()``, ``gen_random_uuid()``, ``clock_timestamp()``, ``nextval()``) is evaluated per row,
which rewrites the table. Builtins come from a table generated from ``pg_proc``
(:mod:`atomig.sql.builtin_volatility`); other functions from the live catalog when there is
one, else they are unknown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import IntEnum
from typing import Any

from atomig.sql.builtin_volatility import IMMUTABLE, STABLE, VOLATILE


class Volatility(IntEnum):
    """Ordered from safest to least safe; ``UNKNOWN`` sorts as the most cautious."""

    IMMUTABLE = 0
    STABLE = 1
    VOLATILE = 2
    UNKNOWN = 3

    @classmethod
    def from_provolatile(cls, code: str) -> Volatility:
        """From ``pg_proc.provolatile`` (``i``, ``s``, ``v``)."""
        return {"i": cls.IMMUTABLE, "s": cls.STABLE, "v": cls.VOLATILE}.get(
            code, cls.UNKNOWN
        )


# Functions of common extensions that appear in defaults (uuid-ossp, pgcrypto).
_EXTENSIONS = {
    "uuid_generate_v1": Volatility.VOLATILE,
    "uuid_generate_v1mc": Volatility.VOLATILE,
    "uuid_generate_v4": Volatility.VOLATILE,
    "uuid_generate_v3": Volatility.IMMUTABLE,
    "uuid_generate_v5": Volatility.IMMUTABLE,
    "gen_random_bytes": Volatility.VOLATILE,
}


def builtin_volatility(name: str) -> Volatility:
    """The volatility of a builtin function name (the most volatile overload).

    >>> builtin_volatility("now").name, builtin_volatility("random").name
    ('STABLE', 'VOLATILE')
    >>> builtin_volatility("my_function").name
    'UNKNOWN'
    """
    if name in VOLATILE:
        return Volatility.VOLATILE
    if name in STABLE:
        return Volatility.STABLE
    if name in IMMUTABLE:
        return Volatility.IMMUTABLE
    return _EXTENSIONS.get(name, Volatility.UNKNOWN)


def called_functions(node: Any) -> Iterator[tuple[str | None, str, int]]:
    """``(schema, name, byte_location)`` of every function call in an expression tree."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            call = item.get("FuncCall")
            if call is not None:
                names = [
                    n["String"]["sval"]
                    for n in call.get("funcname", ())
                    if "String" in n
                ]
                schema = names[-2] if len(names) > 1 else None
                yield schema, names[-1] if names else "", call.get("location", -1)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def expression_volatility(
    node: Mapping[str, Any], known: Mapping[str, Volatility] | None = None
) -> tuple[Volatility, str | None]:
    """The volatility of an expression and the function that decides it.

    ``known`` maps function names to a volatility read from the live catalog; it wins over
    the builtin table. ``SQLValueFunction`` (``CURRENT_TIMESTAMP`` …) is stable.
    """
    worst, culprit = Volatility.IMMUTABLE, None
    for schema, name, _ in called_functions(node):
        level = None
        if known is not None:
            level = known.get(f"{schema}.{name}" if schema else name) or known.get(name)
        if level is None:
            level = (
                builtin_volatility(name)
                if schema in (None, "pg_catalog")
                else Volatility.UNKNOWN
            )
        if level > worst:
            worst, culprit = level, name
    if worst < Volatility.STABLE and "SQLValueFunction" in str(node):
        worst = Volatility.STABLE
    return worst, culprit
