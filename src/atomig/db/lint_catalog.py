"""What ``atomig lint`` reads from a live database: sizes, real column types, valid indexes,
validated NOT NULL checks, the tables of named indexes and function volatility. Reads only.

Its own module so that the runner, which imports :mod:`atomig.db.catalog`, does not import
the linter and its rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from atomig.db.catalog import table_keys
from atomig.db.connect import server_version
from atomig.lint.catalog import (
    CatalogConstraint,
    CatalogDependent,
    CatalogFacts,
    CatalogTable,
)
from atomig.sql.checks import definition_not_null_columns
from atomig.sql.volatility import Volatility

# Rows: the planner's estimate (reltuples), summed over the leaf partitions of a
# partitioned table (autovacuum never analyzes a partitioned parent: its own reltuples
# stays -1 however many rows its partitions hold). A table never vacuumed nor analyzed
# (reltuples -1) counts as many rows as its heap can hold: a heap tuple takes at least
# 32 bytes (line pointer and header), so that bound is never below the truth. A foreign
# table never analyzed has no local heap: its rows are unknown (-1). The rows of a plain
# table's inheritance descendants are counted apart: ALTER TABLE, UPDATE, TRUNCATE … of
# the parent reach them too (CREATE INDEX, VACUUM, CLUSTER do not).
_LINT_TABLES = """
    SELECT c.oid, n.nspname, c.relname,
           (SELECT CASE WHEN bool_or(l.reltuples < 0 AND l.relkind = 'f') THEN -1
                        ELSE coalesce(sum(CASE WHEN l.reltuples >= 0 THEN l.reltuples
                                               ELSE pg_relation_size(l.oid) / 32 END), 0)
                   END
            FROM pg_class l
            WHERE (l.oid = c.oid AND c.relkind <> 'p')
               OR l.oid IN (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf))::bigint,
           pg_total_relation_size(c.oid), c.relkind = 'p', c.relispopulated,
           (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polpermissive),
           c.relkind = 'f',
           (SELECT coalesce(sum(CASE WHEN d.reltuples >= 0 THEN d.reltuples
                                     ELSE pg_relation_size(d.oid) / 32 END), 0)
            FROM pg_class d
            WHERE c.relkind = 'r' AND d.relkind = 'r' AND d.oid IN (
              WITH RECURSIVE tree (oid) AS (
                  SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = c.oid
                UNION
                  SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid
              ) SELECT oid FROM tree))::bigint,
           (SELECT array_agg(coalesce(a.attname::text, '') ORDER BY k.ord)
            FROM pg_partitioned_table pt,
                 unnest(pt.partattrs::int2[]) WITH ORDINALITY AS k(attnum, ord)
            LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE pt.partrelid = c.oid),
           c.relpersistence::text,
           coalesce(ts.spcname, (SELECT dt.spcname FROM pg_database d
                                 JOIN pg_tablespace dt ON dt.oid = d.dattablespace
                                 WHERE d.datname = current_database()))
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
    WHERE c.relkind IN ('r', 'p', 'm', 'f') AND c.relname = ANY (%(names)s)
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""
_LINT_COLUMNS = """
    SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), co.collname,
           a.attidentity::text,
           -- (PG 18: a NOT VALID NOT NULL constraint sets attnotnull, but SET NOT NULL
           -- still scans: not NOT NULL for lint)
           a.attnotnull AND NOT EXISTS (
               SELECT 1 FROM pg_constraint n
               WHERE n.conrelid = a.attrelid AND n.contype = 'n' AND NOT n.convalidated
                 AND n.conkey = ARRAY[a.attnum])
    FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation
    WHERE a.attrelid = ANY (%(oids)s) AND a.attnum > 0 AND NOT a.attisdropped
"""
# Index columns in key order; an expression column shows as '(expr)'. A partial index is
# left out: it serves only queries that imply its WHERE, so it neither covers a foreign
# key's lookups nor makes a column unique. The last column: a
# unique index REFRESH MATERIALIZED VIEW CONCURRENTLY can use (matview.c
# is_usable_unique_index: immediate, btree, no WHERE, no expression).
_LINT_INDEXES = """
    SELECT i.indrelid, ic.relname, i.indisunique,
           ARRAY(SELECT coalesce(a.attname, '(expr)')
                 FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 ORDER BY k.ord),
           i.indisunique AND i.indimmediate AND i.indpred IS NULL
             AND 0 <> ALL (i.indkey[0:i.indnkeyatts - 1]) AND i.indnkeyatts > 0
             AND ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = ANY (%(oids)s) AND i.indisvalid AND i.indpred IS NULL
"""
# The tables of indexes named in the migrations (valid or not: a failed concurrent build is
# what a DROP INDEX often removes), so that lint names the table a DROP INDEX locks.
_LINT_INDEX_OWNERS = """
    SELECT ni.nspname, ic.relname, nt.nspname, tc.relname
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace ni ON ni.oid = ic.relnamespace
    JOIN pg_class tc ON tc.oid = i.indrelid
    JOIN pg_namespace nt ON nt.oid = tc.relnamespace
    WHERE ic.relname = ANY (%(names)s)
      AND ni.nspname NOT IN ('pg_catalog', 'information_schema')
"""
# The default partition of each named partitioned table: a new partition makes
# PostgreSQL scan it (attach-partition-scan), unless a CHECK on it excludes the bound.
_LINT_DEFAULT_PARTITIONS = """
    SELECT pn.nspname, p.relname, dn.nspname, d.relname
    FROM pg_partitioned_table pt
    JOIN pg_class p ON p.oid = pt.partrelid
    JOIN pg_namespace pn ON pn.oid = p.relnamespace
    JOIN pg_class d ON d.oid = pt.partdefid
    JOIN pg_namespace dn ON dn.oid = d.relnamespace
    WHERE p.relname = ANY (%(names)s)
"""
# The constraints of the tables the migrations name, with the table a foreign key
# references: dropping a foreign key also locks that table ACCESS EXCLUSIVE (checked in
# pg_locks on PG 15 and 18), which the migration text alone does not tell.
_LINT_CONSTRAINTS = """
    SELECT nt.nspname, tc.relname, c.conname, c.contype::text, c.convalidated,
           ARRAY(SELECT a.attname::text
                 FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                 ORDER BY k.ord),
           nr.nspname, rc.relname,
           -- (conenforced is PostgreSQL 18's: read through jsonb, absent before)
           coalesce((to_jsonb(c) ->> 'conenforced')::boolean, true)
    FROM pg_constraint c
    JOIN pg_class tc ON tc.oid = c.conrelid
    JOIN pg_namespace nt ON nt.oid = tc.relnamespace
    LEFT JOIN pg_class rc ON rc.oid = nullif(c.confrelid, 0)
    LEFT JOIN pg_namespace nr ON nr.oid = rc.relnamespace
    WHERE tc.relname = ANY (%(names)s)
      AND nt.nspname NOT IN ('pg_catalog', 'information_schema')
"""
# What depends on the named tables and their columns with a normal dependency (PostgreSQL
# then refuses DROP without CASCADE, and ALTER COLUMN … TYPE under a view): views and
# materialized views (through their _RETURN rule), and other tables' foreign keys (the
# top one of a partitioned table's, not each partition's copy).
_LINT_DEPENDENTS = """
    SELECT DISTINCT t.oid, coalesce(a.attname::text, ''),
           CASE WHEN r.oid IS NOT NULL
                THEN CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END
                ELSE 'foreign key' END,
           dn.nspname, coalesce(v.relname, f.relname), coalesce(c.conname, '')
    FROM pg_depend d
    JOIN pg_class t ON d.refclassid = 'pg_class'::regclass AND t.oid = d.refobjid
    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         AND d.refobjsubid > 0
    LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
    LEFT JOIN pg_class v ON v.oid = r.ev_class
    LEFT JOIN pg_constraint c ON d.classid = 'pg_constraint'::regclass AND c.oid = d.objid
         AND c.contype = 'f' AND c.conparentid = 0
    LEFT JOIN pg_class f ON f.oid = c.conrelid
    JOIN pg_namespace dn ON dn.oid = coalesce(v.relnamespace, f.relnamespace)
    WHERE t.oid = ANY (%(oids)s) AND d.deptype = 'n'
      AND coalesce(v.oid, f.oid) <> t.oid
"""
# Validated CHECK constraints, in the server's own rendering: the columns one proves NOT
# NULL (col IS NOT NULL, alone or AND-ed with more) are read by the SQL parser.
_LINT_CHECKS = """
    SELECT c.conrelid, pg_get_constraintdef(c.oid) FROM pg_constraint c
    WHERE c.contype = 'c' AND c.convalidated AND c.conrelid = ANY (%(oids)s)
"""
# The tables and materialized views the named views read, through views on views (each
# view's rewrite rule depends on the relations its query names).
_LINT_VIEWS = """
    WITH RECURSIVE reads (view, relation) AS (
        SELECT v.oid, d.refobjid
        FROM pg_class v
        JOIN pg_namespace n ON n.oid = v.relnamespace
        JOIN pg_rewrite r ON r.ev_class = v.oid
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
             AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
        WHERE v.relkind = 'v' AND v.relname = ANY (%(names)s)
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      UNION
        SELECT reads.view, d.refobjid
        FROM reads
        JOIN pg_class c ON c.oid = reads.relation AND c.relkind = 'v'
        JOIN pg_rewrite r ON r.ev_class = c.oid
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
             AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid
    )
    SELECT vn.nspname, v.relname,
           coalesce(array_agg(bn.nspname::text ORDER BY bn.nspname, b.relname)
                    FILTER (WHERE b.relkind IN ('r', 'p', 'm', 'f')), '{}'),
           coalesce(array_agg(b.relname::text ORDER BY bn.nspname, b.relname)
                    FILTER (WHERE b.relkind IN ('r', 'p', 'm', 'f')), '{}')
    FROM pg_class v
    JOIN pg_namespace vn ON vn.oid = v.relnamespace
    LEFT JOIN reads ON reads.view = v.oid
    LEFT JOIN pg_class b ON b.oid = reads.relation
    LEFT JOIN pg_namespace bn ON bn.oid = b.relnamespace
    WHERE v.relkind = 'v' AND v.relname = ANY (%(names)s)
      AND vn.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY vn.nspname, v.relname
"""
# The output columns of the named views, in order: CREATE OR REPLACE VIEW must keep them.
_LINT_VIEW_COLUMNS = """
    SELECT n.nspname, v.relname, array_agg(a.attname::text ORDER BY a.attnum)
    FROM pg_class v
    JOIN pg_namespace n ON n.oid = v.relnamespace
    JOIN pg_attribute a ON a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE v.relkind = 'v' AND v.relname = ANY (%(names)s)
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY n.nspname, v.relname
"""
# Every user-defined domain with its base type (maybe another domain) and whether it has
# a constraint of its own.
_LINT_DOMAINS = """
    SELECT n.nspname, t.typname, bn.nspname, b.typname, b.typtype = 'd',
           format_type(t.typbasetype, t.typtypmod),
           t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = t.oid)
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_type b ON b.oid = t.typbasetype
    JOIN pg_namespace bn ON bn.oid = b.typnamespace
    WHERE t.typtype = 'd' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""
# provolatile sorts i < s < v, so max() is the most volatile overload.
_LINT_FUNCTIONS = """
    SELECT n.nspname, p.proname, max(p.provolatile::text), bool_and(p.prokind = 'a'),
           bool_or(l.lanname = 'sql')
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    GROUP BY 1, 2
"""


def read_lint_catalog(
    conn: psycopg.Connection[Any], relation_names: Iterable[str], database: str = ""
) -> CatalogFacts:
    """What lint needs from the live catalog about the tables named ``relation_names``:
    row estimates, total sizes, real column types, valid indexes, validated NOT NULL checks,
    constraints (a foreign key with the table it references), and the volatility of every
    user-defined function. Reads only."""
    names = sorted(set(relation_names))
    index_owners = {
        (index_schema, index): (schema, table)
        for index_schema, index, schema, table in conn.execute(
            _LINT_INDEX_OWNERS, {"names": names}
        )
    }
    # A named index's table is locked by its DROP, and its constraints tell whether the
    # index is a constraint's (which PostgreSQL refuses to drop).
    names = sorted({*names, *(table for _, table in index_owners.values())})
    defaults = {
        (schema, table): (default_schema, default)
        for schema, table, default_schema, default in conn.execute(
            _LINT_DEFAULT_PARTITIONS, {"names": names}
        )
    }
    names = sorted({*names, *(table for _, table in defaults.values())})
    constraints: dict[tuple[str, str], dict[str, CatalogConstraint]] = {}
    for row in conn.execute(_LINT_CONSTRAINTS, {"names": names}):
        schema, table, name, kind, valid, columns, ref_schema, ref, enforced = row
        constraints.setdefault((schema, table), {})[name] = CatalogConstraint(
            kind,
            bool(valid),
            tuple(columns),
            None if ref is None else (ref_schema, ref),
            bool(enforced),
        )
    views = {
        (schema, view): tuple(zip(schemas, tables, strict=True))
        for schema, view, schemas, tables in conn.execute(_LINT_VIEWS, {"names": names})
    }
    view_columns = {
        (schema, view): tuple(columns)
        for schema, view, columns in conn.execute(_LINT_VIEW_COLUMNS, {"names": names})
    }
    # The tables foreign keys reference are locked too, and those views read are copied:
    # their sizes decide how much that hurts.
    names = sorted(
        {
            *names,
            *(table for reads in views.values() for _, table in reads),
            *(
                con.references[1]
                for per_table in constraints.values()
                for con in per_table.values()
                if con.references is not None
            ),
        }
    )
    tables: dict[int, dict[str, Any]] = {}
    rows_of = conn.execute(_LINT_TABLES, {"names": names})
    for (
        oid,
        schema,
        name,
        rows,
        size,
        partitioned,
        populated,
        policies,
        foreign,
        child_rows,
        partition_key,
        persistence,
        tablespace,
    ) in rows_of:
        tables[oid] = {
            "persistence": persistence,
            "tablespace": tablespace or "",
            # (an expression of the key: attnum 0, no name)
            "partition_key": tuple(k or None for k in partition_key or ()),
            "child_rows": int(child_rows),
            "foreign": bool(foreign),
            "policies": int(policies),
            "partitioned": bool(partitioned),
            "populated": bool(populated),
            "plain_unique": set(),
            "dependents": {},
            "schema": schema,
            "name": name,
            "rows": int(rows),
            "bytes": int(size),
            "columns": {},
            "indexes": [],
            "checks": set(),
            "collations": {},
            "identities": {},
            "not_null": set(),
        }
    oids = list(tables)
    keys = table_keys(conn, oids) if oids else {}
    if oids:
        for relid, column, type_text, collation, identity, not_null in conn.execute(
            _LINT_COLUMNS, {"oids": oids}
        ):
            tables[relid]["columns"][column] = type_text
            if not_null:
                tables[relid]["not_null"].add(column)
            tables[relid]["identities"][column] = identity
            if collation is not None:
                tables[relid]["collations"][column] = collation
        for relid, index, unique, columns, plain_unique in conn.execute(
            _LINT_INDEXES, {"oids": oids}
        ):
            tables[relid]["indexes"].append((index, tuple(columns), bool(unique)))
            if plain_unique:
                tables[relid]["plain_unique"].add(index)
        for relid, definition in conn.execute(_LINT_CHECKS, {"oids": oids}):
            tables[relid]["checks"].update(definition_not_null_columns(definition))
        for relid, column, kind, schema, name, con in conn.execute(
            _LINT_DEPENDENTS, {"oids": oids}
        ):
            per_column = tables[relid]["dependents"].setdefault(column, [])
            per_column.append(CatalogDependent(kind, (schema, name), con))
    search_path = conn.execute("SELECT current_schemas(false)").fetchone()
    timezone = conn.execute("SELECT current_setting('TimeZone')").fetchone()
    functions: dict[str, Volatility] = {}
    aggregates: dict[str, bool] = {}
    inlinable: set[str] = set()
    for schema, name, code, aggregate, sql in conn.execute(_LINT_FUNCTIONS):
        if sql:
            inlinable.update((f"{schema}.{name}", name))
        level = Volatility.from_provolatile(code)
        functions[f"{schema}.{name}"] = level
        functions[name] = max(level, functions.get(name, Volatility.IMMUTABLE))
        aggregates[f"{schema}.{name}"] = bool(aggregate)
        aggregates[name] = bool(aggregate) and aggregates.get(name, True)
    path = tuple(search_path[0]) if search_path else ("public",)
    return CatalogFacts(
        server_version=server_version(conn),
        tables={
            (t["schema"], t["name"]): CatalogTable(
                t["schema"],
                t["name"],
                t["rows"],
                t["bytes"],
                t["columns"],
                tuple(t["indexes"]),
                frozenset(t["checks"]),
                t["partitioned"],
                constraints.get((t["schema"], t["name"]), {}),
                t["populated"],
                frozenset(t["plain_unique"]),
                {
                    column: tuple(sorted(found, key=str))
                    for column, found in t["dependents"].items()
                },
                defaults.get((t["schema"], t["name"])),
                t["policies"],
                t["foreign"],
                collations=t["collations"],
                identities=t["identities"],
                backfill_key=keys.get(relid, ()),
                child_rows=t["child_rows"],
                not_null=frozenset(t["not_null"]),
                partition_key=t["partition_key"],
                persistence=t["persistence"],
                tablespace=t["tablespace"],
            )
            for relid, t in tables.items()
        },
        functions=functions,
        sql_functions=frozenset(inlinable),
        database=database,
        search_path=path,
        index_owners=index_owners,
        views=views,
        view_columns=view_columns,
        aggregates=frozenset(name for name, yes in aggregates.items() if yes),
        domains=_domains(conn, path),
        timezone=str(timezone[0]) if timezone else "",
    )


def _domains(
    conn: psycopg.Connection[Any], search_path: tuple[str, ...]
) -> dict[str, tuple[str, bool]]:
    """Each domain's base type and whether a constraint applies (its own or one of the
    domains it is built on), by qualified name and by name along ``search_path``."""
    rows = {
        (schema, name): ((base_schema, base), is_domain, base_text, constrained)
        for schema, name, base_schema, base, is_domain, base_text, constrained in (
            conn.execute(_LINT_DOMAINS)
        )
    }
    found: dict[str, tuple[str, bool]] = {}
    for key, (base_key, is_domain, base_text, constrained) in rows.items():
        # A domain over a domain: its base is the inner domain's base type.
        while is_domain and base_key in rows:
            base_key, is_domain, base_text, inner = rows[base_key]
            constrained = constrained or inner
        found[f"{key[0]}.{key[1]}"] = (base_text, bool(constrained))
    for schema in reversed(search_path):
        for (domain_schema, name), _ in rows.items():
            if domain_schema == schema:
                found[name] = found[f"{schema}.{name}"]
    return found
