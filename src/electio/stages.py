"""The stage contract and its runner: what runs after the warehouse tables are built.

Each :class:`Stage` declares its name, the warehouse tables it reads and writes, the files
it produces (relative to the run's outputs folder) and a ``run(ctx)`` over in-memory
tables. Two ways to run them, one runner:

- ``python -m electio.refresh`` builds the tables, then :func:`run_stages` runs every stage in
  order, in memory, and the warehouse is loaded once (:mod:`electio.refresh`);
- ``electio <stage>`` runs one stage on a built warehouse (:func:`run_alone`): it reads the
  stage's input tables, runs, and replaces only the tables the stage writes.

A stage that cannot run on a perimeter (too few communes or elections for a model, a
hypothesis that needs more history...) raises :class:`StageSkipped` or an
:class:`ElectioError`; the runner records it as *skipped* with its reason and goes on, so
it never sinks the refresh. Stages that depend on it are skipped in turn, saying why.
Any other exception is a bug: it stops the run (and a refresh then changes nothing).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from electio.cache import cached_part, content_keys, file_digest
from electio.eda.answer import answer_question
from electio.eda.correlation import N_BOOT, compute_correlations, indicator_closeness, prepare_inputs
from electio.eda.figures import write_figures
from electio.eda.run import write_answer
from electio.errors import ElectioError, StageSkipped
from electio.export import export_tables
from electio.forecast.figures import write_forecast_figures
from electio.forecast.run import (DEFAULT_SEED, FORECAST_READS, NATIONAL_SUFFIX, SCENARIOS_DIR, forecast_tables,
                                 nuance_labels)
from electio.forecast.scenarios import build_scenarios, calendar_elections, default_scenarios, read_custom_file
from electio.memory import release_memory
from electio.model.backtest import run_backtest_frames
from electio.model.estimators import MODELS
from electio.model.importance import importance_tables
from electio.model.figures import backtest_figures
from electio.model.panel import bloc_codes, build_panel, first_rounds
from electio.model.run import figure_path, models_dir
from electio.model.train import load_model, save_model, train_final
from electio.powerbi import build_templates
from electio.report.build import PDF_FILE, SOURCES_FILE, build_report
from electio.settings import Settings
from electio.stage_run import StageRun
from electio.warehouse.load import replace_tables
from electio.warehouse.read import read_tables
from electio.warehouse.schema import BASE, CONTEXT, FORECAST, GEOMETRY, MODEL, NATIONAL

log = logging.getLogger("electio.stages")

#: Commune-level models need communes to learn from: below this the model stages are skipped.
MIN_COMMUNES_FOR_MODELS = 10
#: Above this many communes (all of France: ~35,000) the correlation bootstrap is skipped.
MAX_COMMUNES_FOR_CORRELATIONS = 5_000
#: Heartbeat of a long stage (issue: progress on every step over ~5 s).
PROGRESS_EVERY = 5.0


@dataclass
class Context:
    """What a stage sees: settings (where to write), the tables, options, and in-memory state."""

    settings: Settings
    tables: dict[str, pd.DataFrame]
    options: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)  # e.g. "trained" (model), "eda_inputs"


@dataclass
class Output:
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Stage:
    name: str
    help: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    files: tuple[str, ...]           # produced under the outputs folder (glob patterns)
    run: Callable[[Context], Output]
    after: tuple[str, ...] = ()      # stages whose result it needs: skipped if one of them is
    needs_warehouse: bool = False    # reads the loaded warehouse itself (exports, Power BI)
    extra_inputs: Callable[[Context], dict] | None = None  # inputs beyond its tables and options (cache key)
    # exports run last: their meta_stage_run.csv then lists every stage but the exports themselves


# --------------------------------------------------------------------------- stage functions

def _enough_communes(tables: dict[str, pd.DataFrame]) -> None:
    n = len(tables.get("dim_commune", ()))
    if n < MIN_COMMUNES_FOR_MODELS:
        raise StageSkipped(f"commune-level models need at least {MIN_COMMUNES_FOR_MODELS} communes; "
                           f"this perimeter has {n}")


def _correlations(ctx: Context) -> Output:
    t = ctx.tables
    n = len(t.get("dim_commune", ()))
    if n > MAX_COMMUNES_FOR_CORRELATIONS and ctx.options.get("n_boot") is None:
        raise StageSkipped(f"{n} communes: the bootstrap intervals ({N_BOOT} draws x {n} communes per indicator x "
                           "result pair) take tens of minutes on 2 cores; give n_boot explicitly to run it")
    inputs = prepare_inputs(t)
    corr = compute_correlations(t, inputs=inputs, **{k: ctx.options[k] for k in ("n_boot", "seed")
                                                     if ctx.options.get(k) is not None})
    answer = answer_question(corr, t.get("dim_indicator"), dim_election=t["dim_election"], dim_bloc=t["dim_bloc"],
                             transforms=inputs.transforms, closeness=indicator_closeness(inputs, t["dim_election"]))
    ctx.state["eda_inputs"] = inputs
    return Output({"fact_correlation": corr}, [write_answer(answer, ctx.settings.reports_dir)])


def _backtest(ctx: Context) -> Output:
    _enough_communes(ctx.tables)
    panel = build_panel(ctx.tables)  # one panel (with both indicator datings) for both analyses
    result = run_backtest_frames(ctx.tables, panel=panel, keep=tuple(m.model_id for m in MODELS))
    out = result.tables()
    # which indicator groups carry predictive weight, on the models the backtest fitted
    out.update(importance_tables(ctx.tables, panel=panel, fitted=result.fitted))
    chosen = out["dim_model"].loc[out["dim_model"]["is_chosen"] == 1, "model_id"]
    return Output(out, note=f"chosen model {chosen.iloc[0]}" if len(chosen) else "no model chosen")


def _train(ctx: Context) -> Output:
    _enough_communes(ctx.tables)
    dim = ctx.tables.get("dim_model")
    if ctx.options.get("model") is None and (dim is None or not (dim["is_chosen"] == 1).any()):
        raise StageSkipped("no model chosen by a backtest in the warehouse (run `electio backtest`)")
    trained = train_final(ctx.tables, ctx.options.get("model"))
    ctx.state["trained"] = trained
    return Output(note=f"{trained.metadata['model_id']} on {len(trained.metadata['training_elections'])} elections")


def stored_scenarios(settings: Settings) -> list[Path]:
    return sorted((Path(settings.data_dir) / SCENARIOS_DIR).glob("*.csv"))


def refresh_scenarios(settings: Settings, tables: dict[str, pd.DataFrame]) -> list:
    """The default scenarios plus every stored custom file (``<data>/scenarios/*.csv``;
    ``*.fixed.csv`` takes the analyst's totals as exact; ``*.national.csv`` holds national vote
    intentions, stored by ``electio forecast --national FILE --keep``)."""
    last = int(first_rounds(tables)["election_date"].max().year)  # the calendar counts from the last election
    scenarios = default_scenarios(last)
    for path in stored_scenarios(settings):
        if path.name.endswith(NATIONAL_SUFFIX):  # national intentions: through the national-conditional rule
            national = read_custom_file(path, bloc_codes(tables), labels=nuance_labels(tables.get("dim_nuance")))
            scenarios += build_scenarios(elections=calendar_elections(last), swings=(), reference_year=last,
                                         national=national)
            continue
        custom = read_custom_file(path, bloc_codes(tables))
        scenarios += build_scenarios(elections=calendar_elections(last), swings=(), reference_year=last, custom=custom,
                                     custom_fixed=path.name.endswith(".fixed.csv"))
    return scenarios


def _forecast_inputs(ctx: Context) -> dict:
    """The forecast's inputs beyond tables: the analyst's stored scenario files and the scenarios."""
    return {"files": {p.name: file_digest(p) for p in stored_scenarios(ctx.settings)},
            "scenarios": [repr(s) for s in refresh_scenarios(ctx.settings, ctx.tables)]}


def _forecast(ctx: Context) -> Output:
    trained = ctx.state.get("trained")
    if trained is None:
        path = models_dir(ctx.settings)
        if not path.exists():
            raise StageSkipped(f"no trained model in {path} (run `electio train`)")
        trained = load_model(path)
    scenarios = refresh_scenarios(ctx.settings, ctx.tables)
    out = forecast_tables(ctx.tables, trained, scenarios, seed=ctx.options.get("seed") or DEFAULT_SEED)
    return Output(out, note=f"{len(out['dim_scenario'])} scenarios")


def _figures(ctx: Context) -> Output:
    t, s = ctx.tables, ctx.settings
    if t.get("fact_correlation") is None or t["fact_correlation"].empty:
        raise StageSkipped("no correlations in the warehouse")
    # Three independent parts, each reused when its own tables are unchanged (electio.cache).
    files = cached_part(ctx, "eda_figures", BASE + GEOMETRY + ("fact_correlation",),
                        lambda t: write_figures(t, t["fact_correlation"], s, inputs=ctx.state.get("eda_inputs")))
    if not t.get("fact_model_metric", pd.DataFrame()).empty:
        files += cached_part(ctx, "backtest_figures", MODEL,
                             lambda t: backtest_figures(t["fact_model_metric"], t["dim_model"], figure_path(s)))
    if not t.get("fact_forecast", pd.DataFrame()).empty:
        files += cached_part(ctx, "forecast_figures", BASE + GEOMETRY + MODEL + FORECAST,
                             lambda t: write_forecast_figures(t, s))
    return Output(files=[Path(f) for f in files])


def _exports(ctx: Context) -> Output:
    # The warehouse was loaded from ctx.tables: their content keys say which extracts are unchanged.
    return Output(files=export_tables(ctx.settings.db_url, ctx.settings.exports_dir, keys=content_keys(ctx.tables)))


def _report(ctx: Context) -> Output:
    html = build_report(ctx.settings, tables=ctx.tables, pdf=bool(ctx.options.get("pdf")))
    return Output(files=[html, html.with_name(SOURCES_FILE), html.with_name(PDF_FILE)])


def _powerbi(ctx: Context) -> Output:
    # Not strict: a new schema column without a French name only warns here; CI builds strictly.
    return Output(files=build_templates(ctx.settings.powerbi_dir, ctx.settings, strict=False))


STAGES: tuple[Stage, ...] = (
    Stage("correlations", "indicator x result correlations per election, and the answer to the client's question",
          BASE, ("fact_correlation",), ("reports/eda_answer.json",), _correlations),
    Stage("backtest", "rolling-origin backtest of baselines and models; the selection rule picks one",
          BASE + NATIONAL + CONTEXT, MODEL + ("fact_feature_importance",), (), _backtest),
    Stage("train", "retrain the chosen model on every first round (saved in <data>/models)",
          BASE + NATIONAL + CONTEXT + MODEL, (), ("<data>/models/*",), _train, after=("backtest",)),
    Stage("forecast", "scenarios for the real upcoming elections (defaults + stored custom files) per commune "
          "and département, and the error growth with the lead",
          FORECAST_READS, FORECAST, (), _forecast, after=("train",),
          extra_inputs=_forecast_inputs),
    Stage("figures", "maps, histograms, heatmaps, backtest and forecast figures",
          BASE + GEOMETRY + ("fact_correlation",) + MODEL + FORECAST, (), ("reports/figures/*.png",), _figures),
    # reads=(): every table (cached on all of them but the refresh journal)
    Stage("report", "the client report (rapport.html and its traced values)",
          tuple(), (), ("reports/rapport.html", "reports/rapport_sources.json"), _report),
    Stage("powerbi", "Power BI templates for this warehouse (the committed powerbi/*.pbit are not touched)",
          ("dim_commune", "map_commune_code"), (),
          ("powerbi/*.pbit", "powerbi/communes.topo.json", "powerbi/Electio.pbip", "powerbi/Electio.*/**"), _powerbi,
          needs_warehouse=True),
    Stage("exports", "every table as CSV + one XLSX workbook + data dictionary",
          (), (), ("exports/*",), _exports, needs_warehouse=True),
)
BY_NAME = {s.name: s for s in STAGES}
#: Stages whose failure on a perimeter is a skip (their ElectioError says why).
SKIPPABLE = {"correlations", "backtest", "train", "forecast", "figures", "report"}


