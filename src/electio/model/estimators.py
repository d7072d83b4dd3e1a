"""Learned models: they predict the commune's deviation from the département value of each
target (6 blocs and turnout), then add the département value given to ``predict`` and
finalise (clip at 0, renormalise the blocs to 100).

Design matrix (:func:`design_matrix`) = the panel's features (deviations and département
values at the reference / last / all earlier elections, size, type, territory, indicators)
plus terms built from the département values D given for the election:
``dep_E__T`` = D, ``swing_ref__T`` = D - département value at the reference election, and
``propdev_ref__T`` = the deviation that proportional swing would give (reference deviation
x D / reference département value, ratio clipped to [0, 5]). In training, D = the true
totals of each (past) training election.

Hyper-parameters are chosen inside the training window only, by grouped cross-validation
with one fold per training election (leave one election out); the score is the
vote-weighted MAE of the held-out election (weights = its expressed votes), per target.
The out-of-fold predictions of the chosen setting feed the conformal intervals.
Training rows are weighted by sqrt(expressed votes): bigger communes are less noisy and
count more in the primary metric, without letting Lyon dominate.

* :class:`RidgeDeviation` — median imputation (+ missing-value flags), standardisation and
  Ridge in one scikit-learn Pipeline per target; alpha in a small grid.
* :class:`LightGBMDeviation` — one LightGBM regressor per target, small trees, fixed seeds,
  deterministic, 2 threads; the number of trees and the minimum leaf size in a small grid
  (the number of trees is read off one fit per setting).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from electio.errors import ElectioError
from electio.model.base import ElectionModel, finalise
from electio.model.panel import Panel

SEED = 20240630
RATIO_CLIP = 5.0
MIN_REFERENCE_SHARE = 0.1
BASE_PREFIXES = ("dev_ref__", "dev_any__", "dev_hist__", "dep_ref__", "dep_any__")
BASE_COLUMNS = ("log_registered", "type__presidentielle", "type__legislatives", "type__europeennes",
                "territory__metropole_lyon", "has_same_type")


def design_matrix(panel: Panel, departement: pd.DataFrame) -> pd.DataFrame:
    """Features of the learned models for ``panel``'s rows given département values D."""
    X = panel.X
    cols = [c for c in X.columns if c.startswith(BASE_PREFIXES) or c in BASE_COLUMNS or c.startswith("ind__")]
    # numpy blocks: called for every fit and prediction (permutation importance: hundreds of times)
    base = X[cols].to_numpy(float)
    pos = {c: i for i, c in enumerate(cols)}
    D = departement[panel.targets].to_numpy(float)
    names, extra = list(cols), []
    for j, t in enumerate(panel.targets):
        d = D[:, j]
        names += [f"dep_E__{t}", f"swing_ref__{t}"]
        extra += [d, d - base[:, pos[f"dep_ref__{t}"]]]
        for kind in ("ref", "any"):
            dep, dev = base[:, pos[f"dep_{kind}__{t}"]], base[:, pos[f"dev_{kind}__{t}"]]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(dep >= MIN_REFERENCE_SHARE, d / dep, 1.0).clip(0.0, RATIO_CLIP)
            names.append(f"propdev_{kind}__{t}")
            extra.append(dev * ratio)
    return pd.DataFrame(np.column_stack([base] + extra), columns=names)


def own_columns(columns, target: str) -> list[str]:
    """Columns of the design matrix about one target, plus the commune's general features."""
    return [c for c in columns if c.endswith(f"__{target}") or c in BASE_COLUMNS or c.startswith("ind__")]


def sample_weights(panel: Panel) -> np.ndarray:
    return np.sqrt(np.clip(panel.rows["expressed"].to_numpy(dtype=float), 1.0, None))


#: Baseline deviations the learned correction is added to: uniform or proportional swing
#: from the reference election, or the mean of those from the reference election and from
#: the last election of any type ("blend"). Both models use ``proportional_blend``: a
#: combination of two references is more robust than either (the same reasoning as the
#: département forecast), and strong regularisation (large alpha, 0 trees) then falls back
#: to it rather than to "no deviation". Chosen on the 2019-2024 validation elections, never
#: on leg_2024_t1 (docs/model.md).
OFFSETS = ("uniform", "proportional", "uniform_blend", "proportional_blend")


