"""National-conditional département rule on synthetic tables with exactly the contract's columns
(CONTRACTS.md: fact_national_result, fact_national_turnout, fact_departement_result)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from electio.model import national as nat

BLOCS = ["gauche", "centre", "droite"]
ELECTIONS = [("euro_2014_t1", "europeennes", date(2014, 5, 25)), ("pres_2017_t1", "presidentielle", date(2017, 4, 23)),
             ("euro_2019_t1", "europeennes", date(2019, 5, 26)), ("pres_2022_t1", "presidentielle", date(2022, 4, 10)),
             ("euro_2024_t1", "europeennes", date(2024, 6, 9))]
NATIONAL = {"euro_2014_t1": [40, 30, 30], "pres_2017_t1": [30, 45, 25], "euro_2019_t1": [25, 40, 35],
            "pres_2022_t1": [28, 42, 30], "euro_2024_t1": [22, 33, 45]}
#: Persistent log-scale deviation of each département per bloc (droite-leaning "02", gauche-leaning "03").
DEVIATION = {"01": [0.0, 0.0, 0.0], "02": [-0.2, 0.0, 0.25], "03": [0.3, -0.1, -0.2], "04": [0.1, 0.1, -0.15]}


def contract_tables(noise: float = 0.0, seed: int = 0, drop_national: tuple = ()) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    dim_election = pd.DataFrame([{"election_id": e, "election_type": t, "election_year": d.year, "round_number": 1,
                                  "election_date": d, "label_fr": e, "source_id": "s", "source_file": "f"}
                                 for e, t, d in ELECTIONS])
    dim_bloc = pd.DataFrame({"bloc_code": BLOCS, "label_fr": BLOCS, "sort_order": [1, 2, 3], "color_hex": "#000000"})
    national, dep_rows = [], []
    for e, shares in NATIONAL.items():
        if e not in drop_national:
            for b, v in zip(BLOCS, shares):
                national.append({"election_id": e, "bloc_code": b, "votes": None, "share_expressed": float(v),
                                 "source_id": "s", "note": None})
        for dep, dev in DEVIATION.items():
            raw = (np.array(shares, float) + 1) * np.exp(np.array(dev) + noise * rng.standard_normal(3)) - 1
            raw = 100 * raw / raw.sum()
            expressed = 100_000
            for b, v in zip(BLOCS, raw):
                dep_rows.append({"election_id": e, "departement_code": dep, "bloc_code": b,
                                 "votes": int(round(v * expressed / 100)), "expressed": expressed})
    return {"dim_election": dim_election, "dim_bloc": dim_bloc,
            "fact_national_result": pd.DataFrame(national, columns=["election_id", "bloc_code", "votes",
                                                                    "share_expressed", "source_id", "note"]),
            "fact_national_turnout": pd.DataFrame(columns=["election_id", "registered", "voters", "expressed",
                                                           "source_id"]),
            "fact_departement_result": pd.DataFrame(dep_rows)}


def test_history_and_national_tables_follow_the_contract():
    tables = contract_tables()
    hist = nat.departement_history_long(tables)
    assert hist.index.names == ["election_id", "departement_code"]
    assert len(hist) == len(ELECTIONS) * len(DEVIATION)
    assert np.allclose(hist[BLOCS].sum(axis=1), 100, atol=0.01)
    n = nat.national_table(tables)
    assert list(n.loc["euro_2024_t1", BLOCS]) == [22, 33, 45]
    assert n["turnout"].isna().all()


def test_persistent_deviations_are_recovered_given_the_national_result():
    fc, rule = nat.national_conditional_forecast(contract_tables(), "euro_2024_t1")
    truth = nat.departement_history_long(contract_tables()).xs("euro_2024_t1", level="election_id")
    err = (fc[BLOCS] - truth.loc[fc.index, BLOCS]).abs()
    assert err.to_numpy().max() < 1.5          # exact deviations persist -> small error
    a, c = rule.coef["droite"]
    assert 0.8 < a + c < 1.2                   # learned: deviations persist fully


def test_forecast_never_reads_the_target_departement_results():
    """Changing every département's result of the target election changes nothing."""
    tables = contract_tables(noise=0.05)
    fc1, _ = nat.national_conditional_forecast(tables, "euro_2024_t1")
    altered = {k: v.copy() for k, v in tables.items()}
    d = altered["fact_departement_result"]
    d.loc[d["election_id"] == "euro_2024_t1", "votes"] = 1
    fc2, _ = nat.national_conditional_forecast(altered, "euro_2024_t1")
    pd.testing.assert_frame_equal(fc1, fc2)


def test_national_shares_given_as_a_scenario_move_every_departement():
    tables = contract_tables()
    base, _ = nat.national_conditional_forecast(tables, "euro_2024_t1")
    shifted, _ = nat.national_conditional_forecast(
        tables, "future", national=pd.Series({"gauche": 40.0, "centre": 30.0, "droite": 30.0, "turnout": np.nan}),
        election_type="europeennes", election_date="2029-06-10")
    assert (shifted["gauche"] > base["gauche"]).all()
    assert shifted[BLOCS].sum(axis=1).round(6).eq(100).all()


def test_rule_errors_are_out_of_sample_and_missing_national_results_are_skipped():
    tables = contract_tables(noise=0.05, drop_national=("pres_2017_t1",))
    err = nat.rule_errors(tables, pd.Timestamp("2024-01-01"))
    ids = set(err.index.get_level_values("election_id"))
    assert "pres_2017_t1" not in ids and "euro_2024_t1" not in ids
    assert {"euro_2019_t1", "pres_2022_t1"} <= ids
    assert err[BLOCS].abs().to_numpy().max() < 0.5


def test_status_quo_errors_per_departement():
    err = nat.status_quo_errors(contract_tables(), pd.Timestamp("2030-01-01"))
    # euro_2014 has no predecessor, pres_2017 no same-type one: 3 elections x 4 départements
    assert len(err) == 3 * 4
    assert err.index.get_level_values("election_id").nunique() == 3


@pytest.mark.parametrize("col", ["votes", "expressed"])
def test_history_needs_the_contract_columns(col):
    tables = contract_tables()
    tables["fact_departement_result"] = tables["fact_departement_result"].drop(columns=[col])
    with pytest.raises(KeyError):
        nat.departement_history_long(tables)
