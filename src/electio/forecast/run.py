"""Scenario forecasts: ``forecast_tables`` for the refresh, ``electio forecast`` on a built warehouse.

* :func:`forecast_tables` (in memory, for ``python -m electio.refresh``): warehouse tables +
  the trained model + scenarios -> ``dim_scenario``, ``fact_forecast``,
  ``fact_forecast_departement``. Nothing is written; ``fact_indicator`` is never touched
  (indicator projections live in a copy of the tables).
* :func:`run_forecast` (``electio forecast``): reads the warehouse and the saved model, computes
  the requested scenarios, replaces their rows in the warehouse (one transaction; other
  scenarios are kept unless ``replace_all``), writes the figures and the indicator
  projections (``reports/forecast_indicator_projections.csv``, a separate output).

Reproducible: a fixed seed, combined with each scenario's election type and hypothesis, seeds
its draws (:func:`scenario_seed`), so a scenario gives the same numbers whatever other
scenarios run with it, and the horizons of one hypothesis share their random numbers.
"""

from __future__ import annotations

import argparse
import contextvars
import logging
import os
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import inspect
from threadpoolctl import threadpool_limits

from electio.cache import memo
from electio.command import add_common_arguments, run_command, settings_from_args
from electio.eda.figures import fr_number
from electio.errors import ElectioError
from electio.forecast.figures import write_forecast_figures
from electio.forecast.horizons import HORIZON_COLUMNS, horizon_table
from electio.forecast.horizons import lead_errors as measure_lead_errors
from electio.forecast.projection import IndicatorProjection, indicators_used, project_indicators, with_projection
from electio.forecast.scenarios import (
    SWINGS,
    Scenario,
    build_scenarios,
    calendar_elections,
    default_scenarios,
    fold,
    parse_election_key,
    read_custom_file,
)
from electio.forecast.simulate import (
    LEVEL,
    N_DEPARTEMENT,
    N_REP,
    N_SWING,
    History,
    SwingDistribution,
    departement_history,
    simulate,
    summarise,
    swing_distribution,
)
from electio.model.panel import assert_no_leakage, bloc_codes, build_panel, first_rounds, population_indicator
from electio.model.run import models_dir
from electio.model.train import load_model
from electio.settings import project_file
from electio.warehouse.load import make_engine, replace_tables, sqlite_path
from electio.warehouse.read import read_tables
from electio.warehouse.schema import BASE, FORECAST, GEOMETRY, NATIONAL

log = logging.getLogger("electio.forecast")

DEFAULT_SEED = 20270411

#: The warehouse tables a forecast reads: the panel's, the national results (national-conditional
#: rule), the chosen model's row and the politics reference (a national file given per list or
#: candidate). Not the context or backtest rows, by far the largest tables.
FORECAST_READS = BASE + NATIONAL + ("dim_model", "dim_nuance")

FORECAST_TABLES = ("dim_scenario", "fact_forecast", "fact_forecast_departement")
DIM_SCENARIO_COLUMNS = ["scenario_id", "label_fr", "reference_year", "horizon_years", "target_year", "election_type",
                        "swing", "description"]
FACT_COLUMNS = ["scenario_id", "commune_code", "target", "predicted", "interval_low", "interval_high",
                "probability_first"]
DEPT_COLUMNS = ["scenario_id", "target", "predicted", "interval_low", "interval_high", "probability_first"]
#: Scenarios simulated at once (threads, as the backtest's test elections).
WORKERS = min(2, os.cpu_count() or 1)
PROJECTIONS_FILE = "forecast_indicator_projections.csv"
DESCRIPTION_MAX = 2000
#: Custom scenario files kept as inputs under <data>/: every refresh replays them.
SCENARIOS_DIR = "scenarios"


