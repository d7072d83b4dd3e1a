"""Damped log-linear trend of département bloc shares (the 'trend' hypothesis).

Shared by the scenario simulation (:mod:`electio.forecast.simulate`) and the measurement of
forecast error by lead time (:mod:`electio.forecast.horizons`), which must apply the very same
rule; it lives here so that neither of those modules imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

HALF_LIFE_YEARS = 5.0
DAMPING_PER_YEAR = 0.75
MIN_TREND_DOF = 2


def _years(dates) -> np.ndarray:
    d = pd.to_datetime(pd.Series(dates))
    return (d.dt.year + (d.dt.day_of_year - 1) / 365.25).to_numpy(float)



@dataclass
class TrendFit:
    """Weighted least squares of log(share + offset) on an intercept, election-type effects and time."""

    coef: np.ndarray          # p x B
    xtwx_inv: np.ndarray      # p x p
    resid_w: np.ndarray       # n x B, residuals x sqrt(weight)
    dof: int
    last_year: float
    design_types: list        # types with a dummy column (the target type is the base)
    base_type: str

    def x(self, time_offset: float) -> np.ndarray:
        return np.r_[1.0, np.zeros(len(self.design_types)), time_offset]

    @property
    def sigma(self) -> np.ndarray:
        return self.resid_w.T @ self.resid_w / self.dof


def fit_trend(elections: pd.DataFrame, values: np.ndarray, election_type: str, *,
              half_life: float = HALF_LIFE_YEARS) -> TrendFit | None:
    """None when there are too few elections (residual df < MIN_TREND_DOF)."""
    t = _years(elections["election_date"])
    last = float(t.max())
    types = list(dict.fromkeys(elections["election_type"]))
    base = election_type if election_type in types else elections["election_type"].iloc[-1]
    others = [ty for ty in types if ty != base]
    X = np.column_stack([np.ones(len(t))] + [(elections["election_type"] == ty).to_numpy(float) for ty in others]
                        + [t - last])
    dof = len(t) - X.shape[1]
    if dof < MIN_TREND_DOF:
        return None
    w = 0.5 ** ((last - t) / half_life)
    inv = np.linalg.pinv(X.T @ (w[:, None] * X))
    coef = inv @ X.T @ (w[:, None] * values)
    resid = values - X @ coef
    return TrendFit(coef, inv, resid * np.sqrt(w)[:, None], dof, last, others, base)


def damped_lead(lead_years: float, damping: float = DAMPING_PER_YEAR) -> float:
    """Years of slope applied after ``lead_years`` when the slope decays by ``damping`` per year."""
    if lead_years <= 0:
        return 0.0
    if damping >= 1:
        return lead_years
    return (1 - damping ** lead_years) / (-np.log(damping))


def trend_center_sd(fit: TrendFit, lead: float, damping: float) -> tuple[np.ndarray, np.ndarray, float]:
    x_mean = fit.x(damped_lead(lead, damping))
    x_var = fit.x(max(lead, 0.0))
    q = float(x_var @ fit.xtwx_inv @ x_var)
    return x_mean @ fit.coef, np.sqrt(np.diag(fit.sigma) * (1 + q)), q
