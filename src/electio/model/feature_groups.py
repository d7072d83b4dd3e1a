"""Feature-group and dating variants of the learned models, compared in the same backtest.

Each learned model of :mod:`electio.model.estimators` is also run

* ``<model>_results_only`` — without any ``ind__`` indicator feature (past results, size,
  type and territory only): the backtest then says whether the indicators help;
* ``<model>_published`` — with the indicator values usable under the strict rule (the file
  we hold was published before the election, ``published_on``) instead of the publisher's
  regular calendar (``available_on``, the default of the panel): the sensitivity run that
  shows what the calendar rule changes.

The variants wrap the model and give it a different view of the panel
(:meth:`Panel.without_indicators`, :meth:`Panel.with_dating`); they share its interface, so
the backtest loop, intervals, selection and training handle them like any other model. A
results-only variant is one step simpler than its model (a tie goes to it: indicators must
earn their place); a published-dating variant one step more complex (a tie goes to the
calendar rule, the primary one).
"""

from __future__ import annotations

import pandas as pd

from electio.model.base import ElectionModel
from electio.model.estimators import MODELS
from electio.model.panel import Panel

VIEWS = {
    "results_only": ("sans indicateurs socio-économiques", "without the ind__ indicator features (results, size, "
                     "type and territory only)", -1),
    "published": ("indicateurs datés par leur publication", "with indicator values usable only once the file held "
                  "was published (published_on), instead of the publisher's regular calendar", +1),
}


class FeatureView(ElectionModel):
    """A learned model fitted and applied on another view of the panel."""

    base: type = None
    view: str = ""

    def __init__(self) -> None:
        self.inner = self.base()

    def _view(self, panel: Panel) -> Panel:
        if self.view == "results_only":
            return panel.without_indicators()
        return panel.with_dating(self.view)

    def fit(self, panel: Panel) -> "FeatureView":
        super().fit(panel)
        self.inner.fit(self._view(panel))
        self.feature_names_ = list(getattr(self.inner, "feature_names_", []) or [])
        return self

    def predict(self, panel: Panel, departement: pd.DataFrame) -> pd.DataFrame:
        return self.inner.predict(self._view(panel), departement)

    def oof_predict(self, panel: Panel) -> pd.DataFrame:
        return self.inner.oof_predict(self._view(panel))

    def params(self) -> dict:
        return self.inner.params()


def _variant(base: type, view: str) -> type:
    label, description, step = VIEWS[view]
    return type(f"{base.__name__}_{view}", (FeatureView,), {
        "__module__": __name__, "base": base, "view": view, "model_id": f"{base.model_id}_{view}", "model_kind": base.model_kind,
        "label_fr": f"{base.label_fr}, {label}", "description": f"{base.description} Variant: {description}.",
        "complexity": base.complexity + step, "departement_sensitive": base.departement_sensitive})


#: Registered beside the models in the backtest (electio.model.backtest).
VARIANTS = tuple(_variant(base, view) for base in MODELS for view in VIEWS)
# Module attributes, so that a trained variant pickles by reference (joblib, data/models).
globals().update({cls.__name__: cls for cls in VARIANTS})