@dataclass
class ForecastResult:
    dim_scenario: pd.DataFrame
    fact_forecast: pd.DataFrame
    fact_forecast_departement: pd.DataFrame
    projections: dict = field(default_factory=dict)   # election date -> IndicatorProjection
    swings: dict = field(default_factory=dict)        # scenario_id -> SwingDistribution
    seconds: float = 0.0
    fact_horizon_error: pd.DataFrame | None = None    # error growth with the lead (every scenario run)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"dim_scenario": self.dim_scenario, "fact_forecast": self.fact_forecast,
               "fact_forecast_departement": self.fact_forecast_departement}
        if self.fact_horizon_error is not None:
            out["fact_horizon_error"] = self.fact_horizon_error
        return out

    def projections_frame(self) -> pd.DataFrame:
        """Projected indicator values of every scenario date (long format, with their sd)."""
        frames = []
        for date, proj in sorted(self.projections.items()):
            if proj.rows.empty:
                continue
            sd = proj.sd.stack().rename("sd").reset_index()
            sd.columns = ["commune_code", "indicator_code", "sd"]
            rows = proj.rows.merge(sd, on=["commune_code", "indicator_code"], how="left")
            rows["scale"] = rows["indicator_code"].map(proj.scale)
            rows.insert(0, "election_date", pd.Timestamp(date).date())
            frames.append(rows)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def scenario_seed(seed: int, scenario: Scenario) -> np.random.Generator:
    """Random stream of a scenario: the seed and (election type, hypothesis), not the horizon.

    The three horizons of a hypothesis share their random numbers ("common random numbers"):
    differences between horizons are then the method's, not simulation noise, and a scenario
    gives the same numbers whatever other scenarios are run with it."""
    key = f"{scenario.election_type}:{scenario.swing}"
    return np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])


