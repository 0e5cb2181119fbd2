r"""The file does not parse (PostgreSQL's own parser rejects it).

## Why
A statement PostgreSQL cannot parse fails the migration at that point; atomig refuses to run
a file that does not parse at all. The position is PostgreSQL's own (file:line:column), as is
the message. A malformed `-- atomig:` directive is reported here too.

## Instead
Fix the statement. psql meta-commands (`\set`, `\i`, `\copy`) are not SQL and cannot be used
in migration files; nor can the rows pg_dump writes after `COPY … FROM stdin;` (psql sends
them as data): load data with `INSERT`, or outside the migration.

## Notes
Reported by the engine itself when a file does not parse; no other rule runs on that file.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.sql.parse import Statement

ID = "syntax-error"
SEVERITY = Severity.ERROR
CATEGORY = "operations"
DOCS = (("Lexical structure", "sql-syntax-lexical.html#SQL-SYNTAX-LEXICAL"),)
BAD = ("ALTER TABLE orders ADD COLUMN;", "CREATE TABLE t (id int,);")
GOOD = ("CREATE TABLE t (id bigint PRIMARY KEY);",)


def finish(ctx: LintContext) -> Iterator[tuple[Statement | None, Hit]]:
    # A file that parses has no syntax error; the engine reports the ones that do not.
    return iter(())
