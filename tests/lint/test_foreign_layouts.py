"""`atomig lint` on directories in golang-migrate's, Flyway's and dbmate's layouts: the
history is replayed in the tool's order, ups are paired with their downs, findings point
into the right file (and, for dbmate, the right line of its one file), and the runner is
the other tool unless the user chose one."""

from __future__ import annotations

import pytest

from atomig.api.linting import lint
from atomig.errors import SourceError, UsageError
from atomig.events import EventLog
from atomig.lint import LintOptions, lint_migrations
from atomig.lint.directory import directory_sources

TABLE = "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\n"
INDEX = "CREATE INDEX orders_user_id_idx ON orders (user_id);\n"
CONCURRENT = "CREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);\n"
DROP_TABLE = "DROP TABLE IF EXISTS orders;\n"
DROP_INDEX = "DROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;\n"


def dbmate(up: str, down: str | None = DROP_TABLE, options: str = "") -> str:
    text = f"-- migrate:up{options}\n{up}"
    return text if down is None else text + f"\n-- migrate:down\n{down}"


def write(project, files: dict[str, str], config: str = "") -> None:
    for name, text in files.items():
        (project.migrations / name).write_text(text, encoding="utf-8")
    if config:
        (project.dir / "atomig.toml").write_text(config, encoding="utf-8")


def run(project, *paths, **options):
    log = EventLog()
    paths = [project.migrations / p for p in paths]
    report = lint(project.settings(), paths, use_database=False, report=log, **options)
    return report, log


def rules(report, name: str) -> list[str]:
    return [f.rule for f in report.result.findings if f.path.endswith("/" + name)]


# ---- history across migrations, in each layout ---------------------------------------

HISTORY = {
    "golang-migrate": (
        {
            "000001_init.up.sql": TABLE,
            "000001_init.down.sql": DROP_TABLE,
            "000002_index.up.sql": INDEX,
            "000002_index.down.sql": DROP_INDEX,
        },
        "000002_index.up.sql",
    ),
    "flyway": (
        {
            "V1__init.sql": TABLE,
            "U1__init.sql": DROP_TABLE,
            "V2__index.sql": INDEX,
            "U2__index.sql": DROP_INDEX,
        },
        "V2__index.sql",
    ),
    "dbmate": (
        {
            "20240101120000_init.sql": dbmate(TABLE),
            "20240102120000_index.sql": dbmate(INDEX, DROP_INDEX),
        },
        "20240102120000_index.sql",
    ),
}


@pytest.mark.parametrize("layout", list(HISTORY))
def test_an_index_on_a_table_an_earlier_migration_created_blocks_writes(
    offline_project, layout
):
    files, second = HISTORY[layout]
    write(offline_project, files)
    report, _ = run(offline_project)
    assert "index-not-concurrent" in rules(report, second)
    assert report.options.runner == "other"
    assert "missing-down" not in [f.rule for f in report.result.findings]
    assert "migration-file-name" not in [f.rule for f in report.result.findings]
    # One file asked about: the earlier migrations are its history.
    report, _ = run(offline_project, second)
    assert {f.path.rsplit("/", 1)[1] for f in report.result.findings} == {second}
    assert "index-not-concurrent" in rules(report, second)


@pytest.mark.parametrize("layout", list(HISTORY))
def test_an_index_on_a_table_created_in_the_same_migration_is_fine(
    offline_project, layout
):
    files, second = HISTORY[layout]
    first = next(iter(files))
    files = {**files, first: files[first].replace(TABLE, TABLE + INDEX)}
    files[second] = files[second].replace(INDEX, "SELECT 1;\n")
    write(offline_project, files)
    report, _ = run(offline_project)
    assert "index-not-concurrent" not in [f.rule for f in report.result.findings]


# ---- order -----------------------------------------------------------------------------


def test_golang_migrate_applies_2_before_10(offline_project):
    write(
        offline_project,
        {
            "10_index.up.sql": INDEX,
            "10_index.down.sql": DROP_INDEX,
            "2_init.up.sql": TABLE,
            "2_init.down.sql": DROP_TABLE,
        },
    )
    report, _ = run(offline_project)
    # Read by name, 10_ would come first and see no table (no locking finding then).
    assert "index-not-concurrent" in rules(report, "10_index.up.sql")


