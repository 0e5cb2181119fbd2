"""The PostgreSQL major that introduced each piece of syntax or builtin function a
migration may use, found in a statement's parse tree.

The parser (libpg_query of PostgreSQL 18, through pglast) accepts the newest syntax; the
target server may not. Each entry names the release that added it (the release notes'
"E.x" sections); the 16, 17 and 18 boundaries are also checked on real servers: PG 15
rejects each, PG 18 accepts it (tests/integration/test_lint_features.py), and the function
table against ``pg_proc`` of both.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pglast import parser as _pg

from atomig.sql.parse import Statement


@dataclass(frozen=True, slots=True)
class Feature:
    """A feature a statement uses: what it is, the major that introduced it, and what to
    write instead on an older server (empty: nothing but upgrading)."""

    label: str
    since: int
    instead: str = ""


# Builtin functions by the major that added them to pg_catalog (release notes; 16-18
# also checked against pg_proc of PG 15 and 18). gen_random_uuid() came from pgcrypto
# before 13: see :func:`features`.
FUNCTIONS: Mapping[str, int] = {
    "gen_random_uuid": 13,
    "bit_count": 14,
    "date_bin": 14,
    "string_to_table": 14,
    "trim_array": 14,
    "unistr": 14,
    "range_agg": 14,
    "regexp_count": 15,
    "regexp_instr": 15,
    "regexp_like": 15,
    "regexp_substr": 15,
    "any_value": 16,
    "array_sample": 16,
    "array_shuffle": 16,
    "date_add": 16,
    "date_subtract": 16,
    "erf": 16,
    "erfc": 16,
    "random_normal": 16,
    "pg_input_is_valid": 16,
    "pg_input_error_info": 16,
    "system_user": 16,
    "to_bin": 17,
    "to_oct": 17,
    "uuid_extract_timestamp": 17,
    "uuid_extract_version": 17,
    "array_reverse": 18,
    "array_sort": 18,
    "casefold": 18,
    "crc32": 18,
    "crc32c": 18,
    "gamma": 18,
    "lgamma": 18,
    "uuidv4": 18,
    "uuidv7": 18,
}
_UUID = "gen_random_uuid() from the pgcrypto extension (CREATE EXTENSION pgcrypto)"
# SQL/JSON parse nodes: constructors and IS JSON (16), query functions and JSON_TABLE (17).
_JSON = {
    "JsonObjectConstructor": ("JSON_OBJECT()", 16),
    "JsonArrayConstructor": ("JSON_ARRAY()", 16),
    "JsonArrayQueryConstructor": ("JSON_ARRAY()", 16),
    "JsonObjectAgg": ("JSON_OBJECTAGG()", 16),
    "JsonArrayAgg": ("JSON_ARRAYAGG()", 16),
    "JsonIsPredicate": ("IS JSON", 16),
    "JsonFuncExpr": ("JSON_EXISTS() / JSON_QUERY() / JSON_VALUE()", 17),
    "JsonParseExpr": ("JSON()", 17),
    "JsonScalarExpr": ("JSON_SCALAR()", 17),
    "JsonSerializeExpr": ("JSON_SERIALIZE()", 17),
    "JsonTable": ("JSON_TABLE", 17),
}
_SUBCOMMANDS = {
    "AT_SetCompression": Feature("SET COMPRESSION", 14),
    "AT_DetachPartitionFinalize": Feature("DETACH PARTITION … FINALIZE", 14),
    "AT_SetAccessMethod": Feature("SET ACCESS METHOD", 15),
    "AT_DropExpression": Feature("ALTER COLUMN … DROP EXPRESSION", 13),
    "AT_SetExpression": Feature(
        "ALTER COLUMN … SET EXPRESSION",
        17,
        "drop the column and add it again with the new expression",
    ),
}


def features(
    stmt: Statement, defined: Container[str] = frozenset(), *, newer_than: int = 0
) -> Iterator[Feature]:
    """The versioned features ``stmt`` uses (each label once). ``defined``: names of
    functions the project has itself (its own ``uuidv7()``, pgcrypto's
    ``gen_random_uuid()`` before PostgreSQL 13): an unqualified call of one is not the
    builtin's. ``newer_than``: only features added after that major (what a server of
    that major lacks); the search for the others is skipped."""
    seen: set[str] = set()
    for found in _all(stmt, defined, newer_than):
        if found.since > newer_than and found.label not in seen:
            seen.add(found.label)
            yield found


def _all(
    stmt: Statement, defined: Container[str], newer_than: int
) -> Iterator[Feature]:
    kind, body = stmt.kind, stmt.body
    yield from _statement(kind, body)
    if kind in ("AlterTableStmt", "CreateStmt"):
        yield from _table(body)
        if newer_than < 18 and _explicit_enforced(stmt.text):
            yield Feature("the ENFORCED constraint attribute", 18, "leave it out")
    # Walk the tree only when the text calls one of the functions (or SQL/JSON forms)
    # newer than the target: one regex search of the text costs far less than a walk of
    # a large INSERT's tree, and most targets need no search at all.
    needles, pattern = _calls_newer_than(newer_than)
    if pattern is None:
        return
    # (substring tests first: a regex search of every statement cost 15 µs each)
    lowered = stmt.text.lower()
    for needle in needles:
        # "json" (IS JSON, json(…)) is never the start of "jsonb", a common column type:
        # without it, the search ran on four statements in ten of a mixed migration.
        text = lowered.replace("jsonb", "") if needle == "json" else lowered
        if needle in text:
            if pattern.search(stmt.text):
                yield from _calls(body, defined)
            return


@cache
def _calls_newer_than(major: int) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """Text that may call a function or SQL/JSON form added after ``major``: a name
    before "(", SYSTEM_USER (no parentheses), IS [NOT] JSON; and the lower-case words
    without which it cannot match."""
    names = sorted(
        {name for name, since in FUNCTIONS.items() if since > major}
        | {name for name, since in _JSON_CALLS.items() if since > major}
    )
    alternatives = []
    if names:
        alternatives.append(r"\b(?:" + "|".join(map(re.escape, names)) + r")\s*\(")
    if major < 16:
        alternatives += [r"\bsystem_user\b", r"\bis\s+(?:not\s+)?json\b"]
    if not alternatives:
        return (), None
    needles = tuple(
        dict.fromkeys([*names, *(["system_user", "json"] if major < 16 else [])])
    )
    return needles, re.compile("|".join(alternatives), re.IGNORECASE)


def _table(body: Mapping[str, Any]) -> Iterator[Feature]:
    """Column definitions, constraints and subcommands of CREATE / ALTER TABLE."""
    elements = list(body.get("tableElts", ()))
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        yield from _subcommand(cmd)
        if isinstance(cmd.get("def"), dict):
            elements.append(cmd["def"])
    for element in elements:
        column = element.get("ColumnDef")
        if column is not None:
            if column.get("compression"):
                yield Feature("column COMPRESSION", 14)
            for con in column.get("constraints", ()):
                yield from _constraint(con.get("Constraint", {}))
        elif "Constraint" in element:
            yield from _constraint(element["Constraint"])


# SQL/JSON forms written as calls, by the major that added them.
_JSON_CALLS: Mapping[str, int] = {
    "json_object": 16,
    "json_array": 16,
    "json_objectagg": 16,
    "json_arrayagg": 16,
    "json": 17,
    "json_exists": 17,
    "json_query": 17,
    "json_value": 17,
    "json_scalar": 17,
    "json_serialize": 17,
    "json_table": 17,
}


def _calls(body: Any, defined: Container[str]) -> Iterator[Feature]:
    """Builtin functions and SQL/JSON forms anywhere in the tree."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key in _JSON:
                yield Feature(*_JSON[key])
            elif key == "FuncCall":
                yield from _function(value, defined)
            if isinstance(value, dict | list):
                stack.append(value)


