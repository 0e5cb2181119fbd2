"""The "edited after apply" checksum: an editor's save (a final newline, trailing spaces,
blank lines at the end) is no edit; a change inside a statement or a comment is; ledgers
and review files written by older atomig (CRLF-only normalisation) keep matching."""

from __future__ import annotations

import hashlib
import json

from tests.integration.helpers import applied_versions

# As an older atomig (and many hand-written files) left them: no final newline.
USERS = (
    "20261101_0900_users",
    "-- the accounts\nCREATE TABLE users (id bigint PRIMARY KEY);",
    "DROP TABLE IF EXISTS users;",
)
ORDERS = (
    "20261102_0900_orders",
    "CREATE TABLE orders (id bigint PRIMARY KEY);  \r\n\r\n",
    "DROP TABLE IF EXISTS orders;\n",
)
LATER = (
    "20261103_0900_later",
    "CREATE TABLE later (id bigint PRIMARY KEY);\n",
    "DROP TABLE IF EXISTS later;\n",
)


def older_atomig_checksum(text: str) -> str:
    """What atomig recorded before whitespace normalisation (written out here, not
    imported: the test pins the old format)."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode()).hexdigest()


def states(project) -> dict[str, dict]:
    result = project.cli("status", "--json")
    return {m["slug"]: m for m in json.loads(result.stdout)["migrations"]}


def save_like_an_editor(project, name: str, suffix: str) -> None:
    path = project.migrations / f"{name}.{suffix}.sql"
    text = path.read_bytes().decode()
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    # Trailing spaces trimmed on one line, added on another, a final newline plus blanks.
    path.write_text("\n".join(line + "   " for line in lines) + "\n\n\n")


def test_whitespace_only_saves_are_not_edits_but_real_changes_are(project):
    project.add(*USERS)
    project.add(*ORDERS)
    assert project.cli("up").exit_code == 0
    for name in (USERS[0], ORDERS[0]):
        for suffix in ("up", "down"):
            save_like_an_editor(project, name, suffix)
    assert project.cli("status", "--check").exit_code == 0
    assert {m["state"] for m in states(project).values()} == {"applied"}
    project.add(*LATER)
    assert project.cli("up").exit_code == 0

    # One character inside a statement is an edit.
    path = project.migrations / f"{ORDERS[0]}.up.sql"
    path.write_text(path.read_text().replace("bigint", "bigin t"))
    assert project.cli("status", "--check").exit_code == 4
    assert states(project)["orders"]["edited_files"] == [f"{ORDERS[0]}.up.sql"]
    project.add(*ORDERS)
    assert project.cli("status", "--check").exit_code == 0

    # So is a comment (comments carry `-- atomig:` directives, and were reviewed).
    path = project.migrations / f"{USERS[0]}.up.sql"
    path.write_text(path.read_text().replace("the accounts", "the accounts!"))
    refused = project.cli("up")
    assert refused.exit_code == 4 and "20261101_0900_users" in refused.stderr


def test_ledger_written_by_older_atomig_keeps_matching_after_upgrade(project):
    project.add(*USERS)
    project.add(*ORDERS)
    project.add(*LATER)
    assert project.cli("up", "--to", "20261102_0900").exit_code == 0
    # Rewrite the ledger as the previous atomig release wrote it.
    for name, up, down in (USERS, ORDERS):
        project.database.execute(
            "UPDATE atomig.migrations SET up_checksum = %s, down_checksum = %s,"
            " up_sql = %s, down_sql = %s WHERE slug = %s",
            (
                older_atomig_checksum(up),
                older_atomig_checksum(down),
                up,
                down,
                name.split("_", 2)[2],
            ),
        )
    assert project.cli("status", "--check").exit_code == 3  # LATER pending, no edits
    assert states(project)["users"]["state"] == "applied"
    assert states(project)["orders"]["state"] == "applied"
    assert project.cli("up").exit_code == 0
    assert applied_versions(project.database) == [
        "20261101_0900",
        "20261102_0900",
        "20261103_0900",
    ]

    # The first save in an editor after the upgrade: the old checksum matches no form of
    # the new file, but the text stored in the ledger shows only whitespace moved.
    for suffix in ("up", "down"):
        save_like_an_editor(project, USERS[0], suffix)
    assert project.cli("status", "--check").exit_code == 0
    path = project.migrations / f"{USERS[0]}.down.sql"
    path.write_text(path.read_text().replace("users", "user"))
    assert states(project)["users"]["edited_files"] == [f"{USERS[0]}.down.sql"]
    assert project.cli("up").exit_code == 4


def test_review_approvals_of_older_atomig_and_whitespace_saves(offline_project):
    offline_project.add(*USERS)
    name, up, down = USERS
    (offline_project.migrations / "atomig.reviewed").write_text(
        "\t".join(
            (
                name,
                older_atomig_checksum(up),
                older_atomig_checksum(down),
                "2026-11-01T09:00:00Z",
                "bob",
            )
        )
        + "\n"
    )

    def review():
        result = offline_project.cli("review", "status", "--json")
        [state] = json.loads(result.stdout)["migrations"]
        lint = json.loads(offline_project.cli("lint", "--format", "json").stdout)
        unreviewed = [
            f for f in lint["findings"] if f["rule"] == "unreviewed-migration"
        ]
        return state["state"], len(unreviewed)

    assert review() == ("reviewed", 0)
    # bob's approval holds the legacy form: it covers the unchanged files only. carol's
    # holds today's form, which an editor's save does not change.
    offline_project.cli("review", "approve", "20261101_0900", "--by", "carol")
    offline_project.add(name, up + "\n", down + "  \n\n")
    assert review() == ("reviewed", 0)
    offline_project.add(name, up.replace("bigint", "int"), down)
    assert review() == ("changed", 1)
