"""The lint verb: find the files, read the live catalog when a database is configured, run
the pure engine."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import attrgetter
from pathlib import Path
from typing import Any

from atomig.config import Settings
from atomig.errors import ConfigError, DatabaseUnavailable, SourceError, UsageError
from atomig.events import Event, Reporter, null_reporter
from atomig.lint.catalog import CatalogFacts
from atomig.lint.context import DEFAULT_SMALL_TABLE_ROWS, RUNNERS, LintOptions
from atomig.lint.directory import DirectorySources, directory_sources
from atomig.lint.engine import (
    ContextSource,
    LintResult,
    MigrationSource,
    ParsedFile,
    SourceFile,
    lint_migrations,
    parse_file,
    referenced_relations,
)
from atomig.lint.finding import Severity
from atomig.lint.helpers import copied_tables
from atomig.lint.registry import all_rules
from atomig.source.foreign_layouts import Layout, may_be_migration
from atomig.source.layout import read_base_schema, reject_nul
from atomig.sql.versions import DEFAULT_LINT_VERSION, ServerVersion

__all__ = ["LintReport", "lint", "lint_options"]

# Extra sources of findings about the project as a whole (the review gate of issue 8 adds
# one here): each takes the migrations and yields findings.
CONTEXT_SOURCES: tuple[ContextSource, ...] = ()
_MIN_MAJOR, _MAX_MAJOR = 10, 30


@dataclass(frozen=True, slots=True)
class LintReport:
    """The lint result plus how it was obtained."""

    result: LintResult
    options: LintOptions
    database: str | None
    # The parsed files by SourceFile.key: the path, and the direction for a section of a
    # file that holds both (statements and parse trees).
    parsed: Mapping[str, ParsedFile] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def failed(self) -> bool:
        """True when an error-severity finding remains (exit 1)."""
        return self.result.errors > 0


def lint_options(
    settings: Settings, *, pg_version: int | None, runner: str | None
) -> LintOptions:
    """Options from ``[lint]`` in atomig.toml, overridden by the command line.

    Raises:
        ConfigError: unknown keys, unknown rule ids, bad severities or thresholds.
    """
    table: Mapping[str, Any] = settings.extra.get("lint", {}) or {}
    where = f"{settings.config_file or 'configuration'}: [lint]"
    known = {"disable", "severity", "small_table_rows", "runner", "pg_version"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(known))}",
        )
    rules = all_rules()
    disabled = table.get("disable", [])
    if not isinstance(disabled, list) or not all(isinstance(r, str) for r in disabled):
        raise ConfigError(f"{where}: disable must be a list of rule ids")
    severities: dict[str, Severity] = {}
    for rule_id, value in dict(table.get("severity", {})).items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: severity of {rule_id} must be a string")
        try:
            severities[rule_id] = Severity.parse(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    for rule_id in [*disabled, *severities]:
        if rule_id not in rules:
            raise ConfigError(
                f"{where}: unknown rule {rule_id!r}",
                hint="`atomig lint --explain RULE` and docs/rules/ list the rules",
            )
    rows = table.get("small_table_rows", DEFAULT_SMALL_TABLE_ROWS)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ConfigError(f"{where}: small_table_rows must be a non-negative integer")
    chosen_runner = runner or table.get("runner", "atomig")
    if chosen_runner not in RUNNERS:
        raise UsageError(f"unknown runner {chosen_runner!r}: use atomig or other")
    major = pg_version if pg_version is not None else table.get("pg_version")
    if major is not None and (
        isinstance(major, bool)
        or not isinstance(major, int)
        or not _MIN_MAJOR <= major <= _MAX_MAJOR
    ):
        raise UsageError(
            f"--pg-version must be a PostgreSQL major version from {_MIN_MAJOR} on, "
            f"got {major!r}"
        )
    return LintOptions(
        version=ServerVersion.from_major(major) if major else DEFAULT_LINT_VERSION,
        runner=chosen_runner,
        small_table_rows=rows,
        disabled=frozenset(disabled),
        severities=severities,
        on_failure=settings.on_failure,
    )


def _read(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{path} is not valid UTF-8 (byte {exc.start})", hint="save it as UTF-8"
        ) from None
    reject_nul(text, path)
    return text


def _directory(directory: Path, chosen: set[Path] | None) -> DirectorySources:
    """Migrations of a directory, in its layout (lenient: a missing down is a finding,
    not an error); ``chosen`` limits reporting to those files (the rest is history)."""
    # By name: the same order as sorting the paths (one directory), without pathlib's
    # comparison of parts (60 ms for 2,000 files).
    paths = {
        path.name: str(path)
        for path in sorted(directory.glob("*.sql"), key=attrgetter("name"))
    }
    names = None if chosen is None else {path.name for path in chosen}
    return directory_sources(paths, lambda name: _read(directory / name), names)


@dataclass(slots=True)
class _Collected:
    migrations: list[MigrationSource] = field(default_factory=list)
    loose: list[SourceFile] = field(default_factory=list)
    # The layout of each directory read, with its migrations (None: no migration).
    layouts: list[tuple[Path, Layout | None]] = field(default_factory=list)

    def add(self, directory: Path, found: DirectorySources, report: Reporter) -> None:
        self.migrations += found.migrations
        self.loose += found.loose
        self.layouts.append((directory, found.layout))
        if found.unrecognised:
            names = ", ".join(found.unrecognised[:3])
            more = len(found.unrecognised) - 3
            names += f" and {more} more" if more > 0 else ""
            report(
                Event(
                    "lint-layout-unknown",
                    f"{directory}: {names} look like migrations, but no file there "
                    "follows a layout atomig knows (atomig, golang-migrate, Flyway, "
                    "dbmate): each is linted alone, without the history of the "
                    "migrations before it",
                    level="warning",
                    data={"directory": str(directory), "files": found.unrecognised},
                )
            )


def _collect(settings: Settings, paths: Sequence[Path], report: Reporter) -> _Collected:
    collected = _Collected()
    if not paths:
        if not settings.migrations_dir.is_dir():
            raise SourceError(
                f"migrations directory {settings.migrations_dir} does not exist",
                hint="pass the files to lint, or run `atomig init`",
            )
        directory = settings.migrations_dir
        collected.add(directory, _directory(directory, None), report)
        return collected
    by_directory: dict[Path, set[Path]] = {}
    for raw in paths:
        path = raw.resolve() if raw.is_absolute() else (settings.project_dir / raw)
        if not path.exists():
            raise UsageError(f"{raw} does not exist")
        if path.is_dir():
            collected.add(path, _directory(path, None), report)
            continue
        if not may_be_migration(path.name):
            collected.loose.append(SourceFile(str(path), _read(path)))
            continue
        by_directory.setdefault(path.parent, set()).add(path)
    for directory, chosen in by_directory.items():
        collected.add(directory, _directory(directory, chosen), report)
    return collected


def _default_runner(
    settings: Settings, runner: str | None, collected: _Collected, report: Reporter
) -> str | None:
    """``"other"`` when the user chose no runner and the migrations follow another
    tool's layout (atomig applies only its own), else ``None`` (the usual default)."""
    if runner is not None or "runner" in (settings.extra.get("lint") or {}):
        return None
    layouts = {layout for _, layout in collected.layouts if layout is not None}
    if not layouts or Layout.ATOMIG in layouts:
        return None
    for directory, layout in collected.layouts:
        if layout is None:
            continue
        report(
            Event(
                "lint-layout",
                f"{directory} follows {layout.value}'s layout: linted as "
                "--for-runner=other (atomig applies only its own layout; "
                "--for-runner=atomig to lint as atomig's runner)",
                data={"directory": str(directory), "layout": layout.value},
            )
        )
    return "other"


