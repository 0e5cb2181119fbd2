"""Window discovery: the keyset queries that find where the next window ends.

The upper bound of a window of ``size`` keys after ``cursor`` is the ``size``-th key after it
(``ORDER BY key OFFSET size - 1 LIMIT 1``: an index-only range scan of the key's index), or,
when fewer remain, the last key and their count. Discovery need not share the batch's
transaction — a window is a key range, so a row inserted into it after discovery is still in
it — which lets :class:`Prefetch` find the next window on a second connection while the
current batch runs, taking discovery off the critical path.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from atomig.batched.windows import Probe
from atomig.db.catalog import TableKey, TableRef
from atomig.db.compose import set_config_params, set_config_query
from atomig.sql.backfill import BackfillStatement, window_predicate_sql

Conn = psycopg.Connection[Any]
Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Queries:
    """The SQL of one backfill, built once: discovery, the windowed statement."""

    first_nth: sql.Composed
    after_nth: sql.Composed
    first_tail: sql.Composed
    after_tail: sql.Composed
    ends: sql.Composed
    windowed_first: bytes
    windowed_after: bytes


def build_queries(target: BackfillStatement, table: TableRef, key: TableKey) -> Queries:
    only = sql.SQL("ONLY ") if target.only else sql.SQL("")
    relation = sql.Identifier(table.name.schema or "", table.name.name)
    columns = [
        sql.Identifier(table.name.schema or "", table.name.name, c.name)
        for c in key.columns
    ]
    texts = sql.SQL(", ").join(sql.SQL("{}::text").format(c) for c in columns)
    order = sql.SQL(", ").join(columns)
    order_desc = sql.SQL(", ").join(sql.SQL("{} DESC").format(c) for c in columns)
    casts = sql.SQL(", ").join(
        sql.SQL("%s::{}").format(
            sql.Identifier(c.type.schema or "pg_catalog", c.type.name)
        )
        for c in key.columns
    )
    row = sql.SQL("({})").format(order)
    after = sql.SQL("WHERE {} > ({})").format(row, casts)
    parts = {"texts": texts, "only": only, "rel": relation, "order": order}
    nth = "SELECT {texts} FROM {only}{rel} {where} ORDER BY {order} OFFSET %s LIMIT 1"
    tail = (
        "SELECT {texts}, count(*) OVER () FROM {only}{rel} {where}"
        " ORDER BY {order_desc} LIMIT 1"
    )
    ends = (
        "SELECT (SELECT {first} FROM {only}{rel} ORDER BY {order} LIMIT 1),"
        " (SELECT {first} FROM {only}{rel} ORDER BY {order_desc} LIMIT 1)"
    )
    return Queries(
        first_nth=sql.SQL(nth).format(where=sql.SQL(""), **parts),
        after_nth=sql.SQL(nth).format(where=after, **parts),
        first_tail=sql.SQL(tail).format(
            where=sql.SQL(""), order_desc=order_desc, **parts
        ),
        after_tail=sql.SQL(tail).format(where=after, order_desc=order_desc, **parts),
        ends=sql.SQL(ends).format(
            first=sql.SQL("{}::text").format(columns[0]),
            order_desc=order_desc,
            **parts,
        ),
        windowed_first=window_predicate_sql(target, key.columns, lower=False).encode(),
        windowed_after=window_predicate_sql(target, key.columns, lower=True).encode(),
    )


def probe_in_transaction(
    conn: Conn, q: Queries, cursor: Key | None, found: Any
) -> Probe[Key]:
    """The probe from an already fetched ``nth`` row (``None``: ask for the tail)."""
    if found is not None:
        return Probe(tuple(found))
    row = conn.execute(
        q.after_tail if cursor else q.first_tail, [*(cursor or ())]
    ).fetchone()
    if row is None:
        return Probe(None)
    return Probe(None, tuple(row[:-1]), int(row[-1]))


def nth_params(cursor: Key | None, size: int) -> list[Any]:
    """Parameters of the ``nth`` query for a window of ``size`` keys after ``cursor``."""
    return [*(cursor or ()), size - 1]


class Prefetch:
    """Finds the next window on its own connection and thread while a batch runs."""

    def __init__(self, conn: Conn, q: Queries, settings: list[tuple[str, str]]) -> None:
        self.conn = conn
        self.q = q
        self.settings = settings
        self.pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="atomig-discovery"
        )
        self.pending: tuple[Key | None, int, Future[Probe[Key]]] | None = None

    def _discover(self, cursor: Key | None, size: int) -> Probe[Key]:
        conn, q = self.conn, self.q
        with conn.transaction():
            conn.execute(
                set_config_query(len(self.settings)),
                set_config_params(self.settings, local=True),
            )
            found = conn.execute(
                q.after_nth if cursor else q.first_nth, nth_params(cursor, size)
            ).fetchone()
            return probe_in_transaction(conn, q, cursor, found)

    def start(self, cursor: Key | None, size: int) -> None:
        """Begin discovering the window of ``size`` keys after ``cursor``."""
        self.pending = (cursor, size, self.pool.submit(self._discover, cursor, size))

    def take(self, cursor: Key | None) -> tuple[Probe[Key], int] | None:
        """The probe started for ``cursor`` and its size; ``None`` when there is none or it
        failed (the batch then discovers in its own transaction, with its retries)."""
        pending, self.pending = self.pending, None
        if pending is None or pending[0] != cursor:
            if pending is not None:
                pending[2].cancel()
            return None
        try:
            return pending[2].result(), pending[1]
        except psycopg.Error:
            return None

    def close(self) -> None:
        """Stop the worker (after the discovery in flight, if any)."""
        self.pool.shutdown(wait=True, cancel_futures=True)