def _function(call: Mapping[str, Any], defined: Container[str]) -> Iterator[Feature]:
    names = [n["String"]["sval"] for n in call.get("funcname", ()) if "String" in n]
    if not names or (len(names) > 1 and names[0] != "pg_catalog"):
        return  # another schema's function
    since = FUNCTIONS.get(names[-1])
    if since is None or (len(names) == 1 and names[-1] in defined):
        return  # not a new builtin, or the project's own function of that name
    instead = _UUID if names[-1] == "gen_random_uuid" else ""
    yield Feature(f"{names[-1]}()", since, instead)


def _explicit_enforced(text: str) -> bool:
    """A table constraint says ENFORCED (not NOT ENFORCED): its parse node is the same as
    without the word, so the tokens tell (PG 18 grammar)."""
    if "enforced" not in text.lower():
        return False
    tokens = [token.name for token in _pg.scan(text)]
    return any(
        name == "ENFORCED" and (i == 0 or tokens[i - 1] != "NOT")
        for i, name in enumerate(tokens)
    )


def _statement(kind: str, body: Mapping[str, Any]) -> Iterator[Feature]:
    if kind == "MergeStmt":
        yield Feature("MERGE", 15, "INSERT … ON CONFLICT, or UPDATE and INSERT")
        if body.get("returningClause") or body.get("returningList"):
            yield Feature("MERGE … RETURNING", 17)
        clauses = [
            c.get("MergeWhenClause", {}) for c in body.get("mergeWhenClauses", ())
        ]
        if any(
            c.get("matchKind") == "MERGE_WHEN_NOT_MATCHED_BY_SOURCE" for c in clauses
        ):
            yield Feature("MERGE … WHEN NOT MATCHED BY SOURCE", 17)
    elif kind == "IndexStmt":
        if body.get("indexIncludingParams"):
            yield Feature("INCLUDE columns", 11)
        if body.get("nulls_not_distinct"):
            yield Feature("NULLS NOT DISTINCT", 15)
    elif kind == "ReindexStmt":
        params = [p.get("DefElem", {}).get("defname") for p in body.get("params", ())]
        if "concurrently" in params:
            yield Feature(
                "REINDEX CONCURRENTLY",
                12,
                "CREATE INDEX CONCURRENTLY a replacement, DROP INDEX CONCURRENTLY the old "
                "one, rename",
            )
    elif kind == "CreateTrigStmt" and body.get("replace"):
        yield Feature(
            "CREATE OR REPLACE TRIGGER", 14, "DROP TRIGGER, then CREATE TRIGGER"
        )
    elif kind == "CreateStmt" and body.get("accessMethod"):
        yield Feature("CREATE TABLE … USING (table access methods)", 12)
    elif kind == "CreateFunctionStmt" and body.get("is_procedure"):
        yield Feature("CREATE PROCEDURE", 11, "a function")
    elif kind == "CallStmt":
        yield Feature("CALL", 11, "SELECT a function")
    elif kind == "CopyStmt":
        options = [o.get("DefElem", {}).get("defname") for o in body.get("options", ())]
        if "on_error" in options:
            yield Feature("COPY … ON_ERROR", 17)
    elif kind == "GrantStmt":
        privileges = [
            p.get("AccessPriv", {}).get("priv_name") for p in body.get("privileges", ())
        ]
        if "maintain" in privileges:
            yield Feature("the MAINTAIN privilege", 17)


