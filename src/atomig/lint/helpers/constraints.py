"""Dropped constraints of tables and domains (the ``drop-object`` rule's two ALTER forms):
which drops stop enforcing a rule that running code relies on, and which PostgreSQL
rejects; a constraint made ENFORCED (``foreign-key-without-not-valid``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from atomig.lint.finding import Hit, Severity
from atomig.lint.helpers.knowledge import (
    constraint_kind,
    readd_constraint_advice,
    unkeyed_note,
)
from atomig.lint.helpers.locks import key_referrers, readded_in_step
from atomig.lint.helpers.shapes import altered_table, commands, names, subcommand_offset
from atomig.sql.classify import name_list
from atomig.sql.facts import QualifiedName
from atomig.sql.parse import Statement

if TYPE_CHECKING:
    from atomig.lint.context import LintContext


def table_constraint_drops(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    """``ALTER TABLE … DROP CONSTRAINT``: one hit per dropped constraint that matters."""
    table = altered_table(stmt)
    if table is None or ctx.is_new(table):
        return
    for _, cmd in commands(stmt, "AT_DropConstraint"):
        name = cmd.get("name", "")
        known = ctx.table(table)
        con = known.constraints.get(name) if known else None
        if con is not None and con.not_null_columns and ctx.direction != "down":
            continue  # the helper CHECK of a SET NOT NULL, dropped once it is done
        if con is not None and con.kind == "check" and known and known.attached_by:
            continue  # a partition's CHECK once ATTACH made the bound enforce it
        cascade = cmd.get("behavior") == "DROP_CASCADE"
        if refs := [] if cascade else key_referrers(ctx, table, name):
            yield Hit(
                f"PostgreSQL rejects dropping {name} of {table}: {', '.join(refs)} "
                f"use{'s' if len(refs) == 1 else ''} it",
                "drop those foreign keys first, in the same migration, and add them "
                "back (NOT VALID, then VALIDATE) once the new key is in place",
                severity=Severity.ERROR,
                offset=subcommand_offset(stmt, name),
            )
            continue
        if ctx.made_here("constraint", table, name) or readded_in_step(stmt, ctx, name):
            continue  # made by this migration, or re-made before anyone sees it gone
        kind = con.kind if con else None
        if kind == "check":
            # Instant (a brief ACCESS EXCLUSIVE, no scan) and no statement fails for it:
            # what is lost is the rule, and re-adding it checks every row unless NOT VALID.
            yield Hit(
                f"dropping CHECK constraint {name} of {table}: new and updated rows are "
                "no longer held to its rule (no running statement breaks)",
                "make sure the down file can re-add it: NOT VALID, then VALIDATE "
                "CONSTRAINT in a later step (SHARE UPDATE EXCLUSIVE: writes go on)",
                severity=Severity.INFO,
                offset=subcommand_offset(stmt, name),
            )
            continue
        yield Hit(
            f"dropping constraint {name} of {table} stops enforcing its rule for every "
            f"writer{unkeyed_note(kind, table)}",
            "make sure no code relies on it, and that the down file can re-add it "
            f"({readd_constraint_advice(kind)})",
            offset=subcommand_offset(stmt, name),
        )


def domain_drops(stmt: Statement, ctx: LintContext) -> Iterator[Hit]:
    """``ALTER DOMAIN … DROP CONSTRAINT`` and ``… DROP DEFAULT`` (no table lock: PG 15 and
    18 take none on the tables using the domain; ``DROP NOT NULL`` is drop-not-null's)."""
    body = stmt.body
    domain = ".".join(names(body.get("typeName")))
    if ctx.made_here("type", name_list(body.get("typeName") or ())):
        return  # a domain of this migration: only its new columns use it
    if body.get("subtype") == "X":
        name = body.get("name", "")
        if ctx.made_here("constraint", name_list(body.get("typeName") or ()), name):
            return  # added by this migration (a down file undoing its up)
        yield Hit(
            f"dropping constraint {name} of domain {domain} stops enforcing its rule on "
            "every column of the domain, for every writer",
            "make sure no code relies on it, and that the down file can re-add it "
            "(ADD CONSTRAINT … NOT VALID, then VALIDATE)",
        )
    elif body.get("subtype") == "T" and body.get("def") is None:
        yield Hit(
            f"dropping the default of domain {domain}: columns of the domain without a "
            "default of their own get NULL from now on, and INSERTs that leave them out "
            "fail if the domain is NOT NULL",
            "set the default on each column first (ALTER TABLE … ALTER COLUMN … SET "
            "DEFAULT), or drop it once no code inserts without those columns",
        )


def enforced_constraint(
    table: QualifiedName, name: str, ctx: LintContext
) -> Hit | None:
    """ALTER CONSTRAINT … ENFORCED (PG 18) checks every row under ACCESS EXCLUSIVE
    (pg_locks; 3.2 s for 3M rows, where VALIDATE takes as long under SHARE UPDATE
    EXCLUSIVE); it cannot be made NOT VALID, and a CHECK's is rejected. ``None`` for a
    key the live catalog has enforced already (nothing checked: 0 ms, no scan), when no
    migration has altered its table (the replay does not follow enforcement)."""
    live = ctx.catalog_table(table) if ctx.table(table) is None else None
    con = live.constraints.get(ctx.live_constraint_name(table, name)) if live else None
    if con is not None and con.kind == "f" and con.enforced:
        return None
    if constraint_kind(ctx, table, name) not in (None, "foreign"):
        return Hit(
            f"PostgreSQL rejects ALTER CONSTRAINT {name} ENFORCED: only a foreign key's "
            "enforcement can be changed",
            f"drop {name} and add it again, NOT VALID, then VALIDATE it in a later step",
            severity=Severity.ERROR,
        )
    return Hit(
        f"ALTER CONSTRAINT {name} ENFORCED checks every row of {table} under an ACCESS "
        "EXCLUSIVE lock (reads and writes wait); it cannot be NOT VALID",
        f"in one transaction DROP CONSTRAINT {name} and ADD CONSTRAINT {name} FOREIGN KEY "
        "(…) REFERENCES … NOT VALID (new rows checked at once), then VALIDATE CONSTRAINT "
        f"{name} in a later step (SHARE UPDATE EXCLUSIVE: reads and writes go on)",
        relation=table,
    )
