"""EXECUTE of SQL built by string concatenation in a DO block or function.

## Why
`EXECUTE 'ALTER TABLE ' || name || …`, `EXECUTE concat(…, name)` and `EXECUTE format('… %s …',
name)` splice values into SQL text unquoted: a name with a capital letter, a space or a quote
breaks the statement, and a value read from a table becomes SQL injection that runs with the
migration's (usually superuser) privileges. The same holds when the text is built in a
variable first (`q := 'ANALYZE ' || r.tablename; EXECUTE q;`): atomig follows the variable to
the assignments above the EXECUTE (all of them in a loop), and reads `FOR … IN EXECUTE`,
`OPEN … FOR EXECUTE` and `RETURN QUERY EXECUTE` too.

## Instead
`EXECUTE format('ALTER TABLE %I ADD COLUMN %I int', table_name, column_name)` — `%I` quotes
identifiers, `%L` quotes literals — and pass values as parameters with `EXECUTE … USING`.
Text joined from constants and from `quote_ident()`, `quote_literal()` or `quote_nullable()`
is quoted, and is not reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.classify import def_names
from atomig.sql.dynamic import dynamic_sql_hazards
from atomig.sql.parse import Statement

ID = "dynamic-sql-concat"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (
    (
        "PL/pgSQL: executing dynamic commands",
        "plpgsql-statements.html#PLPGSQL-STATEMENTS-EXECUTING-DYN",
    ),
    (
        "PL/pgSQL: quoting values in dynamic queries",
        "plpgsql-statements.html#PLPGSQL-QUOTE-LITERAL-EXAMPLE",
    ),
)
TARGETS = ("DoStmt", "CreateFunctionStmt")
BAD = (
    "DO $$ DECLARE t text := 'orders'; BEGIN\n  EXECUTE 'ANALYZE ' || t;\nEND $$;",
    "DO $$ DECLARE t text := 'orders'; BEGIN\n"
    "  EXECUTE format('ANALYZE %s', t);\nEND $$;",
    "DO $$ DECLARE r record; q text; BEGIN\n"
    "  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP\n"
    "    q := concat('ANALYZE ', r.tablename);\n"
    "    EXECUTE q;\n"
    "  END LOOP;\nEND $$;",
)
GOOD = (
    "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
    "DO $$ DECLARE t text := 'orders'; BEGIN\n"
    "  EXECUTE format('ANALYZE %I', t);\nEND $$;",
    "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
    "DO $$ DECLARE r record; BEGIN\n"
    "  FOR r IN SELECT tablename FROM pg_tables WHERE tablename = 'orders' LOOP\n"
    "    EXECUTE 'ANALYZE ' || quote_ident(r.tablename);\n"
    "  END LOOP;\nEND $$;",
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    options = def_names(
        stmt.body.get("args") if stmt.kind == "DoStmt" else stmt.body.get("options")
    )
    body = options.get("as")
    if isinstance(body, dict):  # CREATE FUNCTION … AS 'body' is a one-item list
        items = body.get("List", {}).get("items", [])
        body = items[0].get("String", {}).get("sval") if items else None
    if (
        not isinstance(body, str)
        or str(options.get("language", "plpgsql")) != "plpgsql"
    ):
        return
    base = stmt.text.find(body)
    # PL/pgSQL numbers lines from the one its body opens on.
    first_line = stmt.span.line + stmt.text.count("\n", 0, max(base, 0))
    for hazard in dynamic_sql_hazards(stmt.text, body):
        what = f"builds SQL with {hazard.how}"
        if hazard.variable is not None and hazard.line is not None:
            line = first_line + hazard.line - 1
            what = f"runs {hazard.variable}, which line {line} builds with {hazard.how}"
        yield Hit(
            f"EXECUTE {what}: values are spliced in unquoted (broken names, SQL "
            "injection)",
            "use format() with %I for identifiers and %L for literals, or EXECUTE … USING",
            offset=stmt.start + base + hazard.offset if base >= 0 else None,
        )
