"""Key windows and pacing, property-tested: the keyset walk covers every key exactly once,
across interruptions, whatever the key's type and density."""

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from atomig.batched.throttle import BatchSizer, Pacer, backoff_ms
from atomig.batched.windows import Window, discover, next_window
from atomig.plan.backfill import BackfillOptions, merge_backfill_options

int_keys = st.lists(st.integers(-(2**63), 2**63 - 1), unique=True, max_size=300).map(
    lambda xs: sorted((x,) for x in xs)
)
composite_keys = st.lists(
    st.tuples(st.text(max_size=3), st.integers(-5, 5)), unique=True, max_size=300
).map(sorted)
sizes = st.lists(st.integers(1, 50), min_size=1, max_size=20)


def walk(keys, sizes, cursor=None, stop_after=None, between=None):
    """Walk like the batcher does; returns the windows and the last committed cursor.
    ``between()`` runs between two batches (rows arriving meanwhile)."""
    windows = []
    i = 0
    while stop_after is None or len(windows) < stop_after:
        size = sizes[i % len(sizes)]
        i += 1
        window = next_window(cursor, size, discover(keys, cursor, size))
        if window is None:
            break
        windows.append(window)
        cursor = window.upper
        if window.last:
            break
        if between is not None:
            between()
    return windows, cursor


def covered(keys, windows):
    return [sum(w.contains(k) for w in windows) for k in keys]


@settings(max_examples=200)
@given(st.one_of(int_keys, composite_keys), sizes)
def test_windows_cover_every_key_exactly_once(keys, sizes):
    windows, _ = walk(keys, sizes)
    assert covered(keys, windows) == [1] * len(keys)
    for before, after in itertools.pairwise(windows):
        assert after.lower == before.upper  # contiguous, no gap, no overlap
    for n, window in enumerate(windows):
        size = sizes[n % len(sizes)]
        assert window.keys == sum(window.contains(k) for k in keys)
        assert window.keys == size or n == len(windows) - 1
        assert window.last == (window.keys < size)


@settings(max_examples=200)
@given(int_keys, sizes, st.lists(st.integers(0, 30), max_size=5))
def test_interrupted_walks_resume_exactly_once(keys, sizes, stops):
    # Each run commits some windows and dies; the next starts from the checkpoint.
    windows, cursor = [], None
    for stop in stops:
        done, cursor = walk(keys, sizes, cursor, stop_after=stop)
        windows += done
    rest, _ = walk(keys, sizes, cursor)
    assert covered(keys, windows + rest) == [1] * len(keys)


@given(st.lists(st.integers(0, 1000), unique=True, min_size=2, max_size=100), sizes)
def test_rows_inserted_during_the_walk_are_covered_only_ahead_of_it(values, sizes):
    keys = sorted((v * 2,) for v in values)
    first, cursor = walk(keys, sizes, stop_after=1)
    assume(not first[0].last)  # a walk that already ended sees no later insert
    ahead = (keys[-1][0] + 1,)
    behind = (first[0].upper[0] - 1,)
    grown = sorted({*keys, ahead, behind})
    rest, _ = walk(grown, sizes, cursor)
    windows = first + rest
    assert sum(w.contains(ahead) for w in windows) == 1
    if behind not in keys:
        # Behind the cursor and not in the first window when it ran: never visited
        # (it is inside the first window's range only if that range reached it).
        assert sum(w.contains(behind) for w in rest) == 0


@given(st.integers(1, 50), st.integers(0, 200), st.integers(1, 400))
def test_a_walk_ends_while_keys_keep_arriving_at_the_tail(size, start, arrivals):
    """Rows inserted at the end between every two batches (a busy table, a paced walk):
    the walk still ends, at the first window that found fewer keys than its size."""
    keys = [(k,) for k in range(start)]

    def arrive():  # fewer new keys than a window holds arrive while a batch runs
        keys.extend([(len(keys) + i,) for i in range(min(arrivals, size - 1))])

    windows, _ = walk(keys, [size], stop_after=10_000, between=arrive)
    assert windows == [] or windows[-1].last or windows[-1].upper == keys[-1]
    assert len(windows) < 10_000
    assert covered(keys[:start], windows) == [1] * start


def test_window_params_put_lower_bound_columns_first():
    assert Window(("a", 1), ("b", 2), 5).params() == ("a", 1, "b", 2)
    assert Window(None, ("b", 2), 5).params() == ("b", 2)
    with pytest.raises(ValueError):
        next_window(None, 0, discover([(1,)], None, 1))


