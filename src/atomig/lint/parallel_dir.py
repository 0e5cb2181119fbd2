"""Linting a migrations directory on two cores.

History is sequential: each migration is linted against the schema the ones before it
built. So the parent lints the first part of the directory while a forked child (sharing the
parsed files, copy on write) lints the rest, from a snapshot of the history the parent's
part builds (taken while the engine replays the whole directory for its final schema). The
child sends its findings back through a pipe. Each migration is linted exactly as one
process lints it (same schema before it, same final schema, same rules), and the findings
are sorted afterwards, so the result is the same.

A child that fails is not trusted: the parent lints its part too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from atomig.lint.finding import Finding
from atomig.lint.forking import Row, can_fork, finding_rows, findings_of, in_parallel

if TYPE_CHECKING:
    from atomig.lint.engine import Engine, MigrationSource, ParsedFile, SourceFile
    from atomig.lint.schema import SchemaState

Linted = tuple[list[Finding], int, int]  # findings, files and statements reported on

# The parent's share of the statements (bench/lint_speed.py --migrations, this split ends
# both processes together).
PARENT_SHARE = 0.5


def lint_split(
    engine: Engine,
    migrations: Sequence[MigrationSource],
    schema: SchemaState,
    parse: Callable[[SourceFile], ParsedFile],
    cut: int,
    history: SchemaState | None = None,
) -> list[Linted] | None:
    """What :meth:`Engine.lint_migration` returns for each migration, in order, computed
    by two processes: this one lints the first ``cut`` migrations, a child the rest, from
    ``history`` (the state the first ``cut`` ups build; ``None``: the child replays them).
    ``schema`` then holds only the parent's part: nothing reads it after the directory.
    ``None`` when this process cannot fork safely (the caller then lints in one
    process)."""
    if not can_fork():
        return None
    # A large file inside is not split further (that would fork again).
    workers, engine.workers = engine.workers, 1

    def child() -> tuple[list[Flat], int]:
        state = history
        if state is None:
            state = schema
            for migration in migrations[:cut]:
                engine.replay_migration(migration, state, parse)
        rest = [engine.lint_migration(m, state, parse) for m in migrations[cut:]]
        return [_flat(linted) for linted in rest], engine.suppressed

    def parent() -> list[Linted]:
        return [engine.lint_migration(m, schema, parse) for m in migrations[:cut]]

    mine, sent = in_parallel(child, parent)
    engine.workers = workers  # (loose files after the directory may split again)
    if sent is not None:
        flat, suppressed = sent
        engine.suppressed += suppressed
        return mine + [_unflat(item) for item in flat]
    return mine + [engine.lint_migration(m, schema, parse) for m in migrations[cut:]]


def parent_part(
    migrations: Sequence[MigrationSource], parse: Callable[[SourceFile], ParsedFile]
) -> int:
    """The number of migrations the parent lints: the first ones holding its share of the
    up statements (parsing them, as the final schema needs anyway)."""
    sizes = []
    for migration in migrations:
        up = parse(migration.up) if migration.up else None
        sizes.append(1 + (len(up.script) if up and up.script else 0))
    goal, done = PARENT_SHARE * sum(sizes), 0
    for index, size in enumerate(sizes):
        done += size
        if done >= goal:
            return index + 1
    return len(sizes)


Flat = tuple[list[Row], int, int]


def _flat(linted: Linted) -> Flat:
    findings, files, statements = linted
    return finding_rows(findings), files, statements


def _unflat(flat: Flat) -> Linted:
    rows, files, statements = flat
    return findings_of(rows), files, statements
