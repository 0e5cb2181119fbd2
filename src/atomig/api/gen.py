"""The gen verbs: generate safe migrations (``atomig gen KIND …``) and release a later phase
(``atomig gen release``).

A series whose phases span deployments (expand now, contract later) is written so that
nothing is applied early: phase 1 goes to the migrations directory with the current
version; later phases wait in ``migrations/later/`` — outside what ``atomig up`` reads —
until ``atomig gen release`` moves them in with the version of that moment (so they sort
after everything written meanwhile).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from atomig.config import Settings
from atomig.errors import DatabaseUnavailable, SourceError, UsageError
from atomig.events import Event, Reporter, null_reporter
from atomig.gen import GENERATORS
from atomig.gen.model import MIN_MAJOR, CatalogView, GenContext, Phase, Series
from atomig.gen.text import GENERATED_BY
from atomig.source.layout import parse_file_name
from atomig.sql.versions import DEFAULT_LINT_VERSION, ServerVersion

__all__ = ["GenResult", "HeldPhase", "generate", "held_phases", "release_phase"]

LATER_DIR = "later"
_FOLLOWS = "-- Follows: "


@dataclass(frozen=True, slots=True)
class WrittenPhase:
    """A generated phase and where its files went (``None`` when only printed)."""

    phase: Phase
    up: Path | None = None
    down: Path | None = None
    held: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        out = self.phase.to_dict()
        out.update(
            {
                "up_file": str(self.up) if self.up else None,
                "down_file": str(self.down) if self.down else None,
                "held": self.held,
            }
        )
        return out


@dataclass(frozen=True, slots=True)
class GenResult:
    """What ``atomig gen`` produced."""

    kind: str
    database: str | None
    server_version: str
    phases: tuple[WrittenPhase, ...]
    notes: tuple[str, ...] = field(default=())
    written: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``atomig gen``."""
        return {
            "version": 1,
            "kind": self.kind,
            "database": self.database,
            "server_version": self.server_version,
            "written": self.written,
            "phases": [p.to_dict() for p in self.phases],
            "notes": list(self.notes),
        }


def generate(
    settings: Settings,
    kind: str,
    options: Mapping[str, Any],
    *,
    write: bool = True,
    pg_version: int | None = None,
    use_database: bool = True,
    command: str = "atomig gen",
    now: datetime | None = None,
    report: Reporter = null_reporter,
) -> GenResult:
    """Generate the migrations for one change.

    With a configured database (never the embedded default) the catalog fills in types and
    refuses names that do not exist; without one, the arguments alone decide. ``write``
    False only returns the text.

    Raises:
        UsageError: a bad argument, an unknown kind, a typo in a name (did you mean …).
        DatabaseUnavailable: the configured database cannot be reached.
    """
    module = GENERATORS.get(kind)
    if module is None:
        raise UsageError(
            f"unknown change kind {kind!r}",
            hint="kinds: " + ", ".join(sorted(GENERATORS)),
        )
    request = module.request(**options)
    catalog: CatalogView | None = None
    database = None
    version = _version(settings, pg_version)
    if use_database and settings.database_url:
        catalog, database, version = _read_catalog(settings, module.needs(request))
        if pg_version is not None:
            version = ServerVersion.from_major(pg_version)
    if version.major < MIN_MAJOR:
        raise UsageError(
            f"atomig gen writes migrations for PostgreSQL {MIN_MAJOR} and later "
            f"(target: {version})",
            hint="the safe patterns rely on PostgreSQL 12 (SET NOT NULL proven by a "
            "validated CHECK, ALTER TYPE … ADD VALUE in a transaction)",
        )
    if database:
        report(Event("gen.catalog", f"read the catalog of {database} ({version})"))
    ctx = GenContext(version, catalog, command)
    series: Series = module.generate(request, ctx)
    if not write:
        return GenResult(
            series.kind,
            database,
            str(version),
            tuple(WrittenPhase(p) for p in series.phases),
            series.notes,
            written=False,
        )
    written = _write(settings, series, now or datetime.now(UTC))
    for item in written:
        where = "held until released" if item.held else "created"
        report(Event("gen.file", f"{where}: {item.up}", data={"path": str(item.up)}))
    return GenResult(series.kind, database, str(version), written, series.notes)