# --------------------------------------------------------------------------- runner

class _Heartbeat:
    """Logs "still running" every few seconds while a stage runs (long stages show progress)."""

    def __init__(self, name: str, every: float = PROGRESS_EVERY) -> None:
        self.name, self.every, self.stop = name, every, threading.Event()
        self.t0 = time.perf_counter()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.every):
            log.info("%s: still running (%.0f s)", self.name, time.perf_counter() - self.t0)

    def __enter__(self):
        log.info("%s: started", self.name)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def run_stage(stage: Stage, ctx: Context, done: dict[str, StageRun]) -> StageRun:
    """Run one stage on ``ctx`` (tables it writes go into ctx.tables); never raises a skip."""
    blocked = [a for a in stage.after if a in done and done[a].status != "done"]
    if blocked:
        return StageRun(stage.name, "skipped", f"needs {', '.join(blocked)}, which was skipped")
    t0 = time.perf_counter()
    try:
        with _Heartbeat(stage.name):
            out = stage.run(ctx)
        release_memory()  # the stage's temporaries: the next stage starts from the tables alone
    except StageSkipped as exc:
        result = StageRun(stage.name, "skipped", str(exc), time.perf_counter() - t0)
    except ElectioError as exc:
        if stage.name not in SKIPPABLE:
            raise
        result = StageRun(stage.name, "skipped", str(exc).splitlines()[0], time.perf_counter() - t0)
    else:
        unexpected = set(out.tables) - set(stage.writes)
        if unexpected:
            raise ElectioError(f"stage {stage.name} wrote {sorted(unexpected)}, which it does not declare")
        ctx.tables.update(out.tables)
        return StageRun(stage.name, "done", out.note, time.perf_counter() - t0,
                        sum(len(f) for f in out.tables.values()), out.files)
    log.warning("%s skipped: %s", stage.name, result.reason)
    return result


