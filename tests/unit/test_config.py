"""Configuration precedence and validation."""

from pathlib import Path

import pytest

from atomig.config import load_settings
from atomig.errors import ConfigError


def test_defaults(tmp_path):
    settings = load_settings(tmp_path, environ={})
    assert settings.database_url is None
    assert settings.database_url_source == "embedded"
    assert settings.migrations_dir == tmp_path.resolve() / "migrations"
    assert settings.embedded_dir == tmp_path.resolve() / ".atomig"
    assert settings.ledger_schema == "atomig"
    assert settings.session.lock_timeout_ms == 2000
    assert settings.session.statement_timeout_ms == 900_000
    assert settings.session.idle_in_transaction_session_timeout_ms == 60_000


def test_precedence_flag_env_file(tmp_path):
    (tmp_path / "atomig.toml").write_text('database_url = "postgresql://file/db"\n')
    env = {
        "DATABASE_URL": "postgresql://env/db",
        "ATOMIG_DATABASE_URL": "postgresql://atomig-env/db",
    }
    assert load_settings(tmp_path, environ={}).database_url == "postgresql://file/db"
    assert (
        load_settings(
            tmp_path, environ={"DATABASE_URL": "postgresql://env/db"}
        ).database_url
        == "postgresql://env/db"
    )
    assert (
        load_settings(tmp_path, environ=env).database_url
        == "postgresql://atomig-env/db"
    )
    flagged = load_settings(tmp_path, environ=env, database_url="postgresql://flag/db")
    assert (flagged.database_url, flagged.database_url_source) == (
        "postgresql://flag/db",
        "--database-url",
    )


def test_pyproject_tool_section(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.atomig]\nmigrations_dir = "db/migrations"\n[tool.atomig.session]\nlock_timeout = "5s"\n'
    )
    settings = load_settings(tmp_path, environ={})
    assert settings.migrations_dir == (tmp_path / "db" / "migrations").resolve()
    assert settings.session.lock_timeout_ms == 5000


def test_full_file(tmp_path):
    (tmp_path / "atomig.toml").write_text(
        'ledger_schema = "ops"\non_failure = "resume"\nrunner_lock_wait = "5s"\n'
        '[session]\nstatement_timeout = "1h"\nconcurrent_statement_timeout = "6h"\n'
        '[retry]\nmax_attempts = 5\nbudget = "1min"\nattempt_lock_timeout = "20ms"\n'
    )
    settings = load_settings(tmp_path, environ={})
    assert settings.ledger_schema == "ops"
    assert settings.on_failure == "resume"
    assert settings.runner_lock_wait_ms == 5000
    assert settings.session.statement_timeout_ms == 3_600_000
    assert settings.session.concurrent_statement_timeout_ms == 6 * 3_600_000
    assert settings.retry.max_attempts == 5
    assert settings.retry.budget_ms == 60_000
    assert settings.retry.attempt_lock_timeout_ms == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lock_timeout = '2s'\n", "unknown setting"),
        ("[session]\nlock_timout = '2s'\n", "unknown key 'lock_timout'"),
        ("[session]\nlock_timeout = 'soon'\n", "not a duration"),
        ("[retry]\nmax_attempts = 0\n", "positive integer"),
        ("on_failure = 'ignore'\n", "on_failure must be"),
        ("ledger_schema = ''\n", "ledger_schema"),
        ("this is = not toml =\n", "not valid TOML"),
        # The review gate is require_review (top level): nothing reads a [review] table.
        ("[review]\nbogus_key = 1\n", "unknown setting"),
    ],
)
def test_invalid_files_are_errors_naming_the_file(tmp_path, text, message):
    (tmp_path / "atomig.toml").write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(tmp_path, environ={})
    assert "atomig.toml" in str(info.value)


def test_explicit_missing_config(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path, environ={}, config_file=Path(tmp_path / "nope.toml"))


def test_library_callers_may_pass_strings(tmp_path, monkeypatch):
    (tmp_path / "custom.toml").write_text('ledger_schema = "ops"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        ".", config_file=str(tmp_path / "custom.toml"), migrations_dir="db", environ={}
    )
    assert settings.project_dir == tmp_path.resolve()
    assert settings.ledger_schema == "ops"
    assert settings.migrations_dir == tmp_path.resolve() / "db"


def test_base_schema_is_a_path_in_the_project(tmp_path):
    (tmp_path / "atomig.toml").write_text('base_schema = "db/base.sql"\n')
    settings = load_settings(tmp_path, environ={})
    assert settings.base_schema == (tmp_path / "db" / "base.sql").resolve()
    assert load_settings(tmp_path / "db", environ={}).base_schema is None
    (tmp_path / "atomig.toml").write_text("base_schema = 3\n")
    with pytest.raises(
        ConfigError, match="base_schema must be the path of an SQL file"
    ):
        load_settings(tmp_path, environ={})
