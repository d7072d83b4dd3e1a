"""Figures on synthetic communes (squares, fake GeoJSON): every file is written and non-empty."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from electio.eda import figures
from electio.eda.correlation import compute_correlations
from electio.eda.figures import (election_maps, fr_number, key_indicators, map_context, map_elections,
                                 write_figures)
from electio.settings import Settings
from electio.sources.geography import parse_geojson_features
from electio.transform.communes import commune_shapes
from tests.eda.synthetic import square_shapes, synthetic_tables


def png_ok(path) -> bool:
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tables():
    return synthetic_tables()


def test_election_maps_from_a_fake_geojson(tmp_path):
    tables = synthetic_tables(n=4)
    codes = list(tables["dim_commune"]["commune_code"])
    squares = square_shapes(codes)
    # A GeoJSON where the last commune is still split in two former communes (COG 2018 style).
    features = [{"type": "Feature", "properties": {"code": c}, "geometry": squares[c].__geo_interface__}
                for c in codes[:-1]]
    last = squares[codes[-1]]
    minx, miny, maxx, maxy = last.bounds
    halves = {"69901": (minx, miny, (minx + maxx) / 2, maxy), "69902": ((minx + maxx) / 2, miny, maxx, maxy)}
    for old, (a, b, c, d) in halves.items():
        features.append({"type": "Feature", "properties": {"code": old},
                         "geometry": {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]}})
    geojson = tmp_path / "communes.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    merged = pd.DataFrame({"source_code": ["69901", "69902"], "commune_code": codes[-1], "relation": "merged",
                           "source_name": None})
    code_map = pd.concat([tables["map_commune_code"], merged], ignore_index=True)
    shapes = commune_shapes(parse_geojson_features(geojson), code_map)
    assert set(shapes) == set(codes)
    assert shapes[codes[-1]].symmetric_difference(last).area < 1e-6  # the two halves are united
    ctx = map_context(tables, shapes)
    files = election_maps(tables, ctx, tmp_path / "fig", "leg_2022_t1")
    assert [f.name for f in files] == ["map_leg_2022_t1_bloc_shares.png", "map_leg_2022_t1_turnout.png",
                                       "map_leg_2022_t1_leading_bloc.png"]
    assert all(png_ok(f) for f in files)


def test_every_figure_is_written(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "DPI", 40)  # same drawing code, fewer pixels: keeps the test fast
    corr = compute_correlations(tables, n_boot=50)
    shapes = square_shapes(list(tables["dim_commune"]["commune_code"]))
    lyon = {"69381": shapes["69001"].buffer(-100)}
    settings = Settings(reports_dir=tmp_path / "reports", data_dir=tmp_path, mirror=None, allow_download=False)
    files = write_figures(tables, corr, settings, shapes=shapes, arrondissements=lyon)
    names = {f.name for f in files}
    assert {"map_pres_2022_t1_bloc_shares.png", "map_pres_2022_t1_turnout.png", "map_pres_2022_t1_leading_bloc.png",
            "map_leg_2022_t1_bloc_shares.png", "map_indicator_revenu_median.png",
            "map_indicator_taux_pauvrete.png", "map_indicator_density.png", "hist_indicators_revenus.png",
            "hist_indicators_population.png", "hist_indicators_entreprises.png", "hist_results_pres_2022_t1.png",
            "heatmap_correlation_pres_2022_t1.png", "heatmap_correlation_mean.png"} <= names
    assert sum(n.startswith("scatter_") for n in names) == 5
    assert all(f.parent == tmp_path / "reports" / "figures" and png_ok(f) for f in files)
    assert len(names) == len(files)  # no file written twice


def test_without_boundaries_or_indicators_the_rest_is_still_drawn(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "DPI", 40)
    bare = dict(tables, dim_indicator=tables["dim_indicator"].iloc[:0],
                fact_indicator=tables["fact_indicator"].iloc[:0])
    settings = Settings(reports_dir=tmp_path, data_dir=tmp_path, mirror=tmp_path / "no-mirror",
                        cache_dir=tmp_path / "raw", allow_download=False)
    out = tmp_path / "figures"
    out.mkdir()
    for name in ("scatter_1_old_gauche.png", "backtest_mae.png"):  # an old EDA figure, another step's figure
        (out / name).write_bytes(b"png")
    (out / figures.MANIFEST).write_text("scatter_1_old_gauche.png\n", encoding="utf-8")
    files = write_figures(bare, compute_correlations(bare), settings)  # boundary file unavailable: no map
    assert [f.name for f in files] == ["hist_results_pres_2022_t1.png"]
    assert sorted(p.name for p in out.glob("*.png")) == ["backtest_mae.png", "hist_results_pres_2022_t1.png"]


def test_helpers():
    assert fr_number(1234.5, 1) == "1\u202f234,5" and fr_number(-0.25) == "\u22120,25" and fr_number(2.5) == "2,5"
    assert fr_number(float("nan")) == "n.d."
    tables = synthetic_tables()
    assert map_elections(tables["dim_election"]) == ["leg_2022_t1", "pres_2022_t1"]
    assert key_indicators(tables["dim_indicator"]) == {"revenu_median": "revenu_median",
                                                       "taux_pauvrete": "taux_pauvrete"}
