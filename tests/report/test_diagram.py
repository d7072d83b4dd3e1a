"""Diagrams generated from sql/schema.sql, drawn without any system binary."""

from __future__ import annotations

import shutil

import pytest

from electio.report.diagram import (LANDSCAPE_BOX, MIN_PRINTED_PT, conceptual, conceptual_model, data_flow, parse_schema, render,
                                    schema_tables, smallest_printed_font, star_schema)
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
-- Grain: a x year.
CREATE TABLE fact_b (
    a_id   NVARCHAR(5) NOT NULL,
    c_id   NVARCHAR(5) NULL,
    year   INT NOT NULL,
    value  FLOAT NULL,
    CONSTRAINT pk_fact_b PRIMARY KEY (a_id, year),
    CONSTRAINT fk_fact_b_a FOREIGN KEY (a_id) REFERENCES dim_a (a_id),
    CONSTRAINT fk_fact_b_c FOREIGN KEY (c_id) REFERENCES dim_c (c_id)
);
CREATE TABLE dim_c (
    c_id  NVARCHAR(5) NOT NULL,
    a_id  NVARCHAR(5) NOT NULL,
    CONSTRAINT pk_dim_c PRIMARY KEY (c_id),
    CONSTRAINT fk_dim_c_a FOREIGN KEY (a_id) REFERENCES dim_a (a_id)
);
CREATE TABLE meta_log (
    n  INT NOT NULL,
    CONSTRAINT pk_meta_log PRIMARY KEY (n)
);
"""


def test_parse_schema_reads_columns_keys_nullability_and_comments():
    a, b, c, _ = parse_schema(DDL)
    assert [col.name for col in a.columns] == ["a_id", "label", "checked"]  # 'checked' is a column, not CHECK
    assert [col.nullable for col in a.columns] == [False, True, False]
    assert a.primary_key == ["a_id"] and b.primary_key == ["a_id", "year"]
    assert [(f.columns, f.table, f.ref_columns) for f in b.foreign_keys] == [(["a_id"], "dim_a", ["a_id"]),
                                                                             (["c_id"], "dim_c", ["c_id"])]
    assert (a.group, b.group) == ("dim", "fact")
    assert b.comment == "Grain: a x year."


def test_conceptual_model_derives_entities_associations_and_cardinalities():
    entities, associations, technical = conceptual(parse_schema(DDL))
    assert [e.table for e in entities] == ["dim_a", "dim_c"]
    assert technical == ["meta_log"]
    by_table = {a.table: a for a in associations}
    fact = by_table["fact_b"]  # a fact linking two entities is an association carrying its measures
    assert [(leg.entity, leg.cardinality) for leg in fact.legs] == [("dim_a", "0,n"), ("dim_c", "0,n")]
    assert fact.attributes == ["year", "value"]
    link = by_table["dim_c->dim_a"]  # a NOT NULL foreign key of an entity: (1,1) on its side, (0,n) on the other
    assert [(leg.entity, leg.cardinality) for leg in link.legs] == [("dim_c", "1,1"), ("dim_a", "0,n")]


def test_every_table_of_the_project_is_in_the_conceptual_model():
    tables = schema_tables()
    entities, associations, technical = conceptual(tables)
    covered = {e.table for e in entities} | {a.table for a in associations if "->" not in a.table} | set(technical)
    assert covered == {t.name for t in tables}
    assert all(not t.startswith(("dim_", "fact_")) for t in technical)


def test_the_project_schema_is_read_like_the_loader_reads_it():
    tables = schema_tables()
    assert {t.name: [c.name for c in t.columns] for t in tables} == table_columns()
    assert all(t.primary_key for t in tables)
    names = {t.name for t in tables}
    assert all(fk.table in names for t in tables for fk in t.foreign_keys)


# Width of an A4 landscape page for the two models (the full schema, every column, is left to docs/), text width
# of a portrait page for the data flow.
@pytest.mark.parametrize("draw,box", [(conceptual_model, (LANDSCAPE_BOX[0], None)),
                                      (lambda: star_schema(keys_only=True), (LANDSCAPE_BOX[0], None)),
                                      (data_flow, (6.7, 9.0))])
def test_diagrams_render_without_any_system_binary_and_print_legibly(draw, box, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)  # as on a machine without Graphviz or anything
    monkeypatch.setenv("PATH", "")
    fig = draw()
    svg = render(fig, "svg").decode("utf-8")
    assert "<svg" in svg and "<text" in svg  # vector, text kept as text
    assert render(fig, "png", dpi=40)[:8] == b"\x89PNG\r\n\x1a\n"
    # the two models on an A4 landscape page, the data flow across the portrait text width
    assert smallest_printed_font(fig, *box) >= MIN_PRINTED_PT


def test_mcd_is_in_french():
    svg = render(conceptual_model(), "svg").decode("utf-8")
    for word in ("COMMUNE", "ÉLECTION", "BLOC POLITIQUE", "INDICATEUR", "SCÉNARIO", "OBTENIR", "0,n", "1,1"):
        assert word in svg, word
    for code in ("commune_code", "share_expressed", "fact_", "dim_"):
        assert code not in svg, code


def test_docs_diagrams_are_up_to_date():
    """docs/*.svg are regenerated with `python -m electio.report.diagram` after a schema change."""
    for stem in ("mcd", "schema", "data_flow"):
        assert (PROJECT_ROOT / "docs" / f"{stem}.png").stat().st_size > 0
    svg = (PROJECT_ROOT / "docs" / "schema.svg").read_text(encoding="utf-8")
    for t in schema_tables():
        assert f">{t.name}<" in svg, f"{t.name} missing from docs/schema.svg: run python -m electio.report.diagram"
        for c in t.columns:
            assert f">{c.name}<" in svg, f"{t.name}.{c.name} missing from docs/schema.svg"
    mcd = (PROJECT_ROOT / "docs" / "mcd.svg").read_text(encoding="utf-8")
    for e in conceptual()[0]:
        assert f">{e.name}<" in mcd, f"{e.name} missing from docs/mcd.svg: run python -m electio.report.diagram"
