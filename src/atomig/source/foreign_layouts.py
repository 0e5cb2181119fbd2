"""Migration directories in another tool's layout: golang-migrate, Flyway and dbmate, next
to atomig's own.

``atomig lint`` reads a directory in the layout most of its migration files follow, orders
the migrations the way that tool applies them and pairs each up with its down. A file of
another layout, or one that looks like a migration but follows none, is set apart with
what the directory's layout expected. Only file names decide (plus, for dbmate, whether
the file has a ``-- migrate:up`` line: dbmate refuses a file without). Pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from atomig.source.dbmate_sections import dbmate_sections
from atomig.source.layout import parse_file_name


class Layout(Enum):
    """A tool's naming of migration files (the value is the tool's name)."""

    ATOMIG = "atomig"
    GOLANG_MIGRATE = "golang-migrate"
    FLYWAY = "Flyway"
    DBMATE = "dbmate"

    @property
    def pattern(self) -> str:
        """How the layout names a migration's files (for messages)."""
        return _PATTERNS[self]


_PATTERNS = {
    Layout.ATOMIG: "YYYYMMDD_HHMM_<slug>.up.sql and YYYYMMDD_HHMM_<slug>.down.sql "
    "(`atomig new SLUG` writes both)",
    Layout.GOLANG_MIGRATE: "<version>_<title>.up.sql and <version>_<title>.down.sql "
    "(version: an unsigned integer)",
    Layout.FLYWAY: "V<version>__<description>.sql and its undo "
    "U<version>__<description>.sql (version: 1, 1.1 or 1_1), or "
    "R__<description>.sql for a repeatable migration",
    Layout.DBMATE: "<version>_<name>.sql holding a `-- migrate:up` and a "
    "`-- migrate:down` section",
}


class ToolTransaction(Enum):
    """How the tool that applies a file runs it, as far as transactions go."""

    # Statement by statement, or unknown: the usual model of --for-runner=other.
    STATEMENTS = "statements"
    # Inside one transaction the tool opens (a dbmate section by default).
    TRANSACTION = "transaction"
    # Sent as one query string (golang-migrate's files, a dbmate section marked
    # transaction:false): PostgreSQL runs several statements as one implicit transaction.
    ONE_QUERY = "one-query"
    # Flyway: the file in one transaction, or in none when no statement of it can run in
    # one (CONCURRENTLY …); a file mixing both is refused (its default, mixed=false).
    SEPARATE = "separate"


class Role(Enum):
    """What a file is to its migration."""

    UP = "up"
    DOWN = "down"
    BOTH = "both"  # dbmate: the up and down sections of one file
    REPEATABLE = "repeatable"  # Flyway R__: applied after every versioned one, no down


# Where the tool applies a migration: (0, version parts, "") for a versioned migration,
# (1, (), description) for a Flyway repeatable one (after every versioned one).
Order = tuple[int, tuple[int, ...], str]


@dataclass(frozen=True, slots=True)
class LayoutName:
    """A file name read in one layout: where its migration is applied, the migration's
    name (shared by its up and down files) and the file's role."""

    layout: Layout
    order: Order
    migration: str
    role: Role


_GOLANG = re.compile(r"([0-9]+)_(.*)\.(up|down)\.sql")
_FLYWAY = re.compile(r"([VU])([0-9]+(?:[._][0-9]+)*)__(.+)\.sql")
_FLYWAY_REPEATABLE = re.compile(r"R__(.+)\.sql")
_DBMATE = re.compile(r"([0-9]+).*\.sql")
# Names that look like a migration: an up or down file, a Flyway-like prefix, a number.
_LOOKS_LIKE = re.compile(r".*\.(up|down)\.sql|([VU][0-9]|R_|[0-9]+[-_.]).*\.sql")
_UINT64 = 2**64  # golang-migrate's versions are uint64 (strconv.ParseUint)


