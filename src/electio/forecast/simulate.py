"""Joint simulation of a scenario: one département swing shared by every commune, plus each
commune's own error, drawn together.

For each of ``n_swing`` draws:

1. **Département values D** (the six bloc shares and turnout) are drawn from the scenario's
   hypothesis (:class:`SwingDistribution`):

   * ``status_quo`` — centre: the model's unconditional département rule (mean of the last
     first round of the same type and of the last first round of any type; turnout of the
     last same-type election); spread: the errors this very rule made on every past first
     round that had a same-type predecessor (blocs on the ``log(share + 1)`` scale, so that a
     bloc's error is proportional to its size; turnout in points), as a multivariate Student t
     (df = number of past errors, scale = their root mean square, correlations between blocs
     kept by drawing random combinations of the past error *vectors*). Same spread at every
     horizon: nothing in the past errors says how they grow over 1-3 years (docs/scenarios.md).
   * ``trend`` — a recency-weighted (half-life 5 years) least-squares line through the
     département's first rounds, with an effect per election type, on ``log(share + 1)``;
     the slope is damped (0.75 per year) beyond the last election; spread: the regression's
     prediction error (residual covariance x (1 + x0'(X'WX)^-1 x0), Student t with the
     residual degrees of freedom), evaluated at the *undamped* lead so that the uncertainty
     on the slope keeps growing with the horizon, inflated if the rule's own past forecast
     errors (each past first round re-forecast from the earlier ones) were larger than it
     said. Turnout: the status-quo centre, spread from that rule's past errors at every lead.
   * ``custom`` — centre: the analyst's shares; spread: the status-quo errors (the analyst's
     numbers are treated as no more certain than our best historical rule), or none.

   Blocs are clipped at 0 and rescaled to 100, turnout clipped to [0, 100].
2. **Indicators**: the projected indicators get their own draw (:func:`perturb_features`).
3. **Commune predictions** come from the trained model given that D (so the commune's
   response to a swing is the model's, not an assumed uniform shift).
4. **Commune errors**: ``n_rep`` residual vectors per commune and swing draw, sampled from
   the model's out-of-fold residuals (true département totals given, i.e. the commune-level
   error alone) of the commune's size band; a whole vector (six blocs and turnout of one
   training commune x election) is drawn at once so that the blocs' errors keep their
   correlations. Shares are clipped at 0 and renormalised to 100 in every draw.
5. **Consistency**: each draw is raked (:func:`rake`) so that its communes add up to the drawn
   département values (turnout weighted by registered voters, shares by voters). The
   département totals are thus the hypothesis's own distribution, and the model and the
   commune errors decide how it is shared out between communes (without this, the residuals'
   small biases and the clipping at 0 would move the totals away from, say, the analyst's
   custom shares by up to a point).

Summaries: the median of the draws (the central value stored in ``predicted`` and quoted
everywhere), their 10 % and 90 % quantiles (80 %
interval), and the share of draws in which each bloc is first (probabilities sum to 1 per
commune). **Département**: the communes of every draw are raked to its D, so the département's
distribution is the hypothesis's own; it is summarised over :data:`N_DEPARTEMENT` further draws
of D alone (no model prediction; a separate random stream). Summarised over the 2,000
simulations (500 draws of D), its central values had a seed-to-seed standard deviation of
0.3-0.7 point (large blocs) and 1.5 points (turnout) (bench/results/draws.txt), above the 0.1
point the report prints. The commune rows keep the noise of their own 500 draws of D.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from electio.errors import ElectioError
from electio.forecast.horizons import lead_error_vectors
from electio.forecast.projection import perturb_features
from electio.forecast.trend import (
    DAMPING_PER_YEAR,
    HALF_LIFE_YEARS,
    MIN_TREND_DOF,
    _years,
    damped_lead,
    fit_trend,
    trend_center_sd,
)
from electio.model import national as nat
from electio.model.intervals import from_scale
from electio.model.panel import (
    TURNOUT,
    Panel,
    bloc_codes,
    commune_outcomes,
    departement_forecast,
    departement_totals,
    first_rounds,
)

log = logging.getLogger("electio.forecast")

LEVEL = 0.80
LOG_OFFSET = 1.0  # points added before the log of the trend (tames blocs near 0)
N_SWING = 500
N_REP = 4
#: Draws of the département values summarised at département level (see the module docstring).
N_DEPARTEMENT = 200_000
CHUNK = 50
#: Chunks of one scenario predicted at once in a shared pool (see :func:`simulate`).
IN_FLIGHT = 2
RAKE_ITERATIONS = 8


# --------------------------------------------------------------------------- history

@dataclass
class History:
    """Département values of every first round with results (index election_id, ordered by date)."""
    elections: pd.DataFrame   # election_id, election_type, election_date
    dept: pd.DataFrame        # targets (blocs + turnout), percent
    blocs: list

    @property
    def targets(self) -> list[str]:
        return list(self.blocs) + [TURNOUT]


def departement_history(tables: dict[str, pd.DataFrame]) -> History:
    blocs = bloc_codes(tables)
    elections = first_rounds(tables)
    outcomes = commune_outcomes(tables, blocs)
    outcomes = outcomes[outcomes.index.get_level_values("election_id").isin(set(elections["election_id"]))]
    dept = departement_totals(outcomes, blocs).reindex(elections["election_id"])
    return History(elections=elections.reset_index(drop=True), dept=dept[blocs + [TURNOUT]], blocs=blocs)


def rule_errors(history: History, *, offset: float = LOG_OFFSET) -> pd.DataFrame:
    """Errors of the status-quo rule on every past first round that had a same-type predecessor
    (all first rounds with a predecessor if fewer than 2): for the blocs on the log scale,
    ``log(true + offset) - log(forecast + offset)`` (a bloc's error is proportional to its
    size: the right's 13-point miss of 2019 came from a 27 % bloc, not from a 10 % one), for
    turnout in points (``true - forecast``)."""
    rows, same = {}, {}
    el = history.elections
    for i, e in el.iterrows():
        prev = el.iloc[:i]
        if prev.empty:
            continue
        fc, _, _ = departement_forecast(history.dept, el, e["election_type"], e["election_date"])
        true = history.dept.loc[e["election_id"]]
        err = pd.Series(np.log(true[history.blocs].astype(float) + offset)
                        - np.log(fc[history.blocs].astype(float) + offset), index=history.blocs)
        err[TURNOUT] = true[TURNOUT] - fc[TURNOUT]
        rows[e["election_id"]] = err
        same[e["election_id"]] = bool((prev["election_type"] == e["election_type"]).any())
    err = pd.DataFrame(rows).T.reindex(columns=history.targets)
    keep = [k for k, v in same.items() if v]
    if len(keep) >= 2:
        err = err.loc[keep]
    return err.dropna(how="any").astype(float)


def _apply_errors(base: np.ndarray, errors: np.ndarray, n_blocs: int, offset: float = LOG_OFFSET) -> np.ndarray:
    """Centre + errors: blocs on the log(share + offset) scale, turnout in points."""
    out = np.empty_like(errors)
    with np.errstate(over="ignore"):  # inf far in the tails: finalise_departement takes its limit
        out[:, :n_blocs] = np.exp(np.log(base[None, :n_blocs] + offset) + errors[:, :n_blocs]) - offset
    out[:, n_blocs:] = base[None, n_blocs:] + errors[:, n_blocs:]
    return out


# --------------------------------------------------------------------------- swing distributions

def finalise_departement(values: np.ndarray, n_blocs: int) -> np.ndarray:
    """Clip bloc shares at 0 and rescale them to 100; clip turnout (last column) to [0, 100]."""
    out = np.array(values, dtype=float, copy=True)
    shares = np.clip(out[:, :n_blocs], 0.0, None)
    # A draw far in a Student tail overflows on the log scale (exp(800) = inf): its limit, that
    # bloc alone (shared if several overflow), not inf / inf = NaN.
    overflow = np.isinf(shares)
    if overflow.any():
        shares = np.where(overflow.any(axis=1, keepdims=True), overflow.astype(float), shares)
    total = shares.sum(axis=1, keepdims=True)
    shares = np.where(total > 0, 100.0 * shares / np.where(total > 0, total, 1.0), 100.0 / n_blocs)
    out[:, :n_blocs] = shares
    if out.shape[1] > n_blocs:
        out[:, n_blocs:] = np.clip(out[:, n_blocs:], 0.0, 100.0)
    return out


def multivariate_t_from_errors(errors: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """n draws whose covariance is errors'errors / m (m past error vectors) with Student-t tails
    (df = m): random combinations of the past error vectors, so correlations are kept.

    A combination g @ errors (g standard normal over the m vectors) is drawn as z S V' (errors =
    U S V', z standard normal over the k targets): the same Gaussian, at a cost in k rather than
    m (218-626 past vectors: 100,000 draws took 2-5 s, now 0.03 s)."""
    errors = np.asarray(errors, dtype=float)
    m = errors.shape[0]
    if m == 0:
        return np.zeros((n, errors.shape[1]))
    _, s, vt = np.linalg.svd(errors, full_matrices=False)
    z = rng.standard_normal((n, len(s)))
    scale = np.sqrt(m / rng.chisquare(m, size=n))
    return ((z * s) @ vt) / np.sqrt(m) * scale[:, None]


@dataclass
class SwingDistribution:
    """Département values of one scenario: a centre and a sampler (n -> n x targets array)."""
    hypothesis: str
    targets: list
    center: pd.Series
    sampler: Callable[[np.random.Generator, int], np.ndarray]
    details: dict = field(default_factory=dict)

    def sample(self, rng: np.random.Generator, n: int) -> pd.DataFrame:
        values = finalise_departement(self.sampler(rng, n), len(self.targets) - 1)
        return pd.DataFrame(values, columns=self.targets)


def _turnout_rule(history: History, election_type: str, date) -> float:
    fc, _, _ = departement_forecast(history.dept, history.elections, election_type, date)
    return float(fc[TURNOUT])


def _block_sampler(base: np.ndarray, bloc_err: np.ndarray, turnout_err: np.ndarray, n_b: int):
    """Draws around ``base``: bloc errors as random combinations of the past bloc error vectors
    (Student t, correlations kept), turnout from its own past errors (departements without a
    known turnout still give bloc errors)."""
    def sampler(rng, n):
        e = np.zeros((n, n_b + 1))
        e[:, :n_b] = multivariate_t_from_errors(bloc_err, rng, n)
        e[:, n_b:] = multivariate_t_from_errors(turnout_err, rng, n)
        return _apply_errors(base, e, n_b)
    return sampler


def _split_errors(err: pd.DataFrame, blocs: list[str], weights: np.ndarray | None = None) \
        -> tuple[np.ndarray, np.ndarray]:
    """Bloc and turnout error matrices; with ``weights`` (one per row), each vector is scaled by
    sqrt(w / mean w) so that random combinations have the weighted covariance, the mean taken over
    the vectors of its own matrix. (Turnout is known for the perimeter's rows only, which weigh the
    most: a mean over every row inflated the status quo's turnout errors 1.6-fold.)"""
    w = np.ones(len(err)) if weights is None else np.asarray(weights, dtype=float)

    def scaled(columns: list[str]) -> np.ndarray:
        known = err[columns].notna().all(axis=1).to_numpy()
        values, ww = err.loc[known, columns].to_numpy(float), w[known]
        return values * np.sqrt(ww / np.nanmean(ww))[:, None] if len(ww) else values

    return scaled(list(blocs)), scaled([TURNOUT])


def status_quo_swing(history: History, election_type: str, date, *, lead_errors: pd.DataFrame | None = None,
                     tables: dict | None = None) -> SwingDistribution:
    """Status-quo centre; spread = the rule's past errors **at the scenario's lead** (from the
    last election to ``date``) when ``lead_errors`` (:func:`electio.forecast.horizons.lead_errors`)
    is given, else the rule's errors at every past election."""
    fc, _, used = departement_forecast(history.dept, history.elections, election_type, date)
    if fc.isna().any():
        raise ElectioError("no earlier first round to build the status-quo hypothesis from")
    center = fc[history.targets].astype(float)
    lead = (pd.Timestamp(date) - history.elections["election_date"].max()).days / 365.25
    bucket = "all leads"
    if lead_errors is not None and not lead_errors.empty:
        err, bucket = lead_error_vectors(lead_errors, lead, history.targets)
        if err.empty:
            err, bucket = rule_errors(history), "all leads"
    else:
        err = rule_errors(history)
    weights = None
    if tables is not None and isinstance(err.index, pd.MultiIndex) and "departement_code" in err.index.names:
        deps = nat.perimeter_departements(tables)
        if len(deps) == 1:  # errors of départements of similar size weigh more (national.size_weights)
            idx = pd.MultiIndex.from_arrays([err.index.get_level_values("election_id"),
                                             err.index.get_level_values("departement_code")],
                                            names=["election_id", "departement_code"])
            weights = nat.size_weights(tables, idx, deps[0])
    B, T = _split_errors(err, history.blocs, weights)
    n_b = len(history.blocs)
    rms = np.sqrt(np.nanmean(err[history.targets].to_numpy(float) ** 2, axis=0)) if len(err) else \
        np.zeros(len(history.targets))
    return SwingDistribution("status_quo", history.targets, center, _block_sampler(center.to_numpy(float), B, T, n_b), {
        "elections_used": used, "past_errors_of": sorted({i if isinstance(i, str) else "/".join(map(str, i))
                                                         for i in err.index})[:50],
        "n_errors": len(err), "lead_years": round(lead, 2), "lead_bucket": bucket, "df": len(B),
        "error_rms_log_blocs_points_turnout": {k: float(v) for k, v in zip(history.targets, np.round(rms, 3))}})


def national_swing(history: History, tables: dict, shares: Mapping[str, float], election_type: str, date, *,
                   fixed: bool = False) -> SwingDistribution:
    """Département values from national vote intentions through the national-conditional rule
    (:mod:`electio.model.national`); spread = that rule's past errors over every département
    and election with a national result (log scale for blocs), turnout: national turnout given
    -> the rule's turnout errors, else the status-quo turnout with that rule's past errors at every
    lead (:func:`rule_errors`; the status quo itself uses those of its lead)."""
    deps = nat.perimeter_departements(tables)
    if nat.national_table(tables).empty:
        raise ElectioError("national scenarios need national results of past elections in the warehouse "
                           "(fact_national_result is empty): the département's deviation is learned from them")
    if len(deps) != 1:
        raise ElectioError("national scenarios need a one-département perimeter")
    given = pd.Series({b: float(shares[b]) for b in history.blocs})
    given[TURNOUT] = float(shares[TURNOUT]) if TURNOUT in shares else np.nan
    fc, rule = nat.national_conditional_forecast(tables, "scenario", national=given, election_type=election_type,
                                                 election_date=date)
    if deps[0] not in fc.index:
        raise ElectioError(f"no past département result of {deps[0]} to learn its deviation from the national result")
    center = fc.loc[deps[0], history.targets].astype(float)
    err = nat.rule_errors(tables, pd.Timestamp(date))
    if not np.isfinite(center[TURNOUT]):
        center[TURNOUT] = _turnout_rule(history, election_type, date)
        err = err.assign(**{TURNOUT: np.nan})
        t_err = rule_errors(history)[[TURNOUT]]
    else:
        t_err = err[[TURNOUT]]
    weights = nat.size_weights(tables, err.index, deps[0]) if not err.empty else None
    B = _split_errors(err.assign(**{TURNOUT: 0.0}), history.blocs, weights)[0] if not err.empty else \
        np.zeros((0, len(history.blocs)))
    T = t_err.dropna().to_numpy(float)
    n_b = len(history.blocs)
    base = center.to_numpy(float)

    def sampler(rng, n):
        if fixed:
            return np.repeat(base[None, :], n, axis=0)
        return _block_sampler(base, B, T, n_b)(rng, n)

    return SwingDistribution("national", history.targets, center, sampler, {
        "national": {k: float(v) for k, v in given.items()}, "fixed": fixed, "n_errors": len(B),
        "error_elections": sorted(set(err.index.get_level_values("election_id"))) if len(err) else [],
        "coefficients": {t: [round(float(x), 3) for x in rule.coef[t]] for t in rule.targets},
        "turnout_given": TURNOUT in shares})


def custom_swing(history: History, shares: Mapping[str, float], election_type: str, date, *,
                 fixed: bool = False) -> SwingDistribution:
    missing = [b for b in history.blocs if b not in shares]
    if missing:
        raise ElectioError(f"custom shares miss bloc(s) {missing}")
    values = {b: float(shares[b]) for b in history.blocs}
    values[TURNOUT] = float(shares[TURNOUT]) if TURNOUT in shares else _turnout_rule(history, election_type, date)
    center = pd.Series(values)[history.targets]
    base = center.to_numpy(float)
    err = rule_errors(history)
    E = err[history.targets].to_numpy(float)
    n_b = len(history.blocs)

    def sampler(rng, n):
        if fixed:
            return np.repeat(base[None, :], n, axis=0)
        return _apply_errors(base, multivariate_t_from_errors(E, rng, n), n_b)

    return SwingDistribution("custom", history.targets, center, sampler, {
        "fixed": fixed, "turnout_given": TURNOUT in shares, "past_errors_of": list(err.index)})


def trend_calibration(history: History, *, half_life: float = HALF_LIFE_YEARS, damping: float = DAMPING_PER_YEAR,
                      offset: float = LOG_OFFSET) -> tuple[float, list[str]]:
    """Past forecast errors of the trend rule: each first round re-forecast from the earlier ones
    (same rule, same type present before, residual df >= 3); returns the factor by which the
    rule's scale must grow so that the mean squared standardised error matches Student t's
    (never below 1), and the elections used."""
    el, blocs = history.elections, history.blocs
    ratios, used = [], []
    for i in range(len(el)):
        prev = el.iloc[:i]
        e = el.iloc[i]
        if prev.empty or e["election_type"] not in set(prev["election_type"]):
            continue
        y = np.log(history.dept.loc[prev["election_id"], blocs].to_numpy(float) + offset)
        fit = fit_trend(prev.reset_index(drop=True), y, e["election_type"], half_life=half_life)
        if fit is None or fit.dof < 3:
            continue
        lead = float(_years([e["election_date"]])[0] - fit.last_year)
        center, sd, _ = trend_center_sd(fit, lead, damping)
        actual = np.log(history.dept.loc[e["election_id"], blocs].to_numpy(float) + offset)
        z2 = ((actual - center) / np.where(sd > 0, sd, np.nan)) ** 2
        ratios.extend((z2 / (fit.dof / (fit.dof - 2))).tolist())
        used.append(e["election_id"])
    ratios = [r for r in ratios if np.isfinite(r)]
    if not ratios:
        return 1.0, used
    return max(1.0, float(np.sqrt(np.mean(ratios)))), used


def trend_swing(history: History, election_type: str, date, *, half_life: float = HALF_LIFE_YEARS,
                damping: float = DAMPING_PER_YEAR, offset: float = LOG_OFFSET) -> SwingDistribution:
    blocs, el = history.blocs, history.elections
    y = np.log(history.dept.loc[el["election_id"], blocs].to_numpy(float) + offset)
    fit = fit_trend(el, y, election_type, half_life=half_life)
    if fit is None:
        raise ElectioError(f"the trend hypothesis needs at least {MIN_TREND_DOF} more first rounds than "
                           f"parameters; the warehouse has {len(el)}")
    lead = float(_years([pd.Timestamp(date)])[0] - fit.last_year)
    center_g, sd_g, q = trend_center_sd(fit, lead, damping)
    factor, calib_used = trend_calibration(history, half_life=half_life, damping=damping, offset=offset)
    center_sh = np.clip(np.exp(center_g) - offset, 0.0, None)
    center_sh = 100.0 * center_sh / center_sh.sum()
    turnout = _turnout_rule(history, election_type, date)
    err = rule_errors(history)
    E_turnout = err[[TURNOUT]].to_numpy(float)
    resid_w, dof = fit.resid_w, fit.dof
    spread = factor * np.sqrt(1.0 + q)

    def sampler(rng, n):
        g = rng.standard_normal((n, resid_w.shape[0]))
        scale = np.sqrt(dof / rng.chisquare(dof, size=n))
        e = (g @ resid_w) / np.sqrt(dof) * scale[:, None] * spread
        with np.errstate(over="ignore"):  # inf far in the tails: finalise_departement takes its limit
            shares = np.clip(np.exp(center_g[None, :] + e) - offset, 0.0, None)
        t = turnout + multivariate_t_from_errors(E_turnout, rng, n)[:, 0]
        return np.column_stack([shares, t])

    center = pd.Series(list(center_sh) + [turnout], index=history.targets)
    slope = fit.coef[-1]
    return SwingDistribution("trend", history.targets, center, sampler, {
        "lead_years": round(lead, 2), "damped_lead_years": round(damped_lead(lead, damping), 2),
        "half_life_years": half_life, "damping_per_year": damping, "log_offset": offset, "df": dof,
        "n_elections": len(el), "calibration_factor": round(factor, 3), "calibration_elections": calib_used,
        "variance_factor": round(1 + q, 3),
        "slope_log_per_year": dict(zip(blocs, np.round(slope, 4))),
        "sd_log": dict(zip(blocs, np.round(sd_g * factor, 4)))})


def swing_distribution(history: History, scenario, *, lead_errors: pd.DataFrame | None = None,
                       tables: dict | None = None) -> SwingDistribution:
    if scenario.swing == "status_quo":
        return status_quo_swing(history, scenario.election_type, scenario.election_date, lead_errors=lead_errors,
                                tables=tables)
    if scenario.swing == "trend":
        return trend_swing(history, scenario.election_type, scenario.election_date)
    if scenario.swing == "custom":
        return custom_swing(history, scenario.custom_shares, scenario.election_type, scenario.election_date,
                            fixed=scenario.custom_fixed)
    if scenario.swing == "national":
        if tables is None:
            raise ElectioError("the national hypothesis needs the warehouse tables")
        return national_swing(history, tables, scenario.custom_shares, scenario.election_type,
                              scenario.election_date, fixed=scenario.custom_fixed)
    raise ElectioError(f"unknown swing hypothesis {scenario.swing!r}")


# --------------------------------------------------------------------------- commune errors

class ResidualSampler:
    """Draws commune-level error vectors from the calibrator's out-of-fold residual pools."""
    def __init__(self, calibrator, targets: list[str], bands: np.ndarray):
        self.targets = list(targets)
        self.bands = np.asarray(bands)
        pools = getattr(calibrator, "residuals", {}) or {}
        self.groups: list[tuple[np.ndarray, list[np.ndarray]]] = []
        for band in np.unique(self.bands):
            arrays = [np.asarray(pools.get((t, band), pools.get((t, "all"), np.zeros(1))), dtype=float)
                      for t in self.targets]
            arrays = [a[np.isfinite(a)] if a.size else np.zeros(1) for a in arrays]
            arrays = [a if a.size else np.zeros(1) for a in arrays]
            self.groups.append((np.flatnonzero(self.bands == band), arrays))
        self.joint = all(len({len(a) for a in arrays}) == 1 for _, arrays in self.groups)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n x communes x targets."""
        out = np.zeros((n, len(self.bands), len(self.targets)))
        for idx, arrays in self.groups:
            if not idx.size:
                continue
            if self.joint:
                pick = rng.integers(0, len(arrays[0]), size=(n, idx.size))
                for j, a in enumerate(arrays):
                    out[:, idx, j] = a[pick]
            else:
                for j, a in enumerate(arrays):
                    out[:, idx, j] = a[rng.integers(0, len(a), size=(n, idx.size))]
        return out


# --------------------------------------------------------------------------- simulation

@dataclass
class Draws:
    """Simulated commune outcomes of one scenario: shares (sims x communes x blocs, percent of
    expressed votes) and turnout (sims x communes, percent of registered)."""

    communes: np.ndarray
    blocs: list
    shares: np.ndarray
    turnout: np.ndarray
    registered: np.ndarray
    departement: pd.DataFrame  # the swing draws (n_swing x targets)
    departement_sample: pd.DataFrame  # further draws of D for the département summary


def _stack_panel(panel: Panel, X: np.ndarray, copies: int) -> Panel:
    rows = pd.concat([panel.rows] * copies, ignore_index=True)
    return replace(panel, rows=rows, X=pd.DataFrame(X, columns=panel.X.columns), sources=panel.sources.iloc[:0],
                   y=panel.y.iloc[:0])


def simulate(panel: Panel, model, calibrator, swing: SwingDistribution, rng: np.random.Generator, *,
             n_swing: int = N_SWING, n_rep: int = N_REP, projection=None, pop_code: str | None = None,
             chunk: int = CHUNK, n_departement: int = N_DEPARTEMENT, predict_pool: Executor | None = None) -> Draws:
    """Draw ``n_swing`` département values x ``n_rep`` commune errors for one future election's panel,
    and ``n_departement`` further département values for its summary.

    ``predict_pool``: threads shared by the scenarios simulated at once, which run the model's
    predictions chunk by chunk (LightGBM releases the GIL), :data:`IN_FLIGHT` chunks of this scenario
    at a time: a scenario left alone still uses every core. The chunks' inputs are drawn here, in
    order, so the random numbers and the values are those of the serial loop."""
    # A child stream (spawning does not advance ``rng``): the commune draws are those of ``rng`` alone.
    departement_rng = rng.spawn(1)[0]
    targets = panel.targets
    blocs = list(panel.blocs)
    if list(swing.targets) != list(targets):
        raise ElectioError(f"swing targets {swing.targets} differ from the panel's {targets}")
    n_c = len(panel)
    D = swing.sample(rng, n_swing)
    X0 = panel.X.to_numpy(float)
    columns = list(panel.X.columns)
    communes = panel.rows["commune_code"].to_numpy()
    preds = np.empty((n_swing, n_c, len(targets)))
    pending: deque = deque()  # (start, k, future) of the chunks submitted to predict_pool

    def store(start: int, k: int, predicted: pd.DataFrame) -> None:
        preds[start:start + k] = predicted[targets].to_numpy(float).reshape(k, n_c, len(targets))

    def collect(keep: int) -> None:  # the oldest pending chunks, until at most ``keep`` remain
        while len(pending) > keep:
            start0, k0, future = pending.popleft()
            store(start0, k0, future.result())

    for start in range(0, n_swing, chunk):
        k = min(chunk, n_swing - start)
        X = np.tile(X0, (k, 1))
        if projection is not None:
            X = perturb_features(X, columns, communes, projection, panel.transforms, pop_code, rng, k)
        big = _stack_panel(panel, X, k)
        Dk = pd.DataFrame(np.repeat(D.to_numpy(float)[start:start + k], n_c, axis=0), columns=targets)
        if predict_pool is None:
            store(start, k, model.predict(big, Dk))
            continue
        pending.append((start, k, predict_pool.submit(model.predict, big, Dk)))
        collect(IN_FLIGHT - 1)
    collect(0)
    # A commune the model cannot predict (no history at all) takes the département values.
    preds = np.where(np.isfinite(preds), preds, D.to_numpy(float)[:, None, :])
    # Draws x communes x targets arrays of ~30 MB each, two scenarios at once: temporaries are
    # released or computed in place as soon as possible (same operations, same values).
    res = ResidualSampler(calibrator, targets, panel.rows["size_band"].to_numpy()).sample(rng, n_swing * n_rep)
    base = np.repeat(preds, n_rep, axis=0)
    sims = np.empty_like(base)
    for j, t in enumerate(targets):  # residual pools are on the intervals' scale (electio.model.intervals)
        sims[:, :, j] = from_scale(base[:, :, j], res[:, :, j], t)
    del res
    n_b = len(blocs)
    shares = np.clip(sims[:, :, :n_b], 0.0, None)
    total = shares.sum(axis=2, keepdims=True)
    shares *= 100.0
    shares /= np.where(total > 0, total, 1.0)
    np.copyto(shares, base[:, :, :n_b], where=~(total > 0))  # no share left: the model's prediction
    turnout = np.clip(sims[:, :, n_b], 0.0, 100.0)
    del base, sims
    registered = np.nan_to_num(panel.rows["registered_prev"].to_numpy(float), nan=0.0)
    shares, turnout = rake(shares, turnout, registered, np.repeat(D.to_numpy(float), n_rep, axis=0), copy=False)
    return Draws(communes=communes, blocs=blocs, shares=shares, turnout=turnout, registered=registered,
                 departement=D, departement_sample=swing.sample(departement_rng, n_departement))


def rake(shares: np.ndarray, turnout: np.ndarray, registered: np.ndarray, departement: np.ndarray, *,
         iterations: int = RAKE_ITERATIONS, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Make every draw add up to its département values.

    Turnout: the same shift for every commune (clipped to [0, 100]) that makes the registered-weighted
    turnout the drawn one (:func:`shift_turnout`). Shares: iterative proportional fitting — each
    bloc scaled by drawn total / current total (voters = registered x turnout as weights), then
    every commune renormalised to 100 (a commune left with no share takes the drawn shares) — a few
    rounds. ``shares``: sims x communes x blocs; ``departement``: sims x (blocs + turnout).
    ``copy=False``: ``shares`` is raked in place (it may be large)."""
    n_b = shares.shape[2]
    reg = registered[None, :]
    t = shift_turnout(turnout, registered, departement[:, n_b])
    s = shares.copy() if copy else shares
    w = reg * t / 100.0
    wsum = w.sum(axis=1)
    if not (wsum > 0).all():
        return s, t
    target = departement[:, :n_b]
    scaled = np.empty_like(s)
    for _ in range(iterations):
        agg = np.einsum("sc,scb->sb", w, s) / wsum[:, None]
        factor = np.where(agg > 0, target / np.where(agg > 0, agg, 1.0), 1.0)
        s *= factor[:, None, :]
        total = s.sum(axis=2, keepdims=True)
        np.multiply(s, 100.0, out=scaled)
        scaled /= np.where(total > 0, total, 1.0)
        np.copyto(s, scaled, where=total > 0)
        # every bloc the commune had is drawn at 0 (a draw giving one bloc 100 %): the drawn shares
        np.copyto(s, np.broadcast_to(target[:, None, :], s.shape), where=~(total > 0))
    return s, t


def shift_turnout(turnout: np.ndarray, registered: np.ndarray, target: np.ndarray, *,
                  iterations: int = 30) -> np.ndarray:
    """``turnout`` (sims x communes) shifted by one amount per draw, clipped to [0, 100], so that
    the registered-weighted turnout of every draw is ``target`` (percent): by bisection, as that
    mean grows with the shift (fixed-point rounds fell short by up to 1.5 points near 100 %)."""
    total = registered.sum()
    if total <= 0:
        return turnout.copy()
    lo, hi = -turnout.max(axis=1), 100.0 - turnout.min(axis=1)  # every commune at 0 / at 100
    for _ in range(iterations):
        mid = (lo + hi) / 2
        below = np.clip(turnout + mid[:, None], 0.0, 100.0) @ registered / total < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.clip(turnout + ((lo + hi) / 2)[:, None], 0.0, 100.0)


def _first_probabilities(shares: np.ndarray) -> np.ndarray:
    """Share of draws in which each bloc is first (last axis = blocs); sums to 1."""
    first = shares.argmax(axis=-1)
    n_b = shares.shape[-1]
    return np.stack([(first == b).mean(axis=0) for b in range(n_b)], axis=-1)


def summarise(scenario_id: str, draws: Draws, level: float = LEVEL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fact_forecast rows, fact_forecast_departement rows) of one scenario."""
    alpha = (1 - level) / 2
    blocs = draws.blocs
    low, high = np.quantile(draws.shares, [alpha, 1 - alpha], axis=0)
    mean = central(draws.shares, low, high)
    prob = _first_probabilities(draws.shares)
    t_mean = np.median(draws.turnout, axis=0)
    t_low, t_high = np.quantile(draws.turnout, [alpha, 1 - alpha], axis=0)
    frames = [pd.DataFrame({"scenario_id": scenario_id, "commune_code": draws.communes, "target": b,
                            "predicted": mean[:, j], "interval_low": low[:, j], "interval_high": high[:, j],
                            "probability_first": prob[:, j]}) for j, b in enumerate(blocs)]
    frames.append(pd.DataFrame({"scenario_id": scenario_id, "commune_code": draws.communes, "target": TURNOUT,
                                "predicted": t_mean, "interval_low": t_low, "interval_high": t_high,
                                "probability_first": np.nan}))
    commune = pd.concat(frames, ignore_index=True)
    values = draws.departement_sample[draws.blocs + [TURNOUT]].to_numpy(float)  # the hypothesis's own draws
    dep_shares, dep_turnout = values[:, :-1], values[:, -1]
    d_low, d_high = np.quantile(dep_shares, [alpha, 1 - alpha], axis=0)
    d_mean = central(dep_shares, d_low, d_high)
    d_prob = _first_probabilities(dep_shares)
    dep = pd.DataFrame({"scenario_id": scenario_id, "target": blocs + [TURNOUT],
                        "predicted": list(d_mean) + [float(np.median(dep_turnout))],
                        "interval_low": list(d_low) + [np.quantile(dep_turnout, alpha)],
                        "interval_high": list(d_high) + [np.quantile(dep_turnout, 1 - alpha)],
                        "probability_first": list(d_prob) + [np.nan]})
    return commune, dep


def central(shares: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The central value stored in ``predicted`` and quoted everywhere: the median of the draws per
    bloc, rescaled so that the blocs add up to 100 (medians of skewed shares add up to 99-100),
    kept inside the 80 % interval."""
    med = np.median(shares, axis=0)
    total = med.sum(axis=-1, keepdims=True)
    med = np.where(total > 0, 100.0 * med / np.where(total > 0, total, 1.0), med)
    return np.clip(med, low, high)


def departement_draws(draws: Draws) -> tuple[np.ndarray, np.ndarray]:
    """Département bloc shares (sims x blocs) and turnout (sims) of every draw: communes weighted by
    registered voters x drawn turnout (voters), turnout weighted by registered voters. They equal the
    drawn D (:func:`rake`), which is why :func:`summarise` reads the département from
    ``departement_sample`` instead; this is the check of that (tests/forecast/test_simulate.py)."""
    reg = draws.registered
    voters = reg[None, :] * draws.turnout / 100.0
    total = voters.sum(axis=1, keepdims=True)
    shares = np.einsum("sc,scb->sb", voters, draws.shares) / np.where(total > 0, total, 1.0)
    turnout = 100.0 * voters.sum(axis=1) / reg.sum() if reg.sum() > 0 else draws.turnout.mean(axis=1)
    return shares, turnout
