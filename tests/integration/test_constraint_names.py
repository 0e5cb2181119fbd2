"""The names the history replay gives unnamed constraints are PostgreSQL's own (PG 15 and
18): a later migration drops them by those names."""

from __future__ import annotations

import pytest

from atomig.lint.schema import SchemaState, key_of
from atomig.sql import parse_script
from atomig.sql.facts import QualifiedName

LONG = "a_table_name_that_is_quite_long_for_sure_x"
LONG_COLUMN = "a_column_name_that_is_long_as_well_yes"
SCHEMA = f"""
CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, shop int, at tstzrange);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    user_id bigint REFERENCES users,
    shop_id int,
    qty int CHECK (qty > 0),
    lo int, hi int,
    UNIQUE (user_id, shop_id),
    CHECK (lo < hi),
    CHECK (true),
    CHECK (hi > 0),
    FOREIGN KEY (user_id) REFERENCES users (id)
);
ALTER TABLE users ADD UNIQUE (shop);
ALTER TABLE users ADD CHECK (shop > 0);
ALTER TABLE users ADD CHECK (shop < 100);
CREATE TABLE "{LONG}" (id bigint PRIMARY KEY, "{LONG_COLUMN}" int UNIQUE CHECK ("{LONG_COLUMN}" > 0));
CREATE TABLE "Größe_Tabelle_mit_einem_sehr_langen_Namen_äöü" ("Spalte_äöü_mit_langem_Namen" int UNIQUE);
"""


def test_unnamed_constraints_get_postgres_names(database):
    state = SchemaState()
    for statement in parse_script(SCHEMA).statements:
        state.apply(statement, "m1")
    with database.connect() as conn:
        for statement in parse_script(SCHEMA).statements:
            conn.execute(statement.text)
        rows = conn.execute(
            "SELECT c.relname, n.conname FROM pg_constraint n "
            "JOIN pg_class c ON c.oid = n.conrelid "
            "JOIN pg_namespace s ON s.oid = c.relnamespace "
            "WHERE s.nspname = 'public' AND n.contype IN ('p', 'u', 'f', 'c')"
        ).fetchall()
    assert len(rows) >= 16
    expected: dict[str, set[str]] = {}
    for table, name in rows:
        expected.setdefault(table, set()).add(name)
    for table, names in expected.items():
        known = state.tables[key_of(QualifiedName(None, table))]
        assert set(known.constraints) == names, table


X, Y, Z = "x" * 60, "y" * 58, "z" * 58
NAMING_CASES = [
    # unnamed indexes: expressions, collisions (numbered), a unique or partial one
    "CREATE TABLE t (a int, b text); CREATE INDEX ON t (a); CREATE INDEX ON t (a);"
    " CREATE INDEX ON t (lower(b)); CREATE INDEX ON t ((a + 1));"
    " CREATE INDEX ON t ((b::varchar)); CREATE INDEX ON t (coalesce(b, ''));"
    " CREATE UNIQUE INDEX ON t (a, b); CREATE INDEX ON t (b) WHERE a > 0",
    # shortened to 63 bytes, and numbered after shortening
    f"CREATE TABLE {X} (a int); CREATE INDEX ON {X} (a); CREATE INDEX ON {X} (a)",
    # names are taken schema-wide: another table's constraint, or any relation
    f"CREATE TABLE {Y}1 (a int UNIQUE); CREATE TABLE {Y}2 (a int UNIQUE)",
    f"CREATE TABLE {Z}1 (a int CHECK (a > 0)); CREATE TABLE {Z}2 (a int CHECK (a > 0))",
    "CREATE TABLE u (a int, b int); CREATE TABLE u_a_key (x int);"
    " ALTER TABLE u ADD UNIQUE (a); CREATE SEQUENCE u_b_idx; CREATE INDEX ON u (b)",
    # CREATE TABLE makes one index of equal PRIMARY KEY/UNIQUE/EXCLUDE definitions (the
    # primary key first; an unnamed one takes a merged one's name); ALTER TABLE does not
    "CREATE TABLE t1 (a int UNIQUE, UNIQUE (a)); CREATE TABLE t2 (a int UNIQUE,"
    " PRIMARY KEY (a)); CREATE TABLE t3 (a int UNIQUE, CONSTRAINT n3 UNIQUE (a));"
    " CREATE TABLE t4 (a int CONSTRAINT n4 UNIQUE, PRIMARY KEY (a));"
    " CREATE TABLE t5 (a int CONSTRAINT n5 UNIQUE, CONSTRAINT m5 UNIQUE (a));"
    " CREATE TABLE t6 (a int UNIQUE, UNIQUE (a) DEFERRABLE, UNIQUE (a) WITH"
    " (fillfactor = 50)); CREATE TABLE t7 (a int, b int, UNIQUE (a, b), UNIQUE (b, a),"
    " UNIQUE (a, b), EXCLUDE USING btree (a WITH =), EXCLUDE USING btree (a WITH =));"
    " CREATE TABLE t8 (a int); ALTER TABLE t8 ADD UNIQUE (a), ADD UNIQUE (a)",
    # INCLUDE columns are part of the generated name
    "CREATE TABLE t (a int, b int, c int, UNIQUE (a) INCLUDE (b, c),"
    " EXCLUDE USING btree (a WITH =) INCLUDE (b)); CREATE INDEX ON t (a) INCLUDE (c);"
    " ALTER TABLE t ADD UNIQUE (b) INCLUDE (a)",
    # another table's constraint takes a name even when it starts with this table's
    # name (an index-backed constraint's name too: PostgreSQL checks constraint names)
    "CREATE TABLE t (a_x int CHECK (a_x > 0)); CREATE TABLE t_a (x int CHECK (x > 0));"
    " CREATE TABLE o1 (id int, CONSTRAINT u_a_key CHECK (id > 0));"
    " CREATE TABLE u (a int UNIQUE); CREATE TABLE o2 (id int, CONSTRAINT v_a_check"
    " CHECK (id > 0)); CREATE TABLE v (a int CHECK (a > 0)); CREATE TABLE o3 (id int,"
    " CONSTRAINT z_a_fkey CHECK (id > 0)); CREATE TABLE z (a int REFERENCES u (a));"
    " CREATE TABLE o4 (id int CONSTRAINT r_a_check CHECK (id > 0));"
    " ALTER TABLE o4 RENAME TO o5; CREATE TABLE r (a int CHECK (a > 0))",
    # a dropped constraint's index frees its name
    "CREATE TABLE u (a int UNIQUE); ALTER TABLE u DROP CONSTRAINT u_a_key;"
    " ALTER TABLE u ADD UNIQUE (a); CREATE INDEX ON u (a)",
]


@pytest.mark.parametrize("sql", NAMING_CASES)
def test_unnamed_indexes_and_constraints_get_postgres_names(database, sql):
    state = SchemaState()
    for statement in parse_script(sql).statements:
        state.apply(statement, "m1")
    with database.connect() as conn:
        conn.execute(sql)
        indexes = conn.execute(
            "SELECT c.relname, i.relname FROM pg_index x"
            " JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        constraints = conn.execute(
            "SELECT c.relname, n.conname FROM pg_constraint n"
            " JOIN pg_class c ON c.oid = n.conrelid"
            " WHERE n.connamespace = 'public'::regnamespace AND n.contype <> 'n'"
        ).fetchall()
    for table in {t for t, _ in indexes + constraints}:
        known = state.tables[key_of(QualifiedName(None, table))]
        assert set(known.indexes) == {i for t, i in indexes if t == table}, table
        assert set(known.constraints) == {c for t, c in constraints if t == table}
