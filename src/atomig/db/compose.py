"""The few helpers that build SQL text: identifiers and session settings. Values are always
parameters; identifiers always go through :class:`psycopg.sql.Identifier`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from psycopg import sql


@lru_cache(maxsize=32)
def set_config_query(count: int) -> sql.Composed:
    """``SELECT set_config(%s, %s, %s), …`` for ``count`` settings: one round trip.

    ``set_config`` takes the setting's name and value as parameters, so nothing a user wrote
    is spliced into SQL text.
    """
    calls = [sql.SQL("set_config(%s, %s, %s)")] * count
    return sql.SQL("SELECT {}").format(sql.SQL(", ").join(calls))


def set_config_params(
    pairs: Sequence[tuple[str, str]], *, local: bool
) -> list[str | bool]:
    """Flattened parameters for :func:`set_config_query`."""
    params: list[str | bool] = []
    for name, value in pairs:
        params.extend((name, value, local))
    return params


def qualified(schema: str, name: str) -> sql.Identifier:
    """``schema.name`` as a quoted identifier."""
    return sql.Identifier(schema, name)
