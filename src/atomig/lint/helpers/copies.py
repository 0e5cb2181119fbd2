"""Whole-table copies (INSERT … SELECT, CREATE TABLE AS …): which tables a query reads in full,
and whether they are small."""

from __future__ import annotations

from collections.abc import Container, Iterator
from typing import TYPE_CHECKING

from atomig.lint.helpers.shapes import Body
from atomig.sql.classify import (
    range_var,
)
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


def copied_tables(
    stmt: Statement, aggregates: Container[str] = frozenset()
) -> list[tuple[QualifiedName, int | None]]:
    """``(table, location)`` of each table an ``INSERT … SELECT``, ``CREATE TABLE … AS``,
    ``CREATE MATERIALIZED VIEW … AS`` or ``SELECT … INTO`` reads in full and copies: named
    alone in a FROM (or one arm of a UNION) with no WHERE, LIMIT, GROUP BY nor HAVING.

    A join or a subquery is not counted (its condition may select few rows), nor a query
    with a WHERE: how many rows it selects is not in the text. ``aggregates`` names the
    user-defined aggregates the live catalog knows (a select list of aggregates returns one
    row).
    """
    body = stmt.body
    query: Body | None = None
    if stmt.kind == "InsertStmt":
        query = (body.get("selectStmt") or {}).get("SelectStmt")
    elif stmt.kind == "CreateTableAsStmt" and not (body.get("into") or {}).get(
        "skipData"
    ):
        query = (body.get("query") or {}).get("SelectStmt")
    elif stmt.kind == "SelectStmt" and body.get("intoClause"):
        query = body
    if not query:
        return []
    ctes = {
        (item.get("CommonTableExpr") or {}).get("ctename")
        for clause in (body.get("withClause"), query.get("withClause"))
        for item in (clause or {}).get("ctes", ())
    }
    return [
        (name, location)
        for name, location in _whole_reads(query, aggregates)
        if name.schema is not None or name.name not in ctes
    ]


def copy_sources(
    stmt: Statement, ctx: LintContext
) -> list[tuple[QualifiedName, tuple[QualifiedName, ...]]]:
    """The existing relations ``stmt`` copies whole (see :func:`copied_tables`), each with
    the tables whose rows it reads: itself for a table; for a view the live catalog knows,
    the tables under it (none for a view of a VALUES list or of functions: not a copy)."""
    catalog = ctx.catalog
    aggregates = _Aggregates(ctx)
    found: list[tuple[QualifiedName, tuple[QualifiedName, ...]]] = []
    for name, _ in copied_tables(stmt, aggregates):
        if ctx.is_new(name):
            continue
        reads = (
            None
            if catalog is None or ctx.table(name) is not None
            else catalog.view_reads(name.schema, name.name)
        )
        if reads is None:
            found.append((name, (name,)))
        elif reads:
            found.append((name, tuple(ctx.live_name(key) for key in reads)))
    return found


class _Aggregates:
    """User-defined aggregates by name ("schema.name" or "name"): the live catalog's, and
    those the history created (CREATE AGGREGATE)."""

    def __init__(self, ctx: LintContext) -> None:
        self.ctx = ctx

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        catalog = self.ctx.catalog
        if catalog is not None and name in catalog.aggregates:
            return True
        schema, _, plain = name.rpartition(".")
        made = self.ctx.schema.creator(
            "aggregate", QualifiedName(schema or None, plain)
        )
        return made is not None


def small_table_note(
    table: QualifiedName | None, ctx: LintContext, children: bool = True
) -> str | None:
    """Why ``table`` counts as small for a data change (the live catalog has it below the
    size threshold, with its inheritance children when the change reaches them: not
    ONLY), else ``None`` (offline nothing is known)."""
    live = ctx.catalog_table(table)
    threshold = ctx.options.small_table_rows
    if table is None or live is None or live.rows < 0:
        return None
    rows, also = live.estimated_rows, ""
    if live.child_rows and children:
        rows, also = rows + live.child_rows, " with its inheritance children"
    if rows >= threshold:
        return None
    return f"{table} has ~{rows} rows{also}, below the {threshold}-row threshold: info"


def small_copy(
    copies: list[tuple[QualifiedName, tuple[QualifiedName, ...]]], ctx: LintContext
) -> str | None:
    """Why the copied relations are small (every table they read is known to the live
    catalog and below the size threshold), else ``None``."""
    threshold = ctx.options.small_table_rows
    rows = 0
    for _, reads in copies:
        for table in reads:
            live = ctx.catalog_table(table)
            # (a SELECT reads the inheritance children too, unless ONLY)
            read = None if live is None else live.estimated_rows + live.child_rows
            if live is None or live.rows < 0 or read is None or read >= threshold:
                return None  # (rows -1: a foreign table never analyzed, size unknown)
            rows = max(rows, read)
    below = f"below the {threshold}-row threshold: info"
    if len(copies) == 1 and copies[0][1] == (copies[0][0],):
        return f"{copies[0][0]} has ~{rows} rows, {below}"
    names = ", ".join(dict.fromkeys(str(name) for name, _ in copies))
    return f"{names}: every table read has at most ~{rows} rows, {below}"


def _whole_reads(
    select: Body, aggregates: Container[str]
) -> Iterator[tuple[QualifiedName, int | None]]:
    if any(
        select.get(clause)
        for clause in (
            "whereClause",
            "limitCount",
            "groupClause",
            "havingClause",
            "valuesLists",
        )
    ):
        return
    if select.get("op", "SETOP_NONE") != "SETOP_NONE":
        for side in ("larg", "rarg"):
            yield from _whole_reads(select.get(side) or {}, aggregates)
        return
    if any(_is_aggregate(item, aggregates) for item in select.get("targetList", ())):
        return  # an aggregate without GROUP BY: one row, however many it reads
    for item in select.get("fromClause", ()):
        node = item.get("RangeVar")
        name = range_var(node)
        if node is not None and name is not None:
            yield name, node.get("location")


# PostgreSQL's built-in general-purpose and statistical aggregates (func-aggregate.html).
# A call is known to be an aggregate by its syntax too (count(*), DISTINCT, ORDER BY,
# FILTER, WITHIN GROUP); a user-defined aggregate called plainly is not recognised.
_AGGREGATES = frozenset(
    {
        "any_value", "array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and",
        "bool_or", "count", "every", "json_agg", "json_agg_strict", "json_object_agg",
        "jsonb_agg", "jsonb_agg_strict", "jsonb_object_agg", "max", "min", "range_agg",
        "range_intersect_agg", "string_agg", "sum", "xmlagg", "corr", "covar_pop",
        "covar_samp", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept",
        "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "stddev",
        "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "mode",
        "percentile_cont", "percentile_disc",
    }
)  # fmt: skip


def _is_aggregate(target: Body, aggregates: Container[str]) -> bool:
    """A select-list item that is an aggregate call (not a window function): built in, or
    one of ``aggregates`` (user-defined, known from the live catalog or the history)."""
    call = ((target.get("ResTarget") or {}).get("val") or {}).get("FuncCall")
    if call is None or call.get("over") is not None:
        return False
    if any(
        call.get(marker)
        for marker in ("agg_star", "agg_distinct", "agg_order", "agg_filter")
    ) or call.get("agg_within_group"):
        return True
    names = [n["String"]["sval"] for n in call.get("funcname", ()) if "String" in n]
    if ".".join(names) in aggregates:
        return True
    return (
        bool(names)
        and names[-1] in _AGGREGATES
        and (len(names) == 1 or names[0] == "pg_catalog")
    )