def test_flyway_applies_1_2_before_1_10_and_repeatables_last(offline_project):
    write(
        offline_project,
        {
            "V1.10__index.sql": INDEX,
            "U1.10__index.sql": DROP_INDEX,
            "V1.2__init.sql": TABLE,
            "U1.2__init.sql": DROP_TABLE,
            # Sorted by name R__ comes before V: applied last, it sees the table.
            "R__backfill.sql": "UPDATE orders SET user_id = 0;\n",
        },
    )
    report, _ = run(offline_project)
    assert "index-not-concurrent" in rules(report, "V1.10__index.sql")
    assert "unbatched-dml" in rules(report, "R__backfill.sql")
    # A repeatable migration has no down by design.
    assert "missing-down" not in rules(report, "R__backfill.sql")


# ---- pairing -------------------------------------------------------------------------


def test_an_up_without_its_down_is_reported_naming_the_down(offline_project):
    write(
        offline_project,
        {
            "1_init.up.sql": TABLE,
            "2_more.up.sql": "CREATE TABLE more (id bigint PRIMARY KEY);\n",
            "2_more.down.sql": "DROP TABLE IF EXISTS more;\n",
        },
    )
    report, _ = run(offline_project)
    [finding] = [f for f in report.result.findings if f.rule == "missing-down"]
    assert finding.path.endswith("/1_init.up.sql")
    assert "1_init.down.sql is missing" in finding.message


def test_a_flyway_migration_without_its_undo_file_has_no_down(offline_project):
    # Flyway itself makes undo files optional; atomig expects every up to have a down.
    write(offline_project, {"V1__init.sql": TABLE})
    report, _ = run(offline_project)
    [finding] = [f for f in report.result.findings if f.rule == "missing-down"]
    assert "U1__init.sql is missing" in finding.message


def test_a_dbmate_file_without_its_down_section_has_no_down(offline_project):
    write(offline_project, {"20240101120000_init.sql": dbmate(TABLE, None)})
    report, _ = run(offline_project)
    [finding] = [f for f in report.result.findings if f.rule == "missing-down"]
    assert "`-- migrate:down` section of 20240101120000_init.sql" in finding.message


def test_a_down_is_judged_against_its_up(offline_project):
    write(
        offline_project,
        {
            "1_init.up.sql": TABLE,
            "1_init.down.sql": DROP_TABLE,
            "2_column.up.sql": "ALTER TABLE orders ADD COLUMN note text;\n",
            # No IF EXISTS: a rollback after a partial up fails (non-idempotent).
            "2_column.down.sql": "ALTER TABLE orders DROP COLUMN note;\n",
        },
    )
    report, _ = run(offline_project)
    assert "non-idempotent" in rules(report, "2_column.down.sql")


# ---- dbmate: one file, two sections --------------------------------------------------


def test_a_dbmate_finding_in_the_down_section_is_on_its_line_of_the_file(
    offline_project,
):
    text = (
        "-- migrate:up\n"
        "ALTER TABLE orders ADD COLUMN note text;\n"
        "\n"
        "-- migrate:down\n"
        "SELECT 1;\n"
        "  ALTER TABLE orders DROP COLUMN note;\n"
    )
    write(
        offline_project,
        {"20240101120000_init.sql": dbmate(TABLE), "20240102120000_note.sql": text},
    )
    report, _ = run(offline_project)
    [finding] = [
        f
        for f in report.result.findings
        if f.rule == "non-idempotent" and f.path.endswith("20240102120000_note.sql")
    ]
    assert (finding.line, finding.column) == (6, 3)
    # The report shows the file's own line under it.
    assert report.result.texts[finding.path] == text
    # One file, counted once; no finding about the blanked text of either section.
    assert report.result.files == 2
    own = [f for f in report.result.findings if f.path == finding.path]
    assert {f.line for f in own} <= {2, 6}


