"""The backfill rewrite: the window predicate is added through the AST, never as text."""

import pytest

from atomig.errors import SourceError
from atomig.sql import QualifiedName, parse_script
from atomig.sql.backfill import (
    KeyColumn,
    backfill_statement,
    check_key_untouched,
    window_predicate_sql,
)

ID = [KeyColumn("id", QualifiedName("pg_catalog", "int8"))]
PAIR = [
    KeyColumn("tenant", QualifiedName("pg_catalog", "text")),
    KeyColumn("Seq No", QualifiedName("app", "my type")),
]


def target(text: str):
    return backfill_statement(parse_script(text, "f.sql").statements[0], "f.sql")


def rewritten(text: str, key=ID, *, lower=True) -> str:
    out = window_predicate_sql(target(text), key, lower=lower)
    # The rewritten statement is valid SQL of the same kind.
    again = parse_script(out).statements
    assert len(again) == 1 and again[0].kind == target(text).statement.kind
    return out


def test_single_key_window_is_anded_to_the_where_clause():
    assert rewritten("UPDATE t SET c = 1 WHERE c IS NULL") == (
        "UPDATE t SET c = 1 WHERE c IS NULL AND t.id > CAST($1 AS bigint)"
        " AND t.id <= CAST($2 AS bigint)"
    )


def test_first_window_has_only_an_upper_bound():
    assert rewritten("DELETE FROM t", lower=False) == (
        "DELETE FROM t WHERE t.id <= CAST($1 AS bigint)"
    )


def test_or_in_the_original_where_keeps_its_meaning():
    out = rewritten("UPDATE t SET c = 1 WHERE a = 1 OR b = 2")
    assert out.startswith("UPDATE t SET c = 1 WHERE (a = 1 OR b = 2) AND t.id > ")


def test_composite_key_uses_a_row_comparison_with_quoted_names_and_types():
    out = rewritten("UPDATE t SET c = 1", PAIR)
    assert (
        '(t.tenant, t."Seq No") > (CAST($1 AS pg_catalog.text), CAST($2 AS app."my type"))'
        in out
    )
    assert (
        '(t.tenant, t."Seq No") <= (CAST($3 AS pg_catalog.text), CAST($4 AS app."my type"))'
        in out
    )


def test_window_parameters_follow_the_statements_own():
    t = target('UPDATE s."T" AS x SET c = $2 || $1 FROM o WHERE o.id = x.oid')
    assert t.param_count == 2
    assert t.refname == "x"
    assert t.relation == QualifiedName("s", "T")
    out = window_predicate_sql(t, ID, lower=True)
    assert "x.id > CAST($3 AS bigint) AND x.id <= CAST($4 AS bigint)" in out


def test_literals_with_percent_and_dollar_signs_survive():
    out = rewritten("UPDATE t SET note = 'a%s $1 %%' WHERE note LIKE '%x%'")
    assert "'a%s $1 %%'" in out and "'%x%'" in out


def test_only_and_cte_are_kept():
    t = target("WITH v AS (SELECT 1 AS one) UPDATE ONLY t SET c = (SELECT one FROM v)")
    assert t.only
    out = window_predicate_sql(t, ID, lower=False)
    assert out.startswith("WITH v AS (SELECT 1 AS one) UPDATE ONLY t SET")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("INSERT INTO t VALUES (1)", "must be an UPDATE or DELETE, not INSERT"),
        ("SELECT 1", "must be an UPDATE or DELETE, not SELECT"),
        ("ALTER TABLE t ADD COLUMN c int", "not ALTER"),
        ("UPDATE t SET c = 1 WHERE CURRENT OF cur", "WHERE CURRENT OF"),
        ("DELETE FROM t RETURNING id", "RETURNING"),
        (
            "WITH d AS (DELETE FROM u RETURNING 1) UPDATE t SET c = 1",
            "data-modifying WITH",
        ),
    ],
)
def test_statements_that_cannot_be_batched_are_refused(text, message):
    with pytest.raises(SourceError, match=message) as info:
        target(text)
    assert str(info.value.location) == "f.sql:1:1"


def test_updating_the_key_is_refused():
    with pytest.raises(SourceError, match="updates id, the key"):
        check_key_untouched(target("UPDATE t SET id = id + 1000000"), ID)
    check_key_untouched(target("UPDATE t SET c = id"), ID)


def test_planner_checks_backfill_options_before_anything_runs():
    from pathlib import Path

    from atomig.config import Settings
    from atomig.plan import StepKind, plan_migration
    from atomig.source.model import Directives, MigrationId
    from atomig.sql import ServerVersion

    mid = MigrationId(20261124153000, "20261124_1530", "fill")
    settings = Settings(project_dir=Path("/p"), migrations_dir=Path("/p/m"))

    def plan(text, settings=settings):
        script = parse_script(text, "m.up.sql")
        return plan_migration(
            mid, "up", script, Directives(), settings, ServerVersion.from_major(15)
        )

    good = plan(
        "ALTER TABLE t ADD c int;\n-- atomig: backfill batch_size=2000 sleep=10ms\nUPDATE t SET c = 1;"
    )
    assert [s.kind for s in good.steps] == [StepKind.TRANSACTION, StepKind.BACKFILL]
    with pytest.raises(SourceError, match="unknown backfill option 'batch'") as info:
        plan("-- atomig: backfill batch=2000\nUPDATE t SET c = 1;")
    assert (info.value.location.path, info.value.location.line) == ("m.up.sql", 1)
    configured = settings.with_overrides(extra={"backfill": {"max_batch_size": 1000}})
    with pytest.raises(SourceError, match=r"outside min_batch_size\.\.max_batch_size"):
        plan("-- atomig: backfill batch_size=2000\nUPDATE t SET c = 1;", configured)
