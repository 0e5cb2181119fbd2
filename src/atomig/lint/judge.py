"""Hits to findings: the configured severity, the size threshold, suppressions (and the
findings about suppressions), positions, one finding per rule and position."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from atomig.lint.context import LintContext
from atomig.lint.finding import Finding, Hit, Severity
from atomig.lint.rule import Rule
from atomig.lint.suppress import Ignore, file_ignores, statement_ignores
from atomig.sql.facts import QualifiedName
from atomig.sql.nodes import reaches_children
from atomig.sql.parse import Statement
from atomig.sql.spans import ByteToChar, LineIndex
from atomig.sql.tokens import element_end

if TYPE_CHECKING:
    from atomig.lint.engine import Engine

# A suppression a judge used: (statement index, or -1 for the file's; its position among
# them; the rule it suppressed).
Mark = tuple[int, int, str]


class Judge:
    """Turns one file's hits into findings: configured severity, the size threshold,
    suppressions, positions, one finding per rule and position.

    Hits may come in several batches (one per process), each rule's hits in one batch and
    in order: the findings are sorted by position afterwards, so the batches' order does not
    matter.
    """

    def __init__(self, engine: Engine, ctx: LintContext) -> None:
        self.engine = engine
        self.ctx = ctx
        self.per_file = file_ignores(ctx.script)
        self.per_statement: dict[int, list[Ignore]] = {}
        self.lines: LineIndex | None = None
        self.to_char: ByteToChar | None = None
        self.seen: set[tuple[str, int, int, QualifiedName | None]] = set()

    def findings(
        self, raw: Iterable[tuple[Rule, Statement | None, Hit]]
    ) -> list[Finding]:
        """The findings of a batch of hits."""
        engine, ctx = self.engine, self.ctx
        severities = engine.options.severities
        script = ctx.script
        per_file, per_statement, seen = self.per_file, self.per_statement, self.seen
        findings: list[Finding] = []
        for rule, stmt, hit in raw:
            # (Severity.INFO is 0: test for None, not truth.)
            severity = severities.get(
                rule.id, rule.severity if hit.severity is None else hit.severity
            )
            message = hit.message
            if (
                ctx.direction == "down"
                and rule.category == "compatibility"
                and ctx.created_by_this_up(hit.relation)
            ):
                continue  # a down file undoing what its own up created
            if rule.locking and hit.relation is not None:
                if ctx.is_new(hit.relation):
                    continue
                small = self._small_table(hit.relation, stmt)
                if small is not None and severity > Severity.INFO:
                    severity = Severity.INFO
                    message += f" ({small})"
            if stmt is not None:
                ignores = per_statement.get(stmt.index)
                if ignores is None:
                    ignores = per_statement[stmt.index] = statement_ignores(stmt)
                if _suppress(rule.id, ignores) or _suppress(rule.id, per_file):
                    engine.suppressed += 1
                    continue
            elif _suppress(rule.id, per_file):
                engine.suppressed += 1
                continue
            if (
                hit.location is not None or hit.offset is not None
            ) and stmt is not None:
                if self.lines is None:
                    self.lines = LineIndex(script.text)
                    self.to_char = ByteToChar(script.text)
                assert self.to_char is not None
                offset = (
                    hit.offset
                    if hit.offset is not None
                    else self.to_char.offset(hit.location or 0)
                )
                line, column = self.lines.position(offset)
                end_line, end_column = self._element_end(stmt, offset, line, column)
            elif stmt is not None:
                span = stmt.span
                line, column, end_line, end_column = (
                    span.line,
                    span.column,
                    span.end_line,
                    span.end_column,
                )
            else:
                line, column, end_line, end_column = 1, 1, 1, 1
            # One hazard, one finding: a rule reports a statement once per position and
            # relation (TRUNCATE a, b is two hazards at one position).
            marker = (rule.id, line, column, hit.relation)
            if marker in seen:
                continue
            seen.add(marker)
            findings.append(
                Finding(
                    rule.id,
                    severity,
                    ctx.path,
                    line,
                    column,
                    end_line,
                    end_column,
                    message,
                    hit.fix,
                )
            )
        return findings

    def _element_end(
        self, stmt: Statement, offset: int, line: int, column: int
    ) -> tuple[int, int]:
        """Where the element a hit points at ends (its column definition, constraint,
        subcommand…); the statement's end when no element starts there on its first line,
        else one character."""
        assert self.lines is not None
        within = offset - stmt.start
        end = element_end(stmt.text, within) if within >= 0 else None
        if end is not None:
            end_line, end_column = self.lines.position(stmt.start + end - 1)
            return end_line, end_column + 1
        if line == stmt.span.line:
            return stmt.span.end_line, stmt.span.end_column
        return line, column + 1

    def used_marks(self) -> list[Mark]:
        """The suppressions used so far, for the judge of the same file in another
        process (:meth:`mark_used`)."""
        marks = [(-1, at, r) for at, ig in enumerate(self.per_file) for r in ig.used]
        for index, ignores in self.per_statement.items():
            marks += [(index, at, r) for at, ig in enumerate(ignores) for r in ig.used]
        return marks

    def mark_used(self, marks: list[Mark]) -> None:
        """Record the suppressions another process's judge of this file used."""
        statements = self.ctx.script.statements
        for index, at, rule_id in marks:
            if index < 0:
                ignores = self.per_file
            else:
                found = self.per_statement.get(index)
                if found is None:
                    found = self.per_statement[index] = statement_ignores(
                        statements[index]
                    )
                ignores = found
            ignores[at].used.add(rule_id)

    def meta(self) -> list[Finding]:
        """Findings about the suppressions themselves, once every batch is judged."""
        per_statement = self.per_statement
        ignores = self.per_file + [
            ignore
            for stmt in self.ctx.script.statements
            if stmt.comments  # (ignores are comments)
            for ignore in (
                per_statement[stmt.index]
                if stmt.index in per_statement
                else statement_ignores(stmt)
            )
        ]
        return self._meta(ignores)

    def _small_table(
        self, relation: QualifiedName, stmt: Statement | None
    ) -> str | None:
        """Why a table counts as small (only with a live catalog), else ``None``; with
        its inheritance children when ``stmt`` reaches them."""
        ctx = self.ctx
        if self.engine.catalog is None:
            return None
        live = ctx.catalog_table(relation)
        threshold = self.engine.options.small_table_rows
        if live is not None:
            rows, children = live.estimated_rows, ""
            if live.child_rows and (
                stmt is None or reaches_children(stmt.kind, stmt.body, relation)
            ):
                rows, children = (
                    rows + live.child_rows,
                    " with its inheritance children",
                )
            if rows < threshold:
                return (
                    f"{relation} has ~{rows} rows{children}, below the "
                    f"{threshold}-row threshold: info"
                )
            return None
        known = ctx.table(relation)
        if known is not None and not known.placeholder:
            return f"{relation} is created by a pending migration: info"
        return None

    def _meta(self, ignores: list[Ignore]) -> list[Finding]:
        engine, ctx = self.engine, self.ctx
        enabled = {rule.id: rule for rule in engine.meta}
        found: list[Finding] = []

        def add(rule_id: str, ignore: Ignore, message: str, fix: str) -> None:
            rule = enabled.get(rule_id)
            if rule is None:
                return
            found.append(
                Finding(
                    rule_id,
                    engine.options.severities.get(rule_id, rule.severity),
                    ctx.path,
                    ignore.line,
                    ignore.column,
                    ignore.line,
                    ignore.end_column,
                    message,
                    fix,
                )
            )

        for ignore in ignores:
            unknown = [r for r in ignore.rules if r not in engine.rules]
            if not ignore.rules:
                add(
                    "invalid-ignore",
                    ignore,
                    "suppression names no rule",
                    "write: -- atomig-ignore: rule-id reason",
                )
            elif unknown:
                add(
                    "invalid-ignore",
                    ignore,
                    f"unknown rule {', '.join(unknown)} in a suppression",
                    "`atomig lint --explain RULE` lists the rules; fix the id",
                )
            elif not ignore.reason:
                add(
                    "invalid-ignore",
                    ignore,
                    f"suppression of {', '.join(ignore.rules)} gives no reason",
                    "say why it is safe after the rule ids, for the reviewer",
                )
            unused = [
                r
                for r in ignore.rules
                if r not in ignore.used and r in engine.rules and r not in unknown
            ]
            if unused and not unknown:
                add(
                    "unused-ignore",
                    ignore,
                    f"suppression of {', '.join(unused)} suppresses nothing",
                    "remove it (or the rule ids that no longer fire)",
                )
        return found


def _suppress(rule_id: str, ignores: list[Ignore]) -> bool:
    for ignore in ignores:
        if rule_id in ignore.rules:
            ignore.used.add(rule_id)
            return True
    return False
