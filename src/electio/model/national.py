"""Département results learned across départements: the national-conditional rule and the
département history shared by the backtest, the horizon table and the scenarios.

**Département history** (:func:`departement_history_long`): one row per election x
département with the bloc shares (percent of expressed votes) and turnout (percent of
registered, only where known), from ``fact_departement_result`` (every département where a
national file gives them, CONTRACTS.md) and, for the perimeter's own département, from the
commune results of the warehouse (which win where both exist).

**National-conditional rule** (:class:`NationalConditionalRule`): the national result of the
target election E is known, the département's is not. On the scale
``delta = log(dep + 1) - log(national + 1)`` (a bloc's deviation is proportional to its size),
the département's deviation at E is predicted from its own deviation at the last election of
the same type (type-specific) and at the last election of any type:

    delta_hat(d, E) = a_b * delta(d, last same type) + c_b * delta(d, last any type)

with (a_b, c_b) fitted per bloc by least squares over **every département and every election
before E** (partial pooling: one set of coefficients for all départements; coefficients below
1 shrink each département towards the national result by as much as history says a
département's past deviation persists), with a ridge pull towards (0.5, 0.5) worth
:data:`PRIOR_ROWS` observations (the unconditional rule's weights) so that a window with only
the perimeter's own few elections stays sensible. Without a same-type election, the same
regression on the last election alone. Turnout: the same on points
(``dep - national``), where the département's turnout is known. Bloc shares are clipped at 0
and rescaled to 100.

Every function takes plain DataFrames (warehouse tables) and only reads elections dated
before the target: the leakage guard of the backtest applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from electio.model.panel import (
    TURNOUT,
    bloc_codes,
    commune_outcomes,
    departement_forecast,
    departement_totals,
)

LOG_OFFSET = 1.0
PRIOR = (0.5, 0.5)
PRIOR_ROWS = 2.0
MIN_TYPE_ROWS = 30
TYPE_SPECIFIC_FIT = False


def perimeter_departements(tables: dict[str, pd.DataFrame]) -> list[str]:
    dim = tables.get("dim_commune")
    if dim is None or dim.empty:
        return []
    return sorted(set(dim["departement_code"].astype(str)))


def national_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Index election_id: national bloc shares (percent) and turnout (NaN if unknown); only
    elections with every bloc of dim_bloc present (a partial national result is not used)."""
    blocs = bloc_codes(tables)
    nat = tables.get("fact_national_result")
    if nat is None or nat.empty:
        return pd.DataFrame(columns=blocs + [TURNOUT], dtype=float)
    wide = nat.pivot_table(index="election_id", columns="bloc_code", values="share_expressed", aggfunc="sum")
    wide = wide.reindex(columns=blocs).dropna(how="any").astype(float)
    wide.columns.name = None
    wide[TURNOUT] = np.nan
    tu = tables.get("fact_national_turnout")
    if tu is not None and not tu.empty:
        tu = tu.dropna(subset=["registered", "voters"]).set_index("election_id")
        t = 100.0 * tu["voters"].astype(float) / tu["registered"].astype(float)
        wide[TURNOUT] = t.reindex(wide.index)
    return wide


