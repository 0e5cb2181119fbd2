"""Pure parts of the step engine: retry arithmetic and fingerprint diffs."""

import random
from dataclasses import replace

from atomig.plan.model import RetryPolicy
from atomig.run.retry import AttemptTimeout, backoff_ms, exhausted
from atomig.schema.model import Column, Index, SchemaModel, Table
from atomig.verify.fingerprint import Fingerprint, fingerprint_model

POLICY = RetryPolicy(
    max_attempts=60,
    initial_delay_ms=100,
    max_delay_ms=5000,
    budget_ms=600_000,
    attempt_lock_timeout_ms=50,
    blocker_age_ms=1000,
    blocker_wait_ms=30_000,
)


def test_backoff_is_full_jitter_under_an_exponential_cap():
    rng = random.Random(7)
    samples = [[backoff_ms(POLICY, n, rng) for _ in range(300)] for n in (1, 3, 10)]
    assert max(samples[0]) <= 100 and max(samples[1]) <= 400 and max(samples[2]) <= 5000
    # Full jitter spreads over the whole range, not around its top.
    assert min(samples[2]) < 1000 < max(samples[2])


def test_attempt_timeout_escalates_to_the_ceiling_only():
    timeout = AttemptTimeout(50, 2000)
    seen = [timeout.current_ms] + [timeout.escalate() for _ in range(8)]
    assert seen == [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]
    # lock_timeout = 0 (no limit) keeps the short attempts as they are.
    assert AttemptTimeout(50, 0).escalate() == 50


def test_retries_stop_at_attempts_or_budget():
    assert exhausted(POLICY, 60, 0) == "all 60 attempts failed"
    assert "budget of 10min" in exhausted(POLICY, 2, 599_990, 20)
    assert exhausted(POLICY, 2, 1000, 20) is None


def _model(valid=True, default=None, columns=("id", "total")):
    table = Table(
        schema="public",
        name="orders",
        qualified="public.orders",
        kind="table",
        unlogged=False,
        columns=tuple(
            Column(name, "bigint", False, default if name == "total" else None)
            for name in columns
        ),
        indexes=(
            Index(
                "i",
                "public.i",
                "CREATE INDEX i ON public.orders (total)",
                valid,
                False,
                False,
                8192,
            ),
        ),
        row_estimate=10,
        total_bytes=16384,
    )
    return SchemaModel("18.1", ("public",), (), tables=(table,))


def test_fingerprint_names_the_object_that_changed_and_ignores_sizes():
    base = fingerprint_model(_model())
    model = _model()
    table = replace(
        model.tables[0],
        total_bytes=999_999,
        row_estimate=123_456,
        indexes=(replace(model.tables[0].indexes[0], size_bytes=1),),
    )
    assert fingerprint_model(replace(model, tables=(table,))) == base
    invalid = fingerprint_model(_model(valid=False))
    assert [str(c) for c in base.diff(invalid)] == ["index public.i changed"]
    reordered = fingerprint_model(_model(columns=("total", "id")))
    assert [str(c) for c in base.diff(reordered)] == ["table public.orders changed"]
    defaulted = fingerprint_model(_model(default="0"))
    assert [str(c) for c in base.diff(defaulted)] == [
        "column public.orders.total changed"
    ]
    assert base.digest != invalid.digest
    assert Fingerprint.from_dict(base.to_dict()) == base
