"""Panel features, département forecast, and the leakage guard."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from electio.model.panel import LeakageError, assert_no_leakage, build_panel

from .synthetic import hand_tables

REVENU = [
    # commune, code, year, value, published_on
    *[(c, "revenu", 2016, v, date(2018, 1, 1)) for c, v in (("69001", 100.0), ("69002", 200.0), ("69003", 300.0))],
    *[(c, "revenu", 2018, v, date(2020, 6, 1)) for c, v in (("69001", 110.0), ("69002", None), ("69003", 330.0))],
    # published ON the day of pres_2022_t1: must not be used for it
    *[(c, "revenu", 2021, v, date(2022, 4, 10)) for c, v in (("69001", 999.0), ("69002", 999.0), ("69003", 999.0))],
]


def feature(panel, election, commune, column):
    row = (panel.rows["election_id"] == election) & (panel.rows["commune_code"] == commune)
    return panel.X.loc[row.to_numpy(), column].item()


def source(panel, election, commune, column):
    row = (panel.rows["election_id"] == election) & (panel.rows["commune_code"] == commune)
    return panel.sources.loc[row.to_numpy(), column].item()


def test_history_features_hand_example():
    p = build_panel(hand_tables())
    # pres_2022_t1: reference = pres_2017_t1 (same type), last any = euro_2019_t1
    assert feature(p, "pres_2022_t1", "69001", "share_ref__gauche") == pytest.approx(50.0)
    assert feature(p, "pres_2022_t1", "69001", "dep_ref__gauche") == pytest.approx(32.5)
    assert feature(p, "pres_2022_t1", "69001", "dev_ref__gauche") == pytest.approx(17.5)
    assert feature(p, "pres_2022_t1", "69001", "share_any__gauche") == pytest.approx(40.0)
    assert feature(p, "pres_2022_t1", "69001", "dev_any__centre") == pytest.approx(40.0 - 42.5)
    assert feature(p, "pres_2022_t1", "69001", "dev_hist__gauche") == pytest.approx((17.5 + 12.5) / 2)
    assert feature(p, "pres_2022_t1", "69001", "has_same_type") == 1.0
    # euro_2019_t1 has no earlier European election: reference = last any type
    assert feature(p, "euro_2019_t1", "69002", "share_ref__droite") == pytest.approx(60.0)
    assert feature(p, "euro_2019_t1", "69002", "has_same_type") == 0.0
    # pres_2017_t1 has no history at all
    assert np.isnan(feature(p, "pres_2017_t1", "69001", "dev_any__gauche"))
    assert source(p, "pres_2022_t1", "69001", "dev_ref__gauche") == pd.Timestamp("2017-04-23")
    assert source(p, "pres_2022_t1", "69001", "dev_any__gauche") == pd.Timestamp("2019-05-26")


def test_departement_forecast_rule():
    p = build_panel(hand_tables())
    fc = p.dept_forecast.loc["pres_2022_t1"]
    # blocs: mean of pres_2017 (same type) and euro_2019 (last any); turnout: pres_2017
    assert fc["gauche"] == pytest.approx((32.5 + 27.5) / 2)
    assert fc["centre"] == pytest.approx((30.0 + 42.5) / 2)
    assert fc["droite"] == pytest.approx((37.5 + 30.0) / 2)
    assert fc["turnout"] == pytest.approx(50.0)
    assert p.dept_forecast_used["pres_2022_t1"] == ["euro_2019_t1", "pres_2017_t1"]
    assert p.dept_forecast_source["pres_2022_t1"] == pd.Timestamp("2019-05-26")
    assert p.dept.loc["pres_2022_t1", "droite"] == pytest.approx(45.0)


def test_indicator_vintage_published_before_the_election_only():
    p = build_panel(hand_tables(indicators=REVENU))
    assert_no_leakage(p)
    assert np.isnan(feature(p, "pres_2017_t1", "69001", "ind__revenu"))           # nothing published yet
    assert feature(p, "euro_2019_t1", "69001", "ind__revenu") == 100.0             # 2016 vintage
    # pres_2022_t1: the 2021 vintage is published on election day -> not used; 2018 is the latest
    assert feature(p, "pres_2022_t1", "69001", "ind__revenu") == 110.0
    assert feature(p, "pres_2022_t1", "69003", "ind__revenu") == 330.0
    # 69002's 2018 value is secret: its 2016 value is carried forward, dated 2018
    assert feature(p, "pres_2022_t1", "69002", "ind__revenu") == 200.0
    assert source(p, "pres_2022_t1", "69002", "ind__revenu") == pd.Timestamp("2018-01-01")
    assert (p.X["ind__revenu"] != 999.0).all()


def test_indicator_cutoff_restricts_further():
    p = build_panel(hand_tables(indicators=REVENU), indicator_cutoff="2019-01-01")
    assert feature(p, "pres_2022_t1", "69001", "ind__revenu") == 100.0


def test_guard_passes_and_every_source_is_before_its_election():
    p = build_panel(hand_tables(indicators=REVENU))
    assert_no_leakage(p)
    dates = p.rows["election_date"]
    assert (p.sources.lt(dates, axis=0) | p.sources.isna()).all().all()


def test_guard_catches_a_feature_dated_on_or_after_the_election():
    p = build_panel(hand_tables(indicators=REVENU))
    row = ((p.rows["election_id"] == "pres_2022_t1") & (p.rows["commune_code"] == "69001")).to_numpy()
    p.sources.loc[row, "ind__revenu"] = pd.Timestamp("2022-04-10")  # the vintage published on election day
    with pytest.raises(LeakageError, match="ind__revenu"):
        assert_no_leakage(p)


def test_guard_catches_a_feature_without_source_date():
    p = build_panel(hand_tables())
    p.X["leaky"] = 1.0
    p.sources["leaky"] = pd.NaT
    with pytest.raises(LeakageError, match="no source date"):
        assert_no_leakage(p)


def test_guard_catches_a_departement_forecast_from_the_future():
    p = build_panel(hand_tables())
    p.dept_forecast_source["euro_2019_t1"] = pd.Timestamp("2019-05-26")
    with pytest.raises(LeakageError, match="département forecast"):
        assert_no_leakage(p)


def test_future_election_rows_use_all_history():
    target = pd.DataFrame([{"election_id": "pres_2027_t1", "election_type": "presidentielle",
                            "election_date": "2027-04-11"}])
    p = build_panel(hand_tables(indicators=REVENU), targets=target)
    assert_no_leakage(p)
    assert len(p) == 3 and p.y.isna().all().all()
    assert feature(p, "pres_2027_t1", "69001", "share_ref__gauche") == pytest.approx(40.0)  # pres_2022
    assert feature(p, "pres_2027_t1", "69001", "ind__revenu") == 999.0  # 2021 vintage now published


def test_dating_rule_calendar_vs_published():
    tables = hand_tables(indicators=REVENU)
    fact = tables["fact_indicator"]
    # The 2018 vintage's file was published 2020-06-01 but its calendar date is 2019-01-31:
    # usable for euro_2019_t1 under the calendar rule, not under the strict published rule.
    fact["available_on"] = np.where(fact["indicator_year"] == 2018, pd.Timestamp("2019-01-31"),
                                    pd.to_datetime(fact["published_on"]))
    cal = build_panel(tables)
    strict = build_panel(tables, dating="published")
    assert cal.dating == "calendar" and strict.dating == "published"
    assert feature(cal, "euro_2019_t1", "69001", "ind__revenu") == 110.0
    assert source(cal, "euro_2019_t1", "69001", "ind__revenu") == pd.Timestamp("2019-01-31")
    assert feature(strict, "euro_2019_t1", "69001", "ind__revenu") == 100.0
    assert_no_leakage(cal)
    assert_no_leakage(strict)
    switched = cal.with_dating("published")
    pd.testing.assert_frame_equal(switched.X[strict.X.columns], strict.X)
    pd.testing.assert_frame_equal(switched.with_dating("calendar").X[cal.X.columns], cal.X)
    sub = cal.for_elections(["euro_2019_t1"]).with_dating("published")
    assert sub.X["ind__revenu"].tolist() == [100.0, 200.0, 300.0]
    assert not any(c.startswith("ind__") for c in cal.without_indicators().X.columns)
    with pytest.raises(ValueError):
        build_panel(tables, dating="whenever")


def test_feature_group_variants_use_their_view():
    from electio.model.feature_groups import VARIANTS

    ids = {v.model_id for v in VARIANTS}
    assert {"ridge_results_only", "ridge_published", "lightgbm_results_only", "lightgbm_published"} <= ids
    seen = {}

    class Probe:
        model_id = "probe"

        def fit(self, panel):
            seen["columns"] = list(panel.X.columns)
            seen["dating"] = panel.dating
            return self

    from electio.model.feature_groups import FeatureView

    class ProbeResults(FeatureView):
        base, view = Probe, "results_only"

    class ProbePublished(FeatureView):
        base, view = Probe, "published"

    p = build_panel(hand_tables(indicators=REVENU))
    ProbeResults().fit(p)
    assert not any(c.startswith("ind__") for c in seen["columns"])
    ProbePublished().fit(p)
    assert "ind__revenu" in seen["columns"] and seen["dating"] == "published"


def test_permutation_importance_finds_the_group_a_model_uses():
    from electio.model.importance import permutation_importance
    from electio.model.panel import TURNOUT

    class UsesRevenue:
        """Predicts the gauche share from ind__revenu exactly (a model that needs that group)."""

        def predict(self, panel, departement):
            out = panel.y.copy()
            out["gauche"] = panel.X["ind__revenu"] / 10
            return out

    p = build_panel(hand_tables(indicators=REVENU)).for_elections(["pres_2022_t1"])
    p.y["gauche"] = p.X["ind__revenu"] / 10
    p.X["ind__other"] = [1.0, 2.0, 3.0]
    groups = {"ind:revenus": ["ind__revenu"], "ind:autre": ["ind__other"]}
    rows = {r["feature_group"]: r for r in permutation_importance(UsesRevenue(), p, groups, mode="conditional",
                                                                   n_repeats=20)}
    assert rows["ind:revenus"]["base_value"] == pytest.approx(0.0)
    assert rows["ind:revenus"]["importance"] > 0
    assert rows["ind:autre"]["importance"] == pytest.approx(0.0)
    assert TURNOUT in p.targets
