"""Read a database's schema from the catalogs into :mod:`atomig.schema` values.

Everything is read in one REPEATABLE READ, read-only transaction (one consistent snapshot)
with an empty ``search_path``, so that every name PostgreSQL prints (``format_type``,
``pg_get_constraintdef``, ``pg_get_viewdef`` …) is schema-qualified and unambiguous — the
same technique pg_dump uses. Objects that belong to extensions, the ledger schema and the
system schemas are left out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg
from psycopg.rows import dict_row

from atomig.schema.model import (
    Column,
    CompositeType,
    Constraint,
    Domain,
    EnumType,
    ForeignKeyIn,
    Function,
    Index,
    SchemaModel,
    Sequence,
    Table,
    Trigger,
    View,
)

Conn = psycopg.Connection[Any]

# Namespaces shown: not system, not temporary/toast, not the ledger, not an extension's,
# optionally only the ones asked for (NULL = all). Every later query filters by the oids this
# returns (%(nsp)s) and leaves out extension members (%(ext)s): both travel as parameters.
_NAMESPACES = """
    SELECT n.oid, n.nspname FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
      AND n.nspname <> %(ledger)s
      AND (%(only)s::text[] IS NULL OR n.nspname = ANY (%(only)s::text[]))
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                      AND d.objid = n.oid AND d.deptype = 'e')
    ORDER BY n.nspname
"""
_EXTENSION_MEMBERS = "SELECT array_agg(objid) FROM pg_depend WHERE deptype = 'e'"

_EXTENSIONS = """
    SELECT e.extname, e.extversion, n.nspname FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1
"""

_TABLES = """
    SELECT c.oid, n.nspname AS schema, c.relname AS name, c.oid::regclass::text AS qualified,
           c.relkind, c.relpersistence = 'u' AS unlogged,
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
           CASE WHEN c.relispartition THEN (SELECT i.inhparent::regclass::text FROM pg_inherits i
                                            WHERE i.inhrelid = c.oid) END AS partition_of,
           CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
           ARRAY(SELECT i.inhrelid::regclass::text FROM pg_inherits i WHERE i.inhparent = c.oid
                 ORDER BY 1) AS children,
           ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid
                 AND NOT c.relispartition ORDER BY i.inhseqno) AS inherits,
           CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS row_estimate,
           -- A partitioned table holds no data itself: show what its partitions hold.
           CASE WHEN c.relkind = 'p'
                THEN (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t)
                ELSE pg_total_relation_size(c.oid) END::bigint AS total_bytes,
           CASE WHEN c.relkind = 'p'
                THEN (SELECT sum(pg_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t)
                ELSE pg_relation_size(c.oid) END::bigint AS table_bytes,
           c.relrowsecurity AS row_security, obj_description(c.oid, 'pg_class') AS comment
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f') AND c.relnamespace = ANY (%(nsp)s)
      AND NOT c.oid = ANY (%(ext)s)
    ORDER BY 4
"""

_COLUMNS = """
    SELECT a.attrelid AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null,
           CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS "default",
           CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END AS identity,
           CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
           CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0
                THEN (SELECT quote_ident(nspname) || '.' || quote_ident(collname)
                      FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                      WHERE co.oid = a.attcollation) END AS collation,
           col_description(a.attrelid, a.attnum) AS comment, NOT a.attislocal AS inherited
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = ANY (%(rels)s) AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attrelid, a.attnum
"""

# NOT NULL constraints (catalogued as contype 'n' since PG 18) are shown on their columns.
_CONSTRAINTS = """
    SELECT c.conrelid AS rel, c.conname AS name, c.contype AS kind,
           pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated,
           (NOT c.conislocal) AS inherited,
           CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END AS references,
           CASE WHEN c.conindid <> 0 AND c.contype IN ('p', 'u', 'x')
                THEN c.conindid::regclass::text END AS index
    FROM pg_constraint c
    WHERE c.conrelid = ANY (%(rels)s) AND c.contype IN ('p', 'u', 'c', 'f', 'x')
    ORDER BY c.conrelid, strpos('pucxf', c.contype), c.conname
"""

_REFERENCED_BY = """
    SELECT c.confrelid AS rel, c.conrelid::regclass::text AS "table", c.conname AS name,
           pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated
    FROM pg_constraint c
    WHERE c.confrelid = ANY (%(rels)s) AND c.contype = 'f' AND c.conislocal
    ORDER BY 2, 3
"""

_INDEXES = """
    SELECT i.indrelid AS rel, ic.relname AS name, i.indexrelid::regclass::text AS qualified,
           pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid,
           i.indisunique AS unique, i.indisprimary AS primary,
           pg_relation_size(i.indexrelid) AS size_bytes,
           (SELECT con.conname FROM pg_constraint con WHERE con.conindid = i.indexrelid
              AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')) AS constraint,
           (SELECT h.inhparent::regclass::text FROM pg_inherits h
             WHERE h.inhrelid = i.indexrelid) AS parent
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = ANY (%(rels)s)
    ORDER BY i.indrelid, ic.relname
"""

# Triggers cloned onto partitions from their parent's trigger are the parent's business.
_TRIGGERS = """
    SELECT t.tgrelid AS rel, t.tgname AS name, pg_get_triggerdef(t.oid) AS definition,
           t.tgenabled AS enabled
    FROM pg_trigger t
    WHERE t.tgrelid = ANY (%(rels)s) AND NOT t.tgisinternal
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_trigger'::regclass
                      AND d.objid = t.oid AND d.deptype = 'P')
    ORDER BY t.tgrelid, t.tgname
"""

_ENUMS = """
    SELECT t.oid::regtype::text AS qualified,
           ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                 ORDER BY e.enumsortorder) AS labels
    FROM pg_type t WHERE t.typtype = 'e' AND t.typnamespace = ANY (%(nsp)s)
      AND NOT t.oid = ANY (%(ext)s)
    ORDER BY 1