def _fr(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def describe(scenario: Scenario, swing: SwingDistribution, projection: IndicatorProjection, *, model_id: str,
             n_swing: int, n_rep: int, seed: int, blocs: list[str], median: pd.Series | None = None) -> str:
    """French description stored in dim_scenario (what was assumed, from which data). The values
    quoted are ``median`` (the département medians stored in fact_forecast_departement) when given."""
    d = swing.details
    values = median if median is not None else swing.center
    center = ", ".join(f"{b} {_fr(values[b])}" for b in blocs)
    turnout = _fr(values["turnout"])
    if scenario.swing == "status_quo":
        hyp = (f"Statu quo : totaux départementaux = moyenne du dernier 1er tour du même type et du dernier "
               f"1er tour ({', '.join(d['elections_used'])}), participation du dernier scrutin du même type. "
               f"Incertitude : erreurs passées de cette règle à la même avance ({_fr(d['lead_years'])} ans depuis "
               f"le dernier scrutin ; classe d'avance {d['lead_bucket']} ans, {d['n_errors']} erreurs "
               f"mesurées, loi de Student).")
    elif scenario.swing == "national":
        nat = ", ".join(f"{b} {_fr(d['national'][b])}" for b in blocs)
        hyp = (f"Intentions de vote nationales (fichier {Path(scenario.custom_source).name}) : {nat}. "
               f"Écart du département au national appris sur les départements et scrutins passés "
               f"({d['n_errors']} erreurs de cette règle pour l'incertitude).")
    elif scenario.swing == "trend":
        hyp = (f"Tendance : droite pondérée (demi-vie {d['half_life_years']:g} ans) sur log(part + 1) des "
               f"{d['n_elections']} premiers tours, effet du type d'élection, pente amortie (x "
               f"{_fr(d['damping_per_year'], 2)} par an) au-delà du dernier scrutin (avance {_fr(d['lead_years'])} ans, "
               f"{_fr(d['damped_lead_years'])} ans de pente effective). Incertitude : erreur de prévision de la "
               f"régression (Student, {d['df']} ddl), croissante avec l'horizon, facteur de calibration sur les "
               f"erreurs passées {_fr(d['calibration_factor'], 2)}. Participation : valeur centrale du statu quo, "
               f"incertitude d'après les erreurs passées de cette règle, tous horizons confondus.")
    else:
        src = Path(scenario.custom_source).name if scenario.custom_source else "fichier"
        hyp = (f"Hypothèse de l'analyste (fichier {src}) : parts départementales fournies"
               + ("" if d.get("turnout_given") else ", participation du dernier scrutin du même type")
               + (" ; prises comme exactes (seule l'erreur communale est simulée)." if d.get("fixed") else
                  " ; incertitude des erreurs passées de la règle du statu quo."))
    projected = [f"{r.indicator_code} {int(r.latest_year)}->{int(r.projected_year)}"
                 for r in projection.summary.itertuples() if pd.notna(r.projected_year)] \
        if not projection.summary.empty else []
    ind = ("Indicateurs projetés (en mémoire, jamais dans fact_indicator) : " + ", ".join(projected) + "."
           if projected else "Indicateurs : derniers millésimes publiés, sans projection.")
    kind = " (date hypothétique : ce type de scrutin n'a pas de date fixe)" if scenario.hypothetical else ""
    text = (f"{hyp} Médianes départementales : {center} ; participation {turnout} (% ; blocs en % des exprimés). "
            f"Date nominale du scrutin {scenario.election_date.isoformat()}{kind}. Modèle {model_id} ; "
            f"{n_swing * n_rep} tirages ({n_swing} swings départementaux x {n_rep} erreurs communales), "
            f"valeurs du département résumées sur {fr_number(N_DEPARTEMENT, 0)} tirages de l'hypothèse, "
            f"graine {seed}, intervalle {int(LEVEL * 100)} %. {ind}")
    return text if len(text) <= DESCRIPTION_MAX else text[:DESCRIPTION_MAX - 1] + "…"


def _future_panel(tables, scenario: Scenario, codes: list[str]):
    date = pd.Timestamp(scenario.election_date)
    projection = project_indicators(tables, date, codes)
    target = pd.DataFrame([{"election_id": f"{scenario.election_type}_{date.date()}",
                            "election_type": scenario.election_type, "election_date": date}])
    panel = build_panel(with_projection(tables, projection), targets=target, indicator_cutoff=date)
    assert_no_leakage(panel)
    return panel, projection


def run_scenarios(tables: dict[str, pd.DataFrame], trained, scenarios: list[Scenario] | None = None, *,
                  seed: int = DEFAULT_SEED, n_swing: int = N_SWING, n_rep: int = N_REP) -> ForecastResult:
    """Every scenario's forecasts and the material behind them (projections, swing distributions).

    Scenarios are simulated two at a time (threads: LightGBM and numpy release the GIL), their
    predictions in a shared pool of two threads; each scenario has its own seed, so the order
    changes nothing."""
    t0 = time.perf_counter()
    history: History = departement_history(tables)
    if history.elections.empty:
        raise ElectioError("no first round with results in the warehouse: nothing to forecast from")
    last = history.elections["election_date"].max()
    scenarios = list(scenarios) if scenarios is not None else default_scenarios(last.year)
    if not scenarios:
        raise ElectioError("no scenario to forecast")

    all_leads = memo("lead_errors", (), lambda: measure_lead_errors(tables))  # the archive's, not the scenarios'
    lead_errors = all_leads[all_leads["rule"] == "status_quo"]
    horizon = horizon_table(all_leads)
    horizon = horizon.reindex(columns=HORIZON_COLUMNS) if not horizon.empty else pd.DataFrame(columns=HORIZON_COLUMNS)
    for s in scenarios:
        if pd.Timestamp(s.election_date) <= last:
            raise ElectioError(f"scenario {s.scenario_id}: nominal date {s.election_date} is not after the last "
                               f"election in the warehouse ({last.date()}); raise the reference year")
    codes = indicators_used(trained.model, tables)
    pop_code = population_indicator(tables.get("dim_indicator"), tables.get("fact_indicator"))
    model_id = trained.metadata.get("model_id", type(trained.model).__name__)
    panels: dict = {}
    panel_lock = threading.Lock()  # one future panel per (date, type), built by the first scenario needing it
    dims, facts, depts, swings = [], [], [], {}
    def one(s: Scenario) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        key = pd.Timestamp(s.election_date), s.election_type
        with panel_lock:
            if key not in panels:
                panels[key] = _future_panel(tables, s, codes)
        panel, projection = panels[key]
        swing = swing_distribution(history, s, lead_errors=lead_errors, tables=tables)
        swings[s.scenario_id] = swing
        draws = simulate(panel, trained.model, trained.calibrator, swing, scenario_seed(seed, s),
                         n_swing=n_swing, n_rep=n_rep, projection=projection, pop_code=pop_code,
                         predict_pool=predict_pool)
        commune, dept = summarise(s.scenario_id, draws)
        median = dept.set_index("target")["predicted"]
        dim = {"scenario_id": s.scenario_id, "label_fr": s.label_fr, "reference_year": int(s.reference_year),
               "horizon_years": int(s.horizon), "target_year": int(s.target_year),
               "election_type": s.election_type, "swing": s.swing,
               "description": describe(s, swing, projection, model_id=model_id, n_swing=n_swing, n_rep=n_rep,
                                       seed=seed, blocs=history.blocs, median=median)}
        log.info("forecast %s: %d communes, %d draws", s.scenario_id, len(draws.communes), draws.shares.shape[0])
        return commune, dept, dim

    def cached(s: Scenario):
        # Each scenario's draws depend on it alone (own seed): in a cached refresh an unchanged
        # scenario is reused (electio.cache.memo), so a new custom file costs its own scenarios.
        return memo("scenario", (repr(s), s.scenario_id, seed, n_swing, n_rep), lambda: one(s))

    # each task in its own copy of the caller's context: memo finds the stage's cache there. The
    # predictions go to a second pool of the same size: with three scenarios on two threads, the
    # third, simulated alone, still predicts on both cores (its other work stays on one).
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=WORKERS) as pool, \
            ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="predict") as predict_pool:
        done = [pool.submit(contextvars.copy_context().run, cached, s) for s in scenarios]
        results = [f.result() for f in done]
    for commune, dept, dim in results:
        facts.append(commune)
        depts.append(dept)
        dims.append(dim)
    fact = _round(pd.concat(facts, ignore_index=True)[FACT_COLUMNS])
    dept = _round(pd.concat(depts, ignore_index=True)[DEPT_COLUMNS])
    projections = {k[0]: v[1] for k, v in sorted(panels.items())}  # built in any order
    return ForecastResult(pd.DataFrame(dims, columns=DIM_SCENARIO_COLUMNS), fact, dept, projections, swings,
                          seconds=round(time.perf_counter() - t0, 1), fact_horizon_error=horizon.round(4))


