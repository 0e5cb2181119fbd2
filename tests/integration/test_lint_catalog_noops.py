"""Lint with the live catalog (PG 15 and PG 18): ALTERs the server finds nothing to do for."""

from __future__ import annotations

from tests.integration.test_lint_catalog import findings


def test_persistence_and_tablespace_already_as_asked_are_not_rewrites(project):
    """SET LOGGED of a logged table, SET UNLOGGED of an unlogged one and SET TABLESPACE
    to its own keep the relfilenode (PG 15 and 18: 3 ms, where a real change of 300k
    rows rewrites in 150-330 ms); once a migration (or an earlier statement) altered the
    table, the catalog may be behind, so it is reported as before."""
    db = project.database
    db.execute("CREATE TABLE legacy (id bigint PRIMARY KEY)")
    db.execute("CREATE UNLOGGED TABLE scratch (id bigint PRIMARY KEY)")
    db.execute("CREATE TABLE moved (id bigint PRIMARY KEY)")
    db.execute("CREATE TABLE spaced (id bigint PRIMARY KEY)")
    project.add("20260101_0000_unlog", "ALTER TABLE moved SET UNLOGGED;", "SELECT 1;")
    project.add(
        "20260102_0000_noops",
        "ALTER TABLE legacy SET LOGGED;\n"
        "ALTER TABLE scratch SET UNLOGGED;\n"
        "ALTER TABLE spaced SET TABLESPACE pg_default;\n"
        "ALTER TABLE scratch SET LOGGED;\n"
        "ALTER TABLE moved SET LOGGED;\n"
        "ALTER TABLE legacy SET UNLOGGED;",
        "SELECT 1;",
    )
    flagged = [
        f["line"]
        for f in findings(project)
        if f["rule"] == "rewriting-alter" and "noops" in f["file"]
    ]
    assert flagged == [4, 5, 6]
