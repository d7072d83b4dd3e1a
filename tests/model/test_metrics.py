"""Metrics and interval computations on hand examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from electio.model.intervals import IntervalCalibrator, combined_quantiles, t_quantiles
from electio.model.metrics import coverage, election_metrics, first_bloc_accuracy, mean_width, wmae
from electio.model.panel import build_panel

from .synthetic import hand_tables


def test_wmae_hand_example():
    predicted = np.array([[50.0, 50.0], [20.0, 80.0]])
    actual = np.array([[40.0, 60.0], [30.0, 70.0]])
    weights = np.array([300.0, 100.0])
    # bloc 1: (300*10 + 100*10) / 400 = 10; bloc 2: same -> 10
    assert wmae(predicted, actual, weights) == pytest.approx(10.0)
    predicted = np.array([[44.0, 56.0], [30.0, 70.0]])
    # bloc errors: commune 1: 4, commune 2: 0 -> (300*4)/400 = 3 per bloc
    assert wmae(predicted, actual, weights) == pytest.approx(3.0)
    # unweighted MAE would be 2: the big commune counts more
    assert np.abs(predicted - actual).mean() == pytest.approx(2.0)


def test_coverage_and_width():
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    low = np.array([0.0, 2.0, 3.5, 0.0])
    high = np.array([2.0, 3.0, 5.0, 3.0])
    assert coverage(actual, low, high) == pytest.approx(50.0)  # bounds included: 1 in [0,2], 2 in [2,3]
    assert mean_width(low, high) == pytest.approx((2 + 1 + 1.5 + 3) / 4)


def test_first_bloc_accuracy():
    p = np.array([[50, 30, 20], [10, 60, 30], [40, 41, 19]])
    a = np.array([[45, 35, 20], [40, 30, 30], [30, 50, 20]])
    assert first_bloc_accuracy(p, a) == pytest.approx(100 * 2 / 3)


def test_election_metrics_names_and_bands():
    rows = pd.DataFrame({"expressed": [100.0, 1000.0], "registered": [500.0, 30000.0]})
    blocs = ["a", "b"]
    pred = pd.DataFrame({"a": [60.0, 40.0], "b": [40.0, 60.0], "turnout": [50.0, 60.0]})
    act = pd.DataFrame({"a": [50.0, 40.0], "b": [50.0, 60.0], "turnout": [55.0, 60.0]})
    m = election_metrics(pred, act, rows, blocs, pred - 5, pred + 5)
    assert m["wmae"] == pytest.approx(100 * 10 / 1100)
    assert m["mae"] == pytest.approx(5.0)
    assert m["mae_size_lt1k"] == pytest.approx(10.0) and m["mae_size_gt20k"] == pytest.approx(0.0)
    assert np.isnan(m["mae_size_1k_5k"])
    assert m["coverage_80"] == pytest.approx(50.0) and m["width_80"] == pytest.approx(10.0)
    assert m["turnout_mae"] == pytest.approx(2.5)
    assert m["first_bloc_accuracy"] == pytest.approx(100.0)  # a tie goes to the first bloc


def test_combined_quantiles_without_and_with_a_shared_term():
    r = np.arange(-50, 51, dtype=float)  # uniform on [-50, 50]
    low, high = combined_quantiles(r, np.zeros(1), 0.8)
    assert low == pytest.approx(-40.0) and high == pytest.approx(40.0)
    low2, high2 = combined_quantiles(r, t_quantiles(np.array([20.0, -20.0, 20.0, -20.0])), 0.8)
    assert low2 < low and high2 > high  # the département term widens the interval


def test_t_quantiles_scale_and_tails():
    q = t_quantiles(np.array([3.0, -3.0, 3.0]))
    assert np.median(q) == pytest.approx(0.0, abs=1e-9)
    assert q.max() > 3.0  # heavier than the RMS: few past errors


def test_calibrated_intervals_cover_about_80_percent_on_exchangeable_data():
    """Residuals of the test rows drawn like the training residuals -> ~80 % coverage."""
    rng = np.random.default_rng(0)
    panel = build_panel(hand_tables())
    train = panel.for_elections(["euro_2019_t1", "pres_2022_t1"])
    n = 2000
    cal = IntervalCalibrator()
    cal.residuals = {(t, "all"): rng.normal(0, 3, n) for t in panel.targets}
    cal.dept_errors = {}
    test = train.for_elections(["pres_2022_t1"])
    hits = []
    for _ in range(200):
        pred = pd.DataFrame(rng.uniform(20, 60, (len(test), len(test.targets))), columns=test.targets)
        actual = pred + rng.normal(0, 3, pred.shape)
        low, high = cal.intervals(test, pred, mode="conditional")
        hits.append(coverage(actual.to_numpy(), low.to_numpy(), high.to_numpy()))
    assert np.mean(hits) == pytest.approx(80.0, abs=2.0)


def test_unconditional_intervals_are_wider_only_for_departement_sensitive_models():
    panel = build_panel(hand_tables())
    cal = IntervalCalibrator()
    cal.residuals = {(t, "all"): np.linspace(-2, 2, 101) for t in panel.targets}
    cal.dept_errors = {"unconditional": pd.DataFrame({t: [4.0, -4.0, 5.0] for t in panel.targets})}
    test = panel.for_elections(["pres_2022_t1"])
    pred = pd.DataFrame(40.0, index=range(len(test)), columns=test.targets)
    lo_c, hi_c = cal.intervals(test, pred, mode="conditional")
    lo_u, hi_u = cal.intervals(test, pred, mode="unconditional")
    lo_p, hi_p = cal.intervals(test, pred, mode="unconditional", departement_sensitive=False)
    assert ((hi_u - lo_u) > (hi_c - lo_c)).all().all()
    pd.testing.assert_frame_equal(lo_p, lo_c)


def test_winkler_score_and_per_bloc_coverage():
    from electio.model.metrics import coverage_metrics, winkler

    # inside: the width; 1 point below: width + 10 x 1
    np.testing.assert_allclose(winkler([5.0, 1.0], [2.0, 2.0], [8.0, 8.0], 0.8), [6.0, 16.0])
    actual = pd.DataFrame({"a": [5.0, 1.0], "b": [3.0, 3.0]})
    low = pd.DataFrame({"a": [2.0, 2.0], "b": [0.0, 0.0]})
    high = pd.DataFrame({"a": [8.0, 8.0], "b": [4.0, 4.0]})
    out = coverage_metrics(actual, {0.8: (low, high), 0.5: (low, high)}, ["a", "b"])
    assert out["coverage_80__a"] == 50.0 and out["coverage_80__b"] == 100.0
    assert out["interval_score_80"] == pytest.approx((6 + 16 + 4 + 4) / 4)
    assert out["coverage_50"] == 75.0


def test_departement_error_points_are_empirical_with_many_errors():
    from electio.model.intervals import MIN_EMPIRICAL, error_points

    biased = np.linspace(1.0, 3.0, MIN_EMPIRICAL)  # a rule that always under-forecasts: the points stay > 0
    assert (error_points(biased) > 0).all()
    few = error_points(np.array([2.0, -2.0, 2.0]))  # few errors: zero-centred t
    assert few.mean() == pytest.approx(0.0, abs=1e-9)


def test_grouped_scale_widens_only_when_elections_differ():
    from electio.model.intervals import grouped_scale

    rng = np.random.default_rng(0)
    same = rng.normal(0, 1, 3000)
    groups = np.repeat(["a", "b", "c"], 1000)
    assert grouped_scale(same, groups) <= 1.04            # exchangeable: (almost) no widening
    shifted = same + np.repeat([-1.5, 0.0, 1.5], 1000)    # each election has its own bias
    assert grouped_scale(shifted, groups) > 1.2
    assert grouped_scale(same[:2000], groups[:2000]) == 1.0  # fewer than 3 elections: unchanged