def _round(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("predicted", "interval_low", "interval_high"):
        out[col] = out[col].astype(float).round(4)
    out["probability_first"] = out["probability_first"].astype(float).round(6)
    return out


def forecast_tables(tables: dict[str, pd.DataFrame], trained, scenarios: list[Scenario] | None = None, *,
                    seed: int = DEFAULT_SEED, n_swing: int = N_SWING, n_rep: int = N_REP) -> dict[str, pd.DataFrame]:
    """dim_scenario, fact_forecast and fact_forecast_departement for ``scenarios`` (default: the
    presidential first round x {status quo, trend} x h in {1, 2, 3} after the current year)."""
    return run_scenarios(tables, trained, scenarios, seed=seed, n_swing=n_swing, n_rep=n_rep).tables()


def departement_table(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Readable département table: one row per scenario x target (expected, 80 % interval, P(first))."""
    dim = tables["dim_scenario"].set_index("scenario_id")
    dep = tables["fact_forecast_departement"].copy()
    dep["horizon"] = dep["scenario_id"].map(dim["horizon_years"])
    dep["year"] = dep["scenario_id"].map(dim["target_year"])
    dep["swing"] = dep["scenario_id"].map(dim["swing"])
    return dep[["scenario_id", "swing", "horizon", "year", "target", "predicted", "interval_low", "interval_high",
                "probability_first"]]


def merge_forecasts(existing: dict[str, pd.DataFrame], new: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Existing rows of other scenarios, plus the new scenarios' rows (same ids replaced)."""
    ids = set(new["dim_scenario"]["scenario_id"])
    out = {k: v for k, v in new.items() if k not in FORECAST_TABLES}  # fact_horizon_error: replaced whole
    for name in FORECAST_TABLES:
        old = existing.get(name)
        keep = old[~old["scenario_id"].isin(ids)] if old is not None and not old.empty else None
        out[name] = pd.concat([keep, new[name]], ignore_index=True) if keep is not None and len(keep) else new[name]
    return out


def run_forecast(settings, *, scenarios: list[Scenario] | None = None, seed: int = DEFAULT_SEED,
                 n_swing: int = N_SWING, n_rep: int = N_REP, figures: bool = True, communes: list[str] | None = None,
                 heatmap_bloc: str | None = None, replace_all: bool = False) -> dict:
    """``electio forecast``: compute, store (one transaction), draw. Returns a summary."""
    t0 = time.perf_counter()
    # the stored scenarios (kept beside the new ones) and the boundaries (maps) too
    tables = read_tables(settings.db_url, FORECAST_READS + FORECAST + GEOMETRY)
    trained = load_model(models_dir(settings))
    _check_model_matches(trained, tables)
    if callable(scenarios):  # built from the warehouse's last election year

        scenarios = scenarios(int(first_rounds(tables)["election_date"].max().year))
    result = run_scenarios(tables, trained, scenarios, seed=seed, n_swing=n_swing, n_rep=n_rep)
    new = result.tables()
    stored = new if replace_all else merge_forecasts(tables, new)
    replace_tables(settings.db_url, stored)
    tables.update(stored)
    reports = Path(settings.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    proj = result.projections_frame()
    proj_path = reports / PROJECTIONS_FILE
    proj.to_csv(proj_path, index=False, encoding="utf-8")
    files = []
    if figures:
        files = write_forecast_figures(tables, settings, communes=communes, heatmap_bloc=heatmap_bloc,
                                       scenario_ids=list(new["dim_scenario"]["scenario_id"]))
    return {"scenarios": list(new["dim_scenario"]["scenario_id"]), "rows_fact_forecast": len(new["fact_forecast"]),
            "departement": departement_table({**tables, **new}), "figures": [str(f) for f in files],
            "projections": str(proj_path), "seconds": round(time.perf_counter() - t0, 1)}


def _check_model_matches(trained, tables: dict[str, pd.DataFrame]) -> None:
    """Warn when the saved model was not trained on the warehouse's latest election."""
    seen = trained.metadata.get("training_elections") or []
    latest = first_rounds(tables)["election_id"].iloc[-1] if "fact_turnout" in tables else None
    if latest and seen and latest not in seen:
        log.warning("the saved model was trained without %s (the warehouse's latest first round): "
                    "run `electio train` first", latest)


def format_summary(summary: dict) -> str:
    dep = summary["departement"].copy()
    dep["P(1er)"] = dep["probability_first"].map(lambda p: "" if pd.isna(p) else f"{100 * p:.0f} %")
    dep["médiane"] = dep["predicted"].round(1)
    dep["intervalle 80 %"] = [f"[{lo:.1f} ; {hi:.1f}]" for lo, hi in zip(dep["interval_low"], dep["interval_high"])]
    lines = [f"forecast: {len(summary['scenarios'])} scenarios, {summary['rows_fact_forecast']} rows in "
             f"fact_forecast, {summary['seconds']} s",
             dep[["scenario_id", "target", "médiane", "intervalle 80 %", "P(1er)"]].to_string(index=False),
             f"indicator projections: {summary['projections']}"]
    if summary["figures"]:
        lines.append(f"figures ({len(summary['figures'])}): " + ", ".join(Path(f).name for f in summary["figures"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``electio forecast`` (``python -m electio.forecast.run``)."""
    parser = argparse.ArgumentParser(
        prog="electio forecast",
        description="1, 2 and 3-year scenario forecasts per commune (dim_scenario, fact_forecast, "
                    "fact_forecast_departement) and their figures. Method: docs/scenarios.md.")
    parser.add_argument("--elections", nargs="+", metavar="TYPE_YEAR",
                        help="elections to forecast, e.g. pres_2027 leg_2027 euro_2029 (default: the real calendar "
                             "within 3 years of the last election, plus the next European election; a legislative "
                             "year is always a hypothesis)")
    parser.add_argument("--swing", nargs="+", default=None, choices=SWINGS[:3],
                        help="swing hypotheses (default: status_quo; trend is an option, it lost to status quo in "
                             "the backtest; custom and national are added by their files)")
    parser.add_argument("--custom", metavar="FILE", help="CSV of département bloc shares (bloc_code,share"
                        "[,horizon]); see data/reference/scenario_custom_example.csv")
    parser.add_argument("--national", metavar="FILE", help="CSV of NATIONAL vote intentions per bloc (bloc_code,share;"
                        " or a list/candidate label of the politics reference instead of a bloc code) -> département"
                        " and communes through the national-conditional model; see "
                        "data/reference/scenario_national_example.csv")
    parser.add_argument("--custom-fixed", action="store_true",
                        help="take the custom totals as exact (only the commune-level error is simulated)")
    parser.add_argument("--check", action="store_true", help="only validate the --custom / --national file, then stop")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--draws", type=int, default=N_SWING,
                        help=f"département swing draws per scenario (x {N_REP} commune draws; default {N_SWING})")
    parser.add_argument("--communes", nargs="+", help="commune codes for the time-curve figures")
    parser.add_argument("--bloc", help="bloc of the commune x horizon heatmap (default: the leading bloc)")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument("--replace-all", action="store_true",
                        help="drop every stored scenario not computed by this run (default: keep them)")
    parser.add_argument("--keep", action="store_true",
                        help="store the --custom / --national file in <data>/scenarios/ so that every refresh "
                             "replays it (without it the scenario is one-off: the next refresh drops it)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    settings = settings_from_args(args)
    if args.check and not (args.custom or args.national):
        parser.error("--check needs --custom FILE or --national FILE")
    return run_command("forecast", lambda: _forecast(settings, args), verbose=args.verbose)


#: A stored file with this ending holds national vote intentions (replayed through the national-conditional
#: rule), not département totals.
NATIONAL_SUFFIX = ".national.csv"


def store_national(path: str | Path, settings) -> Path:
    """Copy a validated national-intentions file into ``<data>/scenarios/`` as ``<name>.national.csv``."""
    folder = Path(settings.data_dir) / SCENARIOS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(path).stem + NATIONAL_SUFFIX)
    target.write_bytes(Path(path).read_bytes())
    return target


def store_custom(path: str | Path, settings, *, fixed: bool) -> Path:
    """Copy a validated custom file into ``<data>/scenarios/`` (replayed by every refresh)."""
    folder = Path(settings.data_dir) / SCENARIOS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(path).stem + (".fixed.csv" if fixed else ".csv"))
    (folder / (Path(path).stem + (".csv" if fixed else ".fixed.csv"))).unlink(missing_ok=True)
    target.write_bytes(Path(path).read_bytes())
    return target


def _forecast(settings, args) -> int:
    blocs = warehouse_blocs(settings) if (args.custom or args.national) else None
    custom = read_custom_file(args.custom, blocs) if args.custom else None
    national = read_custom_file(args.national, blocs, labels=warehouse_labels(settings)) if args.national else None
    if args.check:
        for f in (custom, national):
            if f is not None:
                print(f"{f.file}: valid")
        return 0
    swings = args.swing or ["status_quo"]
    wanted = list(args.elections) if args.elections else None

    def scenarios_for(last_year: int) -> list[Scenario]:
        elections = calendar_elections(last_year)
        if wanted:
            elections = [parse_election_key(k, last_year) for k in wanted]
        return build_scenarios(elections=elections, swings=swings, reference_year=last_year, custom=custom,
                               custom_fixed=args.custom_fixed, national=national)

    summary = run_forecast(settings, scenarios=scenarios_for, seed=args.seed, n_swing=args.draws,
                           figures=not args.no_figures, communes=args.communes, heatmap_bloc=args.bloc,
                           replace_all=args.replace_all)
    print(format_summary(summary))
    if args.custom and args.keep:
        print(f"custom file stored as {store_custom(args.custom, settings, fixed=args.custom_fixed)}: "
              "every refresh replays it (delete the file to stop)")
    elif args.custom:
        print("custom scenario is one-off: the next refresh recomputes the default scenarios and drops it "
              "(use --keep to have every refresh replay it)")
    if args.national and args.keep:
        print(f"national file stored as {store_national(args.national, settings)}: every refresh replays it "
              "(delete the file to stop)")
    elif args.national:
        print("national scenario is one-off: the next refresh drops it (use --keep to have every refresh replay it)")
    return 0


def warehouse_labels(settings) -> dict[str, str]:
    """Politics reference (dim_nuance): folded label or code -> bloc, for a --national file given per
    list or candidate. Empty without a warehouse."""
    try:
        tables = read_tables(settings.db_url, ["dim_nuance"])
    except Exception:  # noqa: BLE001 - no warehouse yet: bloc codes only
        return {}
    return nuance_labels(tables.get("dim_nuance"))


def nuance_labels(dim_nuance: pd.DataFrame | None) -> dict[str, str | None]:
    """Folded label / display name of every list, candidate or nuance -> its bloc (None when the
    reference gives it different blocs in different elections: ambiguous)."""
    if dim_nuance is None or dim_nuance.empty:
        return {}
    found: dict[str, set] = {}
    for col in [c for c in ("label", "display_name") if c in dim_nuance]:
        for key, bloc in zip(dim_nuance[col], dim_nuance["bloc_code"]):
            if isinstance(key, str) and key.strip() and isinstance(bloc, str):
                found.setdefault(fold(key), set()).add(bloc)
    return {k: (next(iter(v)) if len(v) == 1 else None) for k, v in found.items()}


def warehouse_blocs(settings) -> list[str]:
    """Bloc codes of the warehouse's dim_bloc (the reference list data/reference/blocs.csv when
    there is no warehouse yet), for validating a custom file."""
    path = sqlite_path(settings.db_url)
    if path is None or path.exists():
        engine = make_engine(settings.db_url)
        try:
            if "dim_bloc" in inspect(engine).get_table_names():
                with engine.connect() as conn:
                    dim = pd.read_sql_table("dim_bloc", conn)
                if not dim.empty:
                    return bloc_codes({"dim_bloc": dim})
        finally:
            engine.dispose()
    return pd.read_csv(project_file("data/reference/blocs.csv")).sort_values("sort_order")["bloc_code"].tolist()


if __name__ == "__main__":
    sys.exit(main())
