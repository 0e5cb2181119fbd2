"""Linting one large file on two cores.

The rules are split in two groups. A forked child process (which shares the parsed file with
its parent, copy on write) replays the file and runs one group while the parent replays it
and runs the other; each judges its own hits (suppressions, positions: underlining an
element scans its statement, the costliest part of judging) and the child sends its
findings back through a pipe, with the suppressions it used. Each rule's hits stay in one
process and in order, and the findings are sorted by position, so they are the same as one
process finds. Every rule keeps its own state (its ``ctx.scratch``) and reads only what the
engine replays (schema, created objects, steps), which both processes replay identically.

A child that fails is not trusted: its rules are run again here, on a snapshot of the schema
taken before the file.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING

from atomig.lint.context import LintContext
from atomig.lint.forking import Row, can_fork, finding_rows, findings_of, in_parallel

if TYPE_CHECKING:
    from atomig.lint.engine import Engine, Tagged
    from atomig.lint.finding import Finding, Hit
    from atomig.lint.judge import Judge, Mark
    from atomig.lint.rule import Rule
    from atomig.sql.parse import Statement

# The child's rules: the split that ends both processes together on mixed DDL
# (bench/lint_speed.py, interleaved runs of the candidate splits; unsupported-feature, the
# second costliest rule, moved over when it came: 10k statements 1.87 -> 1.76 s;
# foreign-key-without-index came back once validate-in-same-transaction stopped asking
# every statement for its locks: the longer process of the 10k file 0.53 -> 0.50 s CPU;
# prefer-text, whose findings underline a column definition, went over once each process
# judged its own hits: 0.55 -> 0.52 s). Any other rule (a new one included) runs in the
# parent.
CHILD_RULES = frozenset(
    {
        "long-lock-hold",
        "prefer-jsonb",
        "prefer-text",
        "multiple-alters-same-table",
        "unsupported-feature",
    }
)


def collect_split(
    engine: Engine, ctx: LintContext, judge: Judge
) -> list[Finding] | None:
    """The findings ``judge`` makes of the hits of :meth:`Engine.collect`, computed by two
    processes; ``None`` when this process cannot fork safely (the caller then lints in one
    process)."""
    if not can_fork():
        return None
    child_rules = frozenset(r for r in engine.rules if r in CHILD_RULES)
    parent_rules = frozenset(r for r in engine.rules if r not in CHILD_RULES)
    before = ctx.schema.snapshot()

    def child() -> tuple[list[Row], int, list[Mark]]:
        suppressed = engine.suppressed
        hits = _hits(engine, ctx, engine.collect_tagged(ctx, child_rules))
        found = judge.findings(hits)
        return finding_rows(found), engine.suppressed - suppressed, judge.used_marks()

    found, sent = in_parallel(
        child,
        lambda: judge.findings(
            _hits(engine, ctx, engine.collect_tagged(ctx, parent_rules))
        ),
    )
    if sent is not None:
        rows, suppressed, marks = sent
        engine.suppressed += suppressed
        judge.mark_used(marks)
        return found + findings_of(rows)
    again = _fresh(ctx, before)
    theirs = engine.collect_tagged(again, child_rules)
    return found + judge.findings(_hits(engine, ctx, theirs))


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
        tool_transaction=ctx.tool_transaction,
    )
    again.down_state = ctx.down_state
    again.down_name = ctx.down_name
    again.up_missing = ctx.up_missing
    again.misnamed = ctx.misnamed
    again.final_schema = ctx.final_schema
    again.partner = ctx.partner
    again.partner_facts = ctx.partner_facts
    again.plans = ctx.plans
    return again