def offsets(X: pd.DataFrame, targets: list[str]) -> dict[str, np.ndarray]:
    def get(prefix):
        ref = X[[f"{prefix}_ref__{t}" for t in targets]].to_numpy(float)
        anyt = X[[f"{prefix}_any__{t}" for t in targets]].to_numpy(float)
        ref = np.where(np.isfinite(ref), ref, 0.0)
        anyt = np.where(np.isfinite(anyt), anyt, ref)
        return ref, (ref + anyt) / 2

    uni, uni_blend = get("dev")
    prop, prop_blend = get("propdev")
    return {"uniform": uni, "proportional": prop, "uniform_blend": uni_blend, "proportional_blend": prop_blend}


def _weighted_abs_error(pred: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per column weighted MAE."""
    return (w[:, None] * np.abs(pred - y)).sum(axis=0) / w.sum()


class DeviationModel(ElectionModel):
    """Common machinery: targets = deviations from the département, learned as a correction of a
    baseline offset; leave-one-election-out tuning inside the training window; OOF predictions.

    Subclasses implement ``_cv_predictions(X_tr, Y_tr, offs_tr, w, X_te, offs_te, offset_names)``
    -> {key: deviations predicted for X_te (n_te x n_targets)}, where ``key[0]`` is the offset
    name (a key is one hyper-parameter setting), and ``_fit_final(X, Y, offs, w)`` /
    ``_predict_final(X, offs)`` for the chosen key of each target (``self.chosen_``).
    """

    model_kind = "model"

    #: Offsets tried by the cross-validation (the first when it cannot run).
    offset_choices: tuple = ("proportional_blend",)

    def _offset_names(self, X, Y, offs, w_eval) -> list[list[str]]:
        """Offsets tried for each target."""
        return [list(self.offset_choices)] * Y.shape[1]

    def fit(self, panel: Panel, departement: pd.DataFrame | None = None) -> "DeviationModel":
        """``departement``: true département values of each row (default: the panel's own, one
        département); given when the panel pools several départements."""
        super().fit(panel)
        D = (departement.reset_index(drop=True) if departement is not None
             else panel.departement_inputs("conditional"))
        X = design_matrix(panel, D)
        X = X.loc[:, X.notna().any(axis=0)]  # no information in the window: dropped
        Y = panel.y[panel.targets].to_numpy(float) - D.to_numpy(float)
        offs = offsets(X, panel.targets)
        w = sample_weights(panel)
        groups = panel.rows["election_id"].to_numpy()
        w_eval = panel.rows["expressed"].to_numpy(float)
        elections = list(dict.fromkeys(groups))
        names = self._offset_names(X, Y, offs, w_eval)
        self.feature_names_ = list(X.columns)
        scores: dict = {}
        oof: dict = {}
        for held in elections if len(elections) >= 2 else []:
            test = groups == held
            preds = self._cv_predictions(X[~test], Y[~test], {k: v[~test] for k, v in offs.items()}, w[~test],
                                         X[test], {k: v[test] for k, v in offs.items()}, names)
            for key, dev in preds.items():
                scores.setdefault(key, []).append(_weighted_abs_error(dev, Y[test], w_eval[test]))
                oof.setdefault(key, np.full(Y.shape, np.nan))[test] = dev
        n_t = Y.shape[1]
        if scores:
            mean_scores = {k: np.mean(v, axis=0) for k, v in scores.items()}
            self.chosen_ = []
            for j in range(n_t):
                allowed = [k for k in mean_scores if k[0] in names[j]]
                self.chosen_.append(min(allowed, key=lambda k: mean_scores[k][j]))
            self.cv_scores_ = {"/".join(map(str, k)): [round(float(x), 4) for x in mean_scores[k]]
                               for k in mean_scores}
            self.oof_dev_ = np.column_stack([oof[self.chosen_[j]][:, j] for j in range(n_t)])
        else:  # a single training election: nothing to cross-validate
            self.chosen_ = [self.default_key(names[j][0]) for j in range(n_t)]
            self.cv_scores_ = {}
            self.oof_dev_ = np.full(Y.shape, np.nan)
        self.oof_index_ = panel.rows[["election_id", "commune_code"]].reset_index(drop=True)
        self._fit_final(X, Y, offs, w)
        return self

    def default_key(self, offset: str) -> tuple:
        raise NotImplementedError

    def _predict_raw(self, panel: Panel, departement: pd.DataFrame) -> pd.DataFrame:
        X = design_matrix(panel, departement).reindex(columns=self.feature_names_)
        dev = self._predict_final(X, offsets(X, panel.targets))
        return pd.DataFrame(departement[panel.targets].to_numpy(float) + dev, columns=panel.targets)

    def oof_predict(self, panel: Panel, departement: pd.DataFrame | None = None) -> pd.DataFrame:
        idx = panel.rows[["election_id", "commune_code"]].reset_index(drop=True)
        if not idx.equals(self.oof_index_):
            raise ValueError("oof_predict needs the panel the model was fitted on")
        D = (departement.reset_index(drop=True) if departement is not None
             else panel.departement_inputs("conditional"))
        raw = pd.DataFrame(D.to_numpy(float) + self.oof_dev_, columns=panel.targets)
        missing = ~np.isfinite(self.oof_dev_).all(axis=1)
        if missing.any():  # no OOF (single training election): in-sample predictions
            raw.loc[missing] = self._predict_raw(panel.subset(missing), D[missing]).to_numpy()
        return finalise(raw, list(panel.blocs), fallback=D)

    def params(self) -> dict:
        return {"chosen": {t: "/".join(map(str, k)) for t, k in zip(self.targets_, self.chosen_)},
                "cv_wmae": self.cv_scores_}


class RidgeDeviation(DeviationModel):
    model_id = "ridge"
    label_fr = "Régression ridge (écart au département)"
    description = ("Une ridge par cible (bloc ou participation) sur l'écart de la commune au département, en "
                   "correction d'un glissement de référence (uniforme ou proportionnel, depuis la dernière élection du "
                   "même type ou la moyenne avec la dernière élection) ; variables de la cible, taille, territoire "
                   "et indicateurs ; imputation par la médiane (+ indicateurs de valeur manquante), "
                   "standardisation ; alpha choisi par validation croisée groupée par "
                   "élection dans la fenêtre d'apprentissage ; poids sqrt(exprimés).")
    complexity = 10
    alphas = (1.0, 10.0, 100.0, 1000.0, 1e4, 1e5)

    @staticmethod
    def _prep():
        return Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                         ("scale", StandardScaler())])

    def default_key(self, offset):
        return (offset, self.alphas[-1])

    def _fold_design(self, X_tr, X_te, target: str) -> tuple[np.ndarray, np.ndarray]:
        """A tuning fold's imputed, standardised features of one target (prepared on the training rows)."""
        cols = [c for c in own_columns(X_tr.columns, target) if X_tr[c].notna().any()]
        prep = self._prep().fit(X_tr[cols])
        return prep.transform(X_tr[cols]), prep.transform(X_te[cols])

    def _cv_predictions(self, X_tr, Y_tr, offs_tr, w, X_te, offs_te, names):
        out = {}
        for j, t in enumerate(self.targets_):
            A_tr, A_te = self._fold_design(X_tr, X_te, t)
            R = np.column_stack([Y_tr[:, j] - offs_tr[o][:, j] for o in names[j]])
            k = R.shape[1]
            # every alpha in one fit (one penalty per copy of R): one validation and Gram matrix, not six
            pred = Ridge(alpha=np.repeat(self.alphas, k)).fit(A_tr, np.tile(R, len(self.alphas)),
                                                              sample_weight=w).predict(A_te)
            for a, alpha in enumerate(self.alphas):
                for i, o in enumerate(names[j]):
                    out.setdefault((o, alpha), np.full((len(X_te), Y_tr.shape[1]), np.nan))[:, j] = \
                        offs_te[o][:, j] + pred[:, a * k + i]
        return out

    def _fit_final(self, X, Y, offs, w):
        self.pipelines_ = []
        for j, (off, alpha) in enumerate(self.chosen_):
            cols = own_columns(X.columns, self.targets_[j])
            pipe = Pipeline(self._prep().steps + [("ridge", Ridge(alpha=alpha))])
            self.pipelines_.append((cols, pipe.fit(X[cols], Y[:, j] - offs[off][:, j], ridge__sample_weight=w)))

    def _predict_final(self, X, offs):
        return np.column_stack([offs[self.chosen_[j][0]][:, j] + pipe.predict(X[cols])
                                for j, (cols, pipe) in enumerate(self.pipelines_)])


class LightGBMDeviation(DeviationModel):
    model_id = "lightgbm"
    label_fr = "LightGBM (écart au département)"
    description = ("Un LightGBM par cible sur l'écart de la commune au département, en correction du glissement "
                   "proportionnel moyen (même type et dernière élection) ; toutes les variables ; "
                   "petits arbres (7 feuilles, "
                   "profondeur 3), taux 0,05, sous-échantillonnage, graines fixes, déterministe ; nombre d'arbres "
                   "(0 = glissement proportionnel moyen seul) choisi par validation croisée groupée par élection ; "
                   "poids sqrt(exprimés).")
    complexity = 20
    n_trees = (0, 25, 50, 100, 200)
    min_child_samples = 40
    # n_jobs=1: on 2 shared cores and ~2,000 rows, OpenMP threads cost more than they bring
    # (measured 7-13x slower with 2 threads while another process was busy).
    base_params = dict(learning_rate=0.05, num_leaves=7, max_depth=3, max_bin=63, subsample=0.8, subsample_freq=1,
                       colsample_bytree=0.7, reg_lambda=1.0, n_jobs=1, deterministic=True, force_row_wise=True,
                       verbose=-1)

    def default_key(self, offset):
        return (offset, 0)

    def _model(self, n_estimators, j):
        return _lgbm_regressor()(n_estimators=n_estimators, min_child_samples=self.min_child_samples,
                             random_state=SEED + j, **self.base_params)

    def _cv_predictions(self, X_tr, Y_tr, offs_tr, w, X_te, offs_te, names):
        out = {}
        labels = [Y_tr[:, j] - offs_tr[names[j][0]][:, j] for j in range(Y_tr.shape[1])]
        for j, booster in enumerate(self._boosters(X_tr, labels, w, max(self.n_trees))):
            o = names[j][0]
            for k in self.n_trees:
                # num_threads as in training: without it LightGBM resets its process-wide thread count,
                # and a dataset another backtest thread is binning meanwhile overflows its per-thread
                # buffers (SparseBin::Push segfault)
                pred = (booster.predict(X_te, num_iteration=k, num_threads=self.base_params["n_jobs"]) if k
                        else np.zeros(len(X_te)))
                out.setdefault((o, k), np.full((len(X_te), Y_tr.shape[1]), np.nan))[:, j] = offs_te[o][:, j] + pred
        return out

    def _boosters(self, X, labels, w, n_trees):
        """One booster per label (target j: ``self._model(n_trees, j)``) on the same features, binned
        once: a wrapper's ``fit`` per target would bin X again each time, while the bins depend on X
        and the dataset parameters only, which the targets share. The wrapper's own translation of
        its parameters is used, so the trees are the wrapper's (tests/model/test_estimators.py)."""
        lgb = _lightgbm()
        data = lgb.Dataset(X, label=labels[0], weight=w, params=self._model(n_trees, 0)._process_params(stage="fit"),
                           free_raw_data=False)
        for j, y in enumerate(labels):
            data.set_label(y)
            yield lgb.train(self._model(n_trees, j)._process_params(stage="fit"), data, num_boost_round=n_trees)

    def _fit_final(self, X, Y, offs, w):
        self.models_ = [self._model(k, j).fit(X, Y[:, j] - offs[o][:, j], sample_weight=w) if k else None
                        for j, (o, k) in enumerate(self.chosen_)]

    def _predict_final(self, X, offs):
        return np.column_stack([offs[self.chosen_[j][0]][:, j] + (m.predict(X) if m is not None else 0.0)
                                for j, m in enumerate(self.models_)])


MODELS = (RidgeDeviation, LightGBMDeviation)


def _lightgbm():
    """LightGBM, imported when first needed: its wheel loads the system's OpenMP runtime, which
    minimal images lack; say what to install instead of a bare OSError."""
    try:
        import lightgbm
    except OSError as exc:
        raise ElectioError(f"LightGBM cannot load its OpenMP runtime ({exc}); install it (Debian/Ubuntu: "
                           "apt-get install libgomp1; macOS: brew install libomp)") from exc
    return lightgbm


def _lgbm_regressor():
    return _lightgbm().LGBMRegressor
