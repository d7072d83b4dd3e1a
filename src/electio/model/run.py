"""Entry points for ``electio backtest`` and ``electio train``: read the warehouse, compute,
write the model tables in one transaction, write the figure / the saved model."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import pandas as pd

from electio.command import add_common_arguments, run_command, settings_from_args
from electio.model.backtest import metrics_table, run_backtest_frames
from electio.model.figures import backtest_figures
from electio.model.selection import SELECTION_RULE, selection_scores
from electio.model.train import save_model, train_final
from electio.settings import Settings
from electio.warehouse.load import replace_tables
from electio.warehouse.read import read_tables

log = logging.getLogger("electio.model")

FIGURE = Path("figures") / "backtest_mae.png"


def models_dir(settings: Settings) -> Path:
    """Where the trained model is saved: <data>/models (git-ignored)."""
    return Path(settings.data_dir) / "models"


def figure_path(settings: Settings) -> Path:
    return Path(settings.reports_dir) / FIGURE


def run_backtest(settings: Settings, **kwargs) -> dict:
    """Backtest every model on the warehouse, store dim_model / fact_backtest / fact_model_metric,
    draw reports/figures/backtest_mae.png. Returns a summary."""
    t0 = time.perf_counter()
    tables = read_tables(settings.db_url)
    result = run_backtest_frames(tables, **kwargs)
    replace_tables(settings.db_url, result.tables())
    figure = backtest_figures(result.metrics, result.dim_model, figure_path(settings))[0]
    return {"chosen": result.chosen, "windows": result.windows, "rows_fact_backtest": len(result.predictions),
            "rows_fact_model_metric": len(result.metrics), "figure": str(figure),
            "selection_scores": selection_scores(result.metrics).round(3).to_dict(),
            "table": metrics_table(result.metrics), "seconds": round(time.perf_counter() - t0, 1)}


def run_train(settings: Settings, model_id: str | None = None) -> dict:
    """Retrain the chosen model (run the backtest first if the warehouse has none) on every first
    round and save it under <data>/models. Returns a summary."""
    t0 = time.perf_counter()
    tables = read_tables(settings.db_url)
    dim = tables.get("dim_model")
    if model_id is None and (dim is None or dim.empty or not (dim["is_chosen"] == 1).any()):
        log.info("no backtest in the warehouse yet: running it first")
        run_backtest(settings)
        tables = read_tables(settings.db_url)
    trained = train_final(tables, model_id)
    bundle, meta = save_model(trained, models_dir(settings))
    return {"model_id": trained.metadata["model_id"], "bundle": str(bundle), "metadata": str(meta),
            "training_elections": trained.metadata["training_elections"],
            "seconds": round(time.perf_counter() - t0, 1)}


def format_backtest_summary(summary: dict) -> str:
    table: pd.DataFrame = summary["table"]
    lines = [f"backtest: {len(summary['windows'])} test elections, {summary['rows_fact_backtest']} prediction rows, "
             f"{summary['seconds']} s",
             f"rule: {SELECTION_RULE}",
             "selection scores: " + ", ".join(f"{k} {v}" for k, v in summary["selection_scores"].items()),
             f"chosen model: {summary['chosen']}", f"figure: {summary['figure']}", "",
             table.round(2).to_string()]
    return "\n".join(lines)


def format_train_summary(summary: dict) -> str:
    return (f"trained {summary['model_id']} on {', '.join(summary['training_elections'])}\n"
            f"  model    : {summary['bundle']}\n  metadata : {summary['metadata']}\n"
            f"  time     : {summary['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    """``python -m electio.model.run backtest|train [--db ...]`` (what ``electio backtest`` / ``electio
    train`` can delegate to)."""
    parser = argparse.ArgumentParser(prog="python -m electio.model.run", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["backtest", "train"])
    parser.add_argument("--model", help="train: this model_id instead of the chosen one")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    settings = settings_from_args(args)

    def body() -> None:
        if args.action == "backtest":
            print(format_backtest_summary(run_backtest(settings)))
        else:
            print(format_train_summary(run_train(settings, args.model)))

    return run_command(args.action, body, verbose=args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
