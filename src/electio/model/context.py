"""The commune-deviation model learned across départements, and its all-France evaluation.

**Context panel** (:func:`build_context_panel`): the panel of :mod:`electio.model.panel` over the
warehouse tables ``fact_context_result`` /
``fact_context_turnout`` (every commune of France at the first rounds with a France-wide commune
file: euro_2014, pres_2017, leg_2017, euro_2019, euro_2024). Each commune's deviations are from
its **own** département, exactly as in the perimeter's panel, and its features use only the
context elections before the row's election (the leakage guard runs on it). Rows of the first
context election have no history and are never trained on.

**lightgbm_fr** (:class:`CrossDepartementLightGBM`): the LightGBM deviation model (same
offset, trees, grid, leave-one-election-out tuning) fitted on the perimeter's training rows
**plus** the context rows of every other département whose election is no later than the last
training election (so strictly before the test election: the same leakage guard as the
perimeter's own model). Indicator features are left out (the warehouse holds them for the
perimeter's communes only: in the pooled panel a missing value would mean "another
département"). Its out-of-fold residuals, and so its intervals, are the perimeter's rows only.

**All-France evaluation** (:func:`france_evaluation`): for euro_2019 and euro_2024, every
commune of France is predicted from a fit on the context rows before the election, in three
modes named ``france_conditional`` (true département totals of the election), ``france_national``
(national result known, département values from the national-conditional rule of
:mod:`electio.model.national`) and ``france_unconditional`` (status quo of each département:
:func:`electio.model.panel.departement_forecast` over the context elections). Point metrics only
(no intervals), pooled over every commune of France; ``departement_mae`` is the mean over
départements of the per-département error of the implied totals.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from electio.model import national as nat
from electio.model.estimators import SEED, DeviationModel, LightGBMDeviation
from electio.model.metrics import election_metrics
from electio.model.panel import (TURNOUT, Panel, assert_no_leakage, build_panel, commune_outcomes,
                                 departement_forecast, first_rounds)

log = logging.getLogger("electio.model")

CONTEXT_TABLES = ("fact_context_result", "fact_context_turnout")
FRANCE_TESTS = ("euro_2019_t1", "euro_2024_t1")
FRANCE_MODES = {"conditional": "france_conditional", "national_conditional": "france_national",
                "unconditional": "france_unconditional"}
#: A département needs this many communes for a deviation model to mean anything.
MIN_COMMUNES = 10


@dataclass
class ContextPanel:
    """Every commune of France x context election: ``panel`` (rows carry ``departement_code``)
    and, aligned with its rows, the true département values (``conditional``) and the
    status-quo département forecast (``unconditional``)."""

    panel: Panel
    conditional: pd.DataFrame
    unconditional: pd.DataFrame

    def subset(self, mask) -> "ContextPanel":
        mask = np.asarray(mask, dtype=bool)
        take = lambda f: f.loc[mask].reset_index(drop=True)  # noqa: E731
        return ContextPanel(self.panel.subset(mask), take(self.conditional), take(self.unconditional))


def has_context(tables: dict[str, pd.DataFrame]) -> bool:
    return all(tables.get(t) is not None and not tables[t].empty for t in CONTEXT_TABLES)


def _departement_tables(tables, result: pd.DataFrame, turnout: pd.DataFrame) -> dict[str, pd.DataFrame]:
    expressed = turnout.set_index(["election_id", "commune_code"])["expressed"]
    key = pd.MultiIndex.from_frame(result[["election_id", "commune_code"]])
    exp = expressed.reindex(key).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(exp > 0, 100.0 * result["votes"].to_numpy(float) / exp, 0.0)
    return {"fact_election_result": result.assign(share_expressed=share),
            "fact_turnout": turnout,
            "dim_commune": pd.DataFrame({"commune_code": sorted(turnout["commune_code"].unique()),
                                         "territory": None}),
            "dim_election": tables["dim_election"], "dim_bloc": tables.get("dim_bloc")}


def _departement_values(outcomes: pd.DataFrame, dep_of: pd.Series, blocs: list[str]) -> pd.DataFrame:
    """True values per (election_id, departement_code): bloc shares and turnout, percent."""
    o = outcomes.assign(departement_code=dep_of.reindex(outcomes.index.get_level_values("commune_code")).to_numpy())
    sums = o.groupby([o.index.get_level_values("election_id"), "departement_code"])[
        [f"votes_{b}" for b in blocs] + ["registered", "voters", "expressed"]].sum()
    sums.index.names = ["election_id", "departement_code"]
    out = pd.DataFrame(index=sums.index)
    for b in blocs:
        out[b] = 100.0 * sums[f"votes_{b}"] / sums["expressed"]
    out[TURNOUT] = 100.0 * sums["voters"] / sums["registered"]
    return out


def build_context_panel(tables: dict[str, pd.DataFrame]) -> ContextPanel:
    """The context panel of every département with at least :data:`MIN_COMMUNES` communes.

    One :func:`build_panel` over all of France (shares, size, types and their source dates do not
    depend on the département), then every département-relative column (``dep_*``, ``dev_*``) is
    recomputed against the commune's own département with the same reference elections."""
    turnout = tables["fact_context_turnout"]
    dep_of = turnout.drop_duplicates("commune_code").set_index("commune_code")["departement_code"].astype(str)
    sizes = turnout.groupby("departement_code")["commune_code"].nunique()
    keep = set(sizes[sizes >= MIN_COMMUNES].index)
    turnout = turnout[turnout["departement_code"].isin(keep)].drop(columns="departement_code")
    result = tables["fact_context_result"]
    result = result[result["commune_code"].isin(set(turnout["commune_code"]))]
    sub = _departement_tables(tables, result, turnout)
    panel = build_panel(sub)
    blocs, targets = list(panel.blocs), panel.targets
    outcomes = commune_outcomes(sub, blocs)
    dept = _departement_values(outcomes, dep_of, blocs)
    history = first_rounds(sub)
    rows = panel.rows
    rows["departement_code"] = dep_of.reindex(rows["commune_code"]).to_numpy()
    X = panel.X
    dev_all = outcomes[targets] - dept.reindex(pd.MultiIndex.from_arrays(
        [outcomes.index.get_level_values("election_id"),
         dep_of.reindex(outcomes.index.get_level_values("commune_code")).to_numpy()]))[targets].to_numpy()
    cond = pd.DataFrame(np.nan, index=rows.index, columns=targets)
    unc = pd.DataFrame(np.nan, index=rows.index, columns=targets)
    for eid, idx in rows.groupby("election_id").indices.items():
        r = rows.iloc[idx]
        edate, etype = r["election_date"].iloc[0], r["election_type"].iloc[0]
        deps = r["departement_code"].to_numpy()
        prev = history[history["election_date"] < edate]
        same = prev[prev["election_type"] == etype]
        last_any = prev.iloc[-1] if len(prev) else None
        ref = same.iloc[-1] if len(same) else last_any
        for kind, row in (("ref", ref), ("any", last_any)):
            if row is None:
                continue
            d = dept.loc[row.election_id].reindex(deps)
            for t in targets:
                X.loc[idx, f"dep_{kind}__{t}"] = d[t].to_numpy()
                X.loc[idx, f"dev_{kind}__{t}"] = X.loc[idx, f"share_{kind}__{t}"].to_numpy() - d[t].to_numpy()
        if len(prev):
            past = dev_all[dev_all.index.get_level_values("election_id").isin(set(prev["election_id"]))]
            hist = past.groupby(level="commune_code").mean().reindex(r["commune_code"])
            for t in targets:
                X.loc[idx, f"dev_hist__{t}"] = hist[t].to_numpy()
        cond.loc[idx, targets] = dept.loc[eid].reindex(deps)[targets].to_numpy()
        for dep in np.unique(deps):
            fc, _, _ = departement_forecast(dept.xs(dep, level="departement_code"), history, etype, edate)
            unc.loc[idx[deps == dep], targets] = fc.reindex(targets).to_numpy(float)
    assert_no_leakage(panel)
    return ContextPanel(panel, cond.reset_index(drop=True), unc.reset_index(drop=True))


