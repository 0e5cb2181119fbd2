"""Linting a rule's example the way the CLI lints a migrations directory."""

from __future__ import annotations

from atomig.lint import (
    Example,
    LintOptions,
    MigrationSource,
    SourceFile,
    lint_migrations,
)
from atomig.lint.finding import Finding
from atomig.sql.versions import ServerVersion

MAJORS = (10, 11, 12, 14, 15, 16, 18)
NO_OP_DOWN = "SELECT 1;"


def example_sources(
    example: Example,
) -> tuple[list[MigrationSource], list[SourceFile], str]:
    """The example as migrations and loose files; returns them and the path of the file
    under test."""
    if example.file_name is not None:
        return named_example_sources(example)
    migrations = []
    if example.before and example.direction == "up":
        migrations.append(
            MigrationSource(
                "20240101_0000_before",
                SourceFile("before.up.sql", example.before, "up"),
                SourceFile("before.down.sql", NO_OP_DOWN, "down"),
                report=(),
            )
        )
    if example.direction == "up":
        down = NO_OP_DOWN if example.down is None else example.down
        up_file = SourceFile("example.up.sql", example.sql, "up")
        down_file = SourceFile("example.down.sql", down, "down")
        target = "example.up.sql"
    else:
        up_file = SourceFile("example.up.sql", example.before or NO_OP_DOWN, "up")
        down_file = SourceFile("example.down.sql", example.sql, "down")
        target = "example.down.sql"
    migrations.append(MigrationSource("20240102_0000_example", up_file, down_file))
    return migrations, [], target


def named_example_sources(
    example: Example,
) -> tuple[list[MigrationSource], list[SourceFile], str]:
    """An example whose file has a name: a directory of atomig migrations holding it,
    read as ``atomig lint`` reads a directory."""
    from atomig.lint.directory import directory_sources

    name = example.file_name
    texts = {
        "20240101_0000_before.up.sql": example.before or NO_OP_DOWN,
        "20240101_0000_before.down.sql": NO_OP_DOWN,
        name: example.sql,
    }
    if name.endswith(".up.sql"):
        down = NO_OP_DOWN if example.down is None else example.down
        texts[name.removesuffix(".up.sql") + ".down.sql"] = down
    found = directory_sources({n: n for n in texts}, texts.__getitem__)
    return found.migrations, found.loose, name


def lint_example(example: Example, major: int) -> list[Finding]:
    """Every finding on the example's own file."""
    migrations, loose, target = example_sources(example)
    options = LintOptions(
        version=ServerVersion.from_major(major), runner=example.runner
    )
    result = lint_migrations(
        migrations,
        loose,
        options=options,
        context_sources=example_context_sources(example),
    )
    return [f for f in result.findings if f.path == target]


def example_context_sources(example: Example) -> tuple:
    """The project-level sources an example needs: the review gate, with the example
    migration approved (or not) as it is."""
    if example.reviewed is None:
        return ()
    return (_review_source(example.reviewed),)


def _review_source(reviewed: bool):
    from datetime import UTC, datetime

    from atomig.lint.rules.unreviewed_migration import review_findings
    from atomig.source.checksum import checksum_text
    from atomig.source.review import Approval

    def source(migrations):
        approvals = [
            Approval(
                m.name,
                checksum_text(m.up.text),
                checksum_text(m.down.text),
                datetime.now(UTC),
                "reviewer",
            )
            for m in migrations
            if reviewed and m.up and m.down
        ]
        return review_findings(migrations, lambda _directory: approvals)

    return source


def majors_for(example: Example) -> list[int]:
    """The majors to test an example on: every listed one inside its range."""
    return [m for m in MAJORS if example.holds_for(m)]