def test_concurrently_in_a_dbmate_section_run_in_a_transaction_fails(offline_project):
    write(
        offline_project,
        {
            "20240101120000_init.sql": dbmate(TABLE),
            "20240102120000_index.sql": dbmate(CONCURRENT, DROP_INDEX),
        },
    )
    report, _ = run(offline_project)
    up, down = [
        f for f in report.result.findings if f.rule == "concurrent-in-transaction"
    ]
    assert up.path.endswith("20240102120000_index.sql") and up.line == 2
    assert "`-- migrate:up transaction:false` section" in up.fix
    # The down section (DROP INDEX CONCURRENTLY) is run in a transaction too.
    assert down.path == up.path and down.line == 5
    assert "`-- migrate:down transaction:false` section" in down.fix


def test_concurrently_alone_in_a_transaction_false_dbmate_section_is_fine(
    offline_project,
):
    write(
        offline_project,
        {
            "20240101120000_init.sql": dbmate(TABLE),
            "20240102120000_index.sql": dbmate(CONCURRENT, None, " transaction:false"),
        },
    )
    report, _ = run(offline_project)
    assert "concurrent-in-transaction" not in [f.rule for f in report.result.findings]


def test_concurrently_with_other_statements_in_one_query_string_fails(offline_project):
    # golang-migrate (like a dbmate transaction:false section) sends the file as one
    # query string: PostgreSQL runs its statements as one implicit transaction.
    write(
        offline_project,
        {
            "1_init.up.sql": TABLE,
            "1_init.down.sql": DROP_TABLE,
            "2_index.up.sql": CONCURRENT,
            "2_index.down.sql": DROP_INDEX,
            "3_more.up.sql": "ALTER TABLE orders ADD COLUMN note text;\n"
            + CONCURRENT.replace("orders_user_id_idx", "orders_note_idx"),
            "3_more.down.sql": "DROP INDEX CONCURRENTLY IF EXISTS orders_note_idx;\n"
            "ALTER TABLE orders DROP COLUMN IF EXISTS note;\n",
        },
    )
    report, _ = run(offline_project)
    assert "concurrent-in-transaction" not in rules(report, "2_index.up.sql")
    assert "concurrent-in-transaction" in rules(report, "3_more.up.sql")
    assert "concurrent-in-transaction" in rules(report, "3_more.down.sql")


@pytest.mark.parametrize(
    ("files", "where"),
    [
        (
            {
                "20240101120000_init.sql": dbmate(TABLE),
                "20240102120000_index.sql": dbmate(INDEX, DROP_INDEX),
            },
            "`-- migrate:up transaction:false` section",
        ),
        (
            {
                "1_init.up.sql": TABLE,
                "1_init.down.sql": DROP_TABLE,
                "2_index.up.sql": INDEX,
                "2_index.down.sql": DROP_INDEX,
            },
            "alone in a migration of its own",
        ),
        (
            {
                "V1__init.sql": TABLE,
                "U1__init.sql": DROP_TABLE,
                "V2__index.sql": INDEX,
                "U2__index.sql": DROP_INDEX,
            },
            "Flyway, with its default mixed=false, refuses a migration mixing it",
        ),
        (
            {
                "20240101_0000_init.up.sql": TABLE,
                "20240101_0000_init.down.sql": DROP_TABLE,
                "20240102_0000_index.up.sql": INDEX,
                "20240102_0000_index.down.sql": DROP_INDEX,
            },
            "outside any transaction block",
        ),
    ],
    ids=["dbmate", "golang-migrate", "flyway", "atomig-layout-other-runner"],
)
def test_concurrently_advice_says_how_the_files_tool_runs_it(
    offline_project, files, where
):
    # Not "atomig runs it as its own step": another tool applies these files (psql, say,
    # for atomig's own layout under --for-runner=other).
    write(offline_project, files)
    report, _ = run(offline_project, runner="other")
    [finding] = [f for f in report.result.findings if f.rule == "index-not-concurrent"]
    assert where in finding.fix
    assert "atomig" not in finding.fix
    assert "INVALID" in finding.fix


