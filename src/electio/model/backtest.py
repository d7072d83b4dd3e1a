"""Rolling-origin backtest over the test elections (DESIGN.md section 4).

For each test election E (first rounds from 2019 on held by the warehouse): every baseline and
model is fitted on the first rounds before E that have an earlier election to learn from
(their features use only data published before each of them, so before E too), out-of-fold
residuals of that window calibrate the intervals, and E is predicted in two modes:
*conditional* (true département totals of E given) and *unconditional* (the département
forecast of :func:`electio.model.panel.departement_forecast`, from elections before E only).

Stage function :func:`backtest_tables` takes warehouse tables in memory and returns
``dim_model``, ``fact_backtest`` and ``fact_model_metric`` with the columns of sql/schema.sql.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from electio.errors import ElectioError
from electio.model.baselines import BASELINES
from electio.model.estimators import MODELS
from electio.model.intervals import IntervalCalibrator
from electio.model.metrics import election_metrics
from electio.model.panel import Panel, assert_no_leakage, build_panel
from electio.model.selection import HOLDOUT, choose_model

log = logging.getLogger("electio.model")

TEST_ELECTIONS = ("euro_2019_t1", "pres_2022_t1", "leg_2022_t1", "euro_2024_t1", "leg_2024_t1")
MODES = ("conditional", "unconditional")
DIM_MODEL_COLUMNS = ["model_id", "model_kind", "label_fr", "description", "is_chosen"]
BACKTEST_COLUMNS = ["model_id", "election_id", "mode", "commune_code", "target", "predicted", "actual",
                    "interval_low", "interval_high"]
METRIC_COLUMNS = ["model_id", "election_id", "mode", "metric", "value"]


def default_models() -> list:
    """Fresh instances of every baseline and model, simplest first."""
    return [cls() for cls in BASELINES + MODELS]


def model_catalog() -> dict[str, type]:
    return {cls.model_id: cls for cls in BASELINES + MODELS}


def complexity_ranks() -> dict[str, int]:
    return {cls.model_id: cls.complexity for cls in BASELINES + MODELS}


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


def run_backtest_frames(tables: dict[str, pd.DataFrame], *, models=None, test_elections=TEST_ELECTIONS,
                        panel: Panel | None = None) -> BacktestResult:
    """Fit, predict and score every model on every test election the warehouse holds, both modes."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    panel = panel if panel is not None else build_panel(tables)
    assert_no_leakage(panel)
    factories = models if models is not None else [type(m) for m in default_models()]
    catalog = [f() for f in factories]
    dates = panel.rows.groupby("election_id")["election_date"].first()
    preds, metrics, windows, params = [], [], {}, {}
    with threadpool_limits(limits=1):  # small matrices: BLAS/OpenMP threads only add contention
        for eid in test_elections:
            if eid not in dates.index:
                log.warning("test election %s is not in the warehouse: skipped", eid)
                continue
            train_ids = training_elections(panel, dates[eid])
            if not train_ids:
                log.warning("test election %s has no earlier election to train on: skipped", eid)
                continue
            windows[eid] = train_ids
            ptr, pte = panel.for_elections(train_ids), panel.for_elections([eid])
            for factory in factories:
                model = factory().fit(ptr)
                params[(model.model_id, eid)] = model.params()
                calibrator = IntervalCalibrator().fit(ptr, model.oof_predict(ptr))
                for mode in MODES:
                    pred = model.predict(pte, pte.departement_inputs(mode))
                    low, high = calibrator.intervals(pte, pred, mode=mode,
                                                     departement_sensitive=model.departement_sensitive)
                    actual = pte.y[pte.targets]
                    preds.append(_long(pred, low, high, actual, pte.rows, model.model_id, eid, mode, pte.targets))
                    for name, value in election_metrics(pred, actual, pte.rows, list(pte.blocs), low, high).items():
                        metrics.append((model.model_id, eid, mode, name, value))
            log.info("backtest %s: trained on %s", eid, ", ".join(train_ids))
    if not windows:
        raise ElectioError("no test election to backtest: the warehouse holds none of "
                           f"{', '.join(test_elections)} with earlier first rounds")
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
                          windows=windows, params=params, seconds=round(time.perf_counter() - t0, 1))


