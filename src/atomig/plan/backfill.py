"""Backfill options: batch sizes and pacing, validated before anything runs.

Layers, lowest first: the defaults, ``[backfill]`` in ``atomig.toml``, the statement's
directive (``-- atomig: backfill batch_size=2000 sleep=50ms``), then command-line flags or
Python arguments. Every layer is checked with the same rules, so a typo is an error wherever
it is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from atomig.config import Settings
from atomig.errors import ConfigError, SourceError, SourceLocation, UsageError
from atomig.sql.parse import Statement
from atomig.units import format_duration_ms, parse_duration_ms


@dataclass(frozen=True, slots=True)
class BackfillOptions:
    """How a backfill sizes and paces its batches.

    Attributes:
        batch_size: keys in the first window.
        min_batch_size: the adaptive size never goes below this.
        max_batch_size: nor above this (it bounds how many rows one batch locks).
        target_duration_ms: the batch duration the adaptive size steers toward.
        busy_target_duration_ms: the one it steers toward while the server is busy (see
            ``busy_sessions``); the shorter of the two applies. While a batch runs the
            application's transactions wait for a core, WAL flushes and the batch's row
            locks, so a shorter batch bounds how long each of them waits: with the
            application at half of what the server sustains, 50 ms batches halved the
            application's p99 against 200 ms ones (33 vs 62 ms, bench/live_traffic.py
            --load 0.5); flat out, the busy backfill took 16 % longer for it.
        sleep_ms: pause between batches.
        max_replication_lag_ms: pause while a standby or subscriber lags more (0: never).
        lock_wait_pause_ms: when other sessions waited on a batch's locks, pause this long
            after its commit and halve the next batch (0: neither).
        busy_sessions: the server counts as busy while, on average over recent batches, at
            least this many other sessions are running a query (0: always busy).
        nice_ratio: on a busy server, pause this many times the last batch's duration
            after it (3.0: the backfill works at most a quarter of the time; 0: never
            yield). While a batch runs it takes a core and a share of the WAL flushes, so
            the application's slowest transactions come from batch time: on a saturated
            2-core server p99 stayed 2.3x the quiet p99 at 1.0 and fell to 1.7x at 3.0
            (bench/live_traffic.py); 4.0 bought nothing more.
        analyze: ``ANALYZE`` the table when the backfill completes.
    """

    batch_size: int = 1_000
    min_batch_size: int = 100
    max_batch_size: int = 20_000
    target_duration_ms: int = 200
    busy_target_duration_ms: int = 50
    sleep_ms: int = 0
    max_replication_lag_ms: int = 10_000
    lock_wait_pause_ms: int = 10
    busy_sessions: int = 2
    nice_ratio: float = 3.0
    analyze: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Options as written in configuration (durations with units).

        >>> BackfillOptions().to_dict()["target_duration"]
        '200ms'
        """
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.endswith("_ms"):
                out[item.name.removesuffix("_ms")] = format_duration_ms(value)
            else:
                out[item.name] = value
        return out


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a positive integer, got {value!r}")
    if isinstance(value, str):
        text = value.replace("_", "")
        if not text.isdigit():
            raise ValueError(f"expected a positive integer, got {value!r}")
        value = int(text)
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, str) and value.strip() == "0":
        return 0
    if value == 0 and not isinstance(value, bool):
        return 0
    try:
        return _integer(value)
    except ValueError:
        raise ValueError(f"expected 0 or a positive integer, got {value!r}") from None


def _ratio(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number from 0 to 100, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number from 0 to 100, got {value!r}") from None
    if not 0 <= number <= 100:
        raise ValueError(f"expected a number from 0 to 100, got {value!r}")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "yes", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "off", "no", "0"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _duration(value: Any) -> int:
    return parse_duration_ms(value)


_PARSERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "batch_size": ("batch_size", _integer),
    "min_batch_size": ("min_batch_size", _integer),
    "max_batch_size": ("max_batch_size", _integer),
    "target_duration": ("target_duration_ms", _duration),
    "busy_target_duration": ("busy_target_duration_ms", _duration),
    "sleep": ("sleep_ms", _duration),
    "max_replication_lag": ("max_replication_lag_ms", _duration),
    "lock_wait_pause": ("lock_wait_pause_ms", _duration),
    "busy_sessions": ("busy_sessions", _count),
    "nice_ratio": ("nice_ratio", _ratio),
    "analyze": ("analyze", _boolean),
}
OPTION_NAMES = tuple(_PARSERS)


def merge_backfill_options(
    base: BackfillOptions, values: Mapping[str, Any] | None
) -> BackfillOptions:
    """``base`` with ``values`` (option name → value as written) applied on top.

    >>> merge_backfill_options(BackfillOptions(), {"batch_size": "2000"}).batch_size
    2000
    >>> merge_backfill_options(BackfillOptions(), {"sleep": "50ms"}).sleep_ms
    50

    Raises:
        ValueError: an unknown option, a malformed value, or sizes that contradict each
            other (``min_batch_size`` > ``max_batch_size``); the message names the option.
    """
    changes: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key not in _PARSERS:
            raise ValueError(
                f"unknown backfill option {key!r} (known: {', '.join(OPTION_NAMES)})"
            )
        name, parse = _PARSERS[key]
        try:
            changes[name] = parse(value)
        except ValueError as exc:
            raise ValueError(f"backfill option {key}: {exc}") from None
    merged = replace(base, **changes)
    if "batch_size" not in changes:
        # Only bounds were given: the starting size follows them.
        start = min(
            max(merged.batch_size, merged.min_batch_size), merged.max_batch_size
        )
        merged = replace(merged, batch_size=start)
    if merged.min_batch_size > merged.max_batch_size:
        raise ValueError(
            f"backfill option min_batch_size ({merged.min_batch_size}) is larger than "
            f"max_batch_size ({merged.max_batch_size})"
        )
    if not merged.min_batch_size <= merged.batch_size <= merged.max_batch_size:
        raise ValueError(
            f"backfill option batch_size ({merged.batch_size}) is outside "
            f"min_batch_size..max_batch_size ({merged.min_batch_size}..{merged.max_batch_size});"
            " set min_batch_size = max_batch_size = batch_size for a fixed size"
        )
    if merged.target_duration_ms <= 0:
        raise ValueError("backfill option target_duration must be more than 0")
    if merged.busy_target_duration_ms <= 0:
        raise ValueError("backfill option busy_target_duration must be more than 0")
    return merged


def backfill_options(
    settings: Settings,
    statement: Statement | None = None,
    path: str = "<sql>",
    overrides: Mapping[str, Any] | None = None,
) -> BackfillOptions:
    """The options of a backfill: defaults < ``[backfill]`` in the config < the statement's
    ``-- atomig: backfill k=v`` directive < ``overrides`` (flags or Python arguments).

    Raises:
        ConfigError / SourceError / UsageError: an invalid option, naming where it was set.
    """
    options = BackfillOptions()
    configured = settings.extra.get("backfill")
    if configured is not None:
        if not isinstance(configured, Mapping):
            raise ConfigError("[backfill] must be a table")
        try:
            options = merge_backfill_options(options, configured)
        except ValueError as exc:
            where = settings.config_file or "configuration"
            raise ConfigError(f"{where}: [backfill] {exc}") from None
    directive = statement.directive("backfill") if statement else None
    if directive is not None and statement is not None:
        try:
            options = merge_backfill_options(options, directive.options)
        except ValueError as exc:
            raise SourceError(
                str(exc), location=SourceLocation(path, directive.line, 1)
            ) from None
    try:
        return merge_backfill_options(options, overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
