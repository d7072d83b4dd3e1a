"""How the département forecast error grows with the lead time, measured on the archive.

For every département of the long history (:func:`electio.model.national.departement_history_long`:
every département where national files give results, plus the perimeter's own), every target
first round E and every earlier election S taken as "the last election known", a rule
forecasts E from the elections up to S only; the lead is the time from S to E. This is the
situation of a real forecast made after S, whatever E's distance: the lead of the scenario
"presidential 2027 from the legislative of June 2024" is 2.8 years, and the archive holds
many (S, E) pairs 2-3 years apart.

Rules (both applied to every pair where the target type has an earlier election up to S):

* ``status_quo`` — :func:`electio.model.panel.departement_forecast` (mean of the last
  same-type and last any-type results; turnout of the last same-type election);
* ``trend`` — the damped, recency-weighted log-linear trend of :mod:`electio.forecast.simulate`
  (needs enough elections up to S: :data:`electio.forecast.trend.MIN_TREND_DOF`).

Errors: blocs ``log(true + 1) - log(forecast + 1)`` (signed), plus ``abs_points`` = |true -
forecast| in points; turnout in points (only where the département's turnout is known).
Lead buckets: :data:`LEAD_BUCKETS`. :func:`horizon_table` summarises per rule x bucket;
:func:`lead_error_vectors` gives the error vectors of one bucket to the scenario's status-quo
spread, so a 3-year forecast is wider than a 1-year one exactly as far as these errors say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.forecast.trend import DAMPING_PER_YEAR, fit_trend, trend_center_sd
from electio.forecast.trend import _years as decimal_years
from electio.model.national import LOG_OFFSET, departement_history_long, election_dates
from electio.model.panel import TURNOUT, bloc_codes, departement_forecast

#: (low, high, code) in years; a lead of exactly 1.0 year goes to "1-2".
LEAD_BUCKETS = ((0.0, 1.0, "0-1"), (1.0, 2.0, "1-2"), (2.0, 3.0, "2-3"), (3.0, np.inf, "3+"))
RULES = ("status_quo", "trend")
HORIZON_COLUMNS = ["rule", "lead_bucket", "n_election_pairs", "n_departements", "mean_lead_years", "bloc_rms_log",
                   "bloc_mean_signed_log", "bloc_mae_points", "turnout_mae_points", "growth_vs_0_1"]
#: A bucket needs errors from at least this many distinct (source, target) election pairs.
MIN_PAIRS = 3


def lead_bucket(lead_years: float) -> str:
    for low, high, code in LEAD_BUCKETS:
        if low <= lead_years < high:
            return code
    return LEAD_BUCKETS[0][2]


def _years(a, b) -> float:
    return (pd.Timestamp(b) - pd.Timestamp(a)).days / 365.25


def _trend_forecast(d: pd.DataFrame, prev: pd.DataFrame, election_type: str, date, blocs) -> pd.Series | None:
    if prev[prev["election_id"].isin(d.index)].shape[0] < 3:
        return None
    prev = prev[prev["election_id"].isin(d.index)].reset_index(drop=True)
    y = np.log(d.loc[prev["election_id"], blocs].to_numpy(float) + LOG_OFFSET)
    fit = fit_trend(prev, y, election_type)
    if fit is None:
        return None
    lead = float(decimal_years([pd.Timestamp(date)])[0] - fit.last_year)
    center, _, _ = trend_center_sd(fit, lead, DAMPING_PER_YEAR)
    shares = np.clip(np.exp(center) - LOG_OFFSET, 0.0, None)
    out = pd.Series(100.0 * shares / shares.sum(), index=blocs)
    same = prev[prev["election_type"] == election_type]
    out[TURNOUT] = d.loc[same["election_id"].iloc[-1], TURNOUT] if len(same) else np.nan
    return out


def lead_errors(tables: dict[str, pd.DataFrame], *, rules=RULES, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (rule, département, target election, source election, target): signed error
    (log scale for blocs, points for turnout) and absolute error in points."""
    blocs = bloc_codes(tables)
    elections = election_dates(tables)
    history = departement_history_long(tables) if history is None else history
    rows = []
    for dep, sub in history.groupby(level="departement_code"):
        d = sub.droplevel("departement_code")
        el = elections[elections["election_id"].isin(d.index)].reset_index(drop=True)
        for i in range(1, len(el)):
            e = el.iloc[i]
            true = d.loc[e["election_id"]]
            for j in range(i):
                prev = el.iloc[:j + 1]
                if not (prev["election_type"] == e["election_type"]).any():
                    continue
                lead = _years(prev["election_date"].iloc[-1], e["election_date"])
                for rule in rules:
                    if rule == "status_quo":
                        fc, _, _ = departement_forecast(d, prev, e["election_type"], e["election_date"])
                    else:
                        fc = _trend_forecast(d, prev, e["election_type"], e["election_date"], blocs)
                        if fc is None:
                            continue
                    for t in blocs + [TURNOUT]:
                        a, f = float(true[t]), float(fc[t])
                        if not (np.isfinite(a) and np.isfinite(f)):
                            continue
                        err = a - f if t == TURNOUT else np.log(a + LOG_OFFSET) - np.log(f + LOG_OFFSET)
                        rows.append((rule, dep, e["election_id"], prev["election_id"].iloc[-1], round(lead, 3),
                                     lead_bucket(lead), t, err, abs(a - f)))
    return pd.DataFrame(rows, columns=["rule", "departement_code", "election_id", "source_election_id",
                                       "lead_years", "lead_bucket", "target", "error", "abs_points"])


