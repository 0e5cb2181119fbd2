"""add-enum-value: ``ALTER TYPE … ADD VALUE IF NOT EXISTS`` — a catalog change (PostgreSQL
12+ runs it in a transaction; the new value is usable once that transaction commits, so the
migration that uses it comes after).

PostgreSQL cannot drop an enum value (its OID may survive in index pages), so the down
file recreates the type without it: rename the type, create it again with the other labels
in their order, convert every column (a rewrite of each table under ACCESS EXCLUSIVE),
drop the old type. It refuses, before changing anything, when a row still holds the value
or a table holding the type is larger than the limit written in the file.
"""

from __future__ import annotations

from dataclasses import dataclass

from atomig.errors import UsageError
from atomig.gen import names
from atomig.gen.model import GenContext, Needs, Phase, Series
from atomig.gen.text import SqlFile, header
from atomig.sql.facts import QualifiedName
from atomig.sql.quote import (
    dollar_quote,
    parse_qualified_name,
    quote_literal,
    quote_name,
)

KIND = "add-enum-value"
SUMMARY = "Add a value to an enum type (the down file recreates the type without it)."
DOWN_MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Request:
    """``atomig gen add-enum-value TYPE VALUE [--before V | --after V]``."""

    type: QualifiedName
    value: str
    before: str | None = None
    after: str | None = None
    values: tuple[str, ...] | None = None


def request(
    type: str,
    value: str,
    *,
    before: str | None = None,
    after: str | None = None,
    values: str | None = None,
) -> Request:
    """The request from command-line text (the value is taken literally)."""
    try:
        name = parse_qualified_name(type)
    except ValueError as exc:
        raise UsageError(f"type name: {exc}") from None
    if before is not None and after is not None:
        raise UsageError("use --before or --after, not both")
    for label in (value, before, after):
        if label is not None and (
            not label or len(label.encode()) > 63 or "\x00" in label
        ):
            raise UsageError(f"enum label {label!r} must be 1 to 63 bytes")
    current = tuple(v.strip() for v in values.split(",")) if values else None
    return Request(name, value, before, after, current)


def needs(req: Request) -> Needs:
    """The enum type."""
    return Needs(enums=(req.type,))


def generate(req: Request, ctx: GenContext) -> Series:
    """One phase: the value added; the down recreates the type without it."""
    known = ctx.enum(req.type)
    if known is not None:
        if req.value in known.labels:
            raise UsageError(
                f"{quote_name(req.type)} already has the value {quote_literal(req.value)}"
            )
        for anchor in (req.before, req.after):
            if anchor is not None and anchor not in known.labels:
                raise UsageError(
                    f"{quote_name(req.type)} has no value {quote_literal(anchor)}",
                    hint="its values: "
                    + ", ".join(quote_literal(v) for v in known.labels),
                )
    sql = f"ALTER TYPE {quote_name(req.type)} ADD VALUE IF NOT EXISTS {quote_literal(req.value)}"
    if req.before is not None:
        sql += f" BEFORE {quote_literal(req.before)}"
    elif req.after is not None:
        sql += f" AFTER {quote_literal(req.after)}"
    when = "deploy before the application writes the new value"
    up = SqlFile(header(ctx.command, 1, 1, when, "up"))
    down = SqlFile(
        header(
            ctx.command,
            1,
            1,
            when,
            "down",
            [
                "PostgreSQL cannot drop an enum value: this recreates the type without it "
                "and converts every column of the type, which REWRITES each such table "
                "under ACCESS EXCLUSIVE. It refuses when a row still holds the value, or "
                "when such a table has more rows than max_rows below (then remove the "
                "value in a maintenance window, or keep it: an unused value is harmless).",
            ],
        )
    )
    up.statement(
        sql,
        "A catalog change. The new value can be used once this migration has committed "
        "(use it in a later migration, not in this one).",
    )
    labels = known.labels if known is not None else req.values
    if labels is None:
        raise UsageError(
            f"without a database atomig does not know the values of "
            f"{quote_name(req.type)}, which its down file must restore",
            hint="give them in order with --values 'a,b,c' (or configure the database)",
        )
    down.statement(_recreate_without(req.type, req.value, labels))
    slug = names.slug("add_enum_value", req.type.name, req.value)
    return Series(KIND, (Phase(1, slug, when, up.text(), down.text()),))