def may_be_migration(name: str) -> bool:
    """``name`` may be a migration of some layout (when its directory says which).

    >>> may_be_migration("000001_init.up.sql"), may_be_migration("seed.sql")
    (True, False)
    """
    return bool(_LOOKS_LIKE.fullmatch(name) or _DBMATE.fullmatch(name))


def flyway_version(text: str) -> tuple[int, ...]:
    """A Flyway version as Flyway compares it: numeric parts, ``_`` read as ``.``,
    trailing zeros dropped.

    >>> flyway_version("1.10") > flyway_version("1.2"), flyway_version("2_0")
    (True, (2,))
    """
    parts = [int(part) for part in re.split(r"[._]", text)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def read_name(name: str, layout: Layout, text: Callable[[], str]) -> LayoutName | None:
    """``name`` read in ``layout``, or ``None`` when it is no migration of that layout
    (``text`` is asked only for a dbmate name).

    >>> read_name("000010_init.up.sql", Layout.GOLANG_MIGRATE, str)
    LayoutName(layout=<Layout.GOLANG_MIGRATE: 'golang-migrate'>, order=(0, (10,), ''), \
migration='000010_init', role=<Role.UP: 'up'>)
    >>> read_name("V1_1__init.sql", Layout.FLYWAY, str).order
    (0, (1, 1), '')
    """
    if layout is Layout.ATOMIG:
        try:
            mid, direction = parse_file_name(name)
        except ValueError:
            return None
        return LayoutName(layout, (0, (mid.order_key,), ""), mid.name, Role(direction))
    if layout is Layout.GOLANG_MIGRATE:
        match = _GOLANG.fullmatch(name)
        if match is None or int(match[1]) >= _UINT64:
            return None
        stem = name[: match.start(3) - 1]
        return LayoutName(layout, (0, (int(match[1]),), ""), stem, Role(match[3]))
    if layout is Layout.FLYWAY:
        match = _FLYWAY.fullmatch(name)
        if match is not None:
            role = Role.UP if match[1] == "V" else Role.DOWN
            order: Order = (0, flyway_version(match[2]), "")
            return LayoutName(layout, order, "V" + name[1:-4], role)
        match = _FLYWAY_REPEATABLE.fullmatch(name)
        if match is None:
            return None
        return LayoutName(layout, (1, (), match[1]), name[:-4], Role.REPEATABLE)
    match = _DBMATE.fullmatch(name)
    if match is None or not _has_up_marker(text()):
        return None
    return LayoutName(layout, (0, (int(match[1]),), ""), name[:-4], Role.BOTH)


def _has_up_marker(text: str) -> bool:
    # (a substring search first: most files named <digits>….sql are no dbmate file)
    return "migrate:up" in text and dbmate_sections(text) is not None


@dataclass(frozen=True, slots=True)
class Misnamed:
    """Why a file is not read as a migration of its directory, and the name expected."""

    reason: str
    expected: str


@dataclass(frozen=True, slots=True)
class ArrangedMigration:
    """A migration of the directory: its files (by name) and what its down should be.

    ``up`` holds both sections when ``sections`` (dbmate); ``missing_down`` names the
    down for messages (``None``: atomig's own wording); ``needs_down`` is false for a
    Flyway repeatable migration.
    """

    name: str
    up: str | None
    down: str | None
    sections: bool = False
    needs_down: bool = True
    missing_down: str | None = None


@dataclass(frozen=True, slots=True)
class Arrangement:
    """A directory read in its layout: the migrations in the order the tool applies them,
    and the other ``.sql`` files (``misnamed`` says why those that look like migrations
    are not read as one). In a directory where no file follows a layout atomig knows
    (goose's, for one), no name can be advised: ``unrecognised`` lists the files that
    look like migrations instead."""

    layout: Layout | None
    migrations: tuple[ArrangedMigration, ...]
    loose: tuple[str, ...]
    misnamed: Mapping[str, Misnamed]
    unrecognised: tuple[str, ...] = ()


def _first_reading(name: str, text: Callable[[], str]) -> LayoutName | None:
    """``name`` in the first layout it fits: atomig's own, then the others in turn."""
    for layout in Layout:
        found = read_name(name, layout, text)
        if found is not None:
            return found
    return None


def _reader(text: Callable[[str], str], name: str) -> Callable[[], str]:
    return lambda: text(name)


def _missing_down(reading: LayoutName, up: str) -> str | None:
    if reading.layout is Layout.GOLANG_MIGRATE:
        return up[: -len(".up.sql")] + ".down.sql"
    if reading.layout is Layout.FLYWAY:
        return "U" + up[1:]
    if reading.layout is Layout.DBMATE:
        return f"the `-- migrate:down` section of {up}"
    return None


def arrange(names: Sequence[str], text: Callable[[str], str]) -> Arrangement:
    """The migrations of a directory holding the ``.sql`` files ``names``, in the layout
    most of them follow (atomig's on a tie), ordered as that tool applies them.

    ``text(name)`` reads a file (asked only for names dbmate could take).
    """
    # A name several layouts take (20240101_1200_x.up.sql is golang-migrate's too) votes
    # for the first: atomig's own, then the others.
    first = {name: _first_reading(name, _reader(text, name)) for name in names}
    votes = Counter(found.layout for found in first.values() if found)
    layout = max(Layout, key=lambda each: votes[each]) if votes else None
    if layout is None:
        lookalikes = tuple(n for n in sorted(names) if _LOOKS_LIKE.fullmatch(n))
        return Arrangement(None, (), tuple(sorted(names)), {}, lookalikes)
    expected = layout.pattern
    slots: dict[Order, dict[Role, tuple[str, LayoutName]]] = {}
    loose: list[str] = []
    misnamed: dict[str, Misnamed] = {}
    for name in sorted(names):
        found = first[name]
        mine = found
        if found is None or found.layout is not layout:
            mine = read_name(name, layout, _reader(text, name))
        if mine is None:
            loose.append(name)
            reason = _stray_reason(name, found, layout)
            if reason is not None:
                misnamed[name] = Misnamed(reason, expected)
            continue
        slot = slots.setdefault(mine.order, {})
        taken = slot.get(mine.role) or slot.get(Role.BOTH)
        if taken is not None:
            loose.append(name)
            misnamed[name] = Misnamed(
                f"has the same version as {taken[0]} ({mine.layout.value} refuses two "
                "migrations of one version)",
                expected,
            )
            continue
        slot[mine.role] = (name, mine)
    migrations = [_migration(slots[order]) for order in sorted(slots)]
    if layout is Layout.DBMATE:
        # dbmate applies its files in the order of their names (os.ReadDir's), not of
        # their versions: the same for timestamps, not for 1_a.sql, 10_b.sql, 2_c.sql.
        migrations.sort(key=lambda migration: migration.up or "")
    return Arrangement(layout, tuple(migrations), tuple(loose), misnamed)


def _migration(slot: Mapping[Role, tuple[str, LayoutName]]) -> ArrangedMigration:
    up = slot.get(Role.UP) or slot.get(Role.BOTH) or slot.get(Role.REPEATABLE)
    down = slot.get(Role.DOWN)
    first = up or down
    assert first is not None
    return ArrangedMigration(
        first[1].migration,
        up[0] if up else None,
        down[0] if down else None,
        sections=Role.BOTH in slot,
        needs_down=Role.REPEATABLE not in slot,
        missing_down=_missing_down(up[1], up[0]) if up else None,
    )


def _stray_reason(name: str, found: LayoutName | None, layout: Layout) -> str | None:
    """Why ``name`` is no migration of the directory, when it looks like one."""
    if found is not None:
        return (
            f"is a {found.layout.value} migration in a directory of "
            f"{layout.value} migrations"
        )
    if layout is Layout.DBMATE and _DBMATE.fullmatch(name):
        return "has no `-- migrate:up` line (dbmate refuses it)"
    if _LOOKS_LIKE.fullmatch(name):
        return f"does not follow the {layout.value} layout of its directory"
    return None