def _concat(a: Panel, b: Panel) -> Panel:
    columns = list(a.X.columns)
    cat = lambda x, y: pd.concat([x, y], ignore_index=True)  # noqa: E731
    return replace(a, rows=cat(a.rows, b.rows), X=cat(a.X, b.X.reindex(columns=columns)),
                   sources=cat(a.sources, b.sources.reindex(columns=columns)), y=cat(a.y, b.y), alternatives={})


def _without_indicators(panel: Panel) -> Panel:
    return panel.without_indicators()


def sample_rows(rows: pd.DataFrame, mask: np.ndarray, per_election: int | None, seed: int = SEED) -> np.ndarray:
    """``mask`` thinned to at most ``per_election`` rows per election, drawn with a fixed seed."""
    if per_election is None:
        return mask
    out = np.zeros(len(rows), dtype=bool)
    rng = np.random.default_rng(seed)
    for _, idx in rows[mask].groupby("election_id").indices.items():
        chosen = np.flatnonzero(mask)[idx]
        if len(chosen) > per_election:
            chosen = rng.choice(chosen, size=per_election, replace=False)
        out[chosen] = True
    return out


def with_history(panel: Panel) -> np.ndarray:
    """Rows that have an earlier election to learn from (as :func:`training_elections`)."""
    return panel.X.filter(like="dev_any__").notna().any(axis=1).to_numpy()


