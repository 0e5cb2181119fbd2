"""The safety net's settings: ``[verify]``, ``[preflight]``, ``[watchdog]``, ``[postdeploy]``.

``atomig.config`` keeps these sections raw (``Settings.extra``); they are validated here, by
their owner, with the same rules as the rest of the file: unknown keys and wrong types are
errors that name the file, durations use PostgreSQL's units. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from atomig.config import Settings, read_section
from atomig.errors import ConfigError
from atomig.units import parse_duration_ms

WARN, WAIT, ABORT, OFF = "warn", "wait", "abort", "off"
REPORT, ROLLBACK = "report", "rollback"
MIGRATIONS, TARGET = "migrations", "target"


@dataclass(frozen=True, slots=True)
class VerifySettings:
    """Scratch databases (``atomig verify``, ``trace``, ``up --dry-run``) and dry runs on
    the target.

    ``scratch_url``: where scratch databases are created (a server atomig may create
    databases on; ``"embedded"`` for the embedded PostgreSQL); default: the target's server.
    ``scratch_from``: how a scratch database gets the target's state before the pending
    migrations run: ``"migrations"`` replays the applied migrations; ``"target"`` creates
    the target's schema as it is now (for a database whose schema predates its migrations).
    ``target_lock_timeout_ms`` / ``target_statement_timeout_ms``: the limits of every
    statement of ``up --dry-run=target``.
    """

    scratch_url: str | None = None
    scratch_from: str = MIGRATIONS
    target_lock_timeout_ms: int = 100
    target_statement_timeout_ms: int = 10_000
    scale_max_rows: int = 1_000_000


@dataclass(frozen=True, slots=True)
class PreflightSettings:
    """Checks run before ``atomig up`` changes anything (each result goes to the ledger).

    Policies: ``warn`` (say it and go on), ``wait`` (wait up to ``wait_ms`` for it to clear,
    then abort), ``abort`` (stop before anything runs), ``off``.
    """

    enabled: bool = True
    min_server_version: int = 0
    lock_holders: str = WARN
    long_running_ms: int = 10_000
    idle_in_transaction_ms: int = 0
    wait_ms: int = 60_000
    replication_lag: str = WAIT
    max_replication_lag_ms: int = 60_000
    max_replication_lag_bytes: int = 1 << 30
    invalid_objects: str = WARN
    backup_command: str | None = None
    backup_query: str | None = None
    backup_max_age_ms: int = 0
    backup_timeout_ms: int = 60_000

    @property
    def backup_configured(self) -> bool:
        """A backup check of some kind is configured."""
        return bool(self.backup_command or self.backup_query or self.backup_max_age_ms)


@dataclass(frozen=True, slots=True)
class WatchdogSettings:
    """The lock-queue watchdog of a running step: sessions blocked behind the migration's
    backend for longer than ``max_blocked_wait_ms`` make a transaction step cancel and
    retry later. It also reports a long step's progress every ``progress_every_ms``
    (0: never)."""

    enabled: bool = True
    max_blocked_wait_ms: int = 5_000
    poll_ms: int = 100
    report_every_ms: int = 1_000
    progress_every_ms: int = 10_000


@dataclass(frozen=True, slots=True)
class PostdeploySettings:
    """Checks after ``atomig up`` applied something."""

    enabled: bool = True
    invalid_indexes: bool = True
    not_valid_constraints: bool = True
    analyze: bool = True
    health_command: str | None = None
    health_url: str | None = None
    health_timeout_ms: int = 10_000
    health_retries: int = 3
    health_interval_ms: int = 2_000
    on_health_failure: str = REPORT


@dataclass(frozen=True, slots=True)
class SafetySettings:
    """The four sections together."""

    verify: VerifySettings
    preflight: PreflightSettings
    watchdog: WatchdogSettings
    postdeploy: PostdeploySettings


_CHOICES: dict[str, tuple[str, ...]] = {
    "lock_holders": (WARN, WAIT, ABORT, OFF),
    "replication_lag": (WARN, WAIT, ABORT, OFF),
    "invalid_objects": (WARN, ABORT, OFF),
    "on_health_failure": (REPORT, ROLLBACK),
    "scratch_from": (MIGRATIONS, TARGET),
}


def _value(section: str, key: str, name: str, kind: Any, raw: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(
            f"{where}: [{section}] {key} must be {expected}, got {raw!r}"
        )

    if name.endswith("_ms"):
        try:
            return parse_duration_ms(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: [{section}] {key}: {exc}") from None
    if kind == "bool":
        if not isinstance(raw, bool):
            raise bad("true or false")
        return raw
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise bad("a non-negative integer")
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise bad("a non-empty string")
    choices = _CHOICES.get(name)
    if choices and raw not in choices:
        raise bad(" or ".join(repr(c) for c in choices))
    return raw


def _section(cls: Any, section: str, data: Any, where: str) -> Any:
    kinds = {f.name: str(f.type) for f in fields(cls)}

    def convert(key: str, name: str, raw: Any) -> Any:
        kind = kinds[name] if kinds[name] in ("bool", "int") else "str"
        return _value(section, key, name, kind, raw, where)

    return read_section(cls, section, data, where, convert)


def safety_settings(settings: Settings) -> SafetySettings:
    """The safety net's sections of ``settings``, validated.

    Raises:
        ConfigError: an unknown key, a wrong type, a bad duration or policy, naming the file.
    """
    where = str(settings.config_file) if settings.config_file else "configuration"
    extra = settings.extra
    return SafetySettings(
        verify=_section(VerifySettings, "verify", extra.get("verify"), where),
        preflight=_section(
            PreflightSettings, "preflight", extra.get("preflight"), where
        ),
        watchdog=_section(WatchdogSettings, "watchdog", extra.get("watchdog"), where),
        postdeploy=_section(
            PostdeploySettings, "postdeploy", extra.get("postdeploy"), where
        ),
    )
