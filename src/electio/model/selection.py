"""Model choice by a rule fixed before the last test election was looked at.

The rule (also in docs/model.md), written in code before any backtest on leg_2024_t1 was run:

    Among every baseline and model, choose the one with the lowest mean *unconditional*
    wmae over the test elections from 2019 on EXCLUDING leg_2024_t1 (euro_2019_t1,
    pres_2022_t1, leg_2022_t1, euro_2024_t1). Means within 0.02 points of the best are
    ties; a tie goes to the simpler model (baselines < ridge < LightGBM).

leg_2024_t1 is then reported as a final holdout: it never influences the choice.
"""

from __future__ import annotations

import pandas as pd

HOLDOUT = "leg_2024_t1"
SELECTION_MODE = "unconditional"
SELECTION_METRIC = "wmae"
TIE_TOLERANCE = 0.02

SELECTION_RULE = (
    f"Lowest mean {SELECTION_MODE} {SELECTION_METRIC} over the test elections from 2019 on excluding "
    f"{HOLDOUT} (the final holdout); means within {TIE_TOLERANCE} points of the best are ties, won by the "
    "simpler model (baselines < ridge < LightGBM)."
)


def selection_scores(fact_model_metric: pd.DataFrame, holdout: str = HOLDOUT) -> pd.Series:
    """Mean selection metric per model over the test elections other than the holdout."""
    m = fact_model_metric
    m = m[(m["mode"] == SELECTION_MODE) & (m["metric"] == SELECTION_METRIC) & (m["election_id"] != holdout)]
    return m.groupby("model_id")["value"].mean().sort_values()


def choose_model(fact_model_metric: pd.DataFrame, complexity: dict[str, int], holdout: str = HOLDOUT) -> str:
    """model_id chosen by :data:`SELECTION_RULE`; ``complexity`` ranks models (lower = simpler)."""
    scores = selection_scores(fact_model_metric, holdout).dropna()
    if scores.empty:
        raise ValueError("no metric to choose a model from (run the backtest first)")
    best = scores.min()
    tied = [m for m, s in scores.items() if s <= best + TIE_TOLERANCE]
    return min(tied, key=lambda m: (complexity.get(m, 10**6), scores[m], m))
