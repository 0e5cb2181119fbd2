"""The review gate: approvals in migrations/atomig.reviewed, `atomig review status`,
`require_review` per environment refusing `atomig up`, and lint's info findings."""

from __future__ import annotations

import json

from atomig.source.checksum import checksum_text
from tests.integration.helpers import applied_versions

ONE = (
    "20260101_0900_carts",
    "CREATE TABLE carts (id bigint PRIMARY KEY);\n",
    "DROP TABLE IF EXISTS carts;\n",
)
TWO = (
    "20260102_0900_items",
    "CREATE TABLE items (id bigint PRIMARY KEY);\n",
    "DROP TABLE IF EXISTS items;\n",
)
GATED = """\
[environments.production]
require_review = true

[environments.staging]
require_review = false
"""


def review_file(project):
    return project.migrations / "atomig.reviewed"


def status_json(project):
    result = project.cli("review", "status", "--json")
    assert result.exit_code == 0, result.output
    return {m["migration"]: m for m in json.loads(result.stdout)["migrations"]}


def test_approve_records_reviewer_time_and_both_checksums(offline_project):
    offline_project.add(*ONE)
    result = offline_project.cli(
        "review", "approve", "20260101_0900", "--by", "Alice Example"
    )
    assert result.exit_code == 0, result.output
    assert "approved 20260101_0900_carts" in result.stdout
    [line] = [
        line
        for line in review_file(offline_project).read_text().splitlines()
        if not line.startswith("#")
    ]
    name, up, down, at, by = line.split("\t")
    assert name == "20260101_0900_carts" and by == "Alice Example"
    assert up == checksum_text(ONE[1]) and down == checksum_text(ONE[2])
    assert at.endswith("Z") and len(at) == 20
    state = status_json(offline_project)["20260101_0900_carts"]
    assert (
        state["state"] == "reviewed" and state["approvals"][0]["by"] == "Alice Example"
    )
    again = offline_project.cli(
        "review", "approve", "20260101_0900", "--by", "Alice Example"
    )
    assert "already approved" in again.stdout
    assert offline_project.cli("review", "status", "--check").exit_code == 0


def test_edit_after_approval_is_changed_and_refused(project):
    project.add(*ONE)
    (project.dir / "atomig.toml").write_text(GATED)
    assert (
        project.cli("review", "approve", "20260101_0900", "--by", "bob").exit_code == 0
    )
    project.add(ONE[0], ONE[1].replace("PRIMARY KEY", "PRIMARY KEY, note text"), ONE[2])
    state = status_json(project)["20260101_0900_carts"]
    assert state["state"] == "changed" and state["changed"] == ["up"]
    assert project.cli("review", "status", "--check").exit_code == 1
    refused = project.cli("--env", "production", "up")
    assert refused.exit_code == 1
    assert "20260101_0900_carts: changed since reviewed by bob" in refused.stderr
    assert "atomig review approve 20260101_0900_carts --by NAME" in refused.stderr
    assert applied_versions(project.database) == []
    assert (
        project.cli("review", "approve", "20260101_0900", "--by", "carol").exit_code
        == 0
    )
    lines = [
        line
        for line in review_file(project).read_text().splitlines()
        if not line.startswith("#")
    ]
    assert len(lines) == 1 and lines[0].endswith(
        "\tcarol"
    )  # the stale approval is gone
    applied = project.cli("--env", "production", "up")
    assert applied.exit_code == 0, applied.output
    assert applied_versions(project.database) == ["20260101_0900"]


def test_missing_approval_is_refused_only_where_required(project):
    project.add(*ONE)
    project.add(*TWO)
    (project.dir / "atomig.toml").write_text(GATED)
    assert (
        project.cli("review", "approve", "20260101_0900", "--by", "bob").exit_code == 0
    )
    refused = project.cli("--env", "production", "up", "--json")
    assert refused.exit_code == 1
    error = json.loads(refused.stdout)
    assert error["error"] == "review-required"
    assert [m["migration"] for m in error["details"]["migrations"]] == [
        "20260102_0900_items"
    ]
    assert (
        "not reviewed" in error["message"]
        and "environment production" in error["message"]
    )
    assert applied_versions(project.database) == []
    # ATOMIG_ENV chooses the environment too; staging does not require reviews.
    refused = project.cli("up", env={"ATOMIG_ENV": "production"})
    assert refused.exit_code == 1
    assert project.cli("up", env={"ATOMIG_ENV": "staging"}).exit_code == 0
    assert applied_versions(project.database) == ["20260101_0900", "20260102_0900"]


def test_unknown_environment_is_a_config_error(offline_project):
    (offline_project.dir / "atomig.toml").write_text(GATED)
    result = offline_project.cli("--env", "prod", "review", "status")
    assert result.exit_code == 2
    assert "unknown environment 'prod'" in result.stderr
    assert "production, staging" in result.stderr


def test_wrong_checksum_or_malformed_file(offline_project):
    offline_project.add(*ONE)
    offline_project.cli("review", "approve", "20260101_0900", "--by", "bob")
    path = review_file(offline_project)
    text = path.read_text()
    # A hand-made approval whose checksum does not match the file is no approval.
    forged = text.replace(checksum_text(ONE[2]), "0" * 64)
    path.write_text(forged)
    state = status_json(offline_project)["20260101_0900_carts"]
    assert state["state"] == "changed" and state["changed"] == ["down"]
    path.write_text(text.replace(checksum_text(ONE[2]), "not-a-checksum"))
    result = offline_project.cli("review", "status")
    assert result.exit_code == 2
    assert "atomig.reviewed:6:1" in result.stderr and "checksum" in result.stderr


def test_approve_all_and_orphans(offline_project):
    offline_project.add(*ONE)
    offline_project.add(*TWO)
    result = offline_project.cli(
        "review", "approve", "--all", "--by", "adopter", "--json"
    )
    assert json.loads(result.stdout)["approved"] == [
        "20260101_0900_carts",
        "20260102_0900_items",
    ]
    (offline_project.migrations / "20260102_0900_items.up.sql").unlink()
    (offline_project.migrations / "20260102_0900_items.down.sql").unlink()
    document = json.loads(offline_project.cli("review", "status", "--json").stdout)
    assert document["orphans"] == ["20260102_0900_items"]
    assert offline_project.cli("review", "approve", "--by", "x").exit_code == 2


def test_lint_reports_unreviewed_migrations_as_info(offline_project):
    offline_project.add(*ONE)
    offline_project.add(*TWO)

    def review_findings():
        result = offline_project.cli("lint", "--format", "json")
        return [
            f
            for f in json.loads(result.stdout)["findings"]
            if f["rule"] == "unreviewed-migration"
        ]

    # A project that does not use the gate hears nothing about it.
    assert review_findings() == []
    offline_project.cli("review", "approve", "20260101_0900", "--by", "bob")
    [finding] = review_findings()
    assert finding["severity"] == "info"
    assert finding["file"].endswith("20260102_0900_items.up.sql")
    assert "not reviewed" in finding["message"]
    result = offline_project.cli("lint")
    assert result.exit_code == 0
