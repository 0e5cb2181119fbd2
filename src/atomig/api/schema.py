"""Schema context verbs: `describe` one table, `schema` of the whole database."""

from __future__ import annotations

from atomig.config import Settings
from atomig.db.introspect import read_schema, resolve_table, similar_tables
from atomig.errors import UsageError
from atomig.events import Reporter, null_reporter
from atomig.run.session import open_session
from atomig.schema.model import SchemaModel, Table

__all__ = ["describe_table", "read_database_schema"]


def describe_table(
    settings: Settings, name: str, *, report: Reporter = null_reporter
) -> Table:
    """Everything about one table: columns, constraints (with validity), indexes (with
    validity and size), triggers, foreign keys in and out, partitions, size, row estimate.

    Raises:
        UsageError: when no table is called ``name`` (with the closest names as a hint).
    """
    with open_session(settings, report) as session:
        qualified = resolve_table(session.conn, name)
        if qualified is None:
            close = similar_tables(session.conn, name)
            raise UsageError(
                f"no table {name!r} in {session.target.display}",
                hint=("did you mean: " + ", ".join(close))
                if close
                else "atomig schema lists the tables",
            )
        schema = qualified.rsplit(".", 1)[0] if "." in qualified else None
        model = read_schema(
            session.conn,
            ledger_schema=settings.ledger_schema,
            only_schemas=[schema.strip('"').replace('""', '"')] if schema else None,
        )
    table = model.table(qualified)
    if table is None:  # the ledger schema itself, or an extension's table
        raise UsageError(f"{qualified} belongs to atomig's ledger or to an extension")
    return table


def read_database_schema(
    settings: Settings,
    *,
    schemas: list[str] | None = None,
    report: Reporter = null_reporter,
) -> SchemaModel:
    """The whole schema of the database (ledger and extension objects left out)."""
    with open_session(settings, report) as session:
        return read_schema(
            session.conn, ledger_schema=settings.ledger_schema, only_schemas=schemas
        )