def departement_history_long(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Index (election_id, departement_code): bloc shares and turnout of first rounds (percent)."""
    blocs = bloc_codes(tables)
    first = set(tables["dim_election"].query("round_number == 1")["election_id"])
    frames = []
    dep = tables.get("fact_departement_result")
    if dep is not None and not dep.empty:
        d = dep[dep["election_id"].isin(first)].copy()
        d["departement_code"] = d["departement_code"].astype(str)
        votes = d.pivot_table(index=["election_id", "departement_code"], columns="bloc_code", values="votes",
                              aggfunc="sum").reindex(columns=blocs).fillna(0.0)
        expressed = d.groupby(["election_id", "departement_code"])["expressed"].max().astype(float)
        shares = 100.0 * votes.div(expressed.where(expressed > 0), axis=0)
        shares.columns.name = None
        shares[TURNOUT] = np.nan
        frames.append(shares.dropna(subset=blocs))
    own = perimeter_departements(tables)
    if len(own) == 1 and "fact_turnout" in tables:
        outcomes = commune_outcomes(tables, blocs)
        outcomes = outcomes[outcomes.index.get_level_values("election_id").isin(first)]
        mine = departement_totals(outcomes, blocs)[blocs + [TURNOUT]]
        mine.index = pd.MultiIndex.from_arrays([mine.index, [own[0]] * len(mine)],
                                               names=["election_id", "departement_code"])
        frames.append(mine)
    if not frames:
        return pd.DataFrame(columns=blocs + [TURNOUT])
    out = pd.concat(frames)
    out = out[~out.index.duplicated(keep="last")]  # the perimeter's own totals win
    return out.sort_index()


def election_dates(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """election_id, election_type, election_date of every first round (with or without commune results)."""
    e = tables["dim_election"]
    e = e[e["round_number"] == 1][["election_id", "election_type", "election_date"]].copy()
    e["election_date"] = pd.to_datetime(e["election_date"]).dt.normalize()
    return e.sort_values(["election_date", "election_id"]).reset_index(drop=True)


def _log(x):
    return np.log(np.clip(np.asarray(x, dtype=float), 0.0, None) + LOG_OFFSET)


def deviations(history: pd.DataFrame, national: pd.DataFrame, blocs: list[str]) -> pd.DataFrame:
    """delta per (election, département): blocs on the log scale, turnout in points."""
    nat = national.reindex(history.index.get_level_values("election_id"))
    out = pd.DataFrame(index=history.index, columns=blocs + [TURNOUT], dtype=float)
    out[blocs] = _log(history[blocs].to_numpy(float)) - _log(nat[blocs].to_numpy(float))
    out[TURNOUT] = history[TURNOUT].to_numpy(float) - nat[TURNOUT].to_numpy(float)
    return out.dropna(how="all")


def _lag_features(dev: pd.DataFrame, elections: pd.DataFrame, election_id: str, election_type: str,
                  date: pd.Timestamp) -> pd.DataFrame:
    """Per département: delta at the last same-type and at the last any-type election before ``date``
    (columns '<target>__same', '<target>__any')."""
    el = elections[elections["election_date"] < date]
    if el.empty or dev.empty:
        return pd.DataFrame()
    order = {e: i for i, e in enumerate(el["election_id"])}
    d = dev[dev.index.get_level_values("election_id").isin(order)].copy()
    if d.empty:
        return pd.DataFrame()
    d["_rank"] = [order[e] for e in d.index.get_level_values("election_id")]
    same_ids = set(el.loc[el["election_type"] == election_type, "election_id"])
    d = d.reset_index()
    targets = [c for c in dev.columns]
    out = {}
    for key, sub in (("any", d), ("same", d[d["election_id"].isin(same_ids)])):
        last = {}
        for t in targets:
            s = sub.dropna(subset=[t]).sort_values("_rank").groupby("departement_code").tail(1)
            last[f"{t}__{key}"] = s.set_index("departement_code")[t]
        out[key] = pd.DataFrame(last)
    return pd.concat([out["same"], out["any"]], axis=1)


@dataclass
class NationalConditionalRule:
    """Fitted coefficients (per target) of the national-conditional département rule."""
    blocs: list
    coef: dict = field(default_factory=dict)         # target -> (a_same, c_any)
    coef_any_only: dict = field(default_factory=dict)  # target -> c when no same-type election
    n_rows: dict = field(default_factory=dict)

    @property
    def targets(self) -> list[str]:
        return list(self.blocs) + [TURNOUT]


def _ridge(X: np.ndarray, y: np.ndarray, prior: np.ndarray, rows: float = PRIOR_ROWS) -> np.ndarray:
    n, p = X.shape
    xtx = X.T @ X
    lam = rows * (np.trace(xtx) / max(n, 1) / p if n else 1.0)
    return np.linalg.solve(xtx + lam * np.eye(p), X.T @ y + lam * prior)


def training_rows(dev: pd.DataFrame, elections: pd.DataFrame, before: pd.Timestamp) -> pd.DataFrame:
    """(features, actual delta) for every (election before ``before``, département) with a predecessor."""
    rows = []
    for e in elections[elections["election_date"] < before].itertuples():
        if e.election_id not in set(dev.index.get_level_values("election_id")):
            continue
        feats = _lag_features(dev, elections, e.election_id, e.election_type, e.election_date)
        if feats.empty:
            continue
        actual = dev.xs(e.election_id, level="election_id")
        f = feats.join(actual, how="inner")
        f["election_id"] = e.election_id
        f["election_type"] = e.election_type
        rows.append(f)
    return pd.concat(rows) if rows else pd.DataFrame()


def fit_rule(dev: pd.DataFrame, elections: pd.DataFrame, before, blocs: list[str],
             exclude: tuple = (), election_type: str | None = None) -> NationalConditionalRule:
    """Coefficients from every (département, election) dated before ``before`` (minus ``exclude``);
    type-specific: only the rows whose election has ``election_type`` when there are at least
    :data:`MIN_TYPE_ROWS` of them and :data:`TYPE_SPECIFIC_FIT` is on, else every row. Off: fitted
    on the euro_2019 rows alone (deviation euro_2014 -> euro_2019, through the 2017
    realignment) the coefficients shrink so much that euro_2024 got worse over 101 départements
    (vote-weighted MAE 1.87 vs 1.65 pooled); type-specificity stays in the features (the last
    same-type deviation)."""
    before = pd.Timestamp(before)
    rule = NationalConditionalRule(blocs=list(blocs))
    rows = training_rows(dev, elections, before)
    if not rows.empty and exclude:
        rows = rows[~rows["election_id"].isin(exclude)]
    for t in rule.targets:
        if rows.empty or t not in rows:
            rule.coef[t], rule.coef_any_only[t], rule.n_rows[t] = PRIOR, 1.0, 0
            continue
        both = rows.dropna(subset=[t, f"{t}__same", f"{t}__any"])
        typed = both[both["election_type"] == election_type]
        if TYPE_SPECIFIC_FIT and len(typed) >= MIN_TYPE_ROWS:
            both = typed
        X = both[[f"{t}__same", f"{t}__any"]].to_numpy(float)
        rule.coef[t] = tuple(_ridge(X, both[t].to_numpy(float), np.array(PRIOR))) if len(both) else PRIOR
        one = rows.dropna(subset=[t, f"{t}__any"])
        X1 = one[[f"{t}__any"]].to_numpy(float)
        rule.coef_any_only[t] = float(_ridge(X1, one[t].to_numpy(float), np.array([1.0]))[0]) if len(one) else 1.0
        rule.n_rows[t] = int(len(both))
    return rule


def predict_deviation(rule: NationalConditionalRule, feats: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=feats.index, columns=rule.targets, dtype=float)
    for t in rule.targets:
        same = feats.get(f"{t}__same", pd.Series(np.nan, index=feats.index)).to_numpy(float)
        anyv = feats.get(f"{t}__any", pd.Series(np.nan, index=feats.index)).to_numpy(float)
        a, c = rule.coef[t]
        both = a * same + c * anyv
        out[t] = np.where(np.isfinite(same), both, rule.coef_any_only[t] * anyv)
    return out


def apply_deviation(delta: pd.DataFrame, national: pd.Series, blocs: list[str]) -> pd.DataFrame:
    """Département values from predicted deviations and the national values (blocs rescaled to 100)."""
    out = pd.DataFrame(index=delta.index, columns=list(blocs) + [TURNOUT], dtype=float)
    shares = np.exp(delta[blocs].to_numpy(float) + _log(national[blocs].to_numpy(float))[None, :]) - LOG_OFFSET
    shares = np.clip(shares, 0.0, None)
    total = shares.sum(axis=1, keepdims=True)
    out[blocs] = 100.0 * shares / np.where(total > 0, total, 1.0)
    out[TURNOUT] = np.clip(delta[TURNOUT].to_numpy(float) + float(national.get(TURNOUT, np.nan)), 0.0, 100.0)
    return out


def national_conditional_forecast(tables: dict[str, pd.DataFrame], election_id: str, *,
                                  national: pd.Series | None = None, election_type: str | None = None,
                                  election_date=None, history: pd.DataFrame | None = None) -> tuple[pd.DataFrame, NationalConditionalRule]:
    """Département values (index departement_code) of ``election_id`` given its national result.

    ``national`` overrides the warehouse's national result (a scenario: vote intentions), and
    ``election_type`` / ``election_date`` describe a future election not in dim_election.
    Only elections dated before the target are read. Turnout is NaN where the national turnout
    is unknown (the caller then uses its own turnout rule)."""
    blocs = bloc_codes(tables)
    elections = election_dates(tables)
    if election_date is None:
        row = elections.loc[elections["election_id"] == election_id]
        if row.empty:
            raise KeyError(f"unknown election {election_id!r}")
        election_type, election_date = row["election_type"].iloc[0], row["election_date"].iloc[0]
    date = pd.Timestamp(election_date).normalize()
    nat_all = national_table(tables)
    if national is None:
        if election_id not in nat_all.index:
            raise KeyError(f"no national result for {election_id!r}")
        national = nat_all.loc[election_id]
    history = departement_history_long(tables) if history is None else history
    past = history[history.index.get_level_values("election_id").isin(
        set(elections.loc[elections["election_date"] < date, "election_id"]))]
    dev = deviations(past, nat_all.drop(index=[election_id], errors="ignore"), blocs)
    rule = fit_rule(dev, elections, date, blocs, election_type=election_type)
    feats = _lag_features(dev, elections, election_id, election_type, date)
    if feats.empty:
        return pd.DataFrame(columns=blocs + [TURNOUT]), rule
    return apply_deviation(predict_deviation(rule, feats), national, blocs), rule


def rule_errors(tables: dict[str, pd.DataFrame], before, *, history: pd.DataFrame | None = None,
                log_scale: bool = True) -> pd.DataFrame:
    """Out-of-sample errors of the national-conditional rule on every election before ``before``
    with a national result: each one forecast as the rule would have (coefficients fitted on the
    elections before it: rolling origin). Rows (election_id, departement_code); blocs
    ``log(true + 1) - log(forecast + 1)`` (points with ``log_scale=False``: the intervals'
    scale), turnout in points."""
    blocs = bloc_codes(tables)
    elections = election_dates(tables)
    before = pd.Timestamp(before)
    history = departement_history_long(tables) if history is None else history
    nat = national_table(tables)
    frames = []
    for e in elections[elections["election_date"] < before].itertuples():
        if e.election_id not in nat.index:
            continue
        fc, _ = national_conditional_forecast(tables, e.election_id, history=history)
        if fc.empty:
            continue
        true = history.xs(e.election_id, level="election_id") if e.election_id in set(
            history.index.get_level_values("election_id")) else None
        if true is None:
            continue
        common = fc.index.intersection(true.index)
        err = pd.DataFrame(index=common, columns=blocs + [TURNOUT], dtype=float)
        tv, fv = true.loc[common, blocs].to_numpy(float), fc.loc[common, blocs].to_numpy(float)
        err[blocs] = _log(tv) - _log(fv) if log_scale else tv - fv
        err[TURNOUT] = true.loc[common, TURNOUT].to_numpy(float) - fc.loc[common, TURNOUT].to_numpy(float)
        err.index = pd.MultiIndex.from_arrays([[e.election_id] * len(common), common],
                                              names=["election_id", "departement_code"])
        frames.append(err)
    return pd.concat(frames) if frames else pd.DataFrame(columns=blocs + [TURNOUT])


def status_quo_errors(tables: dict[str, pd.DataFrame], before, *, history: pd.DataFrame | None = None,
                      same_type_only: bool = True, log_scale: bool = True) -> pd.DataFrame:
    """Errors of the unconditional (status-quo) département rule of ``panel.departement_forecast``
    on every (election before ``before``, département) of the long history, on the same scales
    as :func:`rule_errors`. With ``same_type_only``, elections without an earlier one of the
    same type (a different regime, like the first European election) are left out."""
    blocs = bloc_codes(tables)
    elections = election_dates(tables)
    before = pd.Timestamp(before)
    history = departement_history_long(tables) if history is None else history
    frames = []
    for dep, sub in history.groupby(level="departement_code"):
        d = sub.droplevel("departement_code")
        el = elections[elections["election_id"].isin(d.index)].reset_index(drop=True)
        for i, e in el.iterrows():
            if e["election_date"] >= before or i == 0:
                continue
            prev = el.iloc[:i]
            if same_type_only and not (prev["election_type"] == e["election_type"]).any():
                continue
            fc, _, _ = departement_forecast(d, el, e["election_type"], e["election_date"])
            true = d.loc[e["election_id"]]
            err = pd.Series(index=blocs + [TURNOUT], dtype=float)
            tv, fv = true[blocs].to_numpy(float), fc[blocs].to_numpy(float)
            err[blocs] = _log(tv) - _log(fv) if log_scale else tv - fv
            err[TURNOUT] = float(true[TURNOUT]) - float(fc[TURNOUT])
            err.name = (e["election_id"], dep)
            frames.append(err)
    if not frames:
        return pd.DataFrame(columns=blocs + [TURNOUT])
    out = pd.DataFrame(frames)
    out.index = pd.MultiIndex.from_tuples(out.index, names=["election_id", "departement_code"])
    return out


def size_weights(tables: dict[str, pd.DataFrame], index: pd.MultiIndex, departement: str) -> np.ndarray:
    """Weight of each (election, département) error for a forecast of ``departement``: a kernel on
    the log ratio of the two départements' expressed votes at that election,
    ``exp(-|log(size_d / size_perimeter)|)`` (a département ten times smaller weighs 0.1): the
    deviation of a small département from the national result moves far more than a large
    one's, and the errors of all 100 départements pooled would give a large perimeter intervals
    twice too wide. Errors without a known size weigh the median weight."""
    dep = tables.get("fact_departement_result")
    if dep is None or dep.empty:
        return np.ones(len(index))
    size = dep.groupby(["election_id", "departement_code"])["expressed"].max().astype(float)
    own = size.xs(departement, level="departement_code") if departement in set(
        size.index.get_level_values("departement_code")) else pd.Series(dtype=float)
    elections = index.get_level_values("election_id")
    s = size.reindex(index).to_numpy(float)
    ref = own.reindex(elections).to_numpy(float)
    ref = np.where(np.isfinite(ref), ref, np.nanmedian(own) if len(own) else np.nan)
    w = np.exp(-np.abs(np.log(s / ref)))
    fill = np.nanmedian(w) if np.isfinite(w).any() else 1.0
    return np.where(np.isfinite(w), w, fill)
