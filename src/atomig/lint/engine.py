"""The lint engine: parse each file once, replay history, hand each statement to the rules
that target its node kind, then apply configuration, the size threshold and suppressions.

Pure: the live catalog arrives as :class:`~atomig.lint.catalog.CatalogFacts` values.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from atomig.errors import SourceError
from atomig.lint.catalog import CatalogFacts
from atomig.lint.context import LintContext, LintOptions
from atomig.lint.down_journal import UpRecord, UpRecorder
from atomig.lint.finding import Finding, Hit, Severity
from atomig.lint.foreign import as_foreign_alters
from atomig.lint.judge import Judge
from atomig.lint.planning import PlanOutcome, step_starts
from atomig.lint.registry import all_rules
from atomig.lint.rule import Rule
from atomig.lint.schema import SchemaState, key_of
from atomig.source.foreign_layouts import Misnamed, ToolTransaction
from atomig.sql.facts import QualifiedName, StatementFacts
from atomig.sql.parse import Script, Statement, parse_script

META_RULES = ("invalid-ignore", "unused-ignore")
# Below this many statements a file is linted in one process (a fork costs more).
PARALLEL_MIN_STATEMENTS = 2000
# Below this many migrations a directory is linted in one process.
PARALLEL_MIN_MIGRATIONS = 100
Tagged = tuple[int, int, str, int, Hit]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One SQL file to lint (``direction`` is ``None`` for a loose file).

    A section of a file holding both directions (dbmate) has the file's whole text in
    ``whole_text`` and, in ``text``, the same text with the other section blanked.
    ``tool_transaction``: how the tool that applies it wraps it in transactions (with
    ``--for-runner=other``). ``misnamed``: why a loose file
    that looks like a migration is not read as one of its directory.
    """

    path: str
    text: str
    direction: str | None = None
    whole_text: str | None = None
    tool_transaction: ToolTransaction = ToolTransaction.STATEMENTS
    misnamed: Misnamed | None = None

    @property
    def key(self) -> str:
        """Identifies the file in a run: its path, and its direction for a section."""
        if self.whole_text is None:
            return self.path
        return f"{self.path}#{self.direction}"


