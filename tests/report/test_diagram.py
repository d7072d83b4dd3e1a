"""Diagrams generated from sql/schema.sql."""

from __future__ import annotations

from electio.report.diagram import data_flow, parse_schema, render, schema_tables, star_schema
from electio.settings import PROJECT_ROOT
from electio.warehouse.schema import table_columns

DDL = """
-- comment (with, commas); and a semicolon
CREATE TABLE dim_a (
    a_id     NVARCHAR(5) NOT NULL,  -- key
    label    NVARCHAR(50) NULL,
    checked  INT NOT NULL,
    CONSTRAINT pk_dim_a PRIMARY KEY (a_id)
);
CREATE TABLE fact_b (
    a_id   NVARCHAR(5) NOT NULL,
    year   INT NOT NULL,
    value  FLOAT NULL,
    CONSTRAINT pk_fact_b PRIMARY KEY (a_id, year),
    CONSTRAINT fk_fact_b_a FOREIGN KEY (a_id) REFERENCES dim_a (a_id)
);
"""


def test_parse_schema_reads_columns_keys_and_nullability():
    a, b = parse_schema(DDL)
    assert [c.name for c in a.columns] == ["a_id", "label", "checked"]  # 'checked' is a column, not CHECK
    assert [c.nullable for c in a.columns] == [False, True, False]
    assert a.primary_key == ["a_id"] and b.primary_key == ["a_id", "year"]
    assert [(f.columns, f.table, f.ref_columns) for f in b.foreign_keys] == [(["a_id"], "dim_a", ["a_id"])]
    assert (a.group, b.group) == ("dim", "fact")


def test_the_project_schema_is_read_like_the_loader_reads_it():
    tables = schema_tables()
    assert {t.name: [c.name for c in t.columns] for t in tables} == table_columns()
    assert all(t.primary_key for t in tables)
    names = {t.name for t in tables}
    assert all(fk.table in names for t in tables for fk in t.foreign_keys)


def test_star_schema_draws_every_table_and_key():
    source = star_schema().source
    for t in schema_tables():
        assert f"<B>{t.name}</B>" in source
        for fk in t.foreign_keys:
            assert f"{fk.table} -> {t.name}" in source or f"{t.name} -> {fk.table}" in source
    svg = render(star_schema(keys_only=True), "svg").decode("utf-8")
    assert "<svg" in svg and "fact_election_result" in svg
    assert render(data_flow(), "png")[:8] == b"\x89PNG\r\n\x1a\n"


def test_docs_diagrams_are_up_to_date():
    """docs/schema.svg is regenerated with `python -m electio.report.diagram` after a schema change."""
    svg = (PROJECT_ROOT / "docs" / "schema.svg").read_text(encoding="utf-8")
    assert (PROJECT_ROOT / "docs" / "schema.png").stat().st_size > 0
    for t in schema_tables():
        assert f">{t.name}<" in svg, f"{t.name} missing from docs/schema.svg: run python -m electio.report.diagram"
        for c in t.columns:
            assert f">{c.name}<" in svg, f"{t.name}.{c.name} missing from docs/schema.svg"
