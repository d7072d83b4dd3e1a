"""The interface every baseline and model shares, and the final step every prediction goes through.

``fit(panel_train)`` learns from past elections; ``predict(panel, departement)`` returns the
commune's bloc shares and turnout (percent) given département values for each row
(:meth:`electio.model.panel.Panel.departement_inputs`: the true totals in conditional mode,
the forecast in unconditional mode). ``oof_predict(panel_train)`` gives out-of-fold
predictions on the training window (leave one election out) for the conformal intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.model.panel import TURNOUT, Panel


def finalise(raw: pd.DataFrame, blocs: list[str], fallback: pd.DataFrame | None = None) -> pd.DataFrame:
    """Clip bloc shares at 0 and renormalise them to sum to 100; clip turnout to [0, 100].

    A row whose clipped shares sum to 0 (or are all missing) takes ``fallback``'s shares
    (the département values), else equal shares.
    """
    out = raw.copy()
    shares = out[blocs].to_numpy(dtype=float)
    shares = np.where(np.isfinite(shares), np.clip(shares, 0.0, None), 0.0)
    total = shares.sum(axis=1)
    empty = ~(total > 0)
    if empty.any():
        if fallback is not None:
            fb = np.clip(np.nan_to_num(fallback[blocs].to_numpy(dtype=float)[empty]), 0.0, None)
            fb_total = fb.sum(axis=1, keepdims=True)
            fb = np.where(fb_total > 0, fb / np.where(fb_total > 0, fb_total, 1.0), 1.0 / len(blocs))
            shares[empty] = fb
        else:
            shares[empty] = 1.0 / len(blocs)
        total = shares.sum(axis=1)
    out[blocs] = 100.0 * shares / total[:, None]
    if TURNOUT in out:
        out[TURNOUT] = np.clip(out[TURNOUT].to_numpy(dtype=float), 0.0, 100.0)
    return out


class ElectionModel:
    """Base class. Subclasses set the class attributes and implement ``_predict_raw``."""

    model_id: str = ""
    model_kind: str = "baseline"  # 'baseline' or 'model' (dim_model.model_kind)
    label_fr: str = ""
    description: str = ""
    #: Rank used to break ties in model choice: lower is simpler.
    complexity: int = 0
    #: Whether predictions move with the département values given (False for persistence):
    #: decides whether unconditional intervals add the département forecast error.
    departement_sensitive: bool = True

    @classmethod
    def for_tables(cls, tables: dict[str, pd.DataFrame]) -> "ElectionModel":
        """A fresh instance for the warehouse ``tables`` (a model reading more than the panel,
        e.g. the all-France context, overrides this)."""
        return cls()

    def fit(self, panel: Panel) -> "ElectionModel":
        self.blocs_ = list(panel.blocs)
        self.targets_ = panel.targets
        return self

    def predict(self, panel: Panel, departement: pd.DataFrame) -> pd.DataFrame:
        departement = departement.reset_index(drop=True)
        raw = self._predict_raw(panel, departement)
        return finalise(raw[panel.targets], list(panel.blocs), fallback=departement)

    def oof_predict(self, panel: Panel) -> pd.DataFrame:
        """Predictions for the training rows, each from a fit that did not see its election.
        Rule-based baselines learn nothing, so their plain predictions are out of fold."""
        return self.predict(panel, panel.departement_inputs("conditional"))

    def _predict_raw(self, panel: Panel, departement: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def params(self) -> dict:
        """Hyper-parameters chosen by the last fit (for the metadata)."""
        return {}