def lint(
    settings: Settings,
    paths: Sequence[Path] = (),
    *,
    pg_version: int | None = None,
    runner: str | None = None,
    use_database: bool = True,
    report: Reporter = null_reporter,
) -> LintReport:
    """Lint migration files (default: the configured migrations directory, ups and downs).

    With a configured database (never the embedded default: lint must work offline) the live
    catalog adds table sizes, real column types and function volatility, and the server's
    version is the default target version.

    Raises:
        UsageError, ConfigError, SourceError: bad arguments, configuration or files.
        DatabaseUnavailable: the configured database cannot be reached.
    """
    options = lint_options(settings, pg_version=pg_version, runner=runner)
    collected = _collect(settings, paths, report)
    migrations, loose = collected.migrations, collected.loose
    if _default_runner(settings, runner, collected, report) is not None:
        options = replace(options, runner="other")
    base = read_base_schema(settings) if migrations else None
    if base is not None:
        # The schema the migrations start from is history, never reported on.
        source = SourceFile(str(settings.base_schema), base, "up")
        migrations = [MigrationSource("base_schema", source, None, ()), *migrations]
    catalog: CatalogFacts | None = None
    database = None
    parsed: dict[str, ParsedFile] = {}
    if use_database and settings.database_url:
        sources = [f for m in migrations for f in (m.up, m.down) if f] + loose
        parsed.update((f.key, parse_file(f)) for f in sources)
        names = {rel.name for rel in referenced_relations(parsed.values())}
        # The sources of whole-table copies too (a view or a small table is no bulk copy).
        names.update(
            name.name
            for item in parsed.values()
            for stmt in item.script or ()
            for name, _ in copied_tables(stmt)
        )
        catalog, database = _read_catalog(settings, names, report)
        if pg_version is None and "pg_version" not in (
            settings.extra.get("lint") or {}
        ):
            options = replace(options, version=catalog.server_version)
    result = lint_migrations(
        migrations,
        loose,
        options=options,
        catalog=catalog,
        context_sources=(*CONTEXT_SOURCES, *_review_sources(settings)),
        parsed=parsed,
        workers=min(2, os.cpu_count() or 1),
    )
    return LintReport(result, options, database, parsed)


