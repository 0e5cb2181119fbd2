"""Durations as PostgreSQL writes them ("2s", "15min", "500ms") converted to milliseconds.

Pure helpers shared by configuration and per-migration directives, so that the same spelling
is accepted everywhere and validated before anything reaches a server.
"""

from __future__ import annotations

# The units PostgreSQL accepts for time-valued settings
# (postgresql.org/docs/current/config-setting.html).
_UNIT_MS: dict[str, float] = {
    "us": 0.001,
    "ms": 1,
    "s": 1000,
    "min": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
}


def parse_duration_ms(text: str | int | float, *, default_unit: str = "ms") -> int:
    """Parse a PostgreSQL-style duration into whole milliseconds.

    >>> parse_duration_ms("2s")
    2000
    >>> parse_duration_ms("15min")
    900000
    >>> parse_duration_ms("250 ms")
    250
    >>> parse_duration_ms(0)
    0

    Raises:
        ValueError: for text that is not a non-negative number with a known unit.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, int | float):
        value, unit = float(text), default_unit
    else:
        stripped = text.strip()
        split = len(stripped)
        while split > 0 and stripped[split - 1].isalpha():
            split -= 1
        number, unit = stripped[:split].strip(), stripped[split:] or default_unit
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"not a duration: {text!r}") from None
    if unit not in _UNIT_MS:
        units = ", ".join(_UNIT_MS)
        raise ValueError(
            f"unknown unit {unit!r} in duration {text!r} (use one of {units})"
        )
    if value < 0:
        raise ValueError(f"duration must not be negative: {text!r}")
    return round(value * _UNIT_MS[unit])


def format_duration_ms(ms: int) -> str:
    """Render milliseconds in the largest exact PostgreSQL unit.

    >>> format_duration_ms(2000)
    '2s'
    >>> format_duration_ms(900000)
    '15min'
    >>> format_duration_ms(1500)
    '1500ms'
    >>> format_duration_ms(0)
    '0'
    """
    if ms == 0:
        return "0"
    for unit, size in (
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
    ):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def format_elapsed(ms: int) -> str:
    """Render a running time for people: tenths of a second under a minute, then minutes
    and seconds, then hours and minutes.

    >>> format_elapsed(2093), format_elapsed(130_400), format_elapsed(7_384_000)
    ('2.0s', '2m10s', '2h03m')
    """
    if ms < 60_000:
        return f"{ms // 100 / 10:.1f}s"  # (tenths cut, not rounded: never "60.0s")
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