def _recreate_without(
    type_name: QualifiedName, value: str, labels: tuple[str, ...]
) -> str:
    type_text = quote_literal(quote_name(type_name))
    label = quote_literal(value)
    old = quote_literal(names.derived(type_name.name, "atomig_old"))
    # The type is created by static SQL (its values are known now: the down restores
    # exactly them); everything else is dynamic with %I / %L only.
    create = f"CREATE TYPE {quote_name(type_name)} AS ENUM ("
    create += ", ".join(quote_literal(v) for v in labels) + ")"
    return "DO " + dollar_quote(
        _TEMPLATE.replace("{max_rows}", str(DOWN_MAX_ROWS))
        .replace("{type_text}", type_text)
        .replace("{old}", old)
        .replace("{label}", label)
        .replace("{create}", create)
    )


# Placeholders are replaced by quoted SQL (quote_literal / quote_name) above.
_COLUMNS = """
        SELECT n.nspname, c.relname, a.attname, c.reltuples,
               pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_sql
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.atttypid = enum_type AND NOT a.attisdropped AND a.attnum > 0
          AND c.relkind IN ('r', 'p') AND NOT c.relispartition"""
# A default of an enum column is printed as 'label'::type.
_LITERAL = "'^''((?:[^'']|'''')*)''::'"
_TEMPLATE = (
    """
DECLARE
    max_rows constant bigint := {max_rows};
    enum_type regtype := to_regtype({type_text});
    old_name text := {old};
    type_schema text;
    type_name text;
    default_label text;
    col record;
    used boolean;
BEGIN
    IF enum_type IS NULL OR NOT EXISTS (
        SELECT FROM pg_catalog.pg_enum WHERE enumtypid = enum_type AND enumlabel = {label}
    ) THEN
        RETURN;  -- the value is not there: nothing to undo
    END IF;
    SELECT n.nspname, t.typname INTO type_schema, type_name
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    WHERE t.oid = enum_type;
    FOR col IN"""
    + _COLUMNS
    + """
    LOOP
        IF col.reltuples > max_rows THEN
            RAISE EXCEPTION 'cannot remove enum value % of %: %.% has about % rows',
                {label}, enum_type, col.nspname, col.relname, col.reltuples::bigint
                USING HINT = 'converting it rewrites the table under ACCESS EXCLUSIVE; '
                    'remove the value in a maintenance window, or keep it (raise max_rows '
                    'in this file to allow the rewrite)';
        END IF;
        IF col.default_sql IS NOT NULL AND col.default_sql !~ """
    + _LITERAL
    + """ THEN
            RAISE EXCEPTION 'cannot convert %.%.%: its default % is not a plain value',
                col.nspname, col.relname, col.attname, col.default_sql;
        END IF;
        EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I WHERE %I::text = %L)',
                       col.nspname, col.relname, col.attname, {label}) INTO used;
        IF used THEN
            RAISE EXCEPTION 'cannot remove enum value % of %: rows of %.% still hold it',
                {label}, enum_type, col.nspname, col.relname
                USING HINT = 'change those rows first (a backfill), then roll back';
        END IF;
    END LOOP;
    EXECUTE format('ALTER TYPE %I.%I RENAME TO %I', type_schema, type_name, old_name);
    {create};
    FOR col IN"""
    + _COLUMNS
    + """
    LOOP
        IF col.default_sql IS NOT NULL THEN
            default_label := replace(substring(col.default_sql FROM """
    + _LITERAL
    + """), '''''', '''');
            EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I DROP DEFAULT',
                           col.nspname, col.relname, col.attname);
        END IF;
        EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE %I.%I USING %I::text::%I.%I',
                       col.nspname, col.relname, col.attname, type_schema, type_name,
                       col.attname, type_schema, type_name);
        IF col.default_sql IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN %I SET DEFAULT %L::%I.%I',
                           col.nspname, col.relname, col.attname, default_label,
                           type_schema, type_name);
        END IF;
    END LOOP;
    EXECUTE format('DROP TYPE %I.%I', type_schema, old_name);
END
"""
)
