"""Schema model → SQL text: a reviewer's view of one table, and the whole schema as a script
that recreates it (dependency-ordered, as pg_dump orders a schema-only dump). Pure."""

from __future__ import annotations

from collections.abc import Iterable

from atomig.schema.model import Column, Constraint, Function, SchemaModel, Table, View


def size_text(size: int) -> str:
    """Bytes in PostgreSQL's ``pg_size_pretty`` style.

    >>> size_text(0), size_text(16384), size_text(5 * 1024 * 1024)
    ('0 bytes', '16 kB', '5120 kB')
    >>> size_text(30 * 1024 * 1024)
    '30 MB'
    """
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        # pg_size_pretty switches unit at 10240 of the smaller one.
        if abs(value) < 10240 or unit == "TB":
            return (
                f"{int(value)} {unit}" if unit == "bytes" else f"{round(value)} {unit}"
            )
        value /= 1024
    return f"{size} bytes"


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column_sql(column: Column) -> str:
    parts = [f"{_ident(column.name)} {column.type}"]
    if column.collation:
        parts.append(f"COLLATE {column.collation}")
    if column.identity:
        parts.append(f"GENERATED {column.identity} AS IDENTITY")
    elif column.generated:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    elif column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def _ident(name: str) -> str:
    simple = name and (name[0].islower() or name[0] == "_") and name.isascii()
    if simple and all(c.islower() or c.isdigit() or c in "_$" for c in name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _summary(table: Table) -> str:
    rows = (
        "never analyzed"
        if table.row_estimate is None
        else f"~{table.row_estimate:,} rows"
    )
    text = f"-- {table.qualified}: {table.kind}"
    if table.unlogged:
        text += " (UNLOGGED)"
    text += f", {rows}, {size_text(table.total_bytes)} in all (heap {size_text(table.table_bytes)})"
    return text


def render_table(table: Table) -> str:
    """A compact, exact view of one table for a reviewer: columns, constraints with validity,
    indexes with validity and size, triggers, foreign keys in and out, size and row estimate."""
    lines = [_summary(table)]
    if table.partition_of:
        lines.append(f"-- partition of {table.partition_of} {table.partition_bound}")
    if table.comment:
        lines.append(f"-- comment: {table.comment}")
    body = [_column_sql(c) for c in table.columns if not c.inherited]
    own = [c for c in table.constraints if not c.inherited]
    body += [f"CONSTRAINT {_ident(c.name)} {c.definition}" for c in own]
    head = "CREATE UNLOGGED TABLE" if table.unlogged else "CREATE TABLE"
    if table.kind == "foreign table":
        head = "CREATE FOREIGN TABLE"
    if table.partition_of and not body:
        parent, bound = table.partition_of, table.partition_bound
        statement = f"{head} {table.qualified} PARTITION OF {parent} {bound}"
    else:
        statement = f"{head} {table.qualified} (\n    " + ",\n    ".join(body) + "\n)"
        if table.partition_of:
            statement = (
                f"{head} {table.qualified} PARTITION OF {table.partition_of} (\n    "
                + ",\n    ".join(body)
                + f"\n) {table.partition_bound}"
            )
        if table.inherits:
            statement += f" INHERITS ({', '.join(table.inherits)})"
    if table.partition_key:
        statement += f" PARTITION BY {table.partition_key}"
    lines.append(statement + ";")
    inherited = [c for c in table.constraints if c.inherited]
    if inherited:
        lines.append(
            "-- inherited: " + ", ".join(f"{c.name} ({c.kind_name})" for c in inherited)
        )
    not_valid = [c.name for c in table.constraints if not c.validated]
    if not_valid:
        lines.append(
            "-- NOT VALID (not checked for existing rows; run ALTER TABLE … VALIDATE "
            "CONSTRAINT): " + ", ".join(not_valid)
        )
    for index in table.indexes:
        note = f"  -- {size_text(index.size_bytes)}"
        if index.constraint:
            size = size_text(index.size_bytes)
            lines.append(
                f"-- {index.name}: index of constraint {index.constraint}, {size}"
            )
            if not index.valid:
                lines.append(f"-- INVALID index {index.name}")
            continue
        if not index.valid:
            lines.append(
                f"-- INVALID (left by a failed CREATE INDEX CONCURRENTLY; unused by queries, "
                f"still maintained on writes): {index.definition};{note}"
            )
        else:
            lines.append(f"{index.definition};{note}")
    for trigger in table.triggers:
        state = {
            "D": " -- DISABLED",
            "R": " -- ENABLE REPLICA",
            "A": " -- ENABLE ALWAYS",
        }
        lines.append(f"{trigger.definition};{state.get(trigger.enabled, '')}")
    if table.row_security:
        lines.append(f"ALTER TABLE {table.qualified} ENABLE ROW LEVEL SECURITY;")
    if table.referenced_by:
        lines.append("-- referenced by:")
        for ref in table.referenced_by:
            flag = "" if ref.validated else " (NOT VALID)"
            lines.append(f"--   {ref.table}.{_ident(ref.name)}: {ref.definition}{flag}")
    if table.partitions:
        lines.append(
            f"-- partitions ({len(table.partitions)}): " + ", ".join(table.partitions)
        )
    for column in table.columns:
        if column.comment:
            lines.append(
                f"COMMENT ON COLUMN {table.qualified}.{_ident(column.name)} IS "
                f"{_quote_literal(column.comment)};"
            )
    return "\n".join(lines) + "\n"


# ---- whole schema, in creation order ------------------------------------------------


def _table_order(tables: Iterable[Table]) -> list[Table]:
    """Parents (partitioned or inherited) before their children, otherwise by name."""
    by_name = {t.qualified: t for t in tables}
    done: set[str] = set()
    ordered: list[Table] = []

    def visit(table: Table) -> None:
        if table.qualified in done:
            return
        done.add(table.qualified)
        for parent in (table.partition_of, *table.inherits):
            if parent and parent in by_name:
                visit(by_name[parent])
        ordered.append(table)

    for name in sorted(by_name):
        visit(by_name[name])
    return ordered


def _view_order(views: Iterable[View]) -> list[View]:
    by_name = {v.qualified: v for v in views}
    done: set[str] = set()
    ordered: list[View] = []

    def visit(view: View) -> None:
        if view.qualified in done:
            return
        done.add(view.qualified)
        for dependency in view.depends_on:
            if dependency in by_name:
                visit(by_name[dependency])
        ordered.append(view)

    for name in sorted(by_name):
        visit(by_name[name])
    return ordered


def _create_table(table: Table) -> str:
    columns = [_column_sql(c) for c in table.columns if not c.inherited]
    head = "CREATE UNLOGGED TABLE" if table.unlogged else "CREATE TABLE"
    if table.partition_of:
        parent, bound = table.partition_of, table.partition_bound
        text = f"{head} {table.qualified} PARTITION OF {parent} {bound}"
    else:
        text = f"{head} {table.qualified} (\n    " + ",\n    ".join(columns) + "\n)"
        if table.inherits:
            text += f" INHERITS ({', '.join(table.inherits)})"
    if table.partition_key:
        text += f" PARTITION BY {table.partition_key}"
    return text + ";"


def _add_constraint(table: Table, constraint: Constraint) -> str:
    # PRIMARY KEY / UNIQUE / EXCLUDE go on ONLY this table (partitions get their own and
    # are attached afterwards, as pg_dump does); CHECK and FOREIGN KEY propagate.
    only = "ONLY " if constraint.kind in ("p", "u", "x") else ""
    return (
        f"ALTER TABLE {only}{table.qualified} ADD CONSTRAINT {_ident(constraint.name)} "
        f"{constraint.definition};"
    )


def _function_sql(function: Function, with_bodies: bool) -> str:
    if function.definition and with_bodies:
        return function.definition.rstrip() + ";"
    return (
        f"-- {function.kind} {function.signature}"
        + (f" RETURNS {function.returns}" if function.returns else "")
        + f" LANGUAGE {function.language} {function.volatility.upper()}"
    )


def render_schema(model: SchemaModel, *, with_bodies: bool = True) -> str:
    """The whole schema as a script that recreates it on an empty database."""
    out = [
        f"-- schema of a PostgreSQL {model.server_version} database, written by atomig",
        "SET check_function_bodies = false;",
    ]
    out += [f"CREATE SCHEMA IF NOT EXISTS {_ident(s)};" for s in model.schemas]
    out += [
        f"CREATE EXTENSION IF NOT EXISTS {_ident(name)} WITH SCHEMA {_ident(schema)};  -- {version}"
        for name, version, schema in model.extensions
    ]
    for enum in model.enums:
        labels = ", ".join(_quote_literal(label) for label in enum.labels)
        out.append(f"CREATE TYPE {enum.qualified} AS ENUM ({labels});")
    for composite in model.composites:
        attributes = ", ".join(f"{_ident(n)} {t}" for n, t in composite.attributes)
        out.append(f"CREATE TYPE {composite.qualified} AS ({attributes});")
    for domain in model.domains:
        text = f"CREATE DOMAIN {domain.qualified} AS {domain.base_type}"
        if domain.default is not None:
            text += f" DEFAULT {domain.default}"
        if domain.not_null:
            text += " NOT NULL"
        text += "".join(f" CONSTRAINT {_ident(n)} {d}" for n, d in domain.checks)
        out.append(text + ";")
    for sequence in model.sequences:
        out.append(
            f"CREATE SEQUENCE {sequence.qualified} AS {sequence.data_type} START WITH "
            f"{sequence.start} INCREMENT BY {sequence.increment} MINVALUE {sequence.min_value} "
            f"MAXVALUE {sequence.max_value} CACHE {sequence.cache}"
            + (" CYCLE" if sequence.cycle else "")
            + ";"
        )
    tables = _table_order(model.tables)
    functions = [f for f in model.functions if f.kind != "aggregate"]
    aggregates = [f for f in model.functions if f.kind == "aggregate"]
    out += [_create_table(t) for t in tables]
    # Functions after tables (they may return a table's row type) and before constraints,
    # indexes and views (which may call them); bodies are not checked at creation.
    out += [_function_sql(f, with_bodies) for f in functions]
    out += [_function_sql(f, with_bodies) for f in aggregates]
    for kinds in (("p", "u", "x"), ("c",), ("f",)):
        for table in tables:
            # A partition's PRIMARY KEY/UNIQUE is created on the partition and attached to
            # the parent's index below; inherited CHECKs and FOREIGN KEYs come with the
            # parent's (they propagate).
            out += [
                _add_constraint(table, c)
                for c in table.constraints
                if c.kind in kinds and (not c.inherited or c.kind in ("p", "u", "x"))
            ]
    attach: list[str] = []
    for table in tables:
        for index in table.indexes:
            if not index.constraint:
                out.append(index.definition + ";")
            if index.parent:
                attach.append(
                    f"ALTER INDEX {index.parent} ATTACH PARTITION {index.qualified};"
                )
    out += attach
    for view in _view_order(model.views):
        kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
        out.append(
            f"CREATE {kind} {view.qualified} AS\n{view.definition.rstrip().rstrip(';')};"
        )
        out += [index.definition + ";" for index in view.indexes]
    for table in tables:
        out += [trigger.definition + ";" for trigger in table.triggers]
        if table.row_security:
            out.append(f"ALTER TABLE {table.qualified} ENABLE ROW LEVEL SECURITY;")
    for sequence in model.sequences:
        if sequence.owned_by:
            out.append(
                f"ALTER SEQUENCE {sequence.qualified} OWNED BY {sequence.owned_by};"
            )
    for table in tables:
        if table.comment:
            out.append(
                f"COMMENT ON TABLE {table.qualified} IS {_quote_literal(table.comment)};"
            )
        for column in table.columns:
            if column.comment and not column.inherited:
                out.append(
                    f"COMMENT ON COLUMN {table.qualified}.{_ident(column.name)} IS "
                    f"{_quote_literal(column.comment)};"
                )
    for view in model.views:
        if view.comment:
            kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
            out.append(
                f"COMMENT ON {kind} {view.qualified} IS {_quote_literal(view.comment)};"
            )
    return "\n".join(out) + "\n"
