import pytest

from atomig.units import format_duration_ms, parse_duration_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2s", 2000),
        ("15min", 900_000),
        ("60s", 60_000),
        ("500ms", 500),
        ("1h", 3_600_000),
        ("0", 0),
        ("1.5s", 1500),
        (250, 250),
    ],
)
def test_parse_duration(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "s", "2 weeks", "-1s", "abc", True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration_ms(text)


def test_format_round_trips():
    for ms in (0, 50, 1500, 2000, 60_000, 900_000, 3_600_000):
        assert parse_duration_ms(format_duration_ms(ms)) == ms


def test_elapsed_times_read_as_people_say_them():
    import doctest

    import atomig.units

    assert doctest.testmod(atomig.units).failed == 0
    from atomig.units import format_elapsed

    assert format_elapsed(0) == "0.0s"
    assert format_elapsed(59_999) == "59.9s"
    assert format_elapsed(60_000) == "1m00s"
