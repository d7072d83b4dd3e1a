"""Accuracy of commune-level predictions of one election (DESIGN.md section 4).

All errors are in percentage points. With p = predicted and a = actual share of bloc b in
commune c, and w_c = expressed votes of c at the election:

* ``wmae`` (PRIMARY) = mean over the 6 blocs of  sum_c w_c |p_cb - a_cb| / sum_c w_c ;
* ``mae``  = mean over communes and blocs of |p - a| (every commune counts the same);
* ``rmse`` = sqrt(mean over communes and blocs of (p - a)^2);
* ``mae_size_<band>`` = ``mae`` restricted to communes of a size band (registered voters at
  the election: lt1k < 1,000 <= 1k_5k < 5,000 <= 5k_20k < 20,000 <= gt20k);
* ``first_bloc_accuracy`` = percent of communes whose predicted leading bloc is the actual one;
* ``coverage_80`` = percent of (commune, bloc) pairs whose actual share lies in the 80 %
  interval; ``width_80`` = mean width of those intervals (points);
* ``turnout_mae`` = mean over communes of |predicted - actual turnout|; ``turnout_wmae`` the
  same weighted by registered voters; ``turnout_coverage_80`` its interval coverage;
* ``coverage_80__<bloc>`` = ``coverage_80`` of one bloc; ``interval_score_80`` = mean over
  communes and blocs of the Winkler interval score of the 80 % interval,
  ``(hi - lo) + (2 / 0.2) * (lo - a)+ + (2 / 0.2) * (a - hi)+`` (points; lower is better: it
  rewards narrow intervals and charges 10x the distance by which the actual value falls out);
  ``interval_score_80__<bloc>`` per bloc; ``coverage_<L>`` for L in 50, 90, 95 (calibration
  figure: nominal vs observed coverage);
* ``departement_mae`` = mean over blocs of |implied département share - true share|, where the
  implied share aggregates the predicted commune shares with the actual expressed votes
  (the part of the error shared by every commune: the swing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.model.panel import SIZE_BANDS, TURNOUT, size_band

PRIMARY_METRIC = "wmae"


def wmae(predicted, actual, weights) -> float:
    """Vote-weighted MAE averaged over columns (blocs): arrays n_communes x n_blocs, weights n_communes."""
    p, a = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    w = np.asarray(weights, dtype=float)
    if p.ndim == 1:
        p, a = p[:, None], a[:, None]
    per_bloc = (w[:, None] * np.abs(p - a)).sum(axis=0) / w.sum()
    return float(per_bloc.mean())


def coverage(actual, low, high) -> float:
    """Percent of values inside [low, high] (bounds included)."""
    a, lo, hi = (np.asarray(x, dtype=float) for x in (actual, low, high))
    return float(100.0 * np.mean((a >= lo) & (a <= hi)))


def mean_width(low, high) -> float:
    return float(np.mean(np.asarray(high, dtype=float) - np.asarray(low, dtype=float)))


def winkler(actual, low, high, level: float = 0.8) -> np.ndarray:
    """Winkler interval score of each value (points)."""
    a, lo, hi = (np.asarray(x, dtype=float) for x in (actual, low, high))
    alpha = 1 - level
    return (hi - lo) + (2 / alpha) * np.clip(lo - a, 0, None) + (2 / alpha) * np.clip(a - hi, 0, None)


def coverage_metrics(actual: pd.DataFrame, bands: dict, blocs: list[str], level: float = 0.8) -> dict[str, float]:
    """Per-bloc coverage and interval score of the ``level`` interval, and pooled coverage of the
    other levels of ``bands`` (level -> (low, high) frames)."""
    out = {}
    low, high = bands[level]
    tag = int(round(100 * level))
    scores = []
    for b in blocs:
        a = actual[b].to_numpy(float)
        out[f"coverage_{tag}__{b}"] = coverage(a, low[b], high[b])
        w = winkler(a, low[b], high[b], level)
        out[f"interval_score_{tag}__{b}"] = float(w.mean())
        scores.append(w)
    out[f"interval_score_{tag}"] = float(np.concatenate(scores).mean())
    for lv, (lo, hi) in bands.items():
        if lv != level:
            out[f"coverage_{int(round(100 * lv))}"] = coverage(actual[blocs], lo[blocs], hi[blocs])
    return out


def first_bloc_accuracy(predicted, actual) -> float:
    p, a = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    return float(100.0 * np.mean(p.argmax(axis=1) == a.argmax(axis=1)))


def election_metrics(predicted: pd.DataFrame, actual: pd.DataFrame, rows: pd.DataFrame, blocs: list[str],
                     low: pd.DataFrame | None = None, high: pd.DataFrame | None = None) -> dict[str, float]:
    """Every metric of one model x election x mode. Frames are aligned row by row with ``rows``
    (which gives ``expressed`` and ``registered`` at the election)."""
    p, a = predicted[blocs].to_numpy(float), actual[blocs].to_numpy(float)
    w = rows["expressed"].to_numpy(float)
    err = p - a
    out = {
        "wmae": wmae(p, a, w),
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err ** 2).mean())),
    }
    bands = size_band(rows["registered"].to_numpy(float))
    for _, _, name in SIZE_BANDS:
        m = bands == name
        out[f"mae_size_{name}"] = float(np.abs(err[m]).mean()) if m.any() else np.nan
    out["first_bloc_accuracy"] = first_bloc_accuracy(p, a)
    implied = (w[:, None] * p).sum(axis=0) / w.sum()
    true = (w[:, None] * a).sum(axis=0) / w.sum()
    out["departement_mae"] = float(np.abs(implied - true).mean())
    if low is not None and high is not None:
        out["coverage_80"] = coverage(a, low[blocs], high[blocs])
        out["width_80"] = mean_width(low[blocs], high[blocs])
    if TURNOUT in predicted and TURNOUT in actual:
        tp, ta = predicted[TURNOUT].to_numpy(float), actual[TURNOUT].to_numpy(float)
        reg = rows["registered"].to_numpy(float)
        out["turnout_mae"] = float(np.abs(tp - ta).mean())
        out["turnout_wmae"] = float((reg * np.abs(tp - ta)).sum() / reg.sum())
        if low is not None and high is not None and TURNOUT in low:
            out["turnout_coverage_80"] = coverage(ta, low[TURNOUT], high[TURNOUT])
    return out