def backtest_tables(tables: dict[str, pd.DataFrame], **kwargs) -> dict[str, pd.DataFrame]:
    """Stage function: ``dim_model``, ``fact_backtest``, ``fact_model_metric`` from warehouse tables."""
    return run_backtest_frames(tables, **kwargs).tables()


def metrics_table(fact_model_metric: pd.DataFrame, metrics=("wmae", "first_bloc_accuracy", "coverage_80",
                                                             "width_80")) -> pd.DataFrame:
    """Wide table model x election x mode -> the given metrics (for docs and the CLI summary)."""
    m = fact_model_metric[fact_model_metric["metric"].isin(metrics)]
    wide = m.pivot_table(index=["mode", "model_id", "election_id"], columns="metric", values="value")
    return wide.reindex(columns=list(metrics))


def target_summary(fact_model_metric: pd.DataFrame, chosen: str) -> pd.DataFrame:
    """The issue's targets for ``chosen``: value reached, threshold, reached or not."""
    m = fact_model_metric
    mean = lambda model, mode, metric: float(m[(m["model_id"] == model) & (m["mode"] == mode)  # noqa: E731
                                               & (m["metric"] == metric)]["value"].mean())
    cov = {(r.mode, r.election_id): r.value for r in m[(m["model_id"] == chosen)
                                                        & (m["metric"] == "coverage_80")].itertuples()}
    cond, uni = mean(chosen, "conditional", "wmae"), mean("uniform_swing", "conditional", "wmae")
    unc, pers = mean(chosen, "unconditional", "wmae"), mean("persistence_same_type", "unconditional", "wmae")
    fba, fba_p = (mean(chosen, "unconditional", "first_bloc_accuracy"),
                  mean("persistence_same_type", "unconditional", "first_bloc_accuracy"))
    rows = [
        ("conditional wmae (mean over test elections)", f"{cond:.2f}", "<= 2.00", cond <= 2.0),
        ("conditional wmae vs uniform swing", f"{100 * (cond / uni - 1):+.1f} % ({uni:.2f})", "<= -33 %",
         cond <= 0.67 * uni),
        ("unconditional wmae vs persistence (same type)", f"{100 * (unc / pers - 1):+.1f} % ({pers:.2f})",
         "<= -35 %", unc <= 0.65 * pers),
        ("unconditional first-bloc accuracy vs persistence", f"{fba - fba_p:+.1f} points ({fba:.1f} vs {fba_p:.1f})",
         ">= +10 points", fba - fba_p >= 10),
    ]
    for mode in MODES:
        vals = {e: cov[(md, e)] for md, e in sorted(cov, key=lambda k: TEST_ELECTIONS.index(k[1])
                                                    if k[1] in TEST_ELECTIONS else 99) if md == mode}
        inside = sum(75 <= v <= 85 for v in vals.values())
        rows.append((f"{mode} 80 % coverage per election", ", ".join(f"{e} {v:.1f}" for e, v in vals.items()),
                     "75-85 each", inside == len(vals)))
    return pd.DataFrame(rows, columns=["target", "measured", "threshold", "reached"])


def results_markdown(fact_model_metric: pd.DataFrame, dim_model: pd.DataFrame) -> str:
    """Markdown tables for docs/model.md: metrics per model x election x mode, means, targets."""
    metrics = ("wmae", "first_bloc_accuracy", "coverage_80", "width_80", "mae", "rmse", "turnout_mae")
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
    parts = ["### Means over the test elections\n", fmt(means), "\n### Every test election\n", fmt(wide)]
    if chosen is not None:
        parts += ["\n### Targets of the issue (chosen model: " + chosen + ")\n",
                  fmt(target_summary(fact_model_metric, chosen).astype({"reached": str}))]
    return "\n".join(parts) + "\n"