"""

_DOMAINS = """
    SELECT t.oid::regtype::text AS qualified, format_type(t.typbasetype, t.typtypmod) AS base_type,
           t.typnotnull AS not_null, t.typdefault AS "default",
           ARRAY(SELECT ARRAY[c.conname::text, pg_get_constraintdef(c.oid)] FROM pg_constraint c
                 WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname) AS checks
    FROM pg_type t WHERE t.typtype = 'd' AND t.typnamespace = ANY (%(nsp)s)
      AND NOT t.oid = ANY (%(ext)s)
    ORDER BY 1
"""

_COMPOSITES = """
    SELECT t.oid::regtype::text AS qualified,
           ARRAY(SELECT ARRAY[a.attname::text, format_type(a.atttypid, a.atttypmod)]
                 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                 AND NOT a.attisdropped ORDER BY a.attnum) AS attributes
    FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
    WHERE t.typtype = 'c' AND c.relkind = 'c' AND t.typnamespace = ANY (%(nsp)s)
      AND NOT t.oid = ANY (%(ext)s)
    ORDER BY 1
"""

# Identity sequences (dependency type 'i') belong to their column and are not listed.
_SEQUENCES = """
    SELECT c.oid::regclass::text AS qualified, format_type(s.seqtypid, NULL) AS data_type,
           s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min_value,
           s.seqmax AS max_value, s.seqcache AS cache, s.seqcycle AS cycle,
           (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname)
              FROM pg_depend d JOIN pg_attribute a
                ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
               AND d.refclassid = 'pg_class'::regclass) AS owned_by
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    WHERE c.relnamespace = ANY (%(nsp)s) AND NOT c.oid = ANY (%(ext)s)
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'i')
    ORDER BY 1
