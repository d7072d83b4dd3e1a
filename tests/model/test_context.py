"""The cross-département panel and model (electio.model.context) on hand-made tables."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest

from electio.model import context as ctxm
from electio.model.baselines import BASELINES
from electio.model.panel import assert_no_leakage, build_panel
from tests.model.synthetic import random_tables


def _france(n=12):
    """Perimeter 69 (random_tables) and a context of two départements, 69 and 01."""
    own = random_tables(n_communes=n, seed=1)
    other = random_tables(n_communes=n, seed=2)
    rename = lambda f: f.assign(commune_code="01" + f["commune_code"].str[2:])  # noqa: E731
    turnout = pd.concat([own["fact_turnout"].assign(departement_code="69"),
                         rename(other["fact_turnout"]).assign(departement_code="01")], ignore_index=True)
    result = pd.concat([own["fact_election_result"], rename(other["fact_election_result"])], ignore_index=True)
    own["fact_context_turnout"] = turnout[["election_id", "commune_code", "departement_code", "registered",
                                           "voters", "expressed"]]
    own["fact_context_result"] = result[["election_id", "commune_code", "bloc_code", "votes"]]
    return own, rename(other["fact_election_result"])


def test_context_panel_matches_the_panel_of_each_departement():
    tables, other_result = _france()
    cp = ctxm.build_context_panel(tables)
    assert set(cp.panel.rows["departement_code"]) == {"01", "69"}
    own = build_panel(tables)  # perimeter 69 alone: same elections, so the same features
    rows = cp.panel.rows
    mine = (rows["departement_code"] == "69").to_numpy()
    a = cp.panel.X[mine].set_index(rows.loc[mine, "election_id"] + rows.loc[mine, "commune_code"])
    b = own.X.set_index(own.rows["election_id"] + own.rows["commune_code"]).reindex(a.index)
    for col in ("dev_ref__gauche", "dep_ref__droite", "dev_any__centre", "dev_hist__gauche", "dep_any__turnout"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), atol=1e-9)
    # conditional inputs are each row's own département totals
    in_01 = (rows["departement_code"] == "01").to_numpy() & (rows["election_id"] == "leg_2017_t1").to_numpy()
    d01 = cp.conditional[in_01]
    leg = other_result[other_result["election_id"] == "leg_2017_t1"]
    expected = 100 * leg.groupby("bloc_code")["votes"].sum() / leg["votes"].sum()
    np.testing.assert_allclose(d01["gauche"].to_numpy(), expected["gauche"], rtol=1e-9)
    assert_no_leakage(cp.panel)


def test_cross_departement_model_learns_only_from_earlier_elections_of_other_departements():
    tables, _ = _france()
    cp = ctxm.build_context_panel(tables)
    panel = build_panel(tables)
    train = panel.for_elections(["euro_2014_t1", "pres_2017_t1", "leg_2017_t1"])  # window of euro_2019
    model = ctxm.CrossDepartementLightGBM(cp, ["69"])
    model.rows_per_election = None
    model.fit(train)
    # 01's communes at euro_2014, pres_2017, leg_2017 (pres_2012 has no history): 3 x 12 rows
    assert model.n_context_rows_ == 3 * 12
    assert not any(c.startswith("ind__") for c in model.feature_names_)
    pred = model.predict(panel.for_elections(["euro_2019_t1"]),
                         panel.for_elections(["euro_2019_t1"]).departement_inputs("conditional"))
    assert np.isfinite(pred.to_numpy()).all()
    np.testing.assert_allclose(pred[panel.blocs].sum(axis=1), 100.0)
    assert len(model.oof_predict(train)) == len(train)


def test_sample_rows_caps_each_election():
    rows = pd.DataFrame({"election_id": ["a"] * 10 + ["b"] * 3})
    mask = np.ones(13, dtype=bool)
    mask[0] = False
    out = ctxm.sample_rows(rows, mask, 4)
    assert out[:10].sum() == 4 and out[10:].all() and not out[0]
    assert (ctxm.sample_rows(rows, mask, 4) == out).all()  # fixed seed


def test_france_evaluation_pools_every_departement():
    tables, _ = _france()
    cp = ctxm.build_context_panel(tables)
    models = list(BASELINES) + [partial(ctxm.CrossDepartementLightGBM, None)]
    rows, info = ctxm.france_evaluation(tables, models, cp, test_elections=("euro_2019_t1", "pres_2022_t1"))
    assert set(rows["mode"]) == {"france_conditional", "france_unconditional"}  # no national result here
    n = rows[(rows["metric"] == "n_communes")]["value"]
    assert (n == 24).all()
    wmae = rows[rows["metric"] == "wmae"].set_index(["model_id", "election_id", "mode"])["value"]
    assert wmae.notna().all() and (wmae >= 0).all()
    assert info[("lightgbm_fr", "pres_2022_t1")]["train_elections"] == ["euro_2014_t1", "pres_2017_t1",
                                                                         "leg_2017_t1", "euro_2019_t1"]
