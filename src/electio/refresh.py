"""Main job: ``python -m electio.refresh`` — sources -> warehouse -> exports.

Orchestration only: each step is a function of its own module and can be run
alone from the ``electio`` command. Later steps (models, forecasts, report) plug
in here as they land.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from pathlib import Path
from datetime import datetime, timezone

import pandas as pd

from electio import __version__
from electio.eda.answer import answer_question
from electio.eda.correlation import compute_correlations, prepare_inputs
from electio.eda.figures import write_figures
from electio.eda.run import write_answer
from electio.errors import ElectioError
from electio.forecast.figures import write_forecast_figures
from electio.forecast.run import DEFAULT_SEED, forecast_tables
from electio.forecast.scenarios import default_scenarios
from electio.model.backtest import backtest_tables
from electio.model.figures import backtest_figure
from electio.model.run import figure_path, models_dir
from electio.model.train import save_model, train_final
from electio.export import export_tables
from electio.pipeline import build_tables
from electio.powerbi import build_templates
from electio.report.build import build_report
from electio.settings import PROJECT_ROOT, Settings
from electio.warehouse.load import read_history, sqlite_path, write_warehouse
from electio.warehouse.lock import check_writable, refresh_lock, remove_stale_temporaries
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio.refresh")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--departement", help="perimeter: département code (default 69, env ELECTIO_DEPARTEMENT)")
    parser.add_argument("--db", dest="db_url", help="SQLAlchemy URL of the warehouse "
                        "(default sqlite:///data/electio.sqlite, env ELECTIO_DB_URL)")
    parser.add_argument("--mirror", help="folder laid out as <source_id>/<file> to read sources from "
                        "(env ELECTIO_MIRROR); without it, missing sources are downloaded")
    parser.add_argument("--offline", action="store_true", help="never download; fail if a source is missing")


def settings_from_args(args: argparse.Namespace) -> Settings:


    return Settings.from_env(departement=args.departement, db_url=args.db_url,
                             mirror=Path(args.mirror).expanduser() if args.mirror else None,
                             allow_download=False if args.offline else None)


def write_eda_outputs(tables: dict, inputs, settings: Settings) -> list:
    """The client's question answered in reports/eda_answer.json, and the EDA figures."""
    corr = tables["fact_correlation"]
    answer = answer_question(corr, tables.get("dim_indicator"), dim_election=tables["dim_election"],
                             dim_bloc=tables["dim_bloc"], transforms=inputs.transforms)
    return [write_answer(answer, settings.reports_dir)] + write_figures(tables, corr, settings, inputs=inputs)


def run_refresh(settings: Settings, *, export: bool = True, figures: bool = False, models: bool = False,
                powerbi_dir: Path | None = None, report: bool = False) -> dict:
    """Build the warehouse and the exports; return the summary figures.

    Serialised by a lock in the data folder; output folders are checked before
    any work so that a read-only or full disk fails at once, naming the folder.
    The command line runs everything (models and figures included); callers in
    code opt in to the slow stages.
    """
    db_path = sqlite_path(settings.db_url)
    folders = ([settings.data_dir] + ([db_path.parent] if db_path else []) + ([settings.exports_dir] if export else [])
               + ([settings.reports_dir] if figures else []))
    check_writable(*folders)
    with refresh_lock(settings.data_dir):
        if db_path is not None:
            for stale in remove_stale_temporaries(db_path):
                log.warning("removed %s left by an interrupted refresh", stale)
        return _run_refresh(settings, export=export, figures=figures, models=models, powerbi_dir=powerbi_dir,
                            report=report)


