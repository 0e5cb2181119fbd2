"""Linting one large file on two cores.

The rules are split in two groups. A forked child process (which shares the parsed file with
its parent, copy on write) replays the file and runs one group while the parent replays it
and runs the other, then judges its own hits (suppressions, positions) while the child
finishes; the child sends its hits back through a pipe and the parent judges them too. Each
rule's hits stay in one process and in order, and the findings are sorted by position, so
they are the same as one process finds. Every rule keeps its own state (its
``ctx.scratch``) and reads only what the engine replays (schema, created objects, steps),
which both processes replay identically.

A child that fails is not trusted: its rules are run again here, on a snapshot of the schema
taken before the file.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING

from atomig.lint.context import LintContext
from atomig.lint.finding import Hit, Severity
from atomig.lint.forking import can_fork, in_parallel
from atomig.sql.facts import QualifiedName

if TYPE_CHECKING:
    from collections.abc import Callable

    from atomig.lint.engine import Engine, Tagged
    from atomig.lint.finding import Finding
    from atomig.lint.rule import Rule
    from atomig.sql.parse import Statement

# The child's rules: the split that ends both processes together on mixed DDL
# (bench/lint_speed.py, interleaved runs of the candidate splits; unsupported-feature, the
# second costliest rule, moved over when it came: 10k statements 1.87 -> 1.76 s;
# foreign-key-without-index came back once validate-in-same-transaction stopped asking
# every statement for its locks: the longer process of the 10k file 0.53 -> 0.50 s CPU).
# Any other rule (a new one included) runs in the parent, which also judges every hit.
CHILD_RULES = frozenset(
    {
        "long-lock-hold",
        "prefer-jsonb",
        "multiple-alters-same-table",
        "unsupported-feature",
    }
)


def collect_split(
    engine: Engine,
    ctx: LintContext,
    judge: Callable[[list[tuple[Rule, Statement | None, Hit]]], list[Finding]],
) -> list[Finding] | None:
    """The findings ``judge`` makes of the hits of :meth:`Engine.collect`, computed by two
    processes (the parent judges its own hits while the child still runs); ``None`` when
    this process cannot fork safely (the caller then lints in one process)."""
    if not can_fork():
        return None
    child_rules = frozenset(r for r in engine.rules if r in CHILD_RULES)
    parent_rules = frozenset(r for r in engine.rules if r not in CHILD_RULES)
    before = ctx.schema.snapshot()
    found, sent = in_parallel(
        lambda: _flat(engine.collect_tagged(ctx, child_rules)),
        lambda: judge(_hits(engine, ctx, engine.collect_tagged(ctx, parent_rules))),
    )
    theirs = None if sent is None else _unflat(sent)
    if theirs is None:
        again = _fresh(ctx, before)
        theirs = engine.collect_tagged(again, child_rules)
    return found + judge(_hits(engine, ctx, theirs))


def _hits(
    engine: Engine, ctx: LintContext, tagged: list[Tagged]
) -> list[tuple[Rule, Statement | None, Hit]]:
    """Tagged hits in the order one process finds them."""
    statements = ctx.script.statements
    rules = engine.rules
    return [
        (rules[rule_id], statements[where] if where >= 0 else None, hit)
        for _, _, rule_id, where, hit in sorted(tagged, key=itemgetter(0, 1))
    ]


# Hits cross the pipe as plain tuples: pickling dataclass instances costs twice as much.
Flat = tuple[
    int,
    int,
    str,
    int,
    str,
    str,
    "tuple[str | None, str] | None",
    "int | None",
    "int | None",
    "int | None",
]


def _flat(tagged: list[Tagged]) -> list[Flat]:
    return [
        (
            a,
            b,
            rule_id,
            where,
            hit.message,
            hit.fix,
            None if hit.relation is None else (hit.relation.schema, hit.relation.name),
            hit.location,
            hit.offset,
            None if hit.severity is None else int(hit.severity),
        )
        for a, b, rule_id, where, hit in tagged
    ]


def _unflat(flat: list[Flat]) -> list[Tagged]:
    return [
        (
            a,
            b,
            rule_id,
            where,
            Hit(
                message,
                fix,
                None if relation is None else QualifiedName(*relation),
                location,
                offset,
                None if severity is None else Severity(severity),
            ),
        )
        for a, b, rule_id, where, message, fix, relation, location, offset, severity in flat
    ]


def _fresh(ctx: LintContext, schema: object) -> LintContext:
    """A new context for the same file, from ``schema`` (the state before the file)."""
    from atomig.lint.schema import SchemaState

    assert isinstance(schema, SchemaState)
    again = LintContext(
        ctx.script,
        ctx.options,
        schema,
        ctx.catalog,
        direction=ctx.direction,
        migration=ctx.migration,
    )
    again.down_state = ctx.down_state
    again.final_schema = ctx.final_schema
    again.partner = ctx.partner
    again.partner_facts = ctx.partner_facts
    again.plans = ctx.plans
    return again
