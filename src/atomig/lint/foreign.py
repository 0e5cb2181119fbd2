"""``ALTER TABLE`` of a foreign table, read as the ``ALTER FOREIGN TABLE`` it is.

PostgreSQL runs both through the same code (tablecmds.c checks the relation's kind, not the
keyword), so ``ALTER TABLE remote_orders ADD COLUMN …`` on a foreign table takes the same
brief ACCESS EXCLUSIVE lock and neither scans nor rewrites anything: the rows are on the
remote server. Checked on PG 15 and 18 (pg_locks). Only the history or the live catalog
can tell that a name is a foreign table, so the statements are relabelled here, before the
rules read them, and every rule sees what ``ALTER FOREIGN TABLE`` would have shown it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from atomig.lint.schema import Key, key_of
from atomig.sql.classify import range_var

if TYPE_CHECKING:
    from atomig.lint.catalog import CatalogFacts
    from atomig.lint.schema import SchemaState
    from atomig.sql.facts import QualifiedName
    from atomig.sql.parse import Script, Statement


def as_foreign_alters(
    script: Script, schema: SchemaState, catalog: CatalogFacts | None
) -> Script:
    """``script`` with each ``ALTER TABLE`` of a known foreign table relabelled as
    ``ALTER FOREIGN TABLE`` (the same object when there is none)."""
    created: set[Key] = set()  # foreign tables created earlier in this file
    statements: list[Statement] | None = None
    # (usually none is known: no ALTER's table needs naming then)
    known_elsewhere = known_foreign_tables(schema, catalog)
    for stmt in script.statements:
        if stmt.kind == "CreateForeignTableStmt":
            name = range_var((stmt.body.get("base") or {}).get("relation"))
            if name is not None:
                created.add(key_of(name))
            continue
        if stmt.kind != "AlterTableStmt" or stmt.body.get("objtype") != "OBJECT_TABLE":
            continue
        if not (created or known_elsewhere):
            continue
        name = range_var(stmt.body.get("relation"))
        if name is None or not (
            key_of(name) in created or known_foreign(name, schema, catalog)
        ):
            continue
        if statements is None:
            statements = list(script.statements)
        relabelled = {**stmt.body, "objtype": "OBJECT_FOREIGN_TABLE"}
        statements[stmt.index] = replace(stmt, node={"AlterTableStmt": relabelled})
    if statements is None:
        return script
    return replace(script, statements=tuple(statements))


def known_foreign(
    name: QualifiedName, schema: SchemaState, catalog: CatalogFacts | None
) -> bool:
    """``name`` is a foreign table, as the history (else the live catalog) knows it."""
    if not known_foreign_tables(schema, catalog):
        return False
    known = schema.table(name)
    if known is not None and (known.foreign or not known.placeholder):
        return known.foreign
    if catalog is None:
        return False
    first = schema.renamed_from.get(key_of(name), name)  # renamed by the history
    live = catalog.table(first.schema, first.name)
    return live is not None and live.foreign


def known_foreign_tables(schema: SchemaState, catalog: CatalogFacts | None) -> bool:
    """The history or the live catalog knows some foreign table."""
    return bool(schema.foreign_tables) or _catalog_has_foreign(catalog)


_LAST_CATALOG: list[Any] = [None, False]


def _catalog_has_foreign(catalog: CatalogFacts | None) -> bool:
    """The live catalog knows a foreign table (remembered for the catalog last asked: a
    run has one)."""
    if catalog is None:
        return False
    if _LAST_CATALOG[0] is not catalog:
        found = any(table.foreign for table in catalog.tables.values())
        _LAST_CATALOG[0], _LAST_CATALOG[1] = catalog, found
    return bool(_LAST_CATALOG[1])
