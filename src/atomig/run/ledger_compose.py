"""Ledger queries composed for the configured ledger schema (default ``atomig``).

Every ledger query is a module constant with a ``{schema}`` placeholder, filled with
:class:`psycopg.sql.Identifier`; values are always parameters. The journal's column and value
lists are shared fragments (``{journal_columns}``, ``{journal_values}``): a journal row is
written by several statements, in the order of :meth:`atomig.run.journal.JournalEntry.params`.
"""

from __future__ import annotations

from functools import lru_cache

from psycopg import sql

_JOURNAL_COLUMNS = (
    "run_id, version, direction, step_index, step_kind, statement_hash, attempt, started_at,"
    " outcome, sqlstate, message, details, finished_at, backend_pid"
)
# A NULL started_at means "when this transaction started" (now()), for rows written in the
# same transaction as the step they journal.
_JOURNAL_VALUES = (
    "%s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s, %s,"
    " clock_timestamp(), pg_backend_pid()"
)


@lru_cache(maxsize=256)  # a run writes the same few queries once per migration
def _compose(template: str, schema: str) -> sql.Composed:
    # The templates are module constants (never user input); only the schema name varies
    # and it goes through sql.Identifier. The journal's column and value lists are shared
    # fragments, spliced in as sql.SQL constants too.
    return sql.SQL(template).format(
        schema=sql.Identifier(schema),
        journal_columns=sql.SQL(_JOURNAL_COLUMNS),
        journal_values=sql.SQL(_JOURNAL_VALUES),
    )


def ledger_sql(template: str, schema: str) -> sql.Composed:
    """A ledger query template (a module constant) composed for ``schema``: ``{schema}``,
    ``{journal_columns}`` and ``{journal_values}`` are filled in."""
    return _compose(template, schema)
