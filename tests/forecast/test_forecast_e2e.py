"""End to end on the real mirror: warehouse -> model -> scenarios -> warehouse tables and figures."""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pytest

from electio.forecast.run import forecast_tables, main
from electio.forecast.scenarios import default_scenarios
from electio.model.run import models_dir
from electio.model.train import save_model, train_final
from electio.settings import PROJECT_ROOT
from electio.warehouse.load import replace_tables
from electio.warehouse.read import read_tables
from electio.warehouse.schema import CONTEXT
from tests.conftest import copy_warehouse

pytestmark = pytest.mark.mirror

EXAMPLE = PROJECT_ROOT / "data" / "reference" / "scenario_custom_example.csv"
NATIONAL = PROJECT_ROOT / "data" / "reference" / "scenario_national_example.csv"
TODAY = date(2026, 12, 4)


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_warehouse):
    settings = copy_warehouse(shared_warehouse.settings, tmp_path_factory.mktemp("forecast"))
    tables = read_tables(settings.db_url, without=CONTEXT)
    trained = train_final(tables, "ridge")  # fast; the refresh trains the model chosen by the backtest
    save_model(trained, models_dir(settings))
    # A forecast already stored, whichever test of the module a worker runs first (each worker has
    # its own copy): the forecast command must keep the scenarios it does not recompute.
    earlier = [s for s in default_scenarios(2024, today=TODAY) if s.scenario_id == "euro_2029_status_quo"]
    replace_tables(settings.db_url, forecast_tables(tables, trained, earlier, seed=1, n_swing=20, n_rep=1))
    return settings, tables, trained


def test_default_scenarios_on_the_real_warehouse(built):
    settings, tables, trained = built
    out = forecast_tables(tables, trained, default_scenarios(2024, today=TODAY), seed=1, n_swing=80, n_rep=2)
    fc, dep = out["fact_forecast"], out["fact_forecast_departement"]
    assert list(out["dim_scenario"]["scenario_id"]) == ["pres_2027_status_quo", "euro_2029_status_quo",
                                                        "leg_2027_status_quo"]
    assert len(fc) == 3 * 266 * 7 and len(dep) == 3 * 7
    blocs = fc[fc["target"] != "turnout"]
    np.testing.assert_allclose(blocs.groupby(["scenario_id", "commune_code"])["probability_first"].sum(), 1, atol=1e-5)
    np.testing.assert_allclose(blocs.groupby(["scenario_id", "commune_code"])["predicted"].sum(), 100, atol=1e-3)
    desc = out["dim_scenario"].set_index("scenario_id")["description"]
    assert "classe d'avance 2-3 ans" in desc["pres_2027_status_quo"] and "classe d'avance 3+" in desc["euro_2029_status_quo"]
    assert "population_municipale" in out["dim_scenario"]["description"].iloc[0]  # projected indicators named
    replace_tables(settings.db_url, out)  # schema, keys and foreign keys accepted by the warehouse
    stored = read_tables(settings.db_url, without=CONTEXT)
    assert len(stored["fact_forecast"]) == len(fc)
    assert stored["fact_indicator"].equals(tables["fact_indicator"])  # projections never written


@pytest.mark.long
def test_forecast_command_with_a_custom_file(built, monkeypatch, caplog, tmp_path):
    settings, _, _ = built
    for var, value in (("ELECTIO_DATA", settings.data_dir), ("ELECTIO_REPORTS", settings.reports_dir),
                       ("ELECTIO_CACHE", settings.cache_dir), ("ELECTIO_MIRROR", settings.mirror)):
        monkeypatch.setenv(var, str(value))
    monkeypatch.setenv("ELECTIO_OFFLINE", "1")
    args = ["--db", settings.db_url]
    assert main(args + ["--elections", "pres_2027", "--swing", "status_quo", "--custom", str(EXAMPLE), "--custom-fixed",
                        "--draws", "40", "--communes", "69123"]) == 0
    stored = read_tables(settings.db_url, without=CONTEXT)
    ids = set(stored["dim_scenario"]["scenario_id"])
    assert {"pres_2027_status_quo", "pres_2027_custom"} <= ids and "euro_2029_status_quo" in ids  # earlier kept
    custom = stored["fact_forecast_departement"].query("scenario_id == 'pres_2027_custom'").set_index("target")
    assert custom.loc["extreme_droite", "predicted"] == pytest.approx(33.0, abs=0.05)  # totals taken as exact
    assert custom.loc["turnout", "predicted"] == pytest.approx(76.0, abs=0.05)
    figures = settings.reports_dir / "figures"
    for name in ("forecast_curves_departement.png", "forecast_curves_69123_lyon.png",
                 "forecast_probability_first.png", "forecast_map_first_bloc_pres_2027_custom.png"):
        assert (figures / name).stat().st_size > 10_000
    assert (settings.reports_dir / "forecast_indicator_projections.csv").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("droite,9.5", "droite,neuf"), encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert main(args + ["--custom", str(bad), "--check"]) == 1
    assert f"{bad}, line 12, column 'share': not a number: 'neuf'" in caplog.text


def test_forecast_command_with_national_intentions(built, monkeypatch, caplog):
    """National vote intentions -> département and communes through the national-conditional rule;
    without national results in the warehouse, a clear error instead."""
    settings, tables, _ = built
    for var, value in (("ELECTIO_DATA", settings.data_dir), ("ELECTIO_REPORTS", settings.reports_dir),
                       ("ELECTIO_CACHE", settings.cache_dir), ("ELECTIO_MIRROR", settings.mirror)):
        monkeypatch.setenv(var, str(value))
    monkeypatch.setenv("ELECTIO_OFFLINE", "1")
    args = ["--db", settings.db_url, "--elections", "pres_2027", "--swing", "status_quo", "--national",
            str(NATIONAL), "--draws", "40", "--no-figures"]
    national = tables.get("fact_national_result")
    if national is None or national.empty:
        with caplog.at_level(logging.ERROR):
            assert main(args) == 1
        assert "fact_national_result is empty" in caplog.text
        return
    assert main(args) == 0
    stored = read_tables(settings.db_url, without=CONTEXT)
    dep = stored["fact_forecast_departement"].set_index(["scenario_id", "target"])["predicted"]
    nat = dep.loc["pres_2027_national"]
    blocs = ["extreme_gauche", "gauche", "centre", "droite", "extreme_droite", "divers"]
    assert nat.loc[blocs].sum() == pytest.approx(100, abs=0.01)
    assert nat.loc["extreme_droite"] != pytest.approx(dep.loc[("pres_2027_status_quo", "extreme_droite")], abs=0.5)
    fc = stored["fact_forecast"].query("scenario_id == 'pres_2027_national' and target != 'turnout'")
    assert len(fc) == 266 * 6 and fc["probability_first"].between(0, 1).all()
