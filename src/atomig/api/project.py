"""Project verbs: create the layout, create migration pairs, manage the embedded server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from atomig.config import CONFIG_FILE, Settings
from atomig.db.embedded import embedded_running, stop_embedded
from atomig.errors import SourceError, UsageError
from atomig.source.layout import parse_file_name
from atomig.templates import CONFIG_TEMPLATE, DOWN_TEMPLATE, UP_TEMPLATE

__all__ = [
    "InitResult",
    "NewResult",
    "embedded_info",
    "embedded_stop",
    "init_project",
    "new_migration",
]


# ---- init / new ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``init`` created (existing files are never overwritten)."""

    created: tuple[Path, ...]
    existing: tuple[Path, ...]


def init_project(project_dir: Path) -> InitResult:
    """Create ``migrations/`` and a commented ``atomig.toml`` in ``project_dir``."""
    created: list[Path] = []
    existing: list[Path] = []
    migrations = project_dir / "migrations"
    if migrations.exists():
        existing.append(migrations)
    else:
        migrations.mkdir(parents=True)
        created.append(migrations)
    config = project_dir / CONFIG_FILE
    if config.exists():
        existing.append(config)
    else:
        config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
        created.append(config)
    return InitResult(tuple(created), tuple(existing))


@dataclass(frozen=True, slots=True)
class NewResult:
    """The up/down pair ``new`` wrote."""

    version: str
    up: Path
    down: Path


def new_migration(
    settings: Settings, slug: str, *, now: datetime | None = None
) -> NewResult:
    """Write ``<YYYYMMDD_HHMM>_<slug>.up.sql`` and its ``.down.sql`` from the templates.

    The version is the current UTC minute, moved forward until it is free.
    """
    directory = settings.migrations_dir
    if not directory.is_dir():
        raise SourceError(
            f"migrations directory {directory} does not exist",
            hint="run `atomig init` first",
        )
    moment = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    taken = set()
    for path in directory.glob("*.sql"):
        try:
            taken.add(parse_file_name(path.name)[0].order_key)
        except ValueError:
            continue
    while True:
        version = moment.strftime("%Y%m%d_%H%M")
        try:
            mid, _ = parse_file_name(f"{version}_{slug}.up.sql")
        except ValueError as exc:
            raise UsageError(f"invalid slug {slug!r}: {exc}") from None
        if mid.order_key not in taken:
            break
        moment += timedelta(minutes=1)
    up = directory / f"{mid.name}.up.sql"
    down = directory / f"{mid.name}.down.sql"
    up.write_text(UP_TEMPLATE.format(name=mid.name, slug=slug), encoding="utf-8")
    down.write_text(DOWN_TEMPLATE.format(name=mid.name, slug=slug), encoding="utf-8")
    return NewResult(version=version, up=up, down=down)


# ---- embedded server ----------------------------------------------------------------


def embedded_info(settings: Settings) -> str | None:
    """The conninfo of the project's embedded server when it runs."""
    return embedded_running(settings.embedded_dir)


def embedded_stop(settings: Settings) -> bool:
    """Stop the project's embedded server; False when it was not running."""
    return stop_embedded(settings.embedded_dir)