def run_stages(ctx: Context, names: list[str], *, not_requested: dict[str, str] | None = None) -> list[StageRun]:
    """Run ``names`` in contract order; ``not_requested`` maps a stage to why it is left out."""
    runs: dict[str, StageRun] = {}
    for stage in STAGES:
        if stage.name in (not_requested or {}):
            runs[stage.name] = StageRun(stage.name, "skipped", not_requested[stage.name])
        elif stage.name in names:
            runs[stage.name] = run_stage(stage, ctx, runs)
    return [runs[s.name] for s in STAGES if s.name in runs]


def run_alone(name: str, settings: Settings, options: dict | None = None) -> StageRun:
    """``electio <stage>``: read the stage's inputs from the warehouse, run it, replace only its tables."""
    stage = BY_NAME[name]
    # reads=() means every table, except for stages that read the warehouse themselves.
    tables = read_tables(settings.db_url, stage.reads or None) if stage.reads or not stage.needs_warehouse else {}
    if stage.reads and tables.get("dim_election", pd.DataFrame()).empty:
        raise ElectioError("the warehouse has no election: run `python -m electio.refresh` first")
    ctx = Context(settings, tables, options or {})
    result = run_stage(stage, ctx, {})
    if result.status == "done":
        written = {t: ctx.tables[t] for t in stage.writes if t in ctx.tables}
        if written:
            replace_tables(settings.db_url, written)
        if "trained" in ctx.state:
            save_model(ctx.state["trained"], models_dir(settings))
    return result
