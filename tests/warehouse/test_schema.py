"""sql/schema.sql runs on SQLite and is valid, portable T-SQL."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlalchemy import create_engine, inspect

from electio.warehouse.schema import schema_sql, statements, table_columns

ALLOWED_TYPES = {"NVARCHAR", "INT", "BIGINT", "FLOAT", "DATE", "DATETIME"}
FORBIDDEN = [r"IF\s+NOT\s+EXISTS", r"AUTOINCREMENT", r"IDENTITY", r"\bGO\b", r"\[", r"`", r"WITHOUT\s+ROWID",
             r"\bTEXT\b", r"\bBOOLEAN\b", r"DATETIME2", r"\bSTRICT\b", r"\bVARCHAR\b"]
REQUIRED_TABLES = {"dim_commune", "dim_election", "dim_bloc", "dim_nuance", "fact_turnout",
                   "fact_election_result", "meta_source", "meta_refresh", "meta_quality_check"}


def test_schema_runs_on_sqlite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    with engine.begin() as conn:
        for stmt in statements():
            conn.exec_driver_sql(stmt)
    names = set(inspect(engine).get_table_names())
    assert REQUIRED_TABLES <= names
    assert names == set(table_columns())


@pytest.mark.parametrize("stmt", statements(), ids=lambda s: s.split("(")[0][13:].strip())
def test_each_statement_parses_as_tsql(stmt):
    parsed = sqlglot.parse_one(stmt, read="tsql")
    assert parsed.key == "create"
    # Round trip through T-SQL generation keeps every column.
    tsql = parsed.sql(dialect="tsql")
    table = parsed.this.this.name
    for col in table_columns()[table]:
        assert col in tsql


def test_no_engine_specific_constructs():
    text = "\n".join(line.split("--", 1)[0] for line in schema_sql().splitlines())
    for pattern in FORBIDDEN:
        assert not re.search(pattern, text, re.I), f"engine-specific construct {pattern!r} in sql/schema.sql"


def test_only_portable_types_and_every_table_has_a_primary_key():
    for stmt in statements():
        parsed = sqlglot.parse_one(stmt, read="tsql")
        types = {c.args["kind"].this.name for c in parsed.find_all(sqlglot.exp.ColumnDef)}
        assert types <= ALLOWED_TYPES, f"{parsed.this.this.name}: non-portable types {types - ALLOWED_TYPES}"
        assert "PRIMARY KEY" in stmt.upper()


def test_foreign_keys_reference_earlier_tables():
    seen: set[str] = set()
    for stmt in statements():
        name = re.match(r"CREATE TABLE (\w+)", stmt).group(1)
        for ref in re.findall(r"REFERENCES (\w+)", stmt):
            assert ref in seen or ref == name, f"{name} references {ref} before it is created"
        seen.add(name)
