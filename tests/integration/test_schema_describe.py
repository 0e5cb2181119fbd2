"""`atomig describe` and `atomig schema` on the sample databases (pagila, northwind, chinook).

The strongest check of "exact": the schema printed from a sample, applied to an empty
database, reads back as the same schema (every column, default, constraint with its
validity, index, partition, trigger, view, function, type).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from psycopg import sql

from atomig.db.introspect import read_schema
from atomig.schema.render import render_schema
from tests.fix_pg import Cluster, Database
from tests.fix_project import Project

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/data")


def psql_file(cluster: Cluster, dbname: str, path: Path) -> None:
    result = subprocess.run(
        [
            str(cluster.cluster.bin_dir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            cluster.url(dbname),
            "-f",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def create_database(cluster: Cluster, name: str) -> Database:
    with cluster.connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return Database(cluster, name)


@pytest.fixture(scope="module")
def samples(cluster: Cluster) -> dict[str, Database]:
    """The three sample databases, loaded once per cluster."""
    loaded = {}
    for name in ("pagila", "northwind", "chinook"):
        db = create_database(cluster, f"sample_{name}")
        psql_file(cluster, db.name, SAMPLES / f"{name}.sql")
        db.execute("ANALYZE")
        loaded[name] = db
    return loaded


def comparable(model) -> dict:
    """The model without what depends on data volume (sizes, estimates)."""
    document = model.to_dict()
    for table in document["tables"]:
        table["row_estimate"] = table["total_bytes"] = table["table_bytes"] = None
        for index in table["indexes"]:
            index["size_bytes"] = None
    for view in document["views"]:
        for index in view["indexes"]:
            index["size_bytes"] = None
    return document


@pytest.mark.parametrize("sample", ["pagila", "northwind", "chinook"])
def test_schema_round_trips_exactly(samples, sample, tmp_path):
    source = samples[sample]
    with source.connect() as conn:
        original = read_schema(conn, ledger_schema="atomig")
    script = tmp_path / f"{sample}.sql"
    script.write_text(render_schema(original))
    copy = create_database(source.cluster, f"copy_{sample}")
    try:
        psql_file(source.cluster, copy.name, script)
        with copy.connect() as conn:
            recreated = read_schema(conn, ledger_schema="atomig")
    finally:
        with source.cluster.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                    sql.Identifier(copy.name)
                )
            )
    assert comparable(recreated) == comparable(original)
    assert len(original.tables) >= 10


def project_on(db: Database, tmp_path: Path) -> Project:
    (tmp_path / "migrations").mkdir(exist_ok=True)
    return Project(tmp_path, db.url, db)


def test_describe_partitioned_table(samples, tmp_path):
    project = project_on(samples["pagila"], tmp_path)
    result = project.cli("describe", "payment")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("-- public.payment: partitioned table")
    assert "PARTITION BY RANGE (payment_date);" in text
    assert "-- partitions (7): public.payment_p2022_01" in text
    assert "-- payment_pkey: index of constraint payment_pkey" in text
    assert (
        " 0 bytes in all" not in text
    )  # sizes of a partitioned table are its partitions'
    document = json.loads(project.cli("describe", "public.payment", "--json").stdout)
    assert document["kind"] == "partitioned table"
    assert document["partition_key"] == "RANGE (payment_date)"
    assert len(document["partitions"]) == 7
    child = json.loads(project.cli("describe", "payment_p2022_03", "--json").stdout)
    assert child["partition_of"] == "public.payment"
    assert child["partition_bound"].startswith("FOR VALUES FROM ('2022-03-01")
    assert child["row_estimate"] > 0
    assert all(c["inherited"] for c in child["columns"])
    child_text = project.cli("describe", "payment_p2022_03").stdout
    assert "-- partition of public.payment FOR VALUES FROM ('2022-03-01" in child_text
    assert (
        "CONSTRAINT payment_p2022_03_customer_id_fkey FOREIGN KEY (customer_id) "
        "REFERENCES public.customer(customer_id)" in child_text
    )
    assert "-- inherited: payment_p2022_03_pkey (PRIMARY KEY)" in child_text


def test_describe_types_domains_triggers_and_references(samples, tmp_path):
    project = project_on(samples["pagila"], tmp_path)
    text = project.cli("describe", "film").stdout
    assert "rating public.mpaa_rating DEFAULT 'G'::public.mpaa_rating" in text
    assert "release_year public.year" in text
    assert (
        "CREATE TRIGGER film_fulltext_trigger BEFORE INSERT OR UPDATE ON public.film"
        in text
    )
    assert (
        "CREATE INDEX film_fulltext_idx ON public.film USING gist (fulltext);" in text
    )
    assert (
        "-- referenced by:" in text
        and "public.inventory.inventory_film_id_fkey" in text
    )
    assert "~1,000 rows" in text


def test_schema_command_lists_every_kind_of_object(samples, tmp_path):
    project = project_on(samples["pagila"], tmp_path)
    text = project.cli("schema").stdout
    assert (
        "CREATE TYPE public.mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');"
        in text
    )
    assert 'CREATE DOMAIN public."bıgınt" AS bigint;' in text  # noqa: RUF001 (pagila really names it so)
    assert "CREATE DOMAIN public.year AS integer CONSTRAINT year_check CHECK" in text
    assert "CREATE MATERIALIZED VIEW public.rental_by_category AS" in text
    assert "CREATE AGGREGATE public.group_concat(text)" in text
    assert (
        "ALTER INDEX public.payment_pkey ATTACH PARTITION public.payment_p2022_01_pkey;"
        in text
    )
    assert "CREATE OR REPLACE FUNCTION public.last_updated()" in text
    compact = project.cli("schema", "--no-bodies").stdout
    assert "CREATE OR REPLACE FUNCTION" not in compact
    assert (
        "-- function public.last_updated() RETURNS trigger LANGUAGE plpgsql VOLATILE"
        in compact
    )
    document = json.loads(project.cli("schema", "--json").stdout)
    assert document["version"] == 1
    assert {"tables", "views", "functions", "enums", "domains", "sequences"} <= set(
        document
    )


def test_quoted_names_and_did_you_mean(samples, tmp_path):
    project = project_on(samples["chinook"], tmp_path)
    quoted = project.cli("describe", '"Album"')
    assert quoted.exit_code == 0
    assert quoted.stdout.startswith('-- public."Album": table')
    missing = project.cli("describe", "album")
    assert missing.exit_code == 2
    assert "no table 'album'" in missing.stderr
    assert 'did you mean: public."Album"' in missing.stderr


def test_validity_of_indexes_and_constraints_is_shown(project):
    db = project.database
    db.execute("CREATE TABLE t (id int PRIMARY KEY, code int, parent int)")
    db.execute("INSERT INTO t SELECT g, g % 2, NULL FROM generate_series(1, 10) g")
    with pytest.raises(Exception, match="could not create unique index"):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY t_code_key ON t (code)")
    db.execute(
        "ALTER TABLE t ADD CONSTRAINT t_parent_fk FOREIGN KEY (parent) REFERENCES t (id) NOT VALID"
    )
    db.execute("ALTER TABLE t ADD CONSTRAINT t_code_check CHECK (code >= 0) NOT VALID")
    text = project.cli("describe", "t").stdout
    assert "-- INVALID (left by a failed CREATE INDEX CONCURRENTLY" in text
    assert "CREATE UNIQUE INDEX t_code_key ON public.t USING btree (code)" in text
    assert (
        "-- NOT VALID (not checked for existing rows" in text
        and "t_code_check, t_parent_fk" in text
    )
    document = json.loads(project.cli("describe", "t", "--json").stdout)
    assert [i["valid"] for i in document["indexes"] if i["name"] == "t_code_key"] == [
        False
    ]
    assert {c["name"]: c["validated"] for c in document["constraints"]} == {
        "t_pkey": True,
        "t_code_check": False,
        "t_parent_fk": False,
    }


def test_ledger_schema_is_left_out(project):
    project.add(
        "20261101_0900_t",
        "CREATE TABLE t (id int PRIMARY KEY);",
        "DROP TABLE IF EXISTS t;",
    )
    assert project.cli("up").exit_code == 0
    document = json.loads(project.cli("schema", "--json").stdout)
    assert [t["qualified"] for t in document["tables"]] == ["public.t"]
    assert "atomig" not in document["schemas"]
    refused = project.cli("describe", "atomig.migrations")
    assert refused.exit_code == 2 and "ledger" in refused.stderr