class CrossDepartementLightGBM(LightGBMDeviation):
    """LightGBM deviation model trained on the perimeter plus every other département."""

    model_id = "lightgbm_fr"
    label_fr = "LightGBM appris sur tous les départements (écart au département)"
    description = ("Le même LightGBM que le modèle du département (écart de la commune à son département, en "
                   "correction du glissement proportionnel moyen), appris sur les communes du périmètre et sur "
                   "celles de tous les autres départements de France aux élections antérieures disponibles "
                   "commune par commune (européennes 2014 et 2019, présidentielle et législatives 2017, "
                   "européennes 2024) ; sans les indicateurs socio-économiques (connus pour le périmètre "
                   "seulement) ; intervalles calibrés sur les communes du périmètre.")
    complexity = 25

    #: Context rows drawn per training election (fixed seed): all ~35,000 communes made one fit
    #: take 458 s on the shared 2 cores (104,000 rows, euro_2024 window) against 14 s for the
    #: perimeter's model (51 s with 3,000 per election); 2,000 per election (about 8 times the
    #: perimeter's 266 communes) keeps the backtest within minutes.
    rows_per_election = 2000

    def __init__(self, context: ContextPanel | None = None, exclude_departements=()):
        self.context = context
        self.exclude_departements = tuple(exclude_departements)

    @classmethod
    def for_tables(cls, tables: dict[str, pd.DataFrame]) -> "CrossDepartementLightGBM":
        context = build_context_panel(tables) if has_context(tables) else None
        return cls(context, nat.perimeter_departements(tables))

    def fit(self, panel: Panel, departement: pd.DataFrame | None = None) -> "CrossDepartementLightGBM":
        own = _without_indicators(panel)
        D = departement if departement is not None else panel.departement_inputs("conditional")
        n_own = len(own)
        self.n_context_rows_ = 0
        if self.context is not None:
            c = self.context
            rows = c.panel.rows
            bound = pd.to_datetime(panel.rows["election_date"]).max()
            mask = ((pd.to_datetime(rows["election_date"]) <= bound).to_numpy() & with_history(c.panel)
                    & ~rows["departement_code"].isin(self.exclude_departements).to_numpy())
            mask = sample_rows(rows, mask, self.rows_per_election)
            if mask.any():
                extra = c.subset(mask)
                own = _concat(own, _without_indicators(extra.panel))
                D = pd.concat([D.reset_index(drop=True), extra.conditional], ignore_index=True)
                self.n_context_rows_ = int(mask.sum())
        super().fit(own, D)
        # Out-of-fold predictions (hence intervals) are the perimeter's rows only.
        self.oof_dev_ = self.oof_dev_[:n_own]
        self.oof_index_ = self.oof_index_.iloc[:n_own].reset_index(drop=True)
        return self

    def _predict_raw(self, panel, departement):
        return super()._predict_raw(_without_indicators(panel), departement)

    def oof_predict(self, panel: Panel, departement: pd.DataFrame | None = None) -> pd.DataFrame:
        return super().oof_predict(_without_indicators(panel), departement)

    def params(self) -> dict:
        return {**super().params(), "n_context_rows": self.n_context_rows_}