def _review_sources(settings: Settings) -> tuple[ContextSource, ...]:
    """The review gate's findings, in projects that use it (an approvals file exists, or
    ``require_review`` is set in the configuration or any of its environments)."""
    from atomig.config import read_config_file
    from atomig.lint.rules.unreviewed_migration import review_findings
    from atomig.source.review import review_file_path

    data, _ = read_config_file(settings.project_dir, settings.config_file)
    environments = data.get("environments") or {}
    configured = settings.require_review or any(
        isinstance(table, dict) and table.get("require_review")
        for table in environments.values()
    )
    if not configured and not review_file_path(settings.migrations_dir).is_file():
        return ()
    from atomig.api.review import read_approvals  # (only projects that use the gate)

    cache: dict[Path, Any] = {}

    def approvals_for(directory: Path) -> Any:
        if directory not in cache:
            cache[directory] = read_approvals(directory)
        return cache[directory]

    return (lambda migrations: review_findings(migrations, approvals_for),)


def _read_catalog(
    settings: Settings, names: set[str], report: Reporter
) -> tuple[CatalogFacts, str]:
    from atomig.db.connect import connect
    from atomig.db.dsn import parse_target
    from atomig.db.lint_catalog import read_lint_catalog

    target = parse_target(settings.database_url or "", settings.database_url_source)
    try:
        conn = connect(target, application_name="atomig lint")
    except DatabaseUnavailable as error:
        raise DatabaseUnavailable(
            error.message,
            hint="check the URL and that the server is up, or lint offline with "
            "--no-database (sizes and real column types are then unknown)",
        ) from None
    with conn:
        catalog = read_lint_catalog(conn, names, target.display)
    report(
        Event(
            "lint-catalog",
            f"read the catalog of {target.display} (PostgreSQL {catalog.server_version}, "
            f"{len(catalog.tables)} of the tables the files name)",
            data={"database": target.display, "tables": len(catalog.tables)},
        )
    )
    return catalog, target.display