def _run_refresh(settings: Settings, *, export: bool, figures: bool, models: bool,
                 powerbi_dir: Path | None, report: bool) -> dict:
    started = datetime.now(timezone.utc).replace(microsecond=0)
    t0 = time.perf_counter()
    log.info("refresh of département %s into %s", settings.departement, mask_secrets(settings.db_url))
    tables, lineage, build = build_tables(settings)
    seconds = dict(lineage.seconds)
    clock = time.perf_counter()
    eda_inputs = prepare_inputs(tables)
    tables["fact_correlation"] = compute_correlations(tables, inputs=eda_inputs)
    seconds["correlations"] = time.perf_counter() - clock
    trained = None
    if models:
        clock = time.perf_counter()
        tables.update(backtest_tables(tables))
        seconds["backtest"] = time.perf_counter() - clock
        clock = time.perf_counter()
        trained = train_final(tables)
        seconds["train"] = time.perf_counter() - clock
        clock = time.perf_counter()
        tables.update(forecast_tables(tables, trained, default_scenarios(), seed=DEFAULT_SEED))
        seconds["forecast"] = time.perf_counter() - clock
        chosen = tables["dim_model"].loc[tables["dim_model"]["is_chosen"] == 1, "model_id"]
        summary_models = {"chosen_model": chosen.iloc[0] if len(chosen) else None}
    checks = tables["meta_quality_check"]
    failed = checks[checks["status"] == "fail"]
    summary = {
        "departement": settings.departement,
        "elections_loaded": len(tables["dim_election"]),
        "elections_missing": build.missing,
        "communes": len(tables["dim_commune"]),
        "fact_turnout_rows": len(tables["fact_turnout"]),
        "fact_election_result_rows": len(tables["fact_election_result"]),
        "rows_rejected": int(tables["meta_source"]["rows_rejected"].sum()),
        "checks": checks["status"].value_counts().to_dict(),
        "failed_checks": [f"{r.check_name} {r.election_id}: {r.detail}" for r in failed.itertuples()],
    }
    history = read_history(settings.db_url).get("meta_refresh", pd.DataFrame())
    finished = datetime.now(timezone.utc).replace(microsecond=0)
    row = pd.DataFrame([{
        "refresh_id": f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", "started_at": started.replace(tzinfo=None),
        "finished_at": finished.replace(tzinfo=None), "status": "ok" if failed.empty else "checks_failed",
        "departement": settings.departement, "electio_version": __version__,
        "elections_loaded": summary["elections_loaded"], "communes_loaded": summary["communes"],
        "checks_failed": len(failed),
        "summary": f"{summary['elections_loaded']} elections, {summary['fact_turnout_rows']} turnout rows, "
                   f"{summary['rows_rejected']} rows rejected, checks {summary['checks']}"}])
    tables["meta_refresh"] = pd.concat([history, row], ignore_index=True) if not history.empty else row
    clock = time.perf_counter()
    write_warehouse(settings.db_url, tables)
    seconds["load"] = time.perf_counter() - clock
    if trained is not None:
        save_model(trained, models_dir(settings))
        summary.update(summary_models)
    if export:
        clock = time.perf_counter()
        files = export_tables(settings.db_url, settings.exports_dir)
        seconds["exports"] = time.perf_counter() - clock
        summary["exports"] = len(files)
    if figures:
        clock = time.perf_counter()
        files = write_eda_outputs(tables, eda_inputs, settings)
        if models:
            files.append(backtest_figure(tables["fact_model_metric"], tables["dim_model"], figure_path(settings)))
            files += write_forecast_figures(tables, settings)
        summary["figures"] = len(files)
        seconds["eda_figures"] = time.perf_counter() - clock
    if powerbi_dir is not None:
        clock = time.perf_counter()
        # Not strict: a new schema column without a French name only warns here; CI builds strictly.
        summary["powerbi"] = [p.name for p in build_templates(powerbi_dir, settings, strict=False)]
        seconds["powerbi"] = time.perf_counter() - clock
    if report:
        clock = time.perf_counter()
        try:
            summary["report"] = str(build_report(settings))
        except Exception as exc:  # the warehouse is written and valid: report the failure, keep going
            log.error("report not written (warehouse and exports are up to date): %s", mask_secrets(exc))
        seconds["report"] = time.perf_counter() - clock
    summary["stage_seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary


def peak_memory_mb() -> int | None:
    """Peak resident memory of this process (Linux/macOS; None elsewhere)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10))


def print_summary(summary: dict, settings: Settings) -> None:
    lines = [
        f"electio refresh - département {summary['departement']}",
        f"  warehouse : {mask_secrets(settings.db_url)}",
        f"  elections : {summary['elections_loaded']} loaded"
        + (f", missing for this perimeter: {', '.join(summary['elections_missing'])}" if summary["elections_missing"] else ""),
        f"  communes  : {summary['communes']}; turnout rows {summary['fact_turnout_rows']}, "
        f"bloc result rows {summary['fact_election_result_rows']}",
        f"  rejected  : {summary['rows_rejected']} source rows (see meta_rejected_row)",
        f"  checks    : " + ", ".join(f"{k} {v}" for k, v in sorted(summary["checks"].items())),
    ]
    lines += [f"    FAILED {f}" for f in summary["failed_checks"]]
    if summary.get("chosen_model"):
        lines.append(f"  model     : {summary['chosen_model']} chosen by the backtest rule, saved in data/models/")
    if summary.get("report"):
        lines.append(f"  report    : {summary['report']}")
    if summary.get("powerbi"):
        lines.append(f"  power bi  : {', '.join(summary['powerbi'])} rebuilt in powerbi/")
    if "figures" in summary:
        lines.append(f"  figures   : {summary['figures']} files in {settings.reports_dir}")
    if "exports" in summary:
        lines.append(f"  exports   : {summary['exports']} files in {settings.exports_dir}")
    lines.append(f"  time      : {summary['seconds']} s ("
                 + ", ".join(f"{k} {v:.1f}" for k, v in summary.get("stage_seconds", {}).items())
                 + f"), peak memory (RSS) {summary.get('peak_mb', '?')} MB")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m electio.refresh", description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--no-export", action="store_true", help="skip the CSV/XLSX exports")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures (reports/figures)")
    parser.add_argument("--no-powerbi", action="store_true", help="do not rebuild powerbi/*.pbit")
    parser.add_argument("--no-report", action="store_true", help="do not write reports/rapport.html")
    parser.add_argument("--no-models", action="store_true",
                        help="skip backtests, training and forecasts (their tables are left empty)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_from_args(args)
    try:
        summary = run_refresh(settings, export=not args.no_export, figures=not args.no_figures,
                              models=not args.no_models,
                              powerbi_dir=None if args.no_powerbi else PROJECT_ROOT / "powerbi",
                              report=not args.no_report)
    except ElectioError as exc:
        log.error("refresh failed, previous warehouse and exports kept: %s", mask_secrets(exc))
        return 1
    summary["peak_mb"] = peak_memory_mb()
    print_summary(summary, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
