"""atomig verify: reversibility proofs on a scratch database (PG 15 and 18)."""

from __future__ import annotations

import json
import signal
import time

from atomig.verify.scratch import PREFIX

BASE = (
    "20260101_0900_base",
    "CREATE TABLE t (id bigint PRIMARY KEY, a int, b text);\n"
    "CREATE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$\n"
    "BEGIN\n  RETURN x + 1;\nEND\n$$;\n",
    "DROP FUNCTION f(int);\nDROP TABLE t;\n",
)


def scratch_databases(db):
    return db.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
    )


def verify_json(project, *args):
    result = project.cli("verify", "--json", *args)
    return result, json.loads(result.stdout)


def failed_checks(document, version):
    [proof] = [m for m in document["migrations"] if m["version"] == version]
    return [c for c in proof["checks"] if not c["ok"]]


def test_correct_pairs_pass_including_every_step_boundary(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY, t_id bigint, total numeric);\n"
        "CREATE INDEX orders_t_id ON orders (t_id);\n",
        "DROP TABLE orders;\n",
    )
    project.add(
        "20260103_0900_steps",
        "BEGIN;\n"
        "ALTER TABLE orders ADD COLUMN note text;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_t_fk FOREIGN KEY (t_id) REFERENCES t NOT VALID;\n"
        "COMMIT;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_t_fk;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_note ON orders (note);\n",
        "DROP INDEX CONCURRENTLY IF EXISTS orders_note;\n"
        "ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_t_fk;\n"
        "ALTER TABLE orders DROP COLUMN IF EXISTS note;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 0, result.output
    assert document["ok"] is True
    assert [m["ok"] for m in document["migrations"]] == [True, True, True]
    steps = document["migrations"][2]
    names = [c["check"] for c in steps["checks"]]
    # Three steps: a failure of each one is rolled back by the runner's own path.
    assert names == [
        "up",
        "down",
        "down restores the schema",
        "down file guarded for a partial state",
        "rollback when step 1/3 fails",
        "rollback when step 2/3 fails",
        "rollback when step 3/3 fails",
        "up again",
        "up again gives the same schema",
    ]
    # The target is untouched and no scratch database is left.
    assert project.database.scalar("SELECT to_regclass('t')") is None
    assert scratch_databases(project.database) == []


def test_down_that_forgets_an_index(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_idx",
        "CREATE INDEX t_a_idx ON t (a);\nALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN c;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 1
    [check] = failed_checks(document, "20260102_0900")
    assert check["check"] == "down restores the schema"
    [difference] = check["differences"]
    assert difference["object"] == "index public.t_a_idx"
    assert difference["change"] == "unexpected"
    assert (
        "CREATE INDEX t_a_idx ON public.t USING btree (a)" in difference["details"][0]
    )
    # The text report says the same, precisely.
    text = project.cli("verify")
    assert text.exit_code == 1
    assert "✗ 20260102_0900_idx: NOT reversible" in text.stdout
    assert "index public.t_a_idx is unexpected: CREATE INDEX t_a_idx" in text.stdout
    assert scratch_databases(project.database) == []


def test_down_that_drops_a_column_the_up_did_not_add(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_col",
        "ALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN c;\nALTER TABLE t DROP COLUMN b;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 1
    [check] = failed_checks(document, "20260102_0900")
    by_object = {d["object"]: d for d in check["differences"]}
    assert by_object["column public.t.b"]["change"] == "missing"
    assert by_object["column public.t.b"]["details"] == ["text"]
    # The table's column list changed too: named, with before and after.
    assert by_object["table public.t"]["details"] == [
        'columns: ["id", "a", "b"] → ["id", "a"]'
    ]


def test_down_not_safe_on_a_partial_up_fails_at_a_step_boundary(project):
    # The DO block passes the static guard check (atomig trusts DO blocks), but it renames
    # an index that only exists after step 2: a failure of step 2 would leave the rollback
    # stuck. Only a real run at that boundary shows it.
    project.add(*BASE)
    project.add(
        "20260102_0900_partial",
        "ALTER TABLE t ADD COLUMN c int;\n"
        "CREATE INDEX CONCURRENTLY t_c_idx ON t (c);\n",
        "DO $$ BEGIN ALTER INDEX t_c_idx RENAME TO t_c_old; END $$;\n"
        "DROP INDEX IF EXISTS t_c_old;\n"
        "ALTER TABLE t DROP COLUMN IF EXISTS c;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 1, result.output
    checks = failed_checks(document, "20260102_0900")
    assert [c["check"] for c in checks] == ["rollback when step 1/2 fails"]
    [check] = checks
    assert 'relation "t_c_idx" does not exist' in check["message"]
    assert check["location"].endswith("20260102_0900_partial.down.sql:1:1")
    # The full up → down → up cycle alone would have passed.
    [proof] = [m for m in document["migrations"] if m["version"] == "20260102_0900"]
    passed = {c["check"] for c in proof["checks"] if c["ok"]}
    assert {"up", "down", "down restores the schema"} <= passed
    assert scratch_databases(project.database) == []


def test_down_incomplete_on_a_partial_up_names_what_it_leaves(project):
    # The down drops the parent index, which takes the partitions' indexes with it only
    # once they are attached: when step 3 fails, the first partition's index stays.
    project.add(
        "20260101_0900_events",
        "CREATE TABLE events (id bigint, at date NOT NULL, kind text) "
        "PARTITION BY RANGE (at);\n"
        "CREATE TABLE events_a PARTITION OF events "
        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n"
        "CREATE TABLE events_b PARTITION OF events "
        "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');\n",
        "DROP TABLE IF EXISTS events;\n",
    )
    project.add(
        "20260102_0900_kind",
        "CREATE INDEX IF NOT EXISTS events_kind_idx ON ONLY events (kind);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_a_kind_idx ON events_a (kind);\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_b_kind_idx ON events_b (kind);\n"
        "ALTER INDEX events_kind_idx ATTACH PARTITION events_a_kind_idx;\n"
        "ALTER INDEX events_kind_idx ATTACH PARTITION events_b_kind_idx;\n",
        "DROP INDEX IF EXISTS events_kind_idx;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 1, result.output
    checks = failed_checks(document, "20260102_0900")
    by_check = {c["check"]: c for c in checks}
    check = by_check["rollback when step 3/4 fails"]
    assert "is not as before the migration" in check["message"]
    # The operator is told what the down left behind, not only that something differs.
    [difference] = check["differences"]
    assert difference["object"] == "index public.events_a_kind_idx"
    assert difference["change"] == "unexpected"
    text = project.cli("verify", "--all")
    assert "index public.events_a_kind_idx is unexpected" in text.stdout
    assert scratch_databases(project.database) == []


def test_function_body_changed_and_not_restored(project):
    project.add(*BASE)
    project.add(
        "20260102_0900_fn",
        "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  RETURN x + 2;\nEND\n$$;\n",
        "SELECT 1;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 1
    [check] = failed_checks(document, "20260102_0900")
    [difference] = check["differences"]
    assert difference["object"] == "function public.f(integer)"
    assert difference["change"] == "changed"
    [detail] = difference["details"]
    assert detail.startswith("definition: line ")
    assert "'RETURN x + 1;' → 'RETURN x + 2;'" in detail


def test_pending_only_replays_the_applied_ones_and_a_later_failure_skips_nothing(
    project,
):
    db = project.database
    project.add(*BASE)
    assert project.cli("up").exit_code == 0
    # Edited after apply: verify replays the SQL stored in the ledger, as applied.
    (project.migrations / "20260101_0900_base.up.sql").write_text(
        BASE[1] + "-- a comment added later\n"
    )
    project.add("20260102_0900_bad", "ALTER TABLE t ADD COLUMN c int;\n", "SELECT 1;\n")
    project.add(
        "20260103_0900_good",
        "ALTER TABLE t ADD COLUMN d int;\n",
        "ALTER TABLE t DROP COLUMN d;\n",
    )
    result, document = verify_json(project)
    assert result.exit_code == 1
    assert document["replayed"] == 1
    assert [(m["version"], m["ok"]) for m in document["migrations"]] == [
        ("20260102_0900", False),
        ("20260103_0900", True),  # proven on a rebuilt scratch database
    ]
    assert any("stored in the ledger" in note for note in document["notes"])
    # A single version.
    result, document = verify_json(project, "20260103_0900")
    assert result.exit_code == 0
    assert [m["version"] for m in document["migrations"]] == ["20260103_0900"]
    assert document["replayed"] == 2
    # --all starts from an empty database.
    result, document = verify_json(project, "--all")
    assert [m["version"] for m in document["migrations"]] == [
        "20260101_0900",
        "20260102_0900",
        "20260103_0900",
    ]
    assert db.scalar("SELECT count(*) FROM atomig.migrations") == 1
    assert scratch_databases(db) == []


def test_an_up_that_fails_skips_the_migrations_after_it(project):
    project.add(*BASE)
    project.add("20260102_0900_broken", "ALTER TABLE nope ADD COLUMN c int;\n", "")
    project.add("20260103_0900_after", "SELECT 1;\n", "SELECT 1;\n")
    result, document = verify_json(project)
    assert result.exit_code == 1
    broken, after = document["migrations"][1:]
    assert broken["checks"][0]["check"] == "up"
    assert 'relation "nope" does not exist' in broken["checks"][0]["message"]
    assert after["skipped"] == "not verified: 20260102_0900_broken does not apply"


def test_scratch_url_and_a_role_that_may_not_create_databases(project):
    db = project.database
    project.add(*BASE)
    other = db.cluster.url("postgres")
    result = project.cli("verify", "--scratch-url", other)
    assert result.exit_code == 0, result.output
    assert f"on {other.rsplit('/', 1)[0]}" in result.stdout
    db.execute("CREATE ROLE nocreate LOGIN")
    db.execute(f'GRANT ALL ON DATABASE "{db.name}" TO nocreate')
    url = f"postgresql://nocreate@{db.cluster.host}:{db.cluster.port}/{db.name}"
    result = project.cli("--database-url", url, "verify")
    assert result.exit_code == 2
    assert "cannot create a scratch database" in result.stderr
    assert "--scratch-url" in result.stderr
    db.execute("DROP OWNED BY nocreate")
    db.execute("DROP ROLE nocreate")


def test_ctrl_c_drops_the_scratch_database(project):
    db = project.database
    project.add(*BASE)
    project.add("20260102_0900_slow", "SELECT pg_sleep(30);\n", "SELECT 1;\n")
    process = project.popen("verify")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%'"
        ):
            time.sleep(0.05)
        assert scratch_databases(db), "the scratch database exists while verify runs"
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert time.monotonic() - started < 10, "the sleeping statement was cancelled"
    assert process.returncode == 130, stderr
    assert scratch_databases(db) == []


def test_scratch_databases_left_by_a_killed_run_are_dropped_once_stale(project):
    db = project.database
    project.add(*BASE)
    old, recent = PREFIX + "0ld0ld0ld0ld", PREFIX + "rec3nt0000000"
    with db.cluster.connect() as conn:
        for name, age in ((old, 7200), (recent, 60)):
            conn.execute(f'CREATE DATABASE "{name}"')
            epoch = int(time.time()) - age
            conn.execute(
                f'COMMENT ON DATABASE "{name}" IS \'atomig scratch database, created at'
                f" epoch {epoch}; safe to drop'"
            )
    result = project.cli("verify")
    assert result.exit_code == 0, result.output
    assert (
        f"dropped {old}, a scratch database an earlier run left behind" in result.stderr
    )
    # A recent one may belong to a run going on right now: left alone.
    assert scratch_databases(db) == [(recent,)]
    with db.cluster.connect() as conn:
        conn.execute(f'DROP DATABASE "{recent}"')


def _run_on_terminal(project, *args: str) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on one pseudo-terminal, as a user at a shell."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({"COLUMNS": "200", "TERM": "xterm"})
    command = [sys.executable, "-m", "atomig", "-C", str(project.dir)]
    process = subprocess.Popen(
        [*command, "--database-url", project.url, *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_each_verdict_is_printed_once(project):
    """Progress is a transient status line on a terminal: the verdicts are in the report
    only (as lines in logs: see the tests above, which read stderr from a pipe)."""
    project.add(*BASE)
    project.add(
        "20260102_0900_orders",
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
        "DROP TABLE orders;\n",
    )
    code, output = _run_on_terminal(project, "verify")
    assert code == 0, output
    for name in ("20260101_0900_base", "20260102_0900_orders"):
        assert output.count(f"{name}: reversible") == 1, output
    assert "checks," not in output  # the progress events' wording: not printed as lines
    assert "all 2 migration(s) reversible" in output


def test_in_a_log_each_verdict_is_a_progress_line_too(project):
    project.add(*BASE)
    result = project.run("verify")
    assert result.returncode == 0, result.stderr
    assert "20260101_0900_base: reversible (" in result.stderr
    assert "20260101_0900_base: reversible (" in result.stdout


PARTITIONED = (
    "20260101_0900_parts",
    "CREATE TABLE m (id int, k int) PARTITION BY RANGE (k);\n"
    "CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (10);\n"
    "CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (10) TO (20);\n",
    "DROP TABLE m;\n",
)


def test_a_down_that_reattaches_a_concurrent_detach_keeps_its_check(project):
    """DETACH PARTITION … CONCURRENTLY leaves the partition constraint on the table as the
    CHECK m1_k_check (PG 15, 18); re-attaching keeps it, so the schema is not as before."""
    project.add(*PARTITIONED)
    detach = "ALTER TABLE m DETACH PARTITION m1 CONCURRENTLY;\n"
    attach = "ALTER TABLE m ATTACH PARTITION m1 FOR VALUES FROM (0) TO (10);\n"
    project.add("20260102_0900_detach", detach, attach)
    result, document = verify_json(project)
    assert result.exit_code == 1, result.output
    [check] = failed_checks(document, "20260102_0900")
    assert check["check"] == "down restores the schema"
    [difference] = check["differences"]
    assert difference["object"] == "constraint public.m1.m1_k_check"
    assert difference["change"] == "unexpected"
    # With the lint's fix, the down restores the schema exactly (the DO block guards the
    # ATTACH for a partial state, where m1 is still a partition).
    fixed = (
        "DO $$ BEGIN\n"
        "  IF NOT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = 'm1'::regclass) THEN\n"
        f"    {attach}"
        "  END IF;\n"
        "END $$;\n"
        "ALTER TABLE m1 DROP CONSTRAINT IF EXISTS m1_k_check;\n"
    )
    project.add("20260102_0900_detach", detach, fixed)
    result, document = verify_json(project)
    assert result.exit_code == 0, result.output