def _version(settings: Settings, pg_version: int | None) -> ServerVersion:
    if pg_version is not None:
        return ServerVersion.from_major(pg_version)
    configured = (settings.extra.get("lint") or {}).get("pg_version")
    if isinstance(configured, int) and not isinstance(configured, bool):
        return ServerVersion.from_major(configured)
    return DEFAULT_LINT_VERSION


def _read_catalog(
    settings: Settings, needs: Any
) -> tuple[CatalogView, str, ServerVersion]:
    from atomig.db.connect import connect, server_version
    from atomig.db.dsn import parse_target
    from atomig.db.gen_catalog import read_gen_catalog

    target = parse_target(settings.database_url or "", settings.database_url_source)
    try:
        conn = connect(target, application_name="atomig gen")
    except DatabaseUnavailable as error:
        raise DatabaseUnavailable(
            error.message,
            hint="check the URL and that the server is up, or generate from the "
            "arguments alone with --no-database",
        ) from None
    with conn:
        view = read_gen_catalog(
            conn,
            tables=needs.tables,
            types=needs.types,
            enums=needs.enums,
            ledger_schema=settings.ledger_schema,
        )
        return view, target.display, server_version(conn)


# ---- writing ------------------------------------------------------------------------


def _taken(directory: Path) -> set[int]:
    taken = set()
    for path in directory.glob("*.sql"):
        try:
            taken.add(parse_file_name(path.name)[0].order_key)
        except ValueError:
            continue
    return taken


def _free_version(directory: Path, slug: str, moment: datetime) -> tuple[str, datetime]:
    """The first free ``YYYYMMDD_HHMM`` version from ``moment`` on."""
    taken = _taken(directory)
    moment = moment.replace(second=0, microsecond=0)
    while True:
        version = moment.strftime("%Y%m%d_%H%M")
        mid, _ = parse_file_name(f"{version}_{slug}.up.sql")
        if mid.order_key not in taken:
            return mid.name, moment
        moment += timedelta(minutes=1)


def _require_directory(settings: Settings) -> Path:
    directory = settings.migrations_dir
    if not directory.is_dir():
        raise SourceError(
            f"migrations directory {directory} does not exist",
            hint="run `atomig init` first",
        )
    return directory


def _write(
    settings: Settings, series: Series, moment: datetime
) -> tuple[WrittenPhase, ...]:
    directory = _require_directory(settings)
    out: list[WrittenPhase] = []
    held = list(series.phases)
    previous = ""
    if not series.hold_all:
        first = held.pop(0)
        name, _ = _free_version(directory, first.slug, moment)
        up, down = directory / f"{name}.up.sql", directory / f"{name}.down.sql"
        _create(up, first.up)
        _create(down, first.down)
        out.append(WrittenPhase(first, up, down))
        previous = name
    later = directory / LATER_DIR
    for phase in held:
        later.mkdir(exist_ok=True)
        held_up = later / f"{phase.slug}.up.sql"
        held_down = later / f"{phase.slug}.down.sql"
        follows = f"{_FOLLOWS}{previous or '(deployment)'} (release after it)\n"
        _create(held_up, follows + phase.up)
        _create(held_down, follows + phase.down)
        out.append(WrittenPhase(phase, held_up, held_down, held=True))
        previous = phase.slug
    return tuple(out)


def _create(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise UsageError(
            f"{path} already exists: atomig gen never overwrites a file",
            hint="release or remove the held phase first (atomig gen release)",
        ) from None


# ---- later phases -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeldPhase:
    """A later phase waiting in ``migrations/later/``."""

    slug: str
    up: Path
    down: Path
    follows: str
    when: str

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "slug": self.slug,
            "up_file": str(self.up),
            "down_file": str(self.down),
            "follows": self.follows,
            "when": self.when,
        }


