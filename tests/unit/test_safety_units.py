"""Pure parts of the safety net: its configuration sections and precise differences."""

from __future__ import annotations

import doctest

import pytest

import atomig.verify.diff
from atomig.errors import ConfigError
from atomig.verify.config import safety_settings
from atomig.verify.diff import ObjectDifference, Snapshot, differences, field_changes
from atomig.verify.fingerprint import Fingerprint


def settings_with(tmp_path, text):
    from atomig.config import load_settings

    (tmp_path / "atomig.toml").write_text(text)
    return load_settings(tmp_path, environ={})


def test_doctests():
    assert doctest.testmod(atomig.verify.diff).failed == 0


def test_defaults_without_sections(tmp_path):
    safety = safety_settings(settings_with(tmp_path, ""))
    assert safety.preflight.enabled and safety.preflight.lock_holders == "warn"
    assert safety.preflight.backup_configured is False
    assert safety.watchdog.max_blocked_wait_ms == 5000
    assert safety.postdeploy.on_health_failure == "report"
    assert safety.verify.target_lock_timeout_ms == 100


def test_sections_are_read_and_typed(tmp_path):
    safety = safety_settings(
        settings_with(
            tmp_path,
            '[preflight]\nlock_holders = "wait"\nwait = "2min"\nbackup_max_age = "1h"\n'
            "min_server_version = 14\n"
            '[watchdog]\nmax_blocked_wait = "750ms"\nenabled = false\n'
            '[postdeploy]\nhealth_url = "http://localhost/health"\n'
            'on_health_failure = "rollback"\n'
            '[verify]\nscratch_url = "embedded"\n',
        )
    )
    assert safety.preflight.lock_holders == "wait"
    assert safety.preflight.wait_ms == 120_000
    assert safety.preflight.backup_max_age_ms == 3_600_000
    assert safety.preflight.min_server_version == 14
    assert safety.preflight.backup_configured
    assert safety.watchdog.max_blocked_wait_ms == 750 and not safety.watchdog.enabled
    assert safety.postdeploy.on_health_failure == "rollback"
    assert safety.verify.scratch_url == "embedded"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[preflight]\nlock_holder = 'warn'\n",
            "unknown key 'lock_holder' in [preflight]",
        ),
        ("[preflight]\nlock_holders = 'ignore'\n", "lock_holders must be 'warn' or"),
        ("[watchdog]\nmax_blocked_wait = 'soon'\n", "max_blocked_wait: not a duration"),
        ("[postdeploy]\nanalyze = 'yes'\n", "analyze must be true or false"),
        ("[postdeploy]\nhealth_retries = -1\n", "must be a non-negative integer"),
        ("[verify]\nscratch_url = ''\n", "must be a non-empty string"),
        ("preflight = 3\n", "[preflight] must be a table"),
    ],
)
def test_invalid_sections_name_the_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        safety_settings(settings_with(tmp_path, text))
    assert message in caught.value.message
    assert "atomig.toml" in caught.value.message


def snapshot(values):
    digests = {k: str(hash(repr(v))) for k, v in values.items()}
    return Snapshot(values, Fingerprint(digests))


def test_differences_name_each_object_and_field():
    expected = snapshot(
        {
            "column public.t.a": {"type": "integer", "not_null": True, "default": None},
            "index public.t_a": {"definition": "CREATE INDEX t_a ON public.t (a)"},
            "function public.f()": {
                "kind": "function",
                "returns": "integer",
                "language": "sql",
                "definition": "CREATE FUNCTION f()\n RETURNS integer\nAS $$ SELECT 1 $$",
            },
        }
    )
    actual = snapshot(
        {
            "column public.t.a": {"type": "bigint", "not_null": True, "default": None},
            "column public.t.b": {"type": "text", "not_null": False, "default": "'x'"},
            "function public.f()": {
                "kind": "function",
                "returns": "integer",
                "language": "sql",
                "definition": "CREATE FUNCTION f()\n RETURNS integer\nAS $$ SELECT 2 $$",
            },
        }
    )
    found = differences(expected, actual)
    assert found == [
        ObjectDifference("column public.t.a", "changed", ("type: integer → bigint",)),
        ObjectDifference("column public.t.b", "unexpected", ("text DEFAULT 'x'",)),
        ObjectDifference(
            "function public.f()",
            "changed",
            ("definition: line 3: 'AS $$ SELECT 1 $$' → 'AS $$ SELECT 2 $$'",),
        ),
        ObjectDifference(
            "index public.t_a", "missing", ("CREATE INDEX t_a ON public.t (a)",)
        ),
    ]
    assert found[0].describe() == "column public.t.a is changed: type: integer → bigint"


def test_field_changes_of_nested_values_and_lost_lines():
    assert field_changes({"a": {"b": 1}}, {"a": {"b": 2}}) == ["a.b: 1 → 2"]
    assert field_changes("x\ny\nz", "x\ny") == ["value: lost line 3: 'z'"]


def test_a_session_is_described_without_its_query_s_final_semicolon():
    # The description is followed by "; next attempt …" or "(a lock request …)".
    from atomig.db.activity import Session

    session = Session(
        pid=7,
        application_name="psql",
        state="idle in transaction",
        backend_type="client backend",
        xact_age_ms=1600,
        state_age_ms=1500,
        wait_event=None,
        query="SELECT count(*)\n  FROM rental;  ",
        relation="rental",
        mode="AccessShareLock",
    )
    assert session.describe() == (
        "pid 7 (psql, idle in transaction, transaction open 1.6s, holds AccessShareLock "
        "on rental): SELECT count(*) FROM rental"
    )