def horizon_table(errors: pd.DataFrame) -> pd.DataFrame:
    """Per rule x lead bucket: number of (source, target) election pairs and of départements,
    bloc RMS log error, mean signed log error, bloc MAE in points, turnout MAE, and the growth of
    the bloc RMS relative to the 0-1 year bucket of the same rule."""
    if errors.empty:
        return pd.DataFrame()
    e = errors.copy()
    e["pair"] = e["source_election_id"] + ">" + e["election_id"]
    blocs = e[e["target"] != TURNOUT]
    turn = e[e["target"] == TURNOUT]
    g = blocs.groupby(["rule", "lead_bucket"])
    out = pd.DataFrame({
        "n_election_pairs": g["pair"].nunique(),
        "n_departements": g["departement_code"].nunique(),
        "mean_lead_years": g["lead_years"].mean(),
        "bloc_rms_log": g["error"].apply(lambda x: float(np.sqrt(np.mean(x ** 2)))),
        "bloc_mean_signed_log": g["error"].mean(),
        "bloc_mae_points": g["abs_points"].mean(),
        "turnout_mae_points": turn.groupby(["rule", "lead_bucket"])["abs_points"].mean(),
    }).reset_index()
    first = out[out["lead_bucket"] == LEAD_BUCKETS[0][2]].set_index("rule")["bloc_rms_log"]
    out["growth_vs_0_1"] = out["bloc_rms_log"] / out["rule"].map(first)
    order = {code: i for i, (_, _, code) in enumerate(LEAD_BUCKETS)}
    return out.sort_values(["rule", "lead_bucket"], key=lambda s: s.map(order) if s.name == "lead_bucket" else s,
                           ignore_index=True)


def lead_error_vectors(errors: pd.DataFrame, lead_years: float, targets: list[str], *,
                       rule: str = "status_quo") -> tuple[pd.DataFrame, str]:
    """Error vectors (rows: département x target election x source, columns: targets) of the
    bucket of ``lead_years``; when that bucket has fewer than :data:`MIN_PAIRS` election pairs,
    the nearest shorter bucket that has them (said in the returned bucket code)."""
    e = errors[errors["rule"] == rule]
    codes = [c for _, _, c in LEAD_BUCKETS]
    k = codes.index(lead_bucket(lead_years))
    for code in reversed(codes[:k + 1]):
        sub = e[e["lead_bucket"] == code]
        pairs = (sub["source_election_id"] + ">" + sub["election_id"]).nunique()
        if pairs >= MIN_PAIRS:
            wide = sub.pivot_table(index=["departement_code", "election_id", "source_election_id"], columns="target",
                                   values="error").reindex(columns=targets)
            return wide, code if code == codes[k] else f"{code} (bucket {codes[k]} has < {MIN_PAIRS} pairs)"
    return pd.DataFrame(columns=targets), "none"
