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
