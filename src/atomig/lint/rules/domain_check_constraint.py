"""ALTER DOMAIN … ADD CHECK (or SET NOT NULL, or VALIDATE CONSTRAINT) scans every column of
every table using the domain.

## Why
Adding a constraint to a domain validates all stored values of every column of that domain,
while locking each table that uses it (SHARE lock: writes wait), for the whole scan. Unlike
a table's, a domain's `VALIDATE CONSTRAINT` takes the same SHARE locks for its scan
(checked in pg_locks on PostgreSQL 15 and 18): splitting the check off does not spare the
writers.

## Instead
`ALTER DOMAIN d ADD CONSTRAINT name CHECK (…) NOT VALID`: instant, and every new or updated
value is checked from then on. Find the old values that break it with a query and fix them
in batches; run `ALTER DOMAIN d VALIDATE CONSTRAINT name` only while the tables are quiet
(or small), with a short lock_timeout. For NOT NULL, add a `CHECK (VALUE IS NOT NULL)`
constraint the same way.

## Notes
Not reported for a domain created in the same migration.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import names
from atomig.lint.rule import Example
from atomig.sql.classify import name_list
from atomig.sql.parse import Statement

ID = "domain-check-constraint"
SEVERITY = Severity.ERROR
CATEGORY = "locking"
DOCS = (("ALTER DOMAIN", "sql-alterdomain.html#SQL-ALTERDOMAIN"),)
TARGETS = ("AlterDomainStmt",)
_BEFORE = "CREATE DOMAIN price AS numeric;"
BAD = (
    "ALTER DOMAIN price ADD CONSTRAINT price_positive CHECK (VALUE >= 0);",
    "ALTER DOMAIN price SET NOT NULL;",
    "ALTER DOMAIN price VALIDATE CONSTRAINT price_positive;",
)
GOOD = (
    Example(
        "ALTER DOMAIN price ADD CONSTRAINT price_positive CHECK (VALUE >= 0) NOT VALID;",
        before=_BEFORE,
    ),
    Example("CREATE DOMAIN amount AS numeric CHECK (VALUE >= 0);"),
)


def check(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    body = stmt.body
    domain = ".".join(names(body.get("typeName")))
    subtype = body.get("subtype")
    if ctx.made_here("type", name_list(body.get("typeName") or ())):
        return  # a domain of this migration: only its new columns use it
    con = (body.get("def") or {}).get("Constraint", {})
    if subtype == "C" and con.get("contype") == "CONSTR_CHECK":
        if con.get("skip_validation"):
            return
        what = f"adding CHECK {con.get('conname') or ''}".rstrip()
    elif subtype == "O":
        what = "SET NOT NULL"
    elif subtype == "V":
        yield Hit(
            f"VALIDATE CONSTRAINT {body.get('name')} on domain {domain} scans every "
            "column using it under a SHARE lock on each table (writes wait), unlike a "
            "table's VALIDATE",
            "the NOT VALID constraint already checks every new value: fix old values in "
            "batches (found with a query), and validate while the tables are quiet",
            severity=Severity.WARNING,
        )
        return
    else:
        return
    yield Hit(
        f"{what} on domain {domain} scans every column using it, locking each table "
        "against writes for the scan",
        "add it as CHECK (…) NOT VALID: instant, and it checks every new value from then "
        "on; its VALIDATE CONSTRAINT locks the same way, so run that while the tables are "
        "quiet",
    )
