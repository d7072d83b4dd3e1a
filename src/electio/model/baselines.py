"""Baselines, always reported beside the models (DESIGN.md section 4).

Reference election of a commune for election E (``*_ref`` features): the last first round of
the same type before E, or of any type when E's type has none. ``D`` = département values
given to ``predict`` (true totals of E in conditional mode, the forecast otherwise).

* persistence_same_type: the commune's result at the reference election.
* persistence_any_type: the commune's result at the last first round of any type.
* uniform_swing: reference result + (D - département value at the reference election),
  i.e. D + the commune's deviation at the reference election.
* proportional_swing: reference result x D / département value at the reference election
  (uniform swing for a bloc below 0.1 % in the département at the reference election).

A commune with no earlier result takes D. All end with :func:`electio.model.base.finalise`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.model.base import ElectionModel
from electio.model.panel import Panel

#: Below this département share (percent) at the reference election, a ratio is meaningless.
MIN_REFERENCE_SHARE = 0.1


def _cols(panel: Panel, prefix: str) -> pd.DataFrame:
    return panel.X[[f"{prefix}__{t}" for t in panel.targets]].set_axis(panel.targets, axis=1).reset_index(drop=True)


class PersistenceSameType(ElectionModel):
    model_id = "persistence_same_type"
    label_fr = "Persistance (dernière élection du même type)"
    description = ("Référence : résultat de la commune à la dernière élection du même type (1er tour), "
                   "ou de tout type si aucune. N'utilise pas les totaux départementaux.")
    complexity = 0
    departement_sensitive = False

    def _predict_raw(self, panel, departement):
        return _cols(panel, "share_ref").fillna(departement)


class PersistenceAnyType(ElectionModel):
    model_id = "persistence_any_type"
    label_fr = "Persistance (dernière élection, tout type)"
    description = ("Référence : résultat de la commune au dernier 1er tour, quel que soit le type. "
                   "N'utilise pas les totaux départementaux.")
    complexity = 1
    departement_sensitive = False

    def _predict_raw(self, panel, departement):
        return _cols(panel, "share_any").fillna(departement)


class UniformSwing(ElectionModel):
    model_id = "uniform_swing"
    label_fr = "Glissement uniforme"
    description = ("Résultat de référence + (total départemental donné - total départemental de référence) : "
                   "l'écart de la commune au département est reconduit.")
    complexity = 2

    def _predict_raw(self, panel, departement):
        return departement + _cols(panel, "dev_ref").fillna(0.0)


class ProportionalSwing(ElectionModel):
    model_id = "proportional_swing"
    label_fr = "Glissement proportionnel"
    description = ("Résultat de référence x (total départemental donné / total départemental de référence) ; "
                   "glissement uniforme pour un bloc sous 0,1 % à la référence.")
    complexity = 3

    def _predict_raw(self, panel, departement):
        share = _cols(panel, "share_ref")
        dep_ref = _cols(panel, "dep_ref")
        uniform = departement + _cols(panel, "dev_ref")
        with np.errstate(divide="ignore", invalid="ignore"):
            prop = share * departement / dep_ref
        out = prop.where(dep_ref >= MIN_REFERENCE_SHARE, uniform)
        return out.fillna(departement)


BASELINES = (PersistenceSameType, PersistenceAnyType, UniformSwing, ProportionalSwing)
