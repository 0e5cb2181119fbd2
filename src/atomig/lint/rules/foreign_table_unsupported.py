"""A statement does what PostgreSQL refuses on a foreign table.

## Why
A foreign table's rows live on a remote server, so PostgreSQL refuses what needs local
storage or a local index: an index, a PRIMARY KEY, UNIQUE, EXCLUDE or FOREIGN KEY
constraint on it, a foreign key referencing it, `SET LOGGED` / `UNLOGGED` / `TABLESPACE` /
`ACCESS METHOD`, `REPLICA IDENTITY`, row-level security, `CLUSTER`, and a type change with
`USING` (checked on PG 15 and 18). The migration fails at that statement. `VACUUM` skips it
with a warning. Which names are foreign tables is known from the history
(`CREATE FOREIGN TABLE`) or, with `--database-url`, the live catalog.

## Instead
Make the change on the remote table, through the remote server's own migrations, and keep
the foreign table's definition in step (`ALTER FOREIGN TABLE … ADD COLUMN`, `ALTER COLUMN
… TYPE` without `USING`). To enforce a key locally, copy the rows into a local table.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import Body, added_constraints, commands, table_columns
from atomig.lint.rule import Example
from atomig.sql.classify import column_constraints, range_var
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

ID = "foreign-table-unsupported"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (("CREATE FOREIGN TABLE", "sql-createforeigntable.html#SQL-CREATEFOREIGNTABLE"),)
TARGETS = ("AlterTableStmt", "IndexStmt", "ClusterStmt", "CreateStmt")
_REMOTE = (
    "CREATE FOREIGN DATA WRAPPER dummy;\n"
    "CREATE SERVER remote FOREIGN DATA WRAPPER dummy;\n"
    "CREATE FOREIGN TABLE remote_orders (id bigint NOT NULL, note text) SERVER remote;"
)
BAD = (
    Example("CREATE INDEX remote_orders_id ON remote_orders (id);", before=_REMOTE),
    Example("ALTER TABLE remote_orders ADD PRIMARY KEY (id);", before=_REMOTE),
    Example(
        "CREATE TABLE refunds (id bigint PRIMARY KEY, "
        "order_id bigint REFERENCES remote_orders (id));",
        before=_REMOTE,
    ),
)
GOOD = (
    Example(
        "ALTER FOREIGN TABLE remote_orders ADD COLUMN total numeric;", before=_REMOTE
    ),
)
# ALTER TABLE subcommands PostgreSQL refuses on a foreign table (tablecmds.c ATSimplePermissions).
_ALTERS = {
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
    "AT_ReplicaIdentity": "REPLICA IDENTITY",
    "AT_EnableRowSecurity": "ENABLE ROW LEVEL SECURITY",
    "AT_DisableRowSecurity": "DISABLE ROW LEVEL SECURITY",
    "AT_ForceRowSecurity": "FORCE ROW LEVEL SECURITY",
    "AT_NoForceRowSecurity": "NO FORCE ROW LEVEL SECURITY",
    "AT_ClusterOn": "CLUSTER ON",
}
_KEYS = {
    "CONSTR_PRIMARY": "a PRIMARY KEY",
    "CONSTR_UNIQUE": "a UNIQUE constraint",
    "CONSTR_EXCLUSION": "an EXCLUDE constraint",
    "CONSTR_FOREIGN": "a FOREIGN KEY",
}
_FIX = "change the remote table instead; keep the foreign table's columns in step"


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    refused, fixes = _refused_parts(stmt, ctx)
    if refused:
        # One finding per statement, naming every refused part.
        yield Hit(
            f"PostgreSQL rejects {'; '.join(refused)}: the rows are on a remote server",
            "; ".join(dict.fromkeys(fixes)),
        )


def _refused_parts(stmt: Statement, ctx: LintContext) -> tuple[list[str], list[str]]:
    refused: list[str] = []
    fixes: list[str] = []
    explicit = stmt.body.get("objtype") == "OBJECT_FOREIGN_TABLE"  # ALTER FOREIGN TABLE
    if not explicit and not ctx.knows_foreign_tables:
        return refused, fixes  # nothing here can be one
    table = range_var(stmt.body.get("relation"))
    if stmt.kind in ("IndexStmt", "ClusterStmt"):
        if table is not None and ctx.is_foreign(table):
            what = "an index on" if stmt.kind == "IndexStmt" else "CLUSTER of"
            refused.append(f"{what} foreign table {table}")
            fixes.append(_FIX if stmt.kind == "IndexStmt" else "drop the statement")
        return refused, fixes
    constraints = _constraints(stmt)
    for target in _referenced_foreign(constraints, ctx):
        refused.append(f"a foreign key referencing foreign table {target}")
        fixes.append("reference a local table, or check the rows in the application")
    if not explicit:  # (an ALTER TABLE of a known foreign table arrives relabelled)
        return refused, fixes
    for subtype, cmd in commands(stmt):
        coldef = (cmd.get("def") or {}).get("ColumnDef") or {}
        if subtype in _ALTERS:
            refused.append(f"{_ALTERS[subtype]} on foreign table {table}")
            fixes.append(_FIX)
        elif subtype == "AT_AlterColumnType" and coldef.get("raw_default"):
            refused.append(f"a type change with USING on foreign table {table}")
            fixes.append(
                "drop the USING clause: the remote table converts its own rows"
            )
    for con in constraints:
        key = _KEYS.get(con.get("contype", ""))
        if key is not None:
            refused.append(f"{key} on foreign table {table}")
            fixes.append(_FIX)
    return refused, fixes


def _constraints(stmt: Statement) -> list[Body]:
    """Every constraint a CREATE TABLE or ALTER TABLE adds, table and column ones."""
    if stmt.kind == "CreateStmt":
        elements = stmt.body.get("tableElts", ())
        found = [e["Constraint"] for e in elements if "Constraint" in e]
    else:
        found = [*added_constraints(stmt)]
    return found + [
        c for coldef in table_columns(stmt) for c in column_constraints(coldef)
    ]


def _referenced_foreign(
    constraints: list[Body], ctx: LintContext
) -> list[QualifiedName]:
    """Foreign tables that the statement's new foreign keys reference."""
    found = []
    for con in constraints:
        if con.get("contype") == "CONSTR_FOREIGN":
            target = range_var(con.get("pktable"))
            if target is not None and ctx.is_foreign(target):
                found.append(target)
    return found
