"""Ledger write of ``atomig baseline``: migrations recorded as applied without running them.

Each row is an ordinary ``applied`` row (so ``status``, ``up``, ``down`` and the edit checks
treat it like any other), with ``details`` saying it was baselined, and a ``baselined``
history event carrying the reason and whether the schema was proven first. All rows are
written in one transaction: a baseline is recorded whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from atomig.run.ledger_compose import ledger_sql
from atomig.source.model import Migration

Conn = psycopg.Connection[Any]

_BASELINED = """
    WITH m AS (
        INSERT INTO {schema}.migrations (
            version, order_key, slug, up_checksum, down_checksum, status, duration_ms,
            applied_by, application_name, server_version, step_count, steps_done, run_id,
            up_sql, down_sql, details)
        VALUES (%s, %s, %s, %s, %s, 'applied', NULL, %s, 'atomig baseline', %s, 0, 0, %s,
                %s, %s, %s)
    )
    INSERT INTO {schema}.history (run_id, version, slug, event, actor, details)
    VALUES (%s, %s, %s, 'baselined', %s, %s)
"""


def record_baselined(
    conn: Conn,
    schema: str,
    migrations: Sequence[Migration],
    *,
    run_id: str,
    actor: str,
    server_version: int,
    details: dict[str, Any],
) -> None:
    """Record ``migrations`` as applied, in one transaction (the caller holds the runner
    lock and has checked that the ledger records none of them)."""
    query = ledger_sql(_BASELINED, schema)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            query,
            [
                (
                    m.version,
                    m.id.order_key,
                    m.slug,
                    m.up.checksum,
                    m.down.checksum,
                    actor,
                    server_version,
                    run_id,
                    m.up.text,
                    m.down.text,
                    Jsonb({"baselined": True, **details}),
                    run_id,
                    m.version,
                    m.slug,
                    actor,
                    Jsonb(details),
                )
                for m in migrations
            ],
        )