@given(
    st.integers(1, 10_000),
    st.integers(1, 10_000),
    st.lists(
        st.tuples(st.integers(0, 100_000), st.floats(0, 10_000), st.integers(0, 3)),
        max_size=50,
    ),
)
def test_adaptive_size_stays_within_its_bounds(low, span, batches):
    options = BackfillOptions(
        batch_size=low, min_batch_size=low, max_batch_size=low + span
    )
    sizer = BatchSizer(options)
    for keys, ms, waiters in batches:
        size = sizer.record(keys, ms, waiters)
        assert low <= size <= low + span
        previous = size
        assert low <= sizer.shrink() <= previous


def test_adaptive_size_steers_toward_the_target_duration():
    sizer = BatchSizer(BackfillOptions(batch_size=1000, max_batch_size=50_000))
    size = 1000
    for _ in range(20):  # a statement doing 100 rows per ms: 200 ms is 20 000 rows
        size = sizer.record(size, size / 100, 0)
    assert size == 20_000


@given(st.integers(1, 100), st.integers(1, 1000), st.integers(1, 100_000))
def test_backoff_is_full_jitter_under_a_cap(attempt, initial, cap):
    assert 0 <= backoff_ms(attempt, initial, cap, rand=lambda: 0.0) <= 0
    top = backoff_ms(attempt, initial, cap, rand=lambda: 1.0)
    assert top == min(cap, initial * 2 ** (attempt - 1))


def test_pacer_pauses_while_replication_lags_and_says_so():
    clock = [0.0]
    lags = iter([5000, 20_000, 15_000, 3000])
    events = []

    def sleep(seconds):
        clock[0] += seconds

    pacer = Pacer(
        BackfillOptions(max_replication_lag_ms=10_000),
        events.append,
        "fix",
        sleep=sleep,
        clock=lambda: clock[0],
        lag=lambda conn: next(lags),
    )
    assert pacer.wait_for_replicas(None) == 0  # 5 s: under the limit
    clock[0] += 1
    waited = pacer.wait_for_replicas(None)  # 20 s, 15 s, then 3 s
    assert waited == pytest.approx(300)  # polled at 100 ms then 200 ms
    assert [e.kind for e in events] == ["backfill.paused", "backfill.resumed"]
    assert events[0].data["lag_ms"] == 20_000
    assert pacer.pauses == 1


def test_pacer_sleeps_between_batches_and_longer_after_lock_waiters():
    slept = []
    pacer = Pacer(
        BackfillOptions(sleep_ms=20, lock_wait_pause_ms=50),
        lambda e: None,
        "fix",
        sleep=slept.append,
    )
    pacer.after_batch(0)
    pacer.after_batch(2)
    assert slept == [0.02, 0.07]


def test_pacer_yields_a_share_of_each_batch_only_while_the_server_is_busy():
    slept, events, clock = [], [], [0.0]
    pacer = Pacer(
        BackfillOptions(busy_sessions=2, nice_ratio=0.5),
        events.append,
        "fix",
        sleep=slept.append,
        clock=lambda: clock[0],
    )
    pacer.after_batch(0, 100.0, 0)  # idle: full speed
    pacer.after_batch(0, 100.0, 6)  # smoothed load 1.8: not yet busy
    pacer.after_batch(0, 100.0, 6)  # 3.06: busy, 0.5 x 100 ms
    pacer.after_batch(0, 80.0, None)  # load not read: no yield
    assert slept == [0.05]
    assert pacer.yielded_ms == 50
    assert [e.data["busy"] for e in events] == [True]
    clock[0] += 11  # reports are at most every 10 s
    for _ in range(8):
        pacer.after_batch(0, 100.0, 0)
    assert [e.data["busy"] for e in events] == [True, False]
    assert "busy" in events[0].message and "full speed" in events[1].message


def test_a_busy_server_gets_shorter_batches():
    options = BackfillOptions(batch_size=4000, max_batch_size=20_000)
    idle, busy = BatchSizer(options), BatchSizer(options)
    # Batches of 4,000 keys take 100 ms: idle, aim at 200 ms; busy, at 50 ms.
    assert idle.record(4000, 100.0, 0) == 8000
    assert busy.record(4000, 100.0, 0, busy=True) == 2000
    assert busy.record(2000, 50.0, 0, busy=True) == 2000  # on target: stays
    assert busy.record(2000, 50.0, 0) == 4000  # no longer busy: grows back
    # The shorter of the two targets applies while busy.
    short = BackfillOptions(target_duration_ms=20, busy_target_duration_ms=50)
    assert BatchSizer.target_ms_of(short, busy=True) == 20