# --------------------------------------------------------------------------- all-France evaluation

def _national_inputs(tables, context: ContextPanel, eid: str, history) -> pd.DataFrame | None:
    if eid not in nat.national_table(tables).index:
        return None
    fc, _ = nat.national_conditional_forecast(tables, eid, history=history)
    rows = context.panel.rows
    targets = context.panel.targets
    out = fc.reindex(rows["departement_code"])[targets].reset_index(drop=True)
    missing = out[targets[:-1]].isna().any(axis=1).to_numpy()
    out[TURNOUT] = out[TURNOUT].fillna(context.unconditional[TURNOUT])
    out.loc[missing] = context.unconditional.loc[missing].to_numpy()  # département absent from the history
    return out


def _departement_mae(pred: pd.DataFrame, actual: pd.DataFrame, rows: pd.DataFrame, blocs: list[str]) -> float:
    w = rows["expressed"].to_numpy(float)
    err = []
    for _, idx in rows.groupby("departement_code").indices.items():
        ww = w[idx]
        if ww.sum() <= 0:
            continue
        p = (ww[:, None] * pred[blocs].to_numpy(float)[idx]).sum(axis=0) / ww.sum()
        a = (ww[:, None] * actual[blocs].to_numpy(float)[idx]).sum(axis=0) / ww.sum()
        err.append(np.abs(p - a).mean())
    return float(np.mean(err))


def france_evaluation(tables: dict[str, pd.DataFrame], models, context: ContextPanel | None = None,
                      test_elections=FRANCE_TESTS) -> tuple[pd.DataFrame, dict]:
    """fact_model_metric rows (model_id, election_id, mode, metric, value) over every commune of
    France, and timings. ``models``: factories of baselines and models; each learned model is fitted
    once per test election on the context rows before it (conditional département values)."""
    context = context if context is not None else build_context_panel(tables)
    history = nat.departement_history_long(tables)
    rows = context.panel.rows
    dates = rows.groupby("election_id")["election_date"].first()
    out, info = [], {}
    for eid in test_elections:
        if eid not in dates.index:
            log.warning("all-France evaluation: %s not in the context tables, skipped", eid)
            continue
        train_mask = (pd.to_datetime(rows["election_date"]) < dates[eid]).to_numpy() & with_history(context.panel)
        train_mask = sample_rows(rows, train_mask, CrossDepartementLightGBM.rows_per_election)
        test = context.subset((rows["election_id"] == eid).to_numpy())
        train = context.subset(train_mask)
        inputs = {"conditional": test.conditional, "unconditional": test.unconditional}
        nc = _national_inputs(tables, test, eid, history)
        if nc is not None:
            inputs["national_conditional"] = nc
        pte = test.panel
        blocs = list(pte.blocs)
        for factory in models:
            model = factory()
            t0 = time.perf_counter()
            if isinstance(model, CrossDepartementLightGBM):
                model.context = None  # trained on the context rows given here, every département
            if isinstance(model, DeviationModel):
                model.fit(train.panel, train.conditional)
            else:
                model.fit(train.panel)
            info[(model.model_id, eid)] = {"fit_seconds": round(time.perf_counter() - t0, 1),
                                           "train_rows": len(train.panel), "test_rows": len(pte),
                                           "train_elections": train.panel.elections}
            for mode, d in inputs.items():
                pred = model.predict(pte, d)
                actual = pte.y[pte.targets]
                values = election_metrics(pred, actual, pte.rows, blocs)
                values["departement_mae"] = _departement_mae(pred, actual, pte.rows, blocs)
                values["n_communes"] = float(len(pte))
                values["n_departements"] = float(pte.rows["departement_code"].nunique())
                for name, value in values.items():
                    out.append((model.model_id, eid, FRANCE_MODES[mode], name, value))
    return pd.DataFrame(out, columns=["model_id", "election_id", "mode", "metric", "value"]), info
