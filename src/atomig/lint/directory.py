"""A migrations directory as lint reads it: its files in the layout most of them follow
(atomig's, golang-migrate's, Flyway's or dbmate's), as :class:`MigrationSource` values in
the order that tool applies them, and its other ``.sql`` files as loose files.

Pure: the caller lists the directory and reads the files (``read`` is asked for each file
once at most, and only for the files lint needs).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from atomig.lint.engine import MigrationSource, SourceFile
from atomig.source.dbmate_sections import dbmate_sections
from atomig.source.foreign_layouts import (
    ArrangedMigration,
    Layout,
    ToolTransaction,
    arrange,
)


@dataclass(frozen=True, slots=True)
class DirectorySources:
    """The migrations of a directory (history and reported files) and its loose files;
    ``unrecognised``: the loose files that look like migrations of a layout atomig does
    not know (no file of the directory follows one it knows)."""

    layout: Layout | None
    migrations: list[MigrationSource]
    loose: list[SourceFile]
    unrecognised: tuple[str, ...] = ()


_TOOL_TRANSACTION: dict[Layout | None, ToolTransaction] = {
    Layout.GOLANG_MIGRATE: ToolTransaction.ONE_QUERY,
    Layout.FLYWAY: ToolTransaction.SEPARATE,
}


def directory_sources(
    paths: Mapping[str, str],
    read: Callable[[str], str],
    chosen: Collection[str] | None = None,
) -> DirectorySources:
    """The directory holding the ``.sql`` files ``paths`` (file name → path).

    ``chosen`` limits reporting to those file names: the migrations before them are
    history, the ones after them are left out, and so are the other loose files.
    """
    texts: dict[str, str] = {}

    def text(name: str) -> str:
        found = texts.get(name)
        if found is None:
            found = texts[name] = read(name)
        return found

    arrangement = arrange(list(paths), text)
    migrations = [
        _migration(item, arrangement.layout, paths, text, chosen)
        for item in arrangement.migrations
    ]
    if chosen is not None:
        # Nothing after the last chosen migration matters for history.
        last = max((i for i, m in enumerate(migrations) if m.report), default=-1)
        migrations = migrations[: last + 1]
    loose = [
        SourceFile(paths[name], text(name), misnamed=arrangement.misnamed.get(name))
        for name in arrangement.loose
        if chosen is None or name in chosen
    ]
    unrecognised = tuple(
        name for name in arrangement.unrecognised if chosen is None or name in chosen
    )
    return DirectorySources(arrangement.layout, migrations, loose, unrecognised)


def _migration(
    item: ArrangedMigration,
    layout: Layout | None,
    paths: Mapping[str, str],
    text: Callable[[str], str],
    chosen: Collection[str] | None,
) -> MigrationSource:
    up = down = None
    if item.sections:
        assert item.up is not None
        up, down = _sections(paths[item.up], text(item.up))
        files: dict[str, str | None] = {"up": item.up, "down": item.up}
    else:
        # golang-migrate sends each file to the server as one query string; Flyway runs
        # a file in a transaction unless none of it can run in one.
        how = _TOOL_TRANSACTION.get(layout, ToolTransaction.STATEMENTS)
        if item.up is not None:
            up = SourceFile(paths[item.up], text(item.up), "up", tool_transaction=how)
        if item.down is not None:
            down = SourceFile(
                paths[item.down], text(item.down), "down", tool_transaction=how
            )
        files = {"up": item.up, "down": item.down}
    report = tuple(
        direction
        for direction, name in files.items()
        if name is not None and (chosen is None or name in chosen)
    )
    return MigrationSource(
        item.name,
        up,
        down,
        report,
        needs_down=item.needs_down,
        down_name=item.missing_down,
    )


def _sections(path: str, whole: str) -> tuple[SourceFile, SourceFile | None]:
    """A dbmate file's up and down sections, each as the whole text with the other
    section blanked, so that every finding's line and column are the file's own."""
    sections = dbmate_sections(whole)
    assert sections is not None  # (the layout took the file for its -- migrate:up)

    def runs(in_transaction: bool) -> ToolTransaction:
        # transaction:false: dbmate sends the section as one query string
        if in_transaction:
            return ToolTransaction.TRANSACTION
        return ToolTransaction.ONE_QUERY

    up = SourceFile(
        path,
        sections.up_text(whole),
        "up",
        whole_text=whole,
        tool_transaction=runs(sections.up_in_transaction),
    )
    down_text = sections.down_text(whole)
    if down_text is None:
        return up, None
    down = SourceFile(
        path,
        down_text,
        "down",
        whole_text=whole,
        tool_transaction=runs(sections.down_in_transaction),
    )
    return up, down