def _constraint(con: Mapping[str, Any]) -> Iterator[Feature]:
    kind = con.get("contype")
    if kind == "CONSTR_GENERATED":
        if con.get("generated_kind") == "v":
            yield Feature(
                "VIRTUAL generated columns (without STORED, a generated column is VIRTUAL)",
                18,
                "GENERATED ALWAYS AS (…) STORED (PostgreSQL 12+), or a plain column kept "
                "by a trigger",
            )
        else:
            yield Feature(
                "STORED generated columns", 12, "a plain column maintained by a trigger"
            )
    # A column's REFERENCES … NOT ENFORCED is an attribute node of its own.
    if kind == "CONSTR_ATTR_NOT_ENFORCED" or (
        kind in ("CONSTR_CHECK", "CONSTR_FOREIGN") and not con.get("is_enforced")
    ):
        yield Feature("NOT ENFORCED constraints", 18, "no constraint, or NOT VALID")
    if kind == "CONSTR_ATTR_ENFORCED":
        yield Feature("the ENFORCED constraint attribute", 18, "leave it out")
    if con.get("nulls_not_distinct"):
        yield Feature("NULLS NOT DISTINCT", 15)
    if con.get("including"):
        yield Feature("INCLUDE columns", 11)
    if con.get("without_overlaps"):
        yield Feature("WITHOUT OVERLAPS", 18, "an EXCLUDE USING gist constraint")
    if con.get("fk_with_period") or con.get("pk_with_period"):
        yield Feature("PERIOD foreign keys", 18)
    if kind == "CONSTR_NOTNULL" and con.get("keys"):
        yield Feature(
            "table NOT NULL constraints (CONSTRAINT … NOT NULL column)",
            18,
            "ALTER COLUMN … SET NOT NULL",
        )
    if kind == "CONSTR_NOTNULL" and con.get("skip_validation"):
        yield Feature(
            "NOT NULL … NOT VALID",
            18,
            "a CHECK (col IS NOT NULL) NOT VALID constraint, validated later",
        )


def _subcommand(cmd: Mapping[str, Any]) -> Iterator[Feature]:
    subtype = cmd.get("subtype", "")
    if subtype in _SUBCOMMANDS:
        yield _SUBCOMMANDS[subtype]
    elif subtype == "AT_DetachPartition":
        if ((cmd.get("def") or {}).get("PartitionCmd") or {}).get("concurrent"):
            yield Feature(
                "DETACH PARTITION … CONCURRENTLY",
                14,
                "DETACH PARTITION without CONCURRENTLY, in a quiet period with a short "
                "lock_timeout",
            )
    elif subtype == "AT_AlterConstraint":
        con = (cmd.get("def") or {}).get("ATAlterConstraint") or {}
        if con.get("alterEnforceability"):
            yield Feature("ALTER CONSTRAINT … [NOT] ENFORCED", 18)
        if con.get("alterInheritability"):
            yield Feature("ALTER CONSTRAINT … [NO] INHERIT", 18)