@pytest.mark.parametrize(
    ("files", "orphan", "up"),
    [
        (
            {
                "20240101_0000_init.up.sql": TABLE,
                "20240101_0000_init.down.sql": DROP_TABLE,
                "20240102_0000_index.down.sql": DROP_INDEX,
            },
            "20240102_0000_index.down.sql",
            "20240102_0000_index.up.sql",
        ),
        (
            {
                "1_init.up.sql": TABLE,
                "1_init.down.sql": DROP_TABLE,
                "2_index.down.sql": "",
            },
            "2_index.down.sql",
            "2_index.up.sql",
        ),
        (
            {
                "V1__init.sql": TABLE,
                "U1__init.sql": DROP_TABLE,
                "U2__x.sql": DROP_INDEX,
            },
            "U2__x.sql",
            "V2__x.sql",
        ),
    ],
    ids=["atomig", "golang-migrate-empty", "flyway"],
)
def test_a_down_without_its_up_is_reported(offline_project, files, orphan, up):
    # atomig's runner reports such a migration broken; lint said nothing of it.
    write(offline_project, files)
    report, _ = run(offline_project)
    [finding] = [f for f in report.result.findings if f.rule == "migration-file-name"]
    assert finding.path.endswith("/" + orphan)
    assert f"a down without its up ({up} is missing)" in finding.message
    assert finding.fix == f"add {up}, or delete {orphan}"


def test_flyway_refuses_concurrently_mixed_with_statements_run_in_a_transaction(
    offline_project,
):
    # Flyway runs a migration outside a transaction only when none of its statements can
    # run in one; mixing both kinds is refused (mixed=false, its default).
    second = CONCURRENT.replace("orders_user_id_idx", "orders_id_user_idx").replace(
        "(user_id)", "(id, user_id)"
    )
    write(
        offline_project,
        {
            "V1__init.sql": TABLE,
            "U1__init.sql": DROP_TABLE,
            "V2__index.sql": CONCURRENT,
            "U2__index.sql": DROP_INDEX,
            "V3__two.sql": second.replace("orders_id_user_idx", "orders_a_idx")
            + second.replace("orders_id_user_idx", "orders_b_idx"),
            "U3__two.sql": "DROP INDEX CONCURRENTLY IF EXISTS orders_a_idx;\n"
            "DROP INDEX CONCURRENTLY IF EXISTS orders_b_idx;\n",
            "V4__mixed.sql": "ALTER TABLE orders ADD COLUMN note text;\n"
            + CONCURRENT.replace("orders_user_id_idx", "orders_note_idx"),
            "U4__mixed.sql": "DROP INDEX CONCURRENTLY IF EXISTS orders_note_idx;\n"
            "ALTER TABLE orders DROP COLUMN IF EXISTS note;\n",
        },
    )
    report, _ = run(offline_project)
    # Alone, or only with others of its kind: Flyway runs them outside a transaction.
    for name in ("V2__index.sql", "U2__index.sql", "V3__two.sql", "U3__two.sql"):
        assert "concurrent-in-transaction" not in rules(report, name), name
    for name in ("V4__mixed.sql", "U4__mixed.sql"):
        [finding] = [
            f
            for f in report.result.findings
            if f.rule == "concurrent-in-transaction" and f.path.endswith("/" + name)
        ]
        assert "Flyway refuses this migration" in finding.message
        assert "put it in a migration of its own" in finding.fix


# ---- the runner ------------------------------------------------------------------------


def test_the_runner_is_other_for_a_foreign_layout_unless_chosen(offline_project):
    files, second = HISTORY["golang-migrate"]
    write(offline_project, files)
    report, log = run(offline_project)
    assert report.options.runner == "other"
    assert "missing-lock-timeout" in rules(report, second)
    [event] = [e for e in log.events if e.kind == "lint-layout"]
    assert "golang-migrate" in event.message and "--for-runner=other" in event.message
    report, log = run(offline_project, runner="atomig")
    assert report.options.runner == "atomig" and "lint-layout" not in log.kinds()
    assert "missing-lock-timeout" not in rules(report, second)
    assert "index-not-concurrent" in rules(report, second)  # history all the same


def test_the_configured_runner_wins(offline_project):
    files, _ = HISTORY["flyway"]
    write(offline_project, files, config='[lint]\nrunner = "atomig"\n')
    report, _ = run(offline_project)
    assert report.options.runner == "atomig"


