"""Learned models on a small random panel: interface, renormalisation, determinism, in-window tuning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from electio.model.backtest import model_catalog, run_backtest_frames, training_elections
from electio.model.estimators import LightGBMDeviation, RidgeDeviation, design_matrix
from electio.model.panel import build_panel

from .synthetic import random_tables


@pytest.fixture(scope="module")
def tables():
    return random_tables()


@pytest.fixture(scope="module")
def panel(tables):
    return build_panel(tables)


@pytest.mark.parametrize("cls", [RidgeDeviation, LightGBMDeviation])
def test_fit_predict_shares_and_determinism(panel, cls):
    train_ids = training_elections(panel, pd.Timestamp("2022-01-01"))
    assert train_ids == ["euro_2014_t1", "pres_2017_t1", "leg_2017_t1", "euro_2019_t1"]
    train, test = panel.for_elections(train_ids), panel.for_elections(["pres_2022_t1"])
    model = cls().fit(train)
    # one hyper-parameter setting per target, chosen by leave-one-election-out CV in the window
    assert len(model.chosen_) == len(panel.targets) and model.cv_scores_
    for mode in ("conditional", "unconditional"):
        pred = model.predict(test, test.departement_inputs(mode))
        np.testing.assert_allclose(pred[list(panel.blocs)].sum(axis=1), 100.0)
        assert (pred >= 0).all().all() and pred["turnout"].between(0, 100).all()
    again = cls().fit(train).predict(test, test.departement_inputs("conditional"))
    pd.testing.assert_frame_equal(again, model.predict(test, test.departement_inputs("conditional")))
    oof = model.oof_predict(train)
    assert oof.shape == (len(train), len(panel.targets)) and np.isfinite(oof.to_numpy()).all()


def test_tuning_never_sees_the_test_election(panel):
    """Changing the test election's results changes nothing in the fitted model."""
    train_ids = training_elections(panel, pd.Timestamp("2022-01-01"))
    a = RidgeDeviation().fit(panel.for_elections(train_ids))
    assert "pres_2022_t1" not in set(a.oof_index_["election_id"])
    assert set(a.oof_index_["election_id"]) == set(train_ids)


def test_design_matrix_departement_terms(panel):
    test = panel.for_elections(["pres_2022_t1"])
    D = test.departement_inputs("conditional")
    X = design_matrix(test, D)
    np.testing.assert_allclose(X["dep_E__gauche"], D["gauche"])
    np.testing.assert_allclose(X["swing_ref__gauche"], D["gauche"] - test.X["dep_ref__gauche"])
    ratio = (D["gauche"] / test.X["dep_ref__gauche"]).clip(0, 5)
    np.testing.assert_allclose(X["propdev_ref__gauche"], test.X["dev_ref__gauche"] * ratio)


def test_backtest_on_synthetic_tables(tables):
    result = run_backtest_frames(tables, test_elections=("euro_2019_t1", "pres_2022_t1"))
    # every model of the catalogue but lightgbm_fr, which needs the context tables (absent here)
    n_models, n_communes, n_targets = len(model_catalog()) - 1, 40, 4
    assert "lightgbm_fr" in model_catalog() and "lightgbm_fr" not in set(result.dim_model["model_id"])
    assert len(result.predictions) == n_models * 2 * 2 * n_communes * n_targets
    assert not result.predictions.duplicated(["model_id", "election_id", "mode", "commune_code", "target"]).any()
    assert result.dim_model["is_chosen"].sum() == 1
    assert set(result.metrics["metric"]) >= {"wmae", "mae", "rmse", "first_bloc_accuracy", "coverage_80",
                                            "width_80", "turnout_mae", "mae_size_lt1k"}
    assert result.windows["euro_2019_t1"] == ["euro_2014_t1", "pres_2017_t1", "leg_2017_t1"]


def test_boosters_binned_once_grow_the_wrappers_trees():
    """The tuning fits every target on one binned dataset: the trees must be those of the
    scikit-learn wrapper fitted target by target (same parameters, seeds, weights, missing values)."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(600, 12)), columns=[f"f{i}" for i in range(12)])
    X.iloc[rng.integers(0, 600, 80), 2] = np.nan
    labels = [rng.normal(size=600) + X["f0"].to_numpy() * j for j in range(3)]
    w = rng.uniform(1.0, 20.0, 600)
    model = LightGBMDeviation()
    boosters = list(model._boosters(X, labels, w, 50))
    for j, y in enumerate(labels):
        wrapper = model._model(50, j).fit(X, y, sample_weight=w)
        assert boosters[j].model_to_string() == wrapper.booster_.model_to_string()
        assert np.array_equal(boosters[j].predict(X, num_iteration=25), wrapper.predict(X, num_iteration=25))


def test_every_lightgbm_prediction_states_its_thread_count(panel, monkeypatch):
    """LightGBM keeps one process-wide thread count, which a prediction without ``num_threads``
    resets to all cores; the backtest fits in two threads, and a dataset the other thread was
    binning then overflowed its per-thread buffers (a segfault in SparseBin::Push, seen once in a
    refresh). Every prediction of the tuning and of the fitted model must pass the training's."""
    import lightgbm

    seen = []
    real = lightgbm.Booster.predict

    def predict(self, data, *args, **kwargs):
        seen.append(kwargs.get("num_threads"))
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(lightgbm.Booster, "predict", predict)
    model = LightGBMDeviation().fit(panel)
    model.predict(panel, panel.departement_inputs("conditional"))
    assert seen and set(seen) == {LightGBMDeviation.base_params["n_jobs"]}


def test_ridge_tuning_fits_every_alpha_at_once_like_one_fit_per_alpha(panel):
    """The tuning fits every alpha (and offset) in one Ridge with one penalty per target column;
    each column must be what its own Ridge gives (the offsets x alphas bookkeeping included)."""
    from sklearn.linear_model import Ridge

    class TwoOffsets(RidgeDeviation):
        offset_choices = ("proportional_blend", "uniform")

    class OneFitPerAlpha(TwoOffsets):
        def _cv_predictions(self, X_tr, Y_tr, offs_tr, w, X_te, offs_te, names):
            out = {}
            for j, t in enumerate(self.targets_):
                A_tr, A_te = self._fold_design(X_tr, X_te, t)
                for alpha in self.alphas:
                    for o in names[j]:
                        pred = Ridge(alpha=alpha).fit(A_tr, Y_tr[:, j] - offs_tr[o][:, j], sample_weight=w).predict(A_te)
                        out.setdefault((o, alpha), np.full((len(X_te), Y_tr.shape[1]), np.nan))[:, j] = \
                            offs_te[o][:, j] + pred
            return out

    joint, separate = TwoOffsets().fit(panel), OneFitPerAlpha().fit(panel)
    assert joint.chosen_ == separate.chosen_
    assert joint.cv_scores_ == separate.cv_scores_
    assert np.allclose(joint.oof_dev_, separate.oof_dev_, rtol=0, atol=1e-9, equal_nan=True)