@dataclass(frozen=True, slots=True)
class MigrationSource:
    """A migration of a directory: its up and down files (either may be missing).

    ``report`` names the files reported on; the others are only replayed as history (the
    migrations before the files a user asked about).
    """

    name: str
    up: SourceFile | None
    down: SourceFile | None
    report: tuple[str, ...] = ("up", "down")
    # False for a migration that has no down by design (Flyway's repeatable ones); how
    # to name its down in messages (None: "the down file").
    needs_down: bool = True
    down_name: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A file and its parse (``error`` set instead when it does not parse)."""

    source: SourceFile
    script: Script | None
    error: SourceError | None = None


ContextSource = Callable[[Sequence[MigrationSource]], Iterable[Finding]]
"""An extra source of findings about the project as a whole (e.g. review state)."""


@dataclass(frozen=True, slots=True)
class LintResult:
    """Findings (sorted by file and position) and what was looked at."""

    findings: tuple[Finding, ...]
    files: int
    statements: int
    suppressed: int
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """The number of error-severity findings."""
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    def count(self, severity: Severity) -> int:
        """The number of findings of ``severity``."""
        return sum(1 for f in self.findings if f.severity is severity)


def parse_file(source: SourceFile) -> ParsedFile:
    """Parse a file; a syntax error is kept, not raised."""
    try:
        return ParsedFile(source, parse_script(source.text, source.path))
    except SourceError as error:
        return ParsedFile(source, None, error)


def referenced_relations(parsed: Iterable[ParsedFile]) -> set[QualifiedName]:
    """Every relation the statements lock or create (to ask the catalog about)."""
    from atomig.sql.classify import statement_facts
    from atomig.sql.versions import DEFAULT_LINT_VERSION

    names: set[QualifiedName] = set()
    for item in parsed:
        for stmt in item.script or ():
            facts = statement_facts(stmt, DEFAULT_LINT_VERSION)
            names.update(lock.relation for lock in facts.locks)
    return names


class Engine:
    """Runs the rules over parsed files; one engine per lint run."""

    def __init__(
        self,
        options: LintOptions,
        catalog: CatalogFacts | None = None,
        *,
        workers: int = 1,
    ) -> None:
        self.options = options
        self.workers = workers
        self.catalog = catalog
        rules = [
            r
            for r in all_rules().values()
            if r.id not in options.disabled and options.runner in r.runners
        ]
        self.rules = {r.id: r for r in all_rules().values()}
        self.finishers = [r for r in rules if r.finish and r.id not in META_RULES]
        # down-incomplete compares a down file with what its up changed: the replay of
        # each up keeps what it touches only when that rule runs.
        self.records_ups = any(r.id == "down-incomplete" for r in self.finishers)
        self.meta = [r for r in rules if r.id in META_RULES]
        self._checkers = [r for r in rules if r.check is not None]
        self._dispatch: dict[str | None, tuple[dict[str, list[Rule]], list[Rule]]] = {}
        self.suppressed = 0
        self.final_schema: SchemaState | None = None
        self._alter_cache: dict[tuple[str | None, frozenset[str]], list[Rule]] = {}
        # Shared by the contexts of the run: plans by file, facts by file (a down file's
        # rules read its up file's).
        self._plans: dict[tuple[str, str], PlanOutcome] = {}
        self._facts_by_path: dict[
            tuple[str, str | None], dict[int, StatementFacts]
        ] = {}

    def dispatch(
        self, direction: str | None
    ) -> tuple[dict[str, list[Rule]], list[Rule]]:
        """Rules by node kind (and the ones for every kind) for files of a direction."""
        found = self._dispatch.get(direction)
        if found is not None:
            return found
        by_kind: dict[str, list[Rule]] = {}
        for rule in self._checkers:
            if rule.applies is not None and not rule.applies(self.options, direction):
                continue
            for kind in rule.targets:
                by_kind.setdefault(kind, []).append(rule)
        every = by_kind.pop("*", [])
        for kind in list(by_kind):
            by_kind[kind] = [*by_kind[kind], *every]
        found = self._dispatch[direction] = (by_kind, every)
        return found

    # ---- one migration --------------------------------------------------------------------

    def lint_migration(
        self,
        migration: MigrationSource,
        schema: SchemaState,
        parse: Callable[[SourceFile], ParsedFile],
    ) -> tuple[list[Finding], int, int]:
        """Lint a migration's up (into ``schema``, which it then updates) and its down (on
        a fork of the state after the up); returns the findings and the files and
        statements reported on."""
        up = parse(migration.up) if migration.up else None
        down = parse(migration.down) if migration.down else None
        up_count = len(up.script) if up and up.script else 0
        statements = 0
        paths = set()  # (a dbmate file's two sections are one file)
        for item in (up, down):
            if item is not None and item.source.direction in migration.report:
                paths.add(item.source.path)
                statements += len(item.script) if item.script else 0
        files = len(paths)
        down_state = "ok"
        if down is None:
            down_state = "missing" if migration.needs_down else "ok"
        elif down.script is not None and not len(down.script) and up_count:
            down_state = "empty"
        findings: list[Finding] = []
        record: UpRecord | None = None
        if up is not None:
            recorder = None
            if self.records_ups and down and up.script and "down" in migration.report:
                recorder = UpRecorder(schema)
            try:
                findings += self.lint(
                    up,
                    schema,
                    migration=migration.name,
                    down_state=down_state,
                    down_name=migration.down_name,
                    report="up" in migration.report,
                    recorder=recorder,
                )
            finally:
                if recorder is not None and up.script is not None:
                    record = recorder.finish(up.script)
        if down is not None and "down" in migration.report:
            findings += self.lint(
                down,
                schema.fork(),
                migration=migration.name,
                down_state="ok",
                partner=up.script if up is not None else None,
                up_record=record,
                up_missing=migration.up is None,
            )
        return findings, files, statements

    @staticmethod
    def replay_migration(
        migration: MigrationSource,
        schema: SchemaState,
        parse: Callable[[SourceFile], ParsedFile],
    ) -> None:
        """Apply a migration's up to ``schema`` without linting it (what
        :meth:`lint_migration` does to ``schema``)."""
        up = parse(migration.up) if migration.up else None
        for stmt in up.script or () if up else ():
            schema.apply(stmt, migration.name)

    # ---- one file -------------------------------------------------------------------------

    def lint(
        self,
        parsed: ParsedFile,
        schema: SchemaState,
        *,
        migration: str,
        down_state: str = "ok",
        down_name: str | None = None,
        report: bool = True,
        partner: Script | None = None,
        up_record: UpRecord | None = None,
        recorder: UpRecorder | None = None,
        up_missing: bool = False,
    ) -> list[Finding]:
        """Lint one parsed file against ``schema`` (which it then updates); a down file's
        ``up_record`` is what its up changed (read by down-incomplete), which
        ``recorder`` records of an up file."""
        if parsed.script is None:
            error = parsed.error
            assert error is not None
            if not report:
                return []
            loc = error.location
            line, column = (loc.line, loc.column) if loc else (1, 1)
            rule = self.rules["syntax-error"]
            message = error.message + (f" ({error.hint})" if error.hint else "")
            return [
                Finding(
                    rule.id,
                    self.options.severities.get(rule.id, rule.severity),
                    parsed.source.path,
                    line,
                    column,
                    line,
                    column + 1,
                    message,
                    "fix the statement; atomig parses with PostgreSQL's own parser",
                )
            ]
        script = as_foreign_alters(parsed.script, schema, self.catalog)
        if not report and recorder is None:
            for stmt in script.statements:
                schema.apply(stmt, migration)
            return []
        ctx = LintContext(
            script,
            self.options,
            schema,
            self.catalog,
            direction=parsed.source.direction,
            migration=migration,
            tool_transaction=parsed.source.tool_transaction,
        )
        if recorder is not None and not ctx.other_runner:
            # (atomig's runner runs the down after a failed step: the state at each
            # step boundary is kept for down-incomplete)
            recorder.steps_from(step_starts(ctx.steps))
        if not report:
            for stmt in script.statements:
                schema.apply(stmt, migration)
            return []
        ctx.down_state = down_state
        ctx.down_name = down_name
        ctx.up_missing = up_missing
        ctx.misnamed = parsed.source.misnamed
        ctx.final_schema = self.final_schema
        ctx.partner = partner
        ctx.up_record = up_record
        ctx.plans = self._plans
        # (by path and direction: a dbmate file's up and down sections share a path)
        self._facts_by_path[script.path, ctx.direction] = ctx.facts_cache
        if partner is not None:
            ctx.partner_facts = self._facts_by_path.setdefault((partner.path, "up"), {})
        judge = Judge(self, ctx)
        found = None
        if self.workers > 1 and len(script) >= PARALLEL_MIN_STATEMENTS:
            from atomig.lint.parallel import collect_split

            found = collect_split(self, ctx, judge)
        if found is None:
            found = judge.findings(self.collect(ctx))
        return found + judge.meta()

    def collect(self, ctx: LintContext) -> list[tuple[Rule, Statement | None, Hit]]:
        """Every rule's hits on ``ctx``'s file, in order, replaying it into ``ctx.schema``."""
        raw: list[tuple[Rule, Statement | None, Hit]] = []
        direction = ctx.direction
        by_kind, every = self.dispatch(direction)
        schema, migration = ctx.schema, ctx.migration
        for stmt in ctx.script.statements:
            rules = by_kind.get(stmt.kind, every)
            if stmt.kind == "AlterTableStmt" and rules:
                rules = self._alter_rules(direction, _subtypes(stmt), rules)
            for rule in rules:
                assert rule.check is not None
                for hit in rule.check(stmt, ctx):
                    raw.append((rule, stmt, hit))
            schema.apply(stmt, migration)
            for name in ctx.facts(stmt).creates if stmt.kind in _CREATES else ():
                ctx.created_here.add(key_of(name))
        for rule in self.finishers:
            assert rule.finish is not None
            for stmt_or_none, hit in rule.finish(ctx):
                raw.append((rule, stmt_or_none, hit))
        return raw

    def collect_tagged(self, ctx: LintContext, keep: frozenset[str]) -> list[Tagged]:
        """Like :meth:`collect` for the rules in ``keep`` only, each hit tagged with its
        place in the sequential order: (statement index, rule position, rule id, statement
        index or -1, hit); finishers come after every statement."""
        out: list[Tagged] = []
        direction = ctx.direction
        by_kind, every = self.dispatch(direction)
        schema, migration = ctx.schema, ctx.migration
        kept: dict[int, list[tuple[int, Rule]]] = {}
        for stmt in ctx.script.statements:
            rules = by_kind.get(stmt.kind, every)
            if stmt.kind == "AlterTableStmt" and rules:
                rules = self._alter_rules(direction, _subtypes(stmt), rules)
            mine = kept.get(id(rules))
            if mine is None:
                mine = kept[id(rules)] = [
                    (pos, r) for pos, r in enumerate(rules) if r.id in keep
                ]
            index = stmt.index
            for pos, rule in mine:
                assert rule.check is not None
                for hit in rule.check(stmt, ctx):
                    out.append((index, pos, rule.id, index, hit))
            schema.apply(stmt, migration)
            for name in ctx.facts(stmt).creates if stmt.kind in _CREATES else ():
                ctx.created_here.add(key_of(name))
        after = len(ctx.script)
        for pos, rule in enumerate(self.finishers):
            if rule.id not in keep:
                continue
            assert rule.finish is not None
            for stmt_or_none, hit in rule.finish(ctx):
                where = -1 if stmt_or_none is None else stmt_or_none.index
                out.append((after, pos, rule.id, where, hit))
        return out

    def _alter_rules(
        self, direction: str | None, subtypes: frozenset[str], rules: list[Rule]
    ) -> list[Rule]:
        """The ALTER TABLE rules interested in these subcommands (cached per set)."""
        key = (direction, subtypes)
        found = self._alter_cache.get(key)
        if found is None:
            found = self._alter_cache[key] = [
                r for r in rules if not r.subtypes or r.subtypes & subtypes
            ]
        return found


_CREATES = frozenset(
    {"CreateStmt", "CreateTableAsStmt", "IndexStmt", "ViewStmt", "CreateSeqStmt"}
)


def _subtypes(stmt: Statement) -> frozenset[str]:
    return frozenset(
        item.get("AlterTableCmd", {}).get("subtype", "")
        for item in stmt.body.get("cmds", ())
    )


def lint_migrations(
    migrations: Sequence[MigrationSource],
    loose: Sequence[SourceFile] = (),
    *,
    options: LintOptions | None = None,
    catalog: CatalogFacts | None = None,
    context_sources: Sequence[ContextSource] = (),
    parsed: dict[str, ParsedFile] | None = None,
    workers: int = 1,
) -> LintResult:
    """Lint migrations in order (history replayed) and loose files (no history).

    ``parsed`` may hold files already parsed (by :attr:`SourceFile.key`), e.g. to ask
    the catalog about the relations they reference before linting; the files parsed
    here are added to it.
    ``workers=2`` lints a large file on two processes (same findings; see
    :mod:`atomig.lint.parallel`).
    """
    # Parse trees are millions of small containers that hold no cycles: letting the cyclic
    # collector scan them again and again would cost more than the whole lint run.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _lint_migrations(
            migrations,
            loose,
            options or LintOptions(),
            catalog,
            context_sources,
            parsed,
            workers,
        )
    finally:
        if was_enabled:
            gc.enable()


def _lint_migrations(
    migrations: Sequence[MigrationSource],
    loose: Sequence[SourceFile],
    options: LintOptions,
    catalog: CatalogFacts | None,
    context_sources: Sequence[ContextSource],
    parsed: dict[str, ParsedFile] | None,
    workers: int,
) -> LintResult:
    engine = Engine(options, catalog, workers=workers)
    cache = parsed if parsed is not None else {}

    def parse(source: SourceFile) -> ParsedFile:
        found = cache.get(source.key)
        if found is None:
            found = cache[source.key] = parse_file(source)
        return found

    cut = 0
    if workers > 1 and len(migrations) >= PARALLEL_MIN_MIGRATIONS:
        from atomig.lint.forking import can_fork
        from atomig.lint.parallel_dir import lint_split, parent_part

        if can_fork():
            cut = parent_part(migrations, parse)
    at_cut = None
    if len(migrations) > 1:
        # The schema once every up has run: what later migrations of the same directory
        # add (an index for a foreign key added one migration earlier) is known.
        final = SchemaState()
        for index, migration in enumerate(migrations):
            if index == cut and cut:
                # The history the child of a split directory starts from (replaying it
                # again there cost a tenth of the child's time).
                at_cut = final.snapshot()
            engine.replay_migration(migration, final, parse)
        engine.final_schema = final

    findings: list[Finding] = []
    texts: dict[str, str] = {}
    files = statements = 0
    schema = SchemaState()
    split = None
    if cut:
        split = lint_split(engine, migrations, schema, parse, cut, at_cut)
    for found, counted, count in split or (
        engine.lint_migration(m, schema, parse) for m in migrations
    ):
        findings += found
        files += counted
        statements += count
    for migration in migrations:
        for source in (migration.up, migration.down):
            if source is not None and source.direction in migration.report:
                texts[source.path] = source.whole_text or source.text
    for source in loose:
        item = parse(source)
        files += 1
        statements += len(item.script) if item.script else 0
        texts[source.path] = source.text
        findings += engine.lint(item, SchemaState(), migration=source.path)
    for context_source in context_sources:
        for finding in context_source(migrations):
            if finding.rule in options.disabled:
                continue
            configured = options.severities.get(finding.rule)
            if configured is not None and configured is not finding.severity:
                finding = replace(finding, severity=configured)
            findings.append(finding)
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule))
    return LintResult(tuple(findings), files, statements, engine.suppressed, texts)
