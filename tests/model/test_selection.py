"""The model-choice rule never looks at the holdout election."""

from __future__ import annotations

import pandas as pd

from electio.model.selection import HOLDOUT, TIE_TOLERANCE, choose_model, selection_scores

RANKS = {"persistence_same_type": 0, "uniform_swing": 2, "ridge": 10, "lightgbm": 20}
ELECTIONS = ["euro_2019_t1", "pres_2022_t1", "leg_2022_t1", "euro_2024_t1", HOLDOUT]


def metrics(values: dict[str, list[float]], mode="unconditional", metric="wmae") -> pd.DataFrame:
    rows = [(m, e, mode, metric, v) for m, vals in values.items() for e, v in zip(ELECTIONS, vals)]
    return pd.DataFrame(rows, columns=["model_id", "election_id", "mode", "metric", "value"])


def test_holdout_is_ignored():
    m = metrics({"ridge": [4.0, 4.0, 4.0, 4.0, 9.0], "lightgbm": [4.5, 4.5, 4.5, 4.5, 0.1]})
    assert choose_model(m, RANKS) == "ridge"
    m.loc[m["election_id"] == HOLDOUT, "value"] = [0.0, 100.0]  # whatever happens on the holdout
    assert choose_model(m, RANKS) == "ridge"
    assert set(selection_scores(m).index) == {"ridge", "lightgbm"}


def test_only_the_unconditional_wmae_counts():
    m = pd.concat([metrics({"ridge": [5.0] * 5, "lightgbm": [4.0] * 5}),
                   metrics({"ridge": [1.0] * 5, "lightgbm": [3.0] * 5}, mode="conditional"),
                   metrics({"ridge": [0.0] * 5, "lightgbm": [9.0] * 5}, metric="mae")])
    assert choose_model(m, RANKS) == "lightgbm"


def test_ties_go_to_the_simpler_model():
    close = 4.0 + TIE_TOLERANCE / 2
    m = metrics({"lightgbm": [4.0] * 5, "ridge": [close] * 5, "uniform_swing": [4.5] * 5})
    assert choose_model(m, RANKS) == "ridge"