def test_atomigs_own_layout_keeps_atomigs_runner(offline_project):
    offline_project.add("20240101_0000_init", TABLE, DROP_TABLE)
    report, log = run(offline_project)
    assert report.options.runner == "atomig" and "lint-layout" not in log.kinds()


# ---- a mixed directory ---------------------------------------------------------------


def test_a_stray_file_is_linted_alone_and_named(offline_project):
    files, _ = HISTORY["golang-migrate"]
    write(offline_project, {**files, "init.up.sql": INDEX, "V3__more.sql": INDEX})
    report, _ = run(offline_project)
    for name, reason in (
        ("init.up.sql", "does not follow the golang-migrate layout of its directory"),
        ("V3__more.sql", "is a Flyway migration in a directory of golang-migrate"),
    ):
        [finding] = [
            f
            for f in report.result.findings
            if f.rule == "migration-file-name" and f.path.endswith("/" + name)
        ]
        assert finding.message.startswith(f"{name} {reason}")
        assert "linted alone, without the history" in finding.message
        assert finding.fix.startswith("name it <version>_<title>.up.sql")
        # Linted all the same (alone: a table it does not create counts as existing).
        assert "index-not-concurrent" in rules(report, name)


def test_a_stray_file_asked_about_is_linted_and_named(offline_project):
    files, _ = HISTORY["golang-migrate"]
    write(offline_project, {**files, "1-init.up.sql": TABLE})
    report, _ = run(offline_project, "1-init.up.sql")
    assert rules(report, "1-init.up.sql") == ["migration-file-name"]
    assert report.result.files == 1


# ---- bad input -------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_a_clear_error(offline_project):
    files, _ = HISTORY["dbmate"]
    write(offline_project, files)
    (offline_project.migrations / "20240103120000_bad.sql").write_bytes(b"\xff\xfe")
    with pytest.raises(SourceError, match="is not valid UTF-8"):
        run(offline_project)


def test_an_unreadable_file_is_a_clear_error(offline_project):
    files, _ = HISTORY["golang-migrate"]
    write(offline_project, files)
    (offline_project.migrations / "000003_dir.up.sql").mkdir()
    with pytest.raises(UsageError, match="cannot read"):
        run(offline_project)


def test_a_directory_of_an_unknown_layout_is_noted_once(offline_project):
    goose = "-- +goose Up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n"
    write(offline_project, {"001_init.sql": goose, "002_more.sql": goose})
    report, log = run(offline_project)
    assert report.options.runner == "atomig"
    assert "migration-file-name" not in [f.rule for f in report.result.findings]
    [event] = [e for e in log.events if e.kind == "lint-layout-unknown"]
    assert "001_init.sql, 002_more.sql look like migrations" in event.message
    assert event.level == "warning"


# ---- the engine's own paths ------------------------------------------------------------


def test_a_dbmate_directory_lints_the_same_on_two_cores():
    texts = {
        f"{20240101000000 + i}_m{i}.sql": dbmate(
            f"CREATE TABLE t{i} (id bigint PRIMARY KEY, v int);\n"
            f"CREATE INDEX i{i} ON t{max(i - 1, 0)} (v);\n",
            f"DROP INDEX i{i};\nDROP TABLE t{i};\n",
        )
        for i in range(120)
    }
    found = directory_sources({n: n for n in texts}, texts.__getitem__)
    options = LintOptions(runner="other")
    one = lint_migrations(found.migrations, found.loose, options=options, workers=1)
    two = lint_migrations(found.migrations, found.loose, options=options, workers=2)
    assert one.findings == two.findings and one.files == two.files == 120
    assert "index-not-concurrent" in {f.rule for f in one.findings}


def test_migration_file_name_is_suppressed_like_any_rule():
    texts = {
        "1_a.up.sql": TABLE,
        "1_a.down.sql": DROP_TABLE,
        "seed.up.sql": "-- atomig-ignore-file: migration-file-name applied by hand\n"
        "SELECT 1;\n",
        "other.up.sql": "SELECT 1;\n",
    }
    found = directory_sources({n: n for n in texts}, texts.__getitem__)
    result = lint_migrations(found.migrations, found.loose)
    assert [(f.path, f.rule) for f in result.findings] == [
        ("other.up.sql", "migration-file-name")
    ]
    assert result.suppressed == 1
