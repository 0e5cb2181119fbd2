"""Settings: where the database is, where migrations live, and the session envelope.

Precedence, highest first: command-line flags > environment (``ATOMIG_DATABASE_URL``, then
``DATABASE_URL``) > ``atomig.toml`` (or ``[tool.atomig]`` in ``pyproject.toml``) > defaults.
A deployment environment (``--env NAME`` or ``ATOMIG_ENV``) selects the table
``[environments.NAME]`` of the file, whose keys override the file's own (sections merge key
by key); naming an environment the file does not define is an error.
With no database configured anywhere, atomig uses an embedded PostgreSQL under ``.atomig/``.
Unknown keys are errors: a typo in a timeout must not silently fall back to a default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from atomig.errors import ConfigError
from atomig.units import parse_duration_ms

CONFIG_FILE = "atomig.toml"
EMBEDDED_DIR = ".atomig"


@dataclass(frozen=True, slots=True)
class SessionDefaults:
    """The session envelope every migration step runs in (milliseconds).

    ``concurrent_statement_timeout_ms`` applies to steps that cannot run in a transaction
    (``CREATE INDEX CONCURRENTLY`` …): 0 means no limit, because a 15-minute cap would kill a
    large index build half-way.

    ``client_connection_check_interval_ms`` (PostgreSQL 14+) makes the server check, while a
    migration statement runs, that atomig is still connected, so that a killed runner's
    statement is cancelled within that time instead of running on as an orphan (0: off).
    """

    lock_timeout_ms: int = 2_000
    statement_timeout_ms: int = 15 * 60_000
    idle_in_transaction_session_timeout_ms: int = 60_000
    concurrent_statement_timeout_ms: int = 0
    client_connection_check_interval_ms: int = 1_000


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """How lock-bound steps are retried (55P03, 40P01, 40001).

    Each attempt waits for its locks at most ``attempt_lock_timeout_ms`` (short, so the
    migration never sits long at the head of a lock queue), then backs off exponentially from
    ``initial_delay_ms`` up to ``max_delay_ms`` with full jitter, until ``max_attempts`` or the
    total ``budget_ms`` runs out. Before an attempt, atomig waits up to ``blocker_wait_ms`` for
    transactions older than ``blocker_age_ms`` that hold conflicting locks to finish.
    """

    max_attempts: int = 60
    initial_delay_ms: int = 100
    max_delay_ms: int = 5_000
    budget_ms: int = 10 * 60_000
    attempt_lock_timeout_ms: int = 50
    blocker_age_ms: int = 1_000
    blocker_wait_ms: int = 30_000


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to know about the project and its database."""

    project_dir: Path
    migrations_dir: Path
    database_url: str | None = None
    database_url_source: str = "embedded"
    ledger_schema: str = "atomig"
    on_failure: str = "rollback"
    runner_lock_wait_ms: int = 30_000
    allow_out_of_order: bool = False
    session: SessionDefaults = field(default_factory=SessionDefaults)
    retry: RetrySettings = field(default_factory=RetrySettings)
    config_file: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    environment: str | None = None
    require_review: bool = False
    # SQL of the schema the migrations start from (a database older than its migrations):
    # scratch databases run it first, and lint replays it as history.
    base_schema: Path | None = None

    @property
    def embedded_dir(self) -> Path:
        """Where the embedded PostgreSQL keeps its data (``.atomig/`` in the project)."""
        return self.project_dir / EMBEDDED_DIR

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (flags applied on top of the files)."""
        return replace(self, **changes)


# Sections later layers own (lint rules, backfill pacing, preflight, post-deploy, verify,
# watchdog) are kept as raw mappings in Settings.extra and validated by their owners. The
# review gate has no section: require_review is a top-level key.
_EXTRA_SECTIONS = frozenset(
    {"lint", "backfill", "preflight", "postdeploy", "verify", "watchdog"}
)
_TOP_KEYS = frozenset(
    {
        "database_url",
        "migrations_dir",
        "ledger_schema",
        "on_failure",
        "runner_lock_wait",
        "allow_out_of_order",
        "session",
        "retry",
        "require_review",
        "environments",
        "base_schema",
    }
)


def _duration_field(section: str, key: str, value: Any, where: str) -> int:
    try:
        return parse_duration_ms(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: [{section}] {key}: {exc}") from None


def _int_field(section: str, key: str, value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"{where}: [{section}] {key} must be a positive integer, got {value!r}"
        )
    return value


def read_section(
    cls: Any,
    section: str,
    data: Any,
    where: str,
    convert: Callable[[str, str, Any], Any],
) -> Any:
    """A ``[section]`` table as an instance of the dataclass ``cls``.

    Keys name fields; a duration field ``x_ms`` is written ``x`` in the file (with a unit).
    ``convert(key, field_name, raw)`` validates one value. Missing section: the defaults.

    Raises:
        ConfigError: the section is not a table, or a key is unknown (naming the known ones).
    """
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: [{section}] must be a table")
    known = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        name = f"{key}_ms" if f"{key}_ms" in known else key
        if name not in known:
            allowed = ", ".join(k.removesuffix("_ms") for k in known)
            raise ConfigError(
                f"{where}: unknown key {key!r} in [{section}]",
                hint=f"known keys: {allowed}",
            )
        values[name] = convert(key, name, raw)
    return cls(**values)


def _number_section(
    cls: type[SessionDefaults] | type[RetrySettings],
    data: Any,
    section: str,
    where: str,
) -> Any:
    def convert(key: str, name: str, raw: Any) -> int:
        if name.endswith("_ms"):
            return _duration_field(section, key, raw, where)
        return _int_field(section, key, raw, where)

    return read_section(cls, section, data, where, convert)


def read_config_file(
    project_dir: Path, explicit: Path | None = None
) -> tuple[dict[str, Any], Path | None]:
    """The atomig table of ``atomig.toml`` or ``pyproject.toml`` (``[tool.atomig]``)."""
    candidates = (
        [explicit]
        if explicit
        else [project_dir / CONFIG_FILE, project_dir / "pyproject.toml"]
    )
    for path in candidates:
        if path is None or not path.is_file():
            if explicit is not None:
                raise ConfigError(f"config file {explicit} does not exist")
            continue
        import tomllib  # only when there is a file to read

        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        if path.name == "pyproject.toml" and explicit is None:
            table = data.get("tool", {}).get("atomig")
            if table is None:
                continue
            return dict(table), path
        return data, path
    return {}, None


def load_settings(
    project_dir: str | os.PathLike[str] | None = None,
    *,
    database_url: str | None = None,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    migrations_dir: str | os.PathLike[str] | None = None,
    environment: str | None = None,
) -> Settings:
    """Resolve settings with the documented precedence.

    Raises:
        ConfigError: for unknown keys, wrong types or invalid durations, naming the file,
            and for an environment the file does not define.
    """
    # Library callers pass strings as often as paths: accept both.
    project = (Path(project_dir) if project_dir else Path.cwd()).resolve()
    env = os.environ if environ is None else environ
    data, path = read_config_file(
        project, Path(config_file) if config_file is not None else None
    )
    where = str(path) if path else "configuration"
    chosen = environment or env.get("ATOMIG_ENV") or None
    data = _with_environment(data, chosen, where)
    unknown = set(data) - _TOP_KEYS - _EXTRA_SECTIONS
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s): {', '.join(sorted(unknown))}",
            hint=f"known settings: {', '.join(sorted(_TOP_KEYS | _EXTRA_SECTIONS))}",
        )
    settings = Settings(
        project_dir=project, migrations_dir=project / "migrations", config_file=path
    )
    changes: dict[str, Any] = {}
    if "migrations_dir" in data:
        changes["migrations_dir"] = (project / str(data["migrations_dir"])).resolve()
    if "ledger_schema" in data:
        schema = data["ledger_schema"]
        if not isinstance(schema, str) or not schema or len(schema.encode()) > 63:
            raise ConfigError(f"{where}: ledger_schema must be a name of 1 to 63 bytes")
        changes["ledger_schema"] = schema
    if "on_failure" in data:
        if data["on_failure"] not in ("rollback", "resume"):
            raise ConfigError(f"{where}: on_failure must be 'rollback' or 'resume'")
        changes["on_failure"] = data["on_failure"]
    if "runner_lock_wait" in data:
        changes["runner_lock_wait_ms"] = _duration_field(
            "", "runner_lock_wait", data["runner_lock_wait"], where
        )
    if "allow_out_of_order" in data:
        if not isinstance(data["allow_out_of_order"], bool):
            raise ConfigError(f"{where}: allow_out_of_order must be true or false")
        changes["allow_out_of_order"] = data["allow_out_of_order"]
    if "session" in data:
        changes["session"] = _number_section(
            SessionDefaults, data["session"], "session", where
        )
    if "retry" in data:
        changes["retry"] = _number_section(RetrySettings, data["retry"], "retry", where)
    if "require_review" in data:
        if not isinstance(data["require_review"], bool):
            raise ConfigError(f"{where}: require_review must be true or false")
        changes["require_review"] = data["require_review"]
    if "base_schema" in data:
        base = data["base_schema"]
        if not isinstance(base, str) or not base.strip():
            raise ConfigError(f"{where}: base_schema must be the path of an SQL file")
        changes["base_schema"] = (project / base).resolve()
    changes["environment"] = chosen
    changes["extra"] = {k: v for k, v in data.items() if k in _EXTRA_SECTIONS}
    url, source = _resolve_database_url(
        database_url, env, data.get("database_url"), where
    )
    changes["database_url"], changes["database_url_source"] = url, source
    if migrations_dir is not None:
        changes["migrations_dir"] = Path(migrations_dir).resolve()
    return replace(settings, **changes)


def _with_environment(
    data: dict[str, Any], name: str | None, where: str
) -> dict[str, Any]:
    """The file's settings with ``[environments.NAME]`` laid over them."""
    environments = data.pop("environments", {})
    if not isinstance(environments, dict) or not all(
        isinstance(v, dict) for v in environments.values()
    ):
        raise ConfigError(f"{where}: [environments.NAME] must be tables")
    if name is None:
        return data
    if name not in environments:
        known = ", ".join(sorted(environments)) or "none"
        raise ConfigError(
            f"{where}: unknown environment {name!r} (from --env or ATOMIG_ENV)",
            hint=f"environments defined: {known}; add [environments.{name}] or fix the name",
        )
    merged = dict(data)
    for key, value in environments[name].items():
        if key == "environments":
            raise ConfigError(
                f"{where}: [environments.{name}] cannot nest environments"
            )
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _resolve_database_url(
    flag: str | None, env: Mapping[str, str], from_file: Any, where: str
) -> tuple[str | None, str]:
    if flag:
        return flag, "--database-url"
    for name in ("ATOMIG_DATABASE_URL", "DATABASE_URL"):
        if env.get(name):
            return env[name], name
    if from_file is not None:
        if not isinstance(from_file, str) or not from_file:
            raise ConfigError(f"{where}: database_url must be a non-empty string")
        return from_file, where
    return None, "embedded"