"""

_VIEWS = """
    SELECT c.oid, c.oid::regclass::text AS qualified, c.relkind = 'm' AS materialized,
           pg_get_viewdef(c.oid, true) AS definition,
           ARRAY(SELECT DISTINCT d.refobjid::regclass::text FROM pg_rewrite r
                 JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                 JOIN pg_class rc ON rc.oid = d.refobjid AND rc.relkind IN ('v', 'm')
                 WHERE r.ev_class = c.oid AND d.refobjid <> c.oid) AS depends_on,
           obj_description(c.oid, 'pg_class') AS comment
    FROM pg_class c
    WHERE c.relkind IN ('v', 'm') AND c.relnamespace = ANY (%(nsp)s) AND NOT c.oid = ANY (%(ext)s)
    ORDER BY 2
"""

_FUNCTIONS = """
    SELECT p.oid::regprocedure::text AS signature,
           quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS qualified,
           CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure'
                WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' END AS kind,
           CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END AS returns,
           l.lanname AS language,
           CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable'
                ELSE 'volatile' END AS volatility,
           CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END AS definition,
           a.aggtransfn::regproc::text AS transfn, format_type(a.aggtranstype, NULL) AS transtype,
           CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::regproc::text END AS finalfn,
           CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::regproc::text END AS combinefn,
           a.agginitval AS initval, pg_get_function_arguments(p.oid) AS arguments
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
    LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
    WHERE p.pronamespace = ANY (%(nsp)s) AND NOT p.oid = ANY (%(ext)s)
    ORDER BY 1
