"""Which indicator groups carry predictive weight: permutation importance on the test elections.

For each test election E of the backtest and each learned model, the model is fitted exactly as
in the backtest (first rounds before E, indicator values usable before each of them under the
dating rule), E is predicted in the conditional and unconditional modes, and the vote-weighted
MAE (``wmae``, points) is measured. Then the ``ind__`` columns of one indicator family are
permuted together across E's communes (rows shuffled as a block, so the family's internal
structure is kept and only its link to each commune is broken), E is predicted again, and the
increase of wmae is that family's importance (mean over :data:`N_REPEATS` seeded shuffles).
``ind:all`` permutes every indicator at once. A positive importance means the model's accuracy
on E depends on the group; near 0 means the model does not use it; negative means it hurts.

Stage function :func:`importance_tables` returns ``fact_feature_importance`` (sql/schema.sql).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from electio.model.backtest import TEST_ELECTIONS, WORKERS, training_elections
from electio.model.estimators import MODELS
from electio.model.metrics import wmae
from electio.model.panel import Panel, build_panel

log = logging.getLogger("electio.model")

COLUMNS = ["model_id", "election_id", "mode", "dating", "feature_group", "metric", "n_features", "base_value",
           "permuted_value", "importance"]
MODES = ("conditional", "unconditional")
N_REPEATS = 5
SEED = 20241204


def feature_groups(panel: Panel, dim_indicator: pd.DataFrame | None) -> dict[str, list[str]]:
    """'ind:<family>' -> the panel's ind__ columns of that family, plus 'ind:all'."""
    cols = [c for c in panel.X.columns if c.startswith("ind__")]
    family = {} if dim_indicator is None or dim_indicator.empty else dict(
        zip(dim_indicator["indicator_code"], dim_indicator["family"]))
    groups: dict[str, list[str]] = {}
    for c in cols:
        groups.setdefault(f"ind:{family.get(c[len('ind__'):], 'autre')}", []).append(c)
    if cols:
        groups["ind:all"] = cols
    return dict(sorted(groups.items()))


def _score(model, panel: Panel, mode: str) -> float:
    pred = model.predict(panel, panel.departement_inputs(mode))
    blocs = list(panel.blocs)
    return wmae(pred[blocs].to_numpy(float), panel.y[blocs].to_numpy(float),
                panel.rows["expressed"].to_numpy(float))


def permutation_importance(model, panel: Panel, groups: dict[str, list[str]], *, mode: str,
                           n_repeats: int = N_REPEATS, seed: int = SEED) -> list[dict]:
    """Importance of each group on one test panel (one election) for a fitted model."""
    base = _score(model, panel, mode)
    out = []
    for name, cols in groups.items():
        rng = np.random.default_rng([seed, len(name), sum(map(ord, name))])
        scores = []
        for _ in range(n_repeats):
            order = rng.permutation(len(panel))
            X = panel.X.copy()
            X[cols] = panel.X[cols].to_numpy()[order]
            scores.append(_score(model, _with_x(panel, X), mode))
        permuted = float(np.mean(scores))
        out.append({"feature_group": name, "metric": "wmae", "n_features": len(cols), "base_value": base,
                    "permuted_value": permuted, "importance": permuted - base})
    return out


def _with_x(panel: Panel, X: pd.DataFrame) -> Panel:
    return replace(panel, X=X)


def _importance_election(panel: Panel, groups: dict, models, fitted: dict, n_repeats: int, dates, eid: str) -> list:
    train_ids = training_elections(panel, dates[eid])
    if not train_ids:
        return []
    ptr, pte = panel.for_elections(train_ids), panel.for_elections([eid])
    present = {g: [c for c in cols if pte.X[c].notna().any()] for g, cols in groups.items()}
    present = {g: cols for g, cols in present.items() if cols}
    rows = []
    for factory in models:
        key = (factory.model_id, eid)
        model = fitted[key] if key in fitted else factory().fit(ptr)
        for mode in MODES:
            for r in permutation_importance(model, pte, present, mode=mode, n_repeats=n_repeats):
                rows.append({"model_id": model.model_id, "election_id": eid, "mode": mode,
                             "dating": panel.dating, **r})
    log.info("importance %s: %d groups", eid, len(present))
    return rows


def importance_tables(tables: dict[str, pd.DataFrame], *, models=None, test_elections=TEST_ELECTIONS,
                      n_repeats: int = N_REPEATS, panel: Panel | None = None,
                      fitted: dict | None = None) -> dict[str, pd.DataFrame]:
    """Stage function: ``fact_feature_importance`` for every learned model (calendar dating) on
    every test election the warehouse holds. ``fitted``: (model_id, election_id) -> the model the
    backtest fitted on the same window and panel (refitting it would give the same model)."""
    panel = panel if panel is not None else build_panel(tables)
    groups = feature_groups(panel, tables.get("dim_indicator"))
    if not groups:
        return {"fact_feature_importance": pd.DataFrame(columns=COLUMNS)}
    dates = panel.rows.groupby("election_id")["election_date"].first()
    eids = [e for e in test_elections if e in dates.index]
    one = partial(_importance_election, panel, groups, models or MODELS, fitted or {}, n_repeats, dates)
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=WORKERS) as pool:  # as the backtest
        rows = [r for part in pool.map(one, eids) for r in part]
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("base_value", "permuted_value", "importance"):
        out[col] = out[col].astype(float).round(4)
    return {"fact_feature_importance": out.sort_values(COLUMNS[:6], ignore_index=True)}
