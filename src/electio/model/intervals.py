"""80 % prediction intervals: commune-level conformal term + shared département swing term.

1. **Commune term (split-conformal / CV+).** Signed residuals ``actual - prediction`` of the
   model's out-of-fold predictions inside the training window (leave one election out, true
   département totals given), pooled per target and per commune size band (registered voters
   at the last election; a band with fewer than :data:`MIN_POOL` residuals uses all bands).
2. **Département term (unconditional mode only).** The département forecast error
   ``true - forecast`` of the training elections, per target (:func:`departement_errors`:
   only elections that had an earlier election of the same type, like every test election,
   when there are at least 2 of them).
   With 3 to 8 past elections an empirical 10 %/90 % quantile is not estimable, so the
   error is modelled as Student's t with n degrees of freedom (n = number of past errors),
   centre 0 and scale = root mean square of the past errors: the predictive distribution of
   a new error when past errors are normal with unknown variance.
3. **Combination by quadrature.** The distribution of ``r + e`` (r drawn from the residual
   pool, e from the t distribution at :data:`N_QUADRATURE` equally spaced quantiles) gives the
   10 % and 90 % quantiles q_lo, q_hi; the interval is [pred + q_lo, pred + q_hi] clipped to
   [0, 100]. In conditional mode, or for a model whose predictions ignore the département
   values (persistence), e = 0: its residuals already contain the swing.

The département error is shared by every commune of an election: in one election, most
communes miss on the same side, so coverage is judged over several elections (docs/model.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from electio.model.panel import SIZE_BANDS, Panel

LEVEL = 0.80
MIN_POOL = 30
N_QUADRATURE = 99
ALL_BANDS = "all"


def departement_errors(panel: Panel, election_ids, *, same_type_only: bool = True) -> pd.DataFrame:
    """True minus forecast département values of the given elections (rows) per target.

    The forecast rule has two regimes: with an earlier election of the same type (every
    test election) or without (the first election of each type, e.g. euro_2014_t1 forecast
    from a presidential election: turnout off by 38 points). With ``same_type_only``, the
    errors of the first regime are used when there are at least 2 of them, else all."""
    ids = [e for e in election_ids if e in panel.dept_forecast.index and e in panel.dept.index]
    err = (panel.dept.loc[ids, panel.targets] - panel.dept_forecast.loc[ids, panel.targets]).dropna(how="any")
    if same_type_only and "has_same_type" in panel.X:
        same = panel.X["has_same_type"].groupby(panel.rows["election_id"]).max()
        keep = [e for e in err.index if same.get(e, 0) > 0]
        if len(keep) >= 2:
            err = err.loc[keep]
    return err


def t_quantiles(errors: np.ndarray, n: int = N_QUADRATURE) -> np.ndarray:
    """Quadrature points of the département error: Student t (df = number of errors), scale RMS."""
    errors = np.asarray(errors, dtype=float)
    errors = errors[np.isfinite(errors)]
    if errors.size == 0:
        return np.zeros(1)
    scale = float(np.sqrt(np.mean(errors ** 2)))
    probs = (np.arange(n) + 0.5) / n
    return scale * stats.t.ppf(probs, df=errors.size)


def combined_quantiles(residuals: np.ndarray, shift_points: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """(low, high) quantiles of r + e, r uniform over ``residuals``, e uniform over ``shift_points``."""
    r = np.asarray(residuals, dtype=float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return np.nan, np.nan
    total = (r[:, None] + np.asarray(shift_points, dtype=float)[None, :]).ravel()
    alpha = (1 - level) / 2
    low, high = np.quantile(total, [alpha, 1 - alpha])
    return float(low), float(high)


@dataclass
class IntervalCalibrator:
    """Residual pools and département errors of one training window."""

    level: float = LEVEL
    residuals: dict = field(default_factory=dict)     # (target, band) -> signed residuals
    dept_errors: pd.DataFrame | None = None            # training elections x targets

    def fit(self, panel_train: Panel, oof_pred: pd.DataFrame) -> "IntervalCalibrator":
        res = panel_train.y[panel_train.targets].to_numpy(float) - oof_pred[panel_train.targets].to_numpy(float)
        bands = panel_train.rows["size_band"].to_numpy()
        self.residuals = {}
        for j, t in enumerate(panel_train.targets):
            col = res[:, j]
            self.residuals[(t, ALL_BANDS)] = col[np.isfinite(col)]
            for _, _, band in SIZE_BANDS:
                pool = col[(bands == band) & np.isfinite(col)]
                if pool.size >= MIN_POOL:
                    self.residuals[(t, band)] = pool
        self.dept_errors = departement_errors(panel_train, panel_train.elections)
        return self

    def quantiles(self, target: str, band: str, *, with_departement: bool) -> tuple[float, float]:
        pool = self.residuals.get((target, band), self.residuals.get((target, ALL_BANDS), np.array([])))
        shifts = np.zeros(1)
        if with_departement and self.dept_errors is not None and target in self.dept_errors:
            shifts = t_quantiles(self.dept_errors[target].to_numpy())
        return combined_quantiles(pool, shifts, self.level)

    def intervals(self, panel: Panel, predicted: pd.DataFrame, *, mode: str,
                  departement_sensitive: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(low, high) frames aligned with ``predicted`` (percent, clipped to [0, 100])."""
        with_dep = mode == "unconditional" and departement_sensitive
        bands = panel.rows["size_band"].to_numpy()
        low = pd.DataFrame(index=predicted.index, columns=panel.targets, dtype=float)
        high = low.copy()
        for t in panel.targets:
            lo_col = np.full(len(predicted), np.nan)
            hi_col = np.full(len(predicted), np.nan)
            for band in np.unique(bands):
                m = bands == band
                q_lo, q_hi = self.quantiles(t, band, with_departement=with_dep)
                lo_col[m] = predicted[t].to_numpy(float)[m] + q_lo
                hi_col[m] = predicted[t].to_numpy(float)[m] + q_hi
            low[t] = np.clip(lo_col, 0.0, 100.0)
            high[t] = np.clip(hi_col, 0.0, 100.0)
        return low, high