"""


def _aggregate_definition(row: dict[str, Any]) -> str:
    parts = [f"SFUNC = {row['transfn']}", f"STYPE = {row['transtype']}"]
    if row["finalfn"]:
        parts.append(f"FINALFUNC = {row['finalfn']}")
    if row["combinefn"]:
        parts.append(f"COMBINEFUNC = {row['combinefn']}")
    if row["initval"] is not None:
        parts.append("INITCOND = '" + str(row["initval"]).replace("'", "''") + "'")
    return (
        f"CREATE AGGREGATE {row['qualified']}({row['arguments']}) (\n    "
        + ",\n    ".join(parts)
        + "\n)"
    )


def _rows(conn: Conn, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        # The queries are module constants; only parameters vary.
        return cur.execute(query.encode(), params).fetchall()


_KINDS = {"r": "table", "p": "partitioned table", "f": "foreign table"}


def read_schema(
    conn: Conn, *, ledger_schema: str, only_schemas: list[str] | None = None
) -> SchemaModel:
    """The schema of the connected database, in one consistent snapshot."""
    params: dict[str, Any] = {"ledger": ledger_schema, "only": only_schemas}
    with conn.transaction():
        conn.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        conn.execute("SELECT set_config('search_path', '', true)")
        namespaces = _rows(conn, _NAMESPACES, params)
        schemas = tuple(r["nspname"] for r in namespaces)
        members = conn.execute(_EXTENSION_MEMBERS).fetchone()
        params["nsp"] = [r["oid"] for r in namespaces]
        params["ext"] = (members[0] if members else None) or []
        extensions = tuple(
            (r["extname"], r["extversion"], r["nspname"])
            for r in _rows(conn, _EXTENSIONS, params)
        )
        table_rows = _rows(conn, _TABLES, params)
        view_rows = _rows(conn, _VIEWS, params)
        rels = [r["oid"] for r in table_rows]
        view_oids = [r["oid"] for r in view_rows]
        per: dict[str, dict[int, list[dict[str, Any]]]] = {}
        for key, query, oids in (
            ("columns", _COLUMNS, rels),
            ("constraints", _CONSTRAINTS, rels),
            ("referenced_by", _REFERENCED_BY, rels),
            ("indexes", _INDEXES, rels + view_oids),
            ("triggers", _TRIGGERS, rels),
        ):
            grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for row in _rows(conn, query, {**params, "rels": oids}):
                grouped[row.pop("rel")].append(row)
            per[key] = grouped
        tables = tuple(
            Table(
                schema=r["schema"],
                name=r["name"],
                qualified=r["qualified"],
                kind=_KINDS[r["relkind"]],
                unlogged=r["unlogged"],
                columns=tuple(Column(**c) for c in per["columns"][r["oid"]]),
                constraints=tuple(
                    Constraint(**c) for c in per["constraints"][r["oid"]]
                ),
                indexes=tuple(Index(**i) for i in per["indexes"][r["oid"]]),
                triggers=tuple(Trigger(**t) for t in per["triggers"][r["oid"]]),
                referenced_by=tuple(
                    ForeignKeyIn(**f) for f in per["referenced_by"][r["oid"]]
                ),
                partition_key=r["partition_key"],
                partition_of=r["partition_of"],
                partition_bound=r["bound"],
                partitions=tuple(r["children"]) if r["relkind"] == "p" else (),
                inherits=tuple(r["inherits"]),
                row_estimate=r["row_estimate"],
                total_bytes=r["total_bytes"],
                table_bytes=r["table_bytes"],
                row_security=r["row_security"],
                comment=r["comment"],
            )
            for r in table_rows
        )
        views = tuple(
            View(
                qualified=r["qualified"],
                materialized=r["materialized"],
                definition=r["definition"],
                depends_on=tuple(r["depends_on"]),
                indexes=tuple(Index(**i) for i in per["indexes"][r["oid"]]),
                comment=r["comment"],
            )
            for r in view_rows
        )
        functions = tuple(
            Function(
                qualified=r["qualified"],
                signature=r["signature"],
                kind=r["kind"],
                returns=r["returns"],
                language=r["language"],
                volatility=r["volatility"],
                definition=_aggregate_definition(r)
                if r["kind"] == "aggregate"
                else r["definition"],
            )
            for r in _rows(conn, _FUNCTIONS, params)
        )
        return SchemaModel(
            server_version=str(conn.info.parameter_status("server_version") or ""),
            schemas=schemas,
            extensions=extensions,
            enums=tuple(
                EnumType(r["qualified"], tuple(r["labels"]))
                for r in _rows(conn, _ENUMS, params)
            ),
            domains=tuple(
                Domain(
                    qualified=r["qualified"],
                    base_type=r["base_type"],
                    not_null=r["not_null"],
                    default=r["default"],
                    checks=tuple((n, d) for n, d in r["checks"]),
                )
                for r in _rows(conn, _DOMAINS, params)
            ),
            composites=tuple(
                CompositeType(r["qualified"], tuple((n, t) for n, t in r["attributes"]))
                for r in _rows(conn, _COMPOSITES, params)
            ),
            sequences=tuple(Sequence(**r) for r in _rows(conn, _SEQUENCES, params)),
            tables=tables,
            views=views,
            functions=functions,
        )


_RESOLVE = """
    SELECT format('%%s.%%s', quote_ident(n.nspname), quote_ident(c.relname))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = to_regclass(%s) AND c.relkind IN ('r', 'p', 'f')
"""
_SIMILAR = """
    SELECT format('%%s.%%s', quote_ident(n.nspname), quote_ident(c.relname))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND (c.relname ILIKE '%%' || %s || '%%' OR %s ILIKE '%%' || c.relname || '%%')
    ORDER BY 1 LIMIT %s
"""


def resolve_table(conn: Conn, name: str) -> str | None:
    """The schema-qualified name of table ``name`` as the user wrote it (the search_path
    applies), or ``None``. The name reaches ``to_regclass`` as a parameter, so quoting rules
    are PostgreSQL's own."""
    try:
        row = conn.execute(_RESOLVE, (name,)).fetchone()
    except psycopg.errors.InvalidName:
        return None
    return str(row[0]) if row else None


def similar_tables(conn: Conn, name: str, limit: int = 5) -> list[str]:
    """Table names that contain, or are contained in, ``name`` (for "did you mean")."""
    bare = name.rsplit(".", 1)[-1].strip('"')
    rows = conn.execute(_SIMILAR, (bare, bare, limit)).fetchall()
    return [str(r[0]) for r in rows]
