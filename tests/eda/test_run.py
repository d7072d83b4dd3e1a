"""The EDA job: fact_correlation written back alone, figures and answer in the reports folder."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from electio.eda import figures
from electio.eda.correlation import compute_correlations
from electio.eda.figures import election_maps, load_commune_shapes, load_lyon_arrondissements, map_context
from electio.eda.run import main, run_eda, write_correlations
from electio.errors import ElectioError
from electio.settings import Settings
from electio.stages import run_alone
from electio.warehouse.load import write_warehouse
from electio.warehouse.read import read_tables
from electio.warehouse.schema import CONTEXT
from tests.conftest import copy_warehouse
from tests.eda.synthetic import square_shapes, synthetic_tables


@pytest.fixture
def warehouse(tmp_path):
    """A synthetic warehouse built by the real loader (schema, keys) and its settings."""
    tables = synthetic_tables()
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", cache_dir=tmp_path / "raw",
                        mirror=None, allow_download=False)
    write_warehouse(settings.db_url, tables)
    return settings, tables


def count(settings: Settings, table: str) -> int:
    with sqlite3.connect(settings.data_dir / "electio.sqlite") as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def test_run_eda_end_to_end_on_a_synthetic_warehouse(warehouse, monkeypatch):
    monkeypatch.setattr(figures, "DPI", 40)  # the figures themselves are tested in test_figures.py
    settings, tables = warehouse
    before = {t: count(settings, t) for t in ("fact_turnout", "fact_indicator", "dim_election")}
    shapes = square_shapes(list(tables["dim_commune"]["commune_code"]))
    monkeypatch.setattr(figures, "map_elections", lambda dim, reference: [reference])  # fewer maps, faster
    summary = run_eda(settings, n_boot=50, shapes=shapes)
    assert summary["n_correlations"] == count(settings, "fact_correlation") > 0
    assert {t: count(settings, t) for t in before} == before  # nothing else touched
    stored = read_tables(settings.db_url, ["fact_correlation"])["fact_correlation"]
    expected = compute_correlations(tables, n_boot=50)
    pd.testing.assert_frame_equal(stored, expected, check_dtype=False)
    answer = json.loads((settings.reports_dir / "eda_answer.json").read_text(encoding="utf-8"))
    assert answer["status"] == "ok" and len(answer["top"]) == 5
    assert answer["by_target"]["centre"]["indicator_label_fr"]
    assert summary["top"][0]["indicator_code"] == answer["top"][0]["indicator_code"]
    assert len(summary["files"]) >= 15
    # Idempotent: a second run gives the same rows.
    run_eda(settings, n_boot=50, figures=False)
    pd.testing.assert_frame_equal(read_tables(settings.db_url, ["fact_correlation"])["fact_correlation"], stored)


def test_write_correlations_replaces_rows_or_keeps_them(warehouse):
    settings, tables = warehouse
    corr = compute_correlations(tables, n_boot=20)
    assert write_correlations(settings.db_url, corr) == len(corr)
    assert write_correlations(settings.db_url, corr.head(3)) == 3
    assert count(settings, "fact_correlation") == 3
    bad = pd.concat([corr.head(5), corr.head(1).assign(indicator_code="unknown")], ignore_index=True)
    with pytest.raises(ElectioError, match="unknown"):
        write_correlations(settings.db_url, bad)
    assert count(settings, "fact_correlation") == 3  # previous rows kept
    dup = pd.concat([corr.head(2), corr.head(1)], ignore_index=True)  # primary key violation mid-insert
    with pytest.raises(ElectioError, match="previous rows kept"):
        write_correlations(settings.db_url, dup)
    assert count(settings, "fact_correlation") == 3
    with pytest.raises(ElectioError, match="columns"):
        write_correlations(settings.db_url, corr.drop(columns="p_value"))
    assert write_correlations(settings.db_url, corr.iloc[:0]) == 0


def test_cli_reports_a_missing_warehouse(tmp_path):
    assert main(["--db", f"sqlite:///{tmp_path / 'none.sqlite'}", "--offline", "--no-figures"]) == 1


@pytest.mark.mirror
def test_real_warehouse_maps_and_run(tmp_path, shared_warehouse):
    """The warehouse built from the mirror: real boundaries, the 2022 presidential maps, the job."""
    tmp_settings = copy_warehouse(shared_warehouse.settings, tmp_path)
    tables = read_tables(tmp_settings.db_url, without=CONTEXT)
    shapes = load_commune_shapes(tables)  # from dim_commune_geometry, not the boundary files
    assert set(shapes) == set(tables["dim_commune"]["commune_code"])  # 266 communes, 69114 included
    x0, y0, x1, y1 = shapes["69123"].bounds
    assert 835_000 < x0 < x1 < 850_000 and 6_510_000 < y0 < y1 < 6_525_000  # Lyon, in Lambert-93 metres
    lyon = load_lyon_arrondissements(tables)
    assert sorted(lyon) == [f"6938{i}" for i in range(1, 10)]
    assert lyon["69381"].within(shapes["69123"].buffer(300))
    ctx = map_context(tables, shapes, lyon)
    files = election_maps(tables, ctx, tmp_settings.reports_dir / "figures", "pres_2022_t1")
    assert [f.stat().st_size > 50_000 for f in files] == [True, True, True]
    summary = run_eda(tmp_settings, n_boot=50, figures=False)
    assert summary["n_correlations"] == len(read_tables(tmp_settings.db_url, ["fact_correlation"])["fact_correlation"])
    assert (tmp_settings.reports_dir / "eda_answer.json").exists()


@pytest.mark.mirror
def test_figures_stage_run_alone_reads_the_boundaries_and_draws_the_maps(tmp_path, shared_warehouse, monkeypatch):
    """`electio figures` reads only its declared tables: the boundaries must be among them (they were
    not: every map was skipped as if the perimeter had no boundary file)."""
    settings = copy_warehouse(shared_warehouse.settings, tmp_path)
    monkeypatch.setattr(figures, "DPI", 40)  # the figures themselves are tested in test_figures.py
    monkeypatch.setattr(figures, "map_elections", lambda dim, reference: [reference])
    assert run_alone("figures", settings).status == "done"
    drawn = {p.name for p in (settings.reports_dir / "figures").glob("map_*.png")}
    assert {"map_pres_2022_t1_leading_bloc.png", "map_indicator_density.png"} <= drawn
