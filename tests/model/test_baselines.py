"""Baselines on the hand example (3 communes; reference pres_2017_t1, last any euro_2019_t1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from electio.model.base import finalise
from electio.model.baselines import PersistenceAnyType, PersistenceSameType, ProportionalSwing, UniformSwing
from electio.model.panel import build_panel

from .synthetic import hand_tables

BLOCS = ["gauche", "centre", "droite"]


@pytest.fixture(scope="module")
def panel():
    return build_panel(hand_tables()).for_elections(["pres_2022_t1"])


def predict(model_cls, panel, mode="conditional"):
    return model_cls().fit(panel).predict(panel, panel.departement_inputs(mode))


def test_persistence_same_type(panel):
    p = predict(PersistenceSameType, panel)
    np.testing.assert_allclose(p[BLOCS].to_numpy(), [[50, 20, 30], [20, 20, 60], [30, 40, 30]])
    np.testing.assert_allclose(p["turnout"], 50.0)
    # ignores the département: same in both modes
    pd.testing.assert_frame_equal(p, predict(PersistenceSameType, panel, "unconditional"))


def test_persistence_any_type(panel):
    p = predict(PersistenceAnyType, panel)
    np.testing.assert_allclose(p[BLOCS].to_numpy(), [[40, 40, 20], [30, 30, 40], [20, 50, 30]])


def test_uniform_swing_conditional(panel):
    # true département pres_2022: 25 / 30 / 45; at pres_2017: 32.5 / 30 / 37.5 -> swing -7.5 / 0 / +7.5
    p = predict(UniformSwing, panel)
    np.testing.assert_allclose(p[BLOCS].to_numpy(), [[42.5, 20, 37.5], [12.5, 20, 67.5], [22.5, 40, 37.5]])


def test_uniform_swing_unconditional_uses_the_forecast(panel):
    # forecast = mean(pres_2017, euro_2019) = 30 / 36.25 / 33.75 -> swing -2.5 / +6.25 / -3.75
    p = predict(UniformSwing, panel, "unconditional")
    np.testing.assert_allclose(p[BLOCS].to_numpy()[0], [47.5, 26.25, 26.25])
    np.testing.assert_allclose(p["turnout"], 50.0)


def test_proportional_swing_conditional(panel):
    p = predict(ProportionalSwing, panel)
    raw = np.array([50 * 25 / 32.5, 20 * 30 / 30, 30 * 45 / 37.5])
    np.testing.assert_allclose(p[BLOCS].to_numpy()[0], 100 * raw / raw.sum())
    np.testing.assert_allclose(p[BLOCS].sum(axis=1), 100.0)


def test_uniform_swing_clips_and_renormalises():
    # a département collapse bigger than the commune's share gives a negative raw share
    panel = build_panel(hand_tables()).for_elections(["pres_2022_t1"])
    D = panel.departement_inputs("conditional").copy()
    D["gauche"], D["droite"] = 2.5, 67.5  # swing -30 / 0 / +30
    p = UniformSwing().fit(panel).predict(panel, D)
    # commune 69002: 20 - 30 = -10 -> 0; centre 20, droite 60 + 30 = 90 -> renormalised 100 * [0, 20, 90] / 110
    np.testing.assert_allclose(p[BLOCS].to_numpy()[1], [0, 100 * 20 / 110, 100 * 90 / 110])


def test_finalise_sums_to_100_without_negatives():
    rng = np.random.default_rng(1)
    raw = pd.DataFrame(rng.normal(10, 20, (200, 3)), columns=BLOCS).assign(turnout=rng.normal(60, 40, 200))
    raw.iloc[0, :3] = [-1.0, -2.0, -3.0]  # nothing positive: falls back to the département
    fallback = pd.DataFrame([[20.0, 30.0, 50.0, 55.0]] * 200, columns=BLOCS + ["turnout"])
    out = finalise(raw, BLOCS, fallback=fallback)
    np.testing.assert_allclose(out[BLOCS].sum(axis=1), 100.0)
    assert (out[BLOCS] >= 0).all().all()
    assert out["turnout"].between(0, 100).all()
    np.testing.assert_allclose(out.loc[0, BLOCS], [20, 30, 50])
