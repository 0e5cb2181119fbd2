"""The naming convention of generated objects, within PostgreSQL's 63-byte limit.

``fk_<table>_<columns>``, ``idx_<table>_<columns>``, ``uq_<table>_<columns>``,
``chk_<table>_<what>``, ``trg_<table>_<what>`` and ``fn_<table>_<what>``. A name longer than
63 bytes (PostgreSQL would truncate it silently, and two long names could then collide) is
cut at a character boundary and ends with ``_`` and 8 hex digits of the SHA-256 of the full
name: short, stable, and distinct. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from atomig.sql.quote import MAX_IDENTIFIER_BYTES

_HASH_CHARS = 8


def fit(name: str) -> str:
    """``name`` if it fits in 63 bytes, else shortened with a hash suffix.

    >>> fit("idx_orders_customer_id")
    'idx_orders_customer_id'
    >>> short = fit("idx_" + "é" * 40)
    >>> len(short.encode()), short.endswith("_" + short[-8:])
    (63, True)
    """
    raw = name.encode("utf-8")
    if len(raw) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:_HASH_CHARS]
    room = MAX_IDENTIFIER_BYTES - _HASH_CHARS - 1
    head = raw[:room].decode("utf-8", errors="ignore")
    # Pad with "_" after a multi-byte cut so that every long name is exactly 63 bytes.
    head += "_" * (room - len(head.encode("utf-8")))
    return f"{head}_{digest}"


def _join(parts: Iterable[str]) -> str:
    return "_".join(parts)


def object_name(prefix: str, table: str, parts: Iterable[str]) -> str:
    """``<prefix>_<table>_<part>_<part>…`` fitted to 63 bytes.

    >>> object_name("fk", "orders", ["customer_id"])
    'fk_orders_customer_id'
    """
    return fit(_join([prefix, table, *parts]))


def foreign_key(table: str, columns: Iterable[str]) -> str:
    """``fk_<table>_<columns>``."""
    return object_name("fk", table, columns)


def index(table: str, columns: Iterable[str]) -> str:
    """``idx_<table>_<columns>``."""
    return object_name("idx", table, columns)


def unique(table: str, columns: Iterable[str]) -> str:
    """``uq_<table>_<columns>``."""
    return object_name("uq", table, columns)


def check(table: str, what: Iterable[str]) -> str:
    """``chk_<table>_<what>``."""
    return object_name("chk", table, what)


def trigger(table: str, what: Iterable[str]) -> str:
    """``trg_<table>_<what>``."""
    return object_name("trg", table, what)


def function(table: str, what: Iterable[str]) -> str:
    """``fn_<table>_<what>``."""
    return object_name("fn", table, what)


def derived(base: str, suffix: str) -> str:
    """``<base>_<suffix>`` fitted (helper columns such as ``amount_new``).

    >>> derived("amount", "new")
    'amount_new'
    """
    return fit(f"{base}_{suffix}")


def slug(*parts: str) -> str:
    """A migration slug from names: ASCII letters, digits and ``_`` only, at most 60
    characters (the file name must stay portable whatever the identifiers hold).

    >>> slug("add", "Order Items", "Ünïcode col")
    'add_order_items_unicode_col'
    """
    import unicodedata

    text = "_".join(parts)
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    )
    out = "".join(c.lower() if c.isalnum() else "_" for c in ascii_text)
    while "__" in out:
        out = out.replace("__", "_")
    out = out.strip("_")[:60].rstrip("_")
    return out or "change"