def test_the_busy_verdict_is_what_the_pause_and_the_sizer_share():
    pacer = Pacer(BackfillOptions(busy_sessions=2, nice_ratio=1), lambda e: None, "fix")
    slept: list[float] = []
    pacer.sleep = slept.append
    assert pacer.observe_load(None) is False  # not read: not busy
    assert pacer.observe_load(5) is True
    pacer.pause_after(0, 40.0, busy=True)
    pacer.pause_after(0, 40.0, busy=False)
    assert slept == [0.04]


@pytest.mark.parametrize(
    ("options", "active", "yielded"),
    [
        (BackfillOptions(nice_ratio=0), 50, 0.0),  # never yields
        (BackfillOptions(busy_sessions=0, nice_ratio=2), 0, 400.0),  # always yields
        (BackfillOptions(busy_sessions=10), 9, 0.0),  # below the threshold
    ],
)
def test_pacer_yield_settings(options, active, yielded):
    pacer = Pacer(options, lambda e: None, "fix", sleep=lambda s: None)
    pacer.after_batch(0, 200.0, active)
    assert pacer.yielded_ms == yielded


def test_lag_limit_zero_never_reads_lag():
    pacer = Pacer(
        BackfillOptions(max_replication_lag_ms=0),
        lambda e: None,
        "fix",
        lag=lambda conn: pytest.fail("read"),
    )
    assert pacer.wait_for_replicas(None) == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"batchsize": 10}, "unknown backfill option 'batchsize'"),
        ({"batch_size": "ten"}, "batch_size: expected a positive integer"),
        ({"batch_size": 0}, "positive integer"),
        ({"sleep": "5 parsecs"}, "sleep: unknown unit"),
        ({"analyze": "maybe"}, "analyze: expected true or false"),
        ({"min_batch_size": 500, "max_batch_size": 100}, "larger than max_batch_size"),
        ({"batch_size": 50_000}, "outside min_batch_size..max_batch_size"),
        ({"target_duration": "0"}, "more than 0"),
    ],
)
def test_invalid_options_are_refused_by_name(values, message):
    with pytest.raises(ValueError, match=message):
        merge_backfill_options(BackfillOptions(), values)


def test_options_merge_in_layers_and_bounds_move_the_start():
    options = merge_backfill_options(BackfillOptions(), {"max_batch_size": "500"})
    assert options.batch_size == 500  # the default start follows the new bound
    options = merge_backfill_options(options, {"batch_size": "2_00", "sleep": "1s"})
    assert (options.batch_size, options.sleep_ms, options.max_batch_size) == (
        200,
        1000,
        500,
    )
    assert options.to_dict()["sleep"] == "1s"


def test_the_config_template_and_readme_backfill_sections_are_valid(tmp_path):
    import re
    from pathlib import Path

    from atomig.config import load_settings
    from atomig.plan.backfill import backfill_options
    from atomig.templates import CONFIG_TEMPLATE

    uncommented = re.sub(r"(?m)^# ([a-z_]+ = )", r"\1", CONFIG_TEMPLATE)
    uncommented = uncommented.replace(
        'database_url = "postgresql://app@localhost:5432/app"\n', ""
    )
    (tmp_path / "atomig.toml").write_text(uncommented)
    settings = load_settings(tmp_path, environ={})
    assert backfill_options(settings) == BackfillOptions()
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme[readme.index("\n[backfill]") :].split("```")[0]
    (tmp_path / "atomig.toml").write_text(block)
    assert backfill_options(load_settings(tmp_path, environ={})) == BackfillOptions()


def test_a_stop_request_ends_a_replication_lag_pause():
    clock = [0.0]
    polls = []

    def lag(conn):
        polls.append(clock[0])
        return 60_000  # the standby never catches up

    def sleep(seconds):
        clock[0] += seconds

    events = []
    pacer = Pacer(
        BackfillOptions(max_replication_lag_ms=10_000),
        events.append,
        "fix",
        sleep=sleep,
        clock=lambda: clock[0],
        lag=lag,
    )
    pacer.stopped = lambda: len(polls) >= 3
    pacer.wait_for_replicas(None)
    assert len(polls) == 3
    assert [e.kind for e in events] == ["backfill.paused"]  # not "caught up"
