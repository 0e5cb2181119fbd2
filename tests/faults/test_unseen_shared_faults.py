"""A CREATE/DROP DATABASE, CREATE/DROP TABLESPACE or DROP SUBSCRIPTION step (each runs alone,
outside a transaction) that finished, but whose end nobody recorded: the runner SIGKILLed, or
its connection dropped, between the statement's success and the journal write. None can run
again (``already exists``: 42P04, 42710; ``does not exist``: 3D000, 42704 — PG 15 and 18),
so a resume counts the step done from the catalog; a rollback ends with the object as
before; the ledger agrees either way."""

import os
import shutil
import tempfile

import pytest

from tests.faults.common import ledger_row, run_faulted

pytestmark = pytest.mark.faults
VERSION = "20261102_0900"
CREATES = ("create_database", "create_tablespace")
DROPS = ("drop_database", "drop_tablespace", "drop_subscription")


class Case:
    """One statement kind: the base (making what the change drops), the change's up and
    down, and where the object shows in the catalog."""

    def __init__(self, kind, database):
        self.kind = kind
        self.db = database
        self.name = f"{database.name}_x"
        self.location = None
        if "tablespace" in kind:
            # An empty directory the server's user owns.
            self.location = tempfile.mkdtemp(prefix="atomig-ts-")
            os.chmod(self.location, 0o755)
            if database.cluster.cluster.run_as:
                shutil.chown(self.location, database.cluster.cluster.run_as)

    def _make(self):
        if self.kind.endswith("database"):
            return f"CREATE DATABASE {self.name};\n"
        if self.kind.endswith("tablespace"):
            return f"CREATE TABLESPACE {self.name} LOCATION '{self.location}';\n"
        return (
            f"CREATE SUBSCRIPTION {self.name} CONNECTION 'dbname=nowhere' PUBLICATION p "
            "WITH (connect = false, slot_name = NONE);\n"
        )

    def _drop(self, guarded):
        what = self.kind.split("_", 1)[1].upper()
        return f"DROP {what} {'IF EXISTS ' if guarded else ''}{self.name};\n"

    @property
    def creates(self):
        return self.kind.startswith("create")

    def base(self):
        table = "CREATE TABLE t (id int PRIMARY KEY, a int);\n"
        up = table if self.creates else table + self._make()
        down = "DROP TABLE IF EXISTS t;\n"
        return up, down if self.creates else self._drop(True) + down

    def change(self):
        made = self._make() if self.creates else self._drop(False)
        undone = self._drop(True) if self.creates else self._make()
        up = f"ALTER TABLE t ADD COLUMN b int;\n{made}ALTER TABLE t ADD COLUMN c int;\n"
        down = (
            f"ALTER TABLE t DROP COLUMN IF EXISTS c;\n{undone}"
            "ALTER TABLE t DROP COLUMN IF EXISTS b;\n"
        )
        return up, down

    def exists(self):
        catalog = {
            "database": "SELECT count(*) FROM pg_database WHERE datname = %s",
            "tablespace": "SELECT count(*) FROM pg_tablespace WHERE spcname = %s",
            "subscription": "SELECT count(*) FROM pg_subscription WHERE subname = %s",
        }[self.kind.split("_", 1)[1]]
        return self.db.scalar(catalog, (self.name,)) == 1

    def cleanup(self):
        # Subscriptions keep their database from being dropped; tablespaces must be empty.
        with self.db.connect() as conn:
            conn.execute(self._drop(True))
        if self.location:
            shutil.rmtree(self.location, ignore_errors=True)


@pytest.fixture
def case(request, database):
    made = Case(request.param, database)
    yield made
    made.cleanup()


def prepare(project, case, policy="resume"):
    """Base applied; the change applied and reverted once."""
    up, down = case.base()
    project.add("20261101_0900_base", "-- atomig: on_failure=resume\n" + up, down)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    up, down = case.change()
    project.add(f"{VERSION}_change", f"-- atomig: on_failure={policy}\n" + up, down)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert case.exists() == case.creates
    result = project.cli("down")
    assert result.exit_code == 0, result.output
    assert case.exists() != case.creates


def ledger(db):
    return ledger_row(db, VERSION)


def columns(db):
    return [
        r[0]
        for r in db.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
    ]


def no_dangling_journal(db):
    return (
        db.scalar("SELECT count(*) FROM atomig.journal WHERE finished_at IS NULL") == 0
    )


@pytest.mark.parametrize("case", CREATES + DROPS, indirect=True)
@pytest.mark.parametrize("kind", ["committed.drop", "committed.kill"])
def test_resume_counts_the_unrecorded_step_done(project, case, kind):
    db = project.database
    prepare(project, case)
    faulted = run_faulted(project, kind)
    assert f"fault {kind} at step 2" in faulted.stdout, faulted.stderr
    assert case.exists() == case.creates
    if kind == "committed.kill":
        assert ledger(db) == ("running", 1)
    else:
        assert faulted.returncode == 1, faulted.stderr
        assert "finished before the connection was lost" in faulted.stdout
        assert ledger(db) == ("partial", 2)
    result = project.cli("up")
    assert result.exit_code == 0, result.output
    assert ledger(db) == ("applied", 3)
    assert columns(db) == ["id", "a", "b", "c"]
    assert case.exists() == case.creates
    assert no_dangling_journal(db)
    result = project.cli("down")
    assert result.exit_code == 0, result.output
    assert case.exists() != case.creates


@pytest.mark.parametrize("case", CREATES, indirect=True)
@pytest.mark.parametrize("how", ["policy", "recover"])
def test_rollback_after_the_unrecorded_step(project, case, how):
    db = project.database
    prepare(project, case, "rollback")
    if how == "policy":
        # The runner reconnects and records the step done; the lost connection is the
        # failure, and the rollback policy runs the down file.
        faulted = run_faulted(project, "committed.drop")
        assert faulted.returncode == 1, faulted.stderr
        assert "finished before the connection was lost" in faulted.stdout
        assert "was rolled back" in faulted.stderr
    else:
        faulted = run_faulted(project, "committed.kill")
        assert "fault committed.kill at step 2" in faulted.stdout, faulted.stderr
        result = project.cli("recover", "--rollback")
        assert result.exit_code == 0, result.output
    assert ledger(db) is None
    assert columns(db) == ["id", "a"]
    assert not case.exists()
    assert no_dangling_journal(db)


@pytest.mark.parametrize("case", DROPS, indirect=True)
def test_a_drop_is_resumed_not_rolled_back(project, case):
    """Its down (CREATE DATABASE …) has no IF NOT EXISTS: recovery refuses to run it on a
    partial state, changing nothing, and the resume finishes the migration."""
    db = project.database
    prepare(project, case)
    faulted = run_faulted(project, "committed.kill")
    assert "fault committed.kill at step 2" in faulted.stdout, faulted.stderr
    result = project.cli("recover", "--rollback")
    assert result.exit_code == 2, result.output
    assert "cannot be guarded" in result.output
    assert ledger(db) == ("running", 1)
    assert not case.exists()
    result = project.cli("recover", "--resume")
    assert result.exit_code == 0, result.output
    assert ledger(db) == ("applied", 3)
    assert columns(db) == ["id", "a", "b", "c"]
    assert not case.exists()
    assert no_dangling_journal(db)