def held_phases(settings: Settings) -> list[HeldPhase]:
    """The phases waiting to be released, oldest first."""
    later = _require_directory(settings) / LATER_DIR
    if not later.is_dir():
        return []
    found = []
    for up in sorted(later.glob("*.up.sql"), key=lambda p: p.stat().st_mtime_ns):
        slug = up.name[: -len(".up.sql")]
        down = later / f"{slug}.down.sql"
        text = up.read_text(encoding="utf-8")
        first = text.splitlines()[0] if text else ""
        follows = (
            first[len(_FOLLOWS) :].split(" ", 1)[0]
            if first.startswith(_FOLLOWS)
            else ""
        )
        when = ""
        lines = text.splitlines()[:4]
        for title, line in pairwise(lines):
            # The line after the title says when: "Phase k of n: …", or just "…" when the
            # change has one phase.
            if title.startswith(f"-- {GENERATED_BY}") and line.startswith("-- "):
                when = line[3:]
                if when.startswith("Phase ") and ": " in when:
                    when = when.split(": ", 1)[1]
        found.append(HeldPhase(slug, up, down, follows, when))
    return found


def _is_slug(text: str) -> bool:
    """A held phase's slug (released since: its files carry a version now)."""
    try:
        parse_file_name(f"{text}.up.sql")
    except ValueError:
        return True
    return False


def release_phase(
    settings: Settings,
    slugs: Sequence[str] = (),
    *,
    now: datetime | None = None,
    report: Reporter = null_reporter,
) -> list[WrittenPhase]:
    """Move held phases into the migrations directory with the current version.

    A phase is released only when the migration it follows is in the migrations directory
    (released before, or phase 1), so a series cannot be released out of order.

    Raises:
        UsageError: an unknown slug, or a phase whose predecessor is not released yet.
    """
    directory = _require_directory(settings)
    held = {h.slug: h for h in held_phases(settings)}
    if not slugs:
        raise UsageError(
            "name the phase(s) to release",
            hint="held: " + (", ".join(held) if held else "none"),
        )
    present = {p.name.removesuffix(".up.sql") for p in directory.glob("*.up.sql")}
    out = []
    moment = now or datetime.now(UTC)
    for slug in slugs:
        phase = held.get(slug)
        if phase is None:
            raise UsageError(
                f"no held phase {slug!r}",
                hint="held: " + (", ".join(held) if held else "none"),
            )
        if phase.follows in held:
            raise UsageError(
                f"{slug} follows {phase.follows}, which is still held",
                hint=f"release {phase.follows} first, and deploy it",
            )
        if (
            phase.follows
            and not phase.follows.startswith("(")
            and phase.follows not in present
            and not _is_slug(phase.follows)
        ):
            raise UsageError(
                f"{slug} follows {phase.follows}, which is not in {directory}",
                hint="restore that migration, or remove the held phase",
            )
        name, moment = _free_version(directory, slug, moment)
        up, down = directory / f"{name}.up.sql", directory / f"{name}.down.sql"
        for source, target in ((phase.up, up), (phase.down, down)):
            text = source.read_text(encoding="utf-8")
            if text.startswith(_FOLLOWS):
                text = text.split("\n", 1)[1]
            _create(target, text)
            source.unlink()
        present.add(name)
        held.pop(slug)
        out.append(
            WrittenPhase(
                Phase(0, slug, phase.when, up.read_text(), down.read_text()), up, down
            )
        )
        report(Event("gen.file", f"released: {up}", data={"path": str(up)}))
        moment += timedelta(minutes=1)
    later = directory / LATER_DIR
    if later.is_dir() and not any(later.iterdir()):
        later.rmdir()
    return out
