"""Rolling-origin backtest over the test elections (DESIGN.md section 4).

For each test election E (first rounds from 2019 on held by the warehouse): every baseline and
model is fitted on the first rounds before E that have an earlier election to learn from
(their features use only data published before each of them, so before E too), out-of-fold
residuals of that window calibrate the intervals, and E is predicted in up to three modes
(:data:`MODE_SPECS`, each a source of département values and of past département errors):

* *conditional*: true département totals of E given (geography skill);
* *national_conditional*: E's **national** result given, the département's predicted by the
  rule of :mod:`electio.model.national` learned across départements and earlier elections
  (only for test elections with a national result in ``fact_national_result``);
* *unconditional*: the département forecast of :func:`electio.model.panel.departement_forecast`,
  from elections before E only.

Other variants (e.g. indicator features) register as extra model factories in ``models``;
extra modes as :class:`ModeSpec` entries: the loop does not change.

Stage function :func:`run_backtest_frames` (``.tables()``) takes warehouse tables in memory and returns
``dim_model``, ``fact_backtest`` and ``fact_model_metric`` with the columns of sql/schema.sql.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from electio.errors import ElectioError
from electio.memory import release_memory
from electio.model.baselines import BASELINES
from electio.model.estimators import MODELS
from electio.model import context as ctxm
from electio.model import national as nat
from electio.model.intervals import BLOC_SCALE, LEVEL, LEVELS, WEIGHT, IntervalCalibrator
from electio.model.metrics import coverage_metrics, election_metrics
from electio.model.feature_groups import VARIANTS
from electio.model.panel import Panel, assert_no_leakage, build_panel
from electio.model.selection import HOLDOUT, choose_model

#: Test elections backtested at once (threads; see run_backtest_frames).
WORKERS = min(2, os.cpu_count() or 1)

log = logging.getLogger("electio.model")

TEST_ELECTIONS = ("euro_2019_t1", "pres_2022_t1", "leg_2022_t1", "euro_2024_t1", "leg_2024_t1")
MODES = ("conditional", "national_conditional", "unconditional")
DIM_MODEL_COLUMNS = ["model_id", "model_kind", "label_fr", "description", "is_chosen"]
BACKTEST_COLUMNS = ["model_id", "election_id", "mode", "commune_code", "target", "predicted", "actual",
                    "interval_low", "interval_high"]
METRIC_COLUMNS = ["model_id", "election_id", "mode", "metric", "value"]


def default_models() -> list:
    """Fresh instances of every baseline and model, simplest first."""
    return [cls() for cls in BASELINES + MODELS + VARIANTS]


def model_catalog() -> dict[str, type]:
    return {cls.model_id: cls for cls in BASELINES + MODELS + VARIANTS + (ctxm.CrossDepartementLightGBM,)}


def complexity_ranks() -> dict[str, int]:
    return {cls.model_id: cls.complexity for cls in BASELINES + MODELS + VARIANTS + (ctxm.CrossDepartementLightGBM,)}


def training_elections(panel: Panel, before) -> list[str]:
    """First rounds of the panel dated before ``before`` that have an earlier first round
    (rows without any history have no features to learn from)."""
    rows = panel.rows
    has_history = panel.X.filter(like="dev_any__").notna().any(axis=1).groupby(rows["election_id"]).any()
    dates = rows.groupby("election_id")["election_date"].first().sort_values()
    return [e for e, d in dates.items() if d < pd.Timestamp(before) and has_history.get(e, False)]


@dataclass
class BacktestResult:
    predictions: pd.DataFrame          # fact_backtest
    metrics: pd.DataFrame              # fact_model_metric
    dim_model: pd.DataFrame
    chosen: str | None
    windows: dict = field(default_factory=dict)   # test election -> training elections
    params: dict = field(default_factory=dict)    # (model, test election) -> chosen hyper-parameters
    seconds: float = 0.0
    france_seconds: dict = field(default_factory=dict)  # context panel, all-France evaluation, fits
    fitted: dict = field(default_factory=dict)  # (model_id, election_id) -> fitted model, for ``keep`` ids

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"dim_model": self.dim_model, "fact_backtest": self.predictions, "fact_model_metric": self.metrics}


def _long(pred, low, high, actual, rows, model_id, election_id, mode, targets) -> pd.DataFrame:
    n = len(rows)
    frames = []
    for t in targets:
        frames.append(pd.DataFrame({
            "model_id": model_id, "election_id": election_id, "mode": mode,
            "commune_code": rows["commune_code"].to_numpy(), "target": t,
            "predicted": pred[t].to_numpy(float), "actual": actual[t].to_numpy(float),
            "interval_low": low[t].to_numpy(float) if low is not None else np.full(n, np.nan),
            "interval_high": high[t].to_numpy(float) if high is not None else np.full(n, np.nan)}))
    return pd.concat(frames, ignore_index=True)


class BacktestContext:
    """What the mode specs read: the warehouse tables, the panel, and cached département data."""

    def __init__(self, tables: dict[str, pd.DataFrame], panel: Panel):
        self.tables, self.panel = tables, panel
        self.national = nat.national_table(tables)
        self.history = nat.departement_history_long(tables)
        self.departements = nat.perimeter_departements(tables)
        self.dates = panel.rows.groupby("election_id")["election_date"].first()


def _conditional_inputs(ctx: BacktestContext, pte: Panel, eid: str) -> pd.DataFrame | None:
    return pte.departement_inputs("conditional")


def _unconditional_inputs(ctx: BacktestContext, pte: Panel, eid: str) -> pd.DataFrame | None:
    return pte.departement_inputs("unconditional")


def _national_inputs(ctx: BacktestContext, pte: Panel, eid: str) -> pd.DataFrame | None:
    """National-conditional département values, or None without a national result of ``eid``
    (or with a perimeter over several départements: the panel's département totals are one)."""
    if eid not in ctx.national.index or len(ctx.departements) != 1:
        return None
    fc, _ = nat.national_conditional_forecast(ctx.tables, eid, history=ctx.history)
    dep = ctx.departements[0]
    if dep not in fc.index:
        return None
    values = fc.loc[dep, pte.targets].copy()
    if not np.isfinite(values[pte.targets[-1]]):  # national turnout unknown: the unconditional rule's
        values[pte.targets[-1]] = float(pte.departement_inputs("unconditional").iloc[0, -1])
    return pd.DataFrame([values.to_numpy(float)] * len(pte), columns=pte.targets)


def _unconditional_errors(ctx: BacktestContext, ptr: Panel, eid: str) -> pd.DataFrame | None:
    """Past errors of the status-quo rule: the panel's own département (None -> the calibrator's
    default). Errors pooled over every département of the history were tried first and rejected
    on the design elections (euro_2019, pres_2022, leg_2022, euro_2024): LightGBM's coverage fell
    to 47-85 % (own: 72-94 %) because before 2019 they come from a single election (pres_2017,
    the only earlier same-type pair in the national files) however many départements."""
    return None


def _national_errors(ctx: BacktestContext, ptr: Panel, eid: str) -> pd.DataFrame | None:
    """Past errors of the national-conditional rule over every département, weighted by the
    similarity of their size to the perimeter's (:func:`electio.model.national.size_weights`)."""
    err = nat.rule_errors(ctx.tables, ctx.dates[eid], history=ctx.history, log_scale=BLOC_SCALE == "log")
    if err.empty or len(ctx.departements) != 1:
        return err
    return err.assign(**{WEIGHT: nat.size_weights(ctx.tables, err.index, ctx.departements[0])})


@dataclass(frozen=True)
class ModeSpec:
    """A backtest mode: département values of the test rows (None = mode not available for that
    election) and the signed past département errors of its rule (None = none / default)."""

    name: str
    inputs: Callable[[BacktestContext, Panel, str], pd.DataFrame | None]
    errors: Callable[[BacktestContext, Panel, str], pd.DataFrame | None] | None = None


MODE_SPECS = (ModeSpec("conditional", _conditional_inputs),
              ModeSpec("national_conditional", _national_inputs, _national_errors),
              ModeSpec("unconditional", _unconditional_inputs, _unconditional_errors))


def _backtest_election(ctx: BacktestContext, panel: Panel, factories, mode_specs, keep, eid: str) -> dict | None:
    """Every model fitted on the first rounds before ``eid`` and scored on it in every mode."""
    train_ids = training_elections(panel, ctx.dates[eid])
    if not train_ids:
        log.warning("test election %s has no earlier election to train on: skipped", eid)
        return None
    ptr, pte = panel.for_elections(train_ids), panel.for_elections([eid])
    inputs, errors = {}, {}
    for spec in mode_specs:
        d = spec.inputs(ctx, pte, eid)
        if d is None:
            log.info("backtest %s: mode %s not available (no national result)", eid, spec.name)
            continue
        inputs[spec.name] = d
        e = spec.errors(ctx, ptr, eid) if spec.errors is not None else None
        if e is not None and not e.empty:
            errors[spec.name] = e
    actual = pte.y[pte.targets]
    out = {"train_ids": train_ids, "preds": [], "metrics": [], "params": {}, "fitted": {}}
    for factory in factories:
        model = factory().fit(ptr)
        out["params"][(model.model_id, eid)] = model.params()
        if model.model_id in keep:
            out["fitted"][(model.model_id, eid)] = model
        calibrator = IntervalCalibrator().fit(ptr, model.oof_predict(ptr), errors)
        for mode, d in inputs.items():
            pred = model.predict(pte, d)
            bands = {lv: calibrator.intervals(pte, pred, mode=mode, level=lv,
                                              departement_sensitive=model.departement_sensitive)
                     for lv in LEVELS}
            low, high = bands[LEVEL]
            out["preds"].append(_long(pred, low, high, actual, pte.rows, model.model_id, eid, mode, pte.targets))
            values = election_metrics(pred, actual, pte.rows, list(pte.blocs), low, high)
            values.update(coverage_metrics(actual, bands, list(pte.blocs)))
            out["metrics"] += [(model.model_id, eid, mode, name, value) for name, value in values.items()]
    log.info("backtest %s: trained on %s; modes %s", eid, ", ".join(train_ids), ", ".join(inputs))
    return out


def _france_evaluation(tables: dict[str, pd.DataFrame], context_panel) -> tuple[pd.DataFrame, dict, float]:
    clock = time.perf_counter()
    rows, info = ctxm.france_evaluation(tables, list(BASELINES) + [partial(ctxm.CrossDepartementLightGBM, None)],
                                        context_panel)
    return rows, info, round(time.perf_counter() - clock, 1)


def run_backtest_frames(tables: dict[str, pd.DataFrame], *, models=None, test_elections=TEST_ELECTIONS,
                        panel: Panel | None = None, mode_specs=MODE_SPECS, france: bool = True,
                        keep: tuple = ()) -> BacktestResult:
    """Fit, predict and score every model on every test election the warehouse holds, in every mode.

    With the context tables (every commune of France) in ``tables``: the cross-département model
    ``lightgbm_fr`` joins the default models, and (``france``) the all-France evaluation of
    :func:`electio.model.context.france_evaluation` adds its ``france_*`` modes to the metrics.
    ``keep``: model ids whose fitted models the result keeps (the importance analysis reuses them)."""
    t0 = time.perf_counter()
    panel = panel if panel is not None else build_panel(tables)
    assert_no_leakage(panel)
    factories = models if models is not None else [type(m) for m in default_models()]
    ctx = BacktestContext(tables, panel)
    context_panel, france_seconds = None, {}
    if ctxm.has_context(tables) and models is None:
        clock = time.perf_counter()
        context_panel = ctxm.build_context_panel(tables)
        release_memory()  # its temporaries (~450 MB), before the fits start
        france_seconds["context_panel"] = round(time.perf_counter() - clock, 1)
        # the cross-département variant joins the default catalogue
        factories = factories + [partial(ctxm.CrossDepartementLightGBM, context_panel, ctx.departements)]
    catalog = [f() for f in factories]
    eids = []
    for eid in test_elections:
        if eid not in ctx.dates.index:
            log.warning("test election %s is not in the warehouse: skipped", eid)
        else:
            eids.append(eid)
    # One thread per test election: LightGBM and BLAS release the GIL, so the two cores both work
    # while each fit stays single-threaded (small matrices); every election's work is independent.
    # Latest elections first (they train on the most) and the all-France evaluation as one more
    # task: the cores stay busy to the end instead of one finishing the last task alone.
    france_task = None
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {eid: pool.submit(_backtest_election, ctx, panel, factories, mode_specs, keep, eid)
                   for eid in reversed(eids)}
        if france and context_panel is not None:
            france_task = pool.submit(_france_evaluation, tables, context_panel)
        done = [futures[eid].result() for eid in eids]
    preds, metrics, windows, params, fitted = [], [], {}, {}, {}
    for eid, one in zip(eids, done):
        if one is None:
            continue
        windows[eid] = one["train_ids"]
        preds += one["preds"]
        metrics += one["metrics"]
        params.update(one["params"])
        fitted.update(one["fitted"])
    if not windows:
        raise ElectioError("no test election to backtest: the warehouse holds none of "
                           f"{', '.join(test_elections)} with earlier first rounds")
    if france_task is not None:
        france_rows, france_info, france_seconds["france_evaluation"] = france_task.result()
        france_seconds["fits"] = {f"{m}/{e}": v for (m, e), v in france_info.items()}
        metrics += list(france_rows.itertuples(index=False, name=None))
        log.info("all-France evaluation: %s", france_seconds)
    fact_backtest = pd.concat(preds, ignore_index=True)[BACKTEST_COLUMNS]
    for col in ("predicted", "actual", "interval_low", "interval_high"):
        fact_backtest[col] = fact_backtest[col].round(4)
    fact_model_metric = pd.DataFrame(metrics, columns=METRIC_COLUMNS)
    fact_model_metric["value"] = fact_model_metric["value"].astype(float).round(4)
    fact_model_metric = fact_model_metric.sort_values(["model_id", "election_id", "mode", "metric"],
                                                      ignore_index=True)
    ranks = {m.model_id: m.complexity for m in catalog}
    try:
        chosen = choose_model(fact_model_metric, ranks, HOLDOUT)
    except ValueError:
        log.warning("no test election besides the holdout %s: no model chosen", HOLDOUT)
        chosen = None
    dim_model = pd.DataFrame([{"model_id": m.model_id, "model_kind": m.model_kind, "label_fr": m.label_fr,
                               "description": m.description, "is_chosen": int(m.model_id == chosen)}
                              for m in catalog], columns=DIM_MODEL_COLUMNS)
    return BacktestResult(predictions=fact_backtest, metrics=fact_model_metric, dim_model=dim_model, chosen=chosen,
                          windows=windows, params=params, seconds=round(time.perf_counter() - t0, 1),
                          france_seconds=france_seconds, fitted=fitted)


def metrics_table(fact_model_metric: pd.DataFrame, metrics=("wmae", "first_bloc_accuracy", "coverage_80",
                                                             "width_80")) -> pd.DataFrame:
    """Wide table model x election x mode -> the given metrics (for docs and the CLI summary)."""
    m = fact_model_metric[fact_model_metric["metric"].isin(metrics)]
    wide = m.pivot_table(index=["mode", "model_id", "election_id"], columns="metric", values="value")
    return wide.reindex(columns=list(metrics))


def target_summary(fact_model_metric: pd.DataFrame, chosen: str) -> pd.DataFrame:
    """The targets of issue 13 for ``chosen`` (means over the test elections): value reached,
    threshold, reached or not."""
    m = fact_model_metric
    pick = lambda model, mode, metric: m[(m["model_id"] == model) & (m["mode"] == mode)  # noqa: E731
                                         & (m["metric"] == metric)].set_index("election_id")["value"]
    mean = lambda model, mode, metric: float(pick(model, mode, metric).mean())  # noqa: E731
    cond, uni = mean(chosen, "conditional", "wmae"), mean("uniform_swing", "conditional", "wmae")
    unc = mean(chosen, "unconditional", "wmae")
    pers = {p: mean(p, "unconditional", "wmae") for p in ("persistence_same_type", "persistence_any_type")}
    best_p = min(pers, key=pers.get)
    nc = pick(chosen, "national_conditional", "wmae")
    rows = [
        ("conditional wmae (mean over test elections)", f"{cond:.2f}", "<= 1.50", cond <= 1.5),
        ("conditional wmae vs uniform swing", f"{100 * (cond / uni - 1):+.1f} % ({uni:.2f})", "<= -33 %",
         cond <= 0.67 * uni),
        ("national-conditional wmae per test election with national data",
         ", ".join(f"{e} {v:.2f}" for e, v in nc.items()) or "no national data", "<= 3.00 each",
         bool(len(nc)) and bool((nc <= 3.0).all())),
        (f"unconditional wmae vs the better persistence ({best_p})",
         f"{100 * (unc / pers[best_p] - 1):+.1f} % ({unc:.2f} vs {pers[best_p]:.2f})", "<= -35 %",
         unc <= 0.65 * pers[best_p]),
    ]
    for mode in MODES:
        cov = pick(chosen, mode, "coverage_80")
        if cov.empty:
            continue
        order = sorted(cov.index, key=lambda e: TEST_ELECTIONS.index(e) if e in TEST_ELECTIONS else 99)
        rows.append((f"{mode} 80 % coverage per election", ", ".join(f"{e} {cov[e]:.1f}" for e in order),
                     "75-85 each", bool(cov.between(75, 85).all())))
        sub = m[(m["model_id"] == chosen) & (m["mode"] == mode) & m["metric"].str.startswith("coverage_80__")]
        per_bloc = sub.groupby("metric")["value"].mean()
        rows.append((f"{mode} 80 % coverage per bloc (mean over elections)",
                     ", ".join(f"{k.split('__')[1]} {v:.1f}" for k, v in per_bloc.items()), "65-95 each",
                     bool(per_bloc.between(65, 95).all())))
    return pd.DataFrame(rows, columns=["target", "measured", "threshold", "reached"])


def results_markdown(fact_model_metric: pd.DataFrame, dim_model: pd.DataFrame) -> str:
    """Markdown tables for docs/model.md: metrics per model x election x mode, means, targets."""
    metrics = ("wmae", "departement_mae", "first_bloc_accuracy", "coverage_80", "width_80", "interval_score_80",
               "mae", "turnout_mae")
    wide = metrics_table(fact_model_metric, metrics).reset_index()
    order = {m: i for i, m in enumerate(dim_model["model_id"])}
    elections = {e: i for i, e in enumerate(TEST_ELECTIONS)}
    wide = wide.sort_values(["mode", "model_id", "election_id"], key=lambda s: s.map(
        lambda v: order.get(v, elections.get(v, v)) if s.name != "mode" else v))
    chosen = dim_model.loc[dim_model["is_chosen"] == 1, "model_id"]
    chosen = chosen.iloc[0] if len(chosen) else None

    def fmt(frame):
        head = "| " + " | ".join(frame.columns) + " |"
        sep = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"
        body = ["| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + " |"
                for row in frame.itertuples(index=False)]
        return "\n".join([head, sep, *body])

    wide["model_id"] = wide["model_id"].map(lambda m: f"**{m}**" if m == chosen else m)
    means = wide.groupby(["mode", "model_id"], sort=False)[list(metrics)].mean().reset_index()
    bloc_cov = fact_model_metric[fact_model_metric["metric"].str.startswith("coverage_80__")].copy()
    bloc_cov["bloc"] = bloc_cov["metric"].str.split("__").str[1]
    bloc_wide = bloc_cov.pivot_table(index=["mode", "model_id", "election_id"], columns="bloc", values="value")
    bloc_wide = bloc_wide.reset_index()
    if chosen is not None:
        bloc_wide = bloc_wide[bloc_wide["model_id"] == chosen]
    parts = ["### Means over the test elections\n", fmt(means), "\n### Every test election\n", fmt(wide),
             "\n### 80 % coverage per bloc (chosen model)\n", fmt(bloc_wide)]
    if chosen is not None:
        parts += ["\n### Targets of the issue (chosen model: " + chosen + ")\n",
                  fmt(target_summary(fact_model_metric, chosen).astype({"reached": str}))]
    return "\n".join(parts) + "\n"
