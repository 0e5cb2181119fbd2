"""ALTER DOMAIN … ADD CHECK (or SET NOT NULL) scans every column of every table using the
domain.

## Why
Adding a constraint to a domain validates all stored values of every column of that domain,
while locking each table that uses it (SHARE lock: writes wait), for the whole scan.

## Instead
`ALTER DOMAIN d ADD CONSTRAINT name CHECK (…) NOT VALID`, then in a later step
`ALTER DOMAIN d VALIDATE CONSTRAINT name`. For NOT NULL, add a `CHECK (VALUE IS NOT NULL)`
constraint the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers import names
from atomig.lint.rule import Example
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
    con = (body.get("def") or {}).get("Constraint", {})
    if subtype == "C" and con.get("contype") == "CONSTR_CHECK":
        if con.get("skip_validation"):
            return
        what = f"adding CHECK {con.get('conname') or ''}".rstrip()
    elif subtype == "O":
        what = "SET NOT NULL"
    else:
        return
    yield Hit(
        f"{what} on domain {domain} scans every column using it, locking each table "
        "against writes for the scan",
        "add it as CHECK (…) NOT VALID, then ALTER DOMAIN … VALIDATE CONSTRAINT in a "
        "later step",
    )
