"""Joint simulation on a small synthetic warehouse: reproducibility, probabilities, horizons, totals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pandas as pd
import pytest

from electio.errors import ElectioError
from electio.forecast.run import DIM_SCENARIO_COLUMNS, merge_forecasts, run_scenarios, _future_panel, scenario_seed
from electio.forecast.scenarios import Scenario
from electio.forecast.horizons import lead_errors
from electio.forecast.simulate import (Draws, departement_draws, departement_history, finalise_departement,
                                       multivariate_t_from_errors, simulate, status_quo_swing, swing_distribution,
                                       rake, shift_turnout, summarise, trend_swing, _split_errors)
from electio.model.panel import departement_forecast
from electio.model.train import train_final
from electio.warehouse.schema import table_columns

from ..model.synthetic import random_tables

CUSTOM = {"gauche": 50.0, "centre": 30.0, "droite": 20.0}


def synthetic_tables() -> dict[str, pd.DataFrame]:
    """random_tables plus one income indicator (yearly vintages 2014-2020, published 2.5 years later)."""
    tables = random_tables(n_communes=30, seed=3)
    rng = np.random.default_rng(5)
    rows = []
    for k, c in enumerate(tables["dim_commune"]["commune_code"]):
        base = 18000 + 300 * k
        for y in range(2014, 2021):
            rows.append({"commune_code": c, "indicator_code": "revenu", "indicator_year": y,
                         "value": base * 1.015 ** (y - 2014) * np.exp(0.01 * rng.normal()), "is_suppressed": 0,
                         "is_imputed": 0, "is_reaggregated": 0, "published_on": date(y + 3, 6, 30),
                         "source_file": "x.csv"})
    tables["fact_indicator"] = pd.DataFrame(rows)
    tables["dim_indicator"] = pd.DataFrame({
        "indicator_code": ["revenu"], "label_fr": ["Revenu"], "family": ["revenus"], "unit": ["euros"],
        "aggregation": ["weighted_mean"], "weight_indicator": [None], "level": ["commune"], "source_id": ["x"],
        "definition": ["x"]})
    return tables


def scenarios() -> list[Scenario]:
    """Presidential elections in 2027, 2028 and 2029 (not a real calendar: three leads of one type
    on the synthetic warehouse, whose last election is in 2022) x status quo, trend; one custom."""
    grid = [Scenario("presidentielle", y, swing, 2026) for swing in ("status_quo", "trend") for y in (2027, 2028, 2029)]
    return grid + [Scenario("presidentielle", 2027, "custom", 2026, custom_shares=CUSTOM, custom_source="polls.csv",
                            custom_fixed=True)]


@pytest.fixture(scope="module")
def setup():
    tables = synthetic_tables()
    before = tables["fact_indicator"].copy()
    trained = train_final(tables, "ridge")
    result = run_scenarios(tables, trained, scenarios(), seed=11, n_swing=150, n_rep=4)
    return tables, before, trained, result


def test_tables_follow_the_schema(setup):
    tables, _, _, result = setup
    schema = table_columns()
    out = result.tables()
    for name in ("dim_scenario", "fact_forecast", "fact_forecast_departement", "fact_horizon_error"):
        assert list(out[name].columns) == schema[name]
    assert "status_quo" in set(out["fact_horizon_error"]["rule"])  # trend needs more elections than here
    assert list(out["dim_scenario"].columns) == DIM_SCENARIO_COLUMNS
    fc, dep = out["fact_forecast"], out["fact_forecast_departement"]
    assert len(fc) == 7 * 30 * 4 and not fc.duplicated(["scenario_id", "commune_code", "target"]).any()
    assert len(dep) == 7 * 4  # 3 blocs + turnout
    assert fc[["predicted", "interval_low", "interval_high"]].notna().all().all()
    assert (fc["interval_low"] <= fc["predicted"] + 1e-9).all() and (fc["predicted"] <= fc["interval_high"] + 1e-9).all()
    shares = fc[fc["target"] != "turnout"].groupby(["scenario_id", "commune_code"])["predicted"].sum()
    np.testing.assert_allclose(shares, 100.0, atol=1e-3)
    assert out["dim_scenario"]["description"].str.len().max() <= 2000
    assert "revenu 2020->2023" in out["dim_scenario"].set_index("scenario_id").loc["pres_2027_trend", "description"]


def test_probabilities_sum_to_one(setup):
    fc, dep = setup[3].fact_forecast, setup[3].fact_forecast_departement
    blocs = fc[fc["target"] != "turnout"]
    np.testing.assert_allclose(blocs.groupby(["scenario_id", "commune_code"])["probability_first"].sum(), 1.0,
                               atol=1e-5)
    assert fc.loc[fc["target"] == "turnout", "probability_first"].isna().all()
    np.testing.assert_allclose(dep[dep["target"] != "turnout"].groupby("scenario_id")["probability_first"].sum(),
                               1.0, atol=1e-5)


def test_fixed_seed_is_reproducible_and_independent_of_other_scenarios(setup):
    tables, _, trained, result = setup
    one = [s for s in scenarios() if s.scenario_id == "pres_2028_trend"]
    again = run_scenarios(tables, trained, one, seed=11, n_swing=150, n_rep=4)
    full = result.fact_forecast[result.fact_forecast["scenario_id"] == "pres_2028_trend"].reset_index(drop=True)
    pd.testing.assert_frame_equal(again.fact_forecast.reset_index(drop=True), full)
    other = run_scenarios(tables, trained, one, seed=12, n_swing=150, n_rep=4)
    assert not np.allclose(other.fact_forecast["interval_high"], full["interval_high"])


def _widths(dep: pd.DataFrame, swing: str) -> list[float]:
    blocs = dep[(dep["target"] != "turnout") & dep["scenario_id"].str.endswith(swing)]
    w = (blocs["interval_high"] - blocs["interval_low"]).groupby(blocs["scenario_id"]).mean()
    return [w[f"pres_{2026 + h}_{swing}"] for h in (1, 2, 3)]


def test_intervals_widen_with_the_horizon_under_trend(setup):
    result = setup[3]
    w = _widths(result.fact_forecast_departement, "trend")
    assert w[0] < w[1] < w[2]
    fc = result.fact_forecast[result.fact_forecast["target"] != "turnout"]
    cw = (fc["interval_high"] - fc["interval_low"]).groupby(fc["scenario_id"]).mean()
    assert cw["pres_2027_trend"] < cw["pres_2028_trend"] < cw["pres_2029_trend"]
    # the status quo's spread is the rule's error at the lead's bucket: 4.9 to 6.9 years after the
    # synthetic warehouse's last election (2022) all fall in "3+", hence the same width
    sq = _widths(result.fact_forecast_departement, "status_quo")
    assert max(sq) - min(sq) < 0.05 * np.mean(sq)


def test_trend_spread_grows_with_the_lead():
    h = departement_history(synthetic_tables())
    s1 = trend_swing(h, "presidentielle", date(2027, 4, 11))
    s3 = trend_swing(h, "presidentielle", date(2029, 4, 8))
    assert all(s3.details["sd_log"][b] > s1.details["sd_log"][b] for b in h.blocs)
    assert s3.details["lead_years"] > s1.details["lead_years"]


def test_commune_rows_add_up_to_the_draws_they_come_from(setup):
    """The commune rows are summarised over their own draws of D (150 here, 500 in the product): their
    voter-weighted central values are near those draws' median (medians do not add up exactly); the
    département row, over 200,000 further draws, may differ from both by the communes' Monte Carlo
    noise (docs/scenarios.md section 5)."""
    tables, _, trained, _ = setup
    h = departement_history(tables)
    for s in scenarios():
        if s.scenario_id not in ("pres_2027_status_quo", "pres_2029_trend"):
            continue
        panel, projection = _future_panel(tables, s, ["revenu"])
        draws = simulate(panel, trained.model, trained.calibrator, swing_distribution(h, s), scenario_seed(11, s),
                         n_swing=150, n_rep=4, projection=projection, pop_code="revenu", n_departement=10)
        commune, _ = summarise(s.scenario_id, draws)
        sub = commune.pivot(index="commune_code", columns="target", values="predicted").reindex(draws.communes)
        reg = draws.registered
        w = reg * sub["turnout"].to_numpy() / 100
        own = draws.departement.median()
        for b in ("gauche", "centre", "droite"):
            assert (sub[b].to_numpy() * w).sum() / w.sum() == pytest.approx(own[b], abs=1.5), (s.scenario_id, b)
        assert (sub["turnout"].to_numpy() * reg).sum() / reg.sum() == pytest.approx(own["turnout"], abs=0.6)


def test_departement_values_are_the_hypothesis_own_distribution(setup):
    """The stored département values are the swing hypothesis's median and 80 % bounds (the
    communes are raked to each draw of it), not a 150-draw estimate of them."""
    tables, _, _, result = setup
    dep = result.fact_forecast_departement.set_index(["scenario_id", "target"])
    h = departement_history(tables)
    leads = lead_errors(tables)
    for s in scenarios():
        if s.scenario_id not in ("pres_2027_status_quo", "pres_2029_trend"):
            continue
        swing = swing_distribution(h, s, lead_errors=leads[leads["rule"] == "status_quo"], tables=tables)
        big = swing.sample(np.random.default_rng(0), 1_000_000)
        low, med, high = big.quantile([0.1, 0.5, 0.9]).to_numpy()
        blocs = med[:-1] * 100 / med[:-1].sum()  # the central value: bloc medians rescaled to 100
        d = dep.loc[s.scenario_id].reindex(h.targets)
        np.testing.assert_allclose(d["predicted"], np.r_[blocs, med[-1]], atol=0.3)
        np.testing.assert_allclose(d["interval_low"], low, atol=0.5)
        np.testing.assert_allclose(d["interval_high"], high, atol=0.5)


def test_departement_draws_are_vote_weighted():
    draws = Draws(communes=np.array(["a", "b"]), blocs=["x", "y"],
                  shares=np.array([[[60.0, 40.0], [20.0, 80.0]]]), turnout=np.array([[50.0, 100.0]]),
                  registered=np.array([100.0, 100.0]), departement=pd.DataFrame(),
                  departement_sample=pd.DataFrame())
    shares, turnout = departement_draws(draws)
    # voters 50 and 100: x = (50*60 + 100*20) / 150
    np.testing.assert_allclose(shares, [[100 / 3, 200 / 3]])
    np.testing.assert_allclose(turnout, [75.0])


def test_status_quo_centre_is_the_model_rule(setup):
    tables = setup[0]
    h = departement_history(tables)
    swing = status_quo_swing(h, "presidentielle", date(2027, 4, 11))
    rule, _, _ = departement_forecast(h.dept, h.elections, "presidentielle", date(2027, 4, 11))
    pd.testing.assert_series_equal(swing.center, rule[h.targets].astype(float), check_names=False)
    draws = swing.sample(np.random.default_rng(0), 500)
    np.testing.assert_allclose(draws[h.blocs].sum(axis=1), 100.0)
    assert (draws[h.blocs] >= 0).all().all()


def test_custom_fixed_totals_are_reproduced(setup):
    dep = setup[3].fact_forecast_departement
    d = dep[dep["scenario_id"] == "pres_2027_custom"].set_index("target")
    for b, v in CUSTOM.items():
        assert d.loc[b, "predicted"] == pytest.approx(v, abs=0.05)  # raked: the analyst's totals
    sq = dep[dep["scenario_id"] == "pres_2027_status_quo"].set_index("target")
    blocs = list(CUSTOM)
    assert ((d.loc[blocs, "interval_high"] - d.loc[blocs, "interval_low"])
            < (sq.loc[blocs, "interval_high"] - sq.loc[blocs, "interval_low"])).all()


def test_indicators_are_projected_in_memory_only(setup):
    tables, before, _, result = setup
    pd.testing.assert_frame_equal(tables["fact_indicator"], before)
    panel, proj = _future_panel(tables, scenarios()[0], ["revenu"])
    projected = proj.rows.set_index("commune_code")["value"]
    feature = pd.Series(panel.X["ind__revenu"].to_numpy(), index=panel.rows["commune_code"])
    np.testing.assert_allclose(feature.reindex(projected.index), projected)


def test_scenario_not_after_the_last_election_is_refused(setup):
    tables, _, trained, _ = setup
    with pytest.raises(ElectioError, match="not after the last election"):
        run_scenarios(tables, trained, [Scenario("presidentielle", 2021, "trend", 2020)], n_swing=10, n_rep=1)


def test_merge_keeps_other_scenarios(setup):
    result = setup[3]
    tables = result.tables()
    sub = {k: v[v["scenario_id"] == "pres_2027_custom"] for k, v in tables.items() if "scenario_id" in v}
    merged = merge_forecasts(tables, sub)
    assert set(merged["dim_scenario"]["scenario_id"]) == set(tables["dim_scenario"]["scenario_id"])
    assert len(merged["fact_forecast"]) == len(tables["fact_forecast"])


def test_raked_communes_add_up_to_each_drawn_departement_value(setup):
    """The département summary is drawn from the hypothesis alone: valid because every draw's
    communes are raked to its département values (blocs by voters, turnout by registered)."""
    tables, _, trained, _ = setup
    s = scenarios()[0]
    panel, projection = _future_panel(tables, s, ["revenu"])
    swing = status_quo_swing(departement_history(tables), s.election_type, s.election_date)
    draws = simulate(panel, trained.model, trained.calibrator, swing, scenario_seed(11, s), n_swing=150, n_rep=4,
                     projection=projection, pop_code="revenu", n_departement=1000)
    shares, turnout = departement_draws(draws)
    drawn = np.repeat(draws.departement.to_numpy(float), 4, axis=0)
    np.testing.assert_allclose(np.column_stack([shares, turnout]), drawn, atol=0.01)
    assert list(draws.departement_sample.columns) == list(draws.departement.columns)
    assert len(draws.departement_sample) == 1000


def test_predictions_in_a_shared_pool_give_the_serial_draws(setup):
    """The chunks' inputs are drawn in order by the scenario; only their predictions run in the pool
    (several chunks at once): the same random numbers, the same draws."""
    tables, _, trained, _ = setup
    s = scenarios()[0]
    panel, projection = _future_panel(tables, s, ["revenu"])
    swing = status_quo_swing(departement_history(tables), s.election_type, s.election_date)

    def draws(pool):
        return simulate(panel, trained.model, trained.calibrator, swing, scenario_seed(11, s), n_swing=130, n_rep=2,
                        projection=projection, pop_code="revenu", n_departement=100, chunk=20, predict_pool=pool)

    serial = draws(None)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pooled = draws(pool)
    np.testing.assert_array_equal(pooled.shares, serial.shares)
    np.testing.assert_array_equal(pooled.turnout, serial.turnout)
    assert (pooled.shares[:, :, 0] != pooled.shares[0, 0, 0]).any()  # real draws, not constants


def test_departement_summary_is_stable_from_one_seed_to_another(setup):
    """Summarised over the 150 draws of D that the communes get, the département's central values
    moved by several points between seeds here (Student t with 2-3 degrees of freedom; a 150-draw
    median of the trend's left bloc has a 2.5-point standard deviation); over the 200,000 further
    draws of D, by about a tenth at most (central value) and two tenths (the bounds, in the tails)."""
    tables, _, trained, _ = setup
    one = [s for s in scenarios() if s.scenario_id in ("pres_2027_status_quo", "pres_2028_trend")]
    a, b = (run_scenarios(tables, trained, one, seed=seed, n_swing=150, n_rep=4).fact_forecast_departement
            .set_index(["scenario_id", "target"]) for seed in (11, 12))
    gap = (a - b)[["predicted", "interval_low", "interval_high", "probability_first"]].abs().max()
    assert gap["predicted"] < 0.5 and gap["interval_low"] < 1.0 and gap["interval_high"] < 1.0, gap
    assert gap["probability_first"] < 0.02, gap


def test_turnout_is_raked_exactly_up_to_the_caps():
    """One shift per draw, clipped to [0, 100], meets the drawn turnout even at 99.5 % and 100 %
    (eight fixed-point rounds fell short by up to 1.5 points there)."""
    rng = np.random.default_rng(0)
    turnout, reg = rng.uniform(55, 95, size=(5, 40)), rng.uniform(100, 5000, size=40)
    target = np.array([0.0, 0.5, 70.0, 99.5, 100.0])
    t = shift_turnout(turnout, reg, target)
    np.testing.assert_allclose(t @ reg / reg.sum(), target, atol=1e-6)
    inside = (t[2] > 0) & (t[2] < 100)  # the same shift for every commune not at a cap
    np.testing.assert_allclose(np.diff(t[2][inside] - turnout[2][inside]), 0.0, atol=1e-9)


def test_a_commune_left_with_no_share_takes_the_drawn_shares():
    # the draw gives the first bloc 100 %, which the first commune had at 0
    shares = np.array([[[0.0, 60.0, 40.0], [50.0, 50.0, 0.0]]])
    s, _ = rake(shares, np.array([[80.0, 80.0]]), np.array([100.0, 100.0]), np.array([[100.0, 0.0, 0.0, 80.0]]))
    np.testing.assert_allclose(s[0], [[100.0, 0.0, 0.0], [100.0, 0.0, 0.0]])


def test_weighted_errors_are_normalised_within_each_matrix():
    """Turnout errors are known for the perimeter's rows only (the heaviest weights): scaled by their
    own mean weight they stay as they are; scaled by the mean over every row they grew (here
    1.29-fold; 1.6-fold in Rhône)."""
    err = pd.DataFrame({"gauche": [0.1, -0.2, 0.3, -0.1], "turnout": [5.0, -3.0, np.nan, np.nan]})
    blocs, turnout = _split_errors(err, ["gauche"], np.array([1.0, 1.0, 0.2, 0.2]))
    np.testing.assert_allclose(turnout[:, 0], [5.0, -3.0])
    np.testing.assert_allclose(blocs[:, 0], err["gauche"] * np.sqrt(np.array([1.0, 1.0, 0.2, 0.2]) / 0.6))


def test_departement_draw_helpers():
    out = finalise_departement(np.array([[-1.0, 30.0, 80.0, 120.0]]), 3)
    np.testing.assert_allclose(out, [[0.0, 100 * 30 / 110, 100 * 80 / 110, 100.0]])
    # a draw that overflowed on the log scale: its bloc takes all (shared if several), never NaN
    overflow = finalise_departement(np.array([[np.inf, 5.0, 1.0, 50.0], [np.inf, np.inf, 0.0, 50.0]]), 3)
    np.testing.assert_allclose(overflow, [[100.0, 0.0, 0.0, 50.0], [50.0, 50.0, 0.0, 50.0]])
    errors = np.array([[1.0, -1.0], [2.0, -2.0], [-3.0, 3.0]])
    draws = multivariate_t_from_errors(errors, np.random.default_rng(1), 20000)
    np.testing.assert_allclose(draws.sum(axis=1), 0.0, atol=1e-9)  # error vectors summing to 0 stay so
    assert np.median(np.abs(draws[:, 0])) == pytest.approx(np.sqrt((errors[:, 0] ** 2).mean()) * 0.765, rel=0.1)


def test_national_intentions_scenario_end_to_end(setup):
    """National shares (contract table fact_national_result filled for the past elections) ->
    département through the national-conditional rule -> communes, raked to that département."""
    tables, _, trained, _ = setup
    t = dict(tables)
    el = t["dim_election"]["election_id"].tolist()
    t["fact_national_result"] = pd.DataFrame([{"election_id": e, "bloc_code": b, "votes": None,
                                               "share_expressed": v, "source_id": "s", "note": None}
                                              for e in el for b, v in zip(("gauche", "centre", "droite"),
                                                                          (35.0, 35.0, 30.0))])
    lean = Scenario("presidentielle", 2027, "national", 2026, custom_shares={"gauche": 20.0, "centre": 30.0,
                                                                             "droite": 50.0}, custom_source="n.csv")
    other = Scenario("legislatives", 2027, "national", 2026, custom_shares={"gauche": 50.0, "centre": 30.0,
                                                                            "droite": 20.0}, custom_source="n.csv")
    res = run_scenarios(t, trained, [lean, other], seed=1, n_swing=60, n_rep=2)
    dep = res.fact_forecast_departement.set_index(["scenario_id", "target"])["predicted"]
    assert dep[("pres_2027_national", "droite")] > dep[("leg_2027_national", "droite")] + 10
    assert "Intentions de vote nationales" in res.dim_scenario["description"].iloc[0]
    with pytest.raises(ElectioError, match="fact_national_result is empty"):
        run_scenarios(tables, trained, [lean], seed=1, n_swing=10, n_rep=1)
