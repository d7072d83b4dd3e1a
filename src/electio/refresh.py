"""Main job: ``python -m electio.refresh`` — sources -> warehouse -> stages -> deliverables.

Orchestration only. The tables are built from the sources (:mod:`electio.pipeline`), the
analysis stages run on them in memory, the warehouse is loaded once, the file stages
write this run's deliverables aside, and warehouse and deliverables are swapped in
together (:mod:`electio.stages`, :mod:`electio.outputs`). Bad input is refused before
any long work: the ``--db`` target, the mirror, the output folders.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no peak-memory figure
    resource = None

import pandas as pd

from electio import __version__
from electio.cache import StageCache, build_tables_cached, content_keys, run_stage_cached
from electio.command import add_common_arguments, log_path, run_command, settings_from_args
from electio.errors import ElectioError
from electio.memory import release_memory
from electio.outputs import StagedOutputs, count_files, interrupts_deferred, remove_stale_staging
from electio.perimeter import parse_departements
from electio.pipeline import build_tables
from electio.settings import Settings
from electio.sources.catalog import load_catalog
from electio.model.run import models_dir
from electio.model.train import save_model
from electio.stages import STAGES, Context, StageRun, run_stage
from electio.warehouse.load import prepare_warehouse, read_history, replace_tables, sqlite_path
from electio.warehouse.lock import check_writable, refresh_lock, remove_stale_temporaries
from electio.warehouse.read import check_target
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio.refresh")

ANALYSIS = ("correlations", "backtest", "train", "forecast")
MANIFEST = "RUN.json"


def missing_sources(settings: Settings) -> list[str]:
    """Catalogued files found neither in the cache nor in the mirror (checked when downloads are off)."""
    missing = []
    for source in load_catalog().values():
        for f in source.files:
            places = [Path(settings.cache_dir) / source.id / f.name]
            if settings.mirror is not None:
                places.append(Path(settings.mirror) / source.id / f.name)
            if not any(p.is_file() for p in places):
                missing.append(f"{source.id}/{f.name}")
    return missing


def preflight(settings: Settings, outputs: list[Path]) -> None:
    """Everything that can be refused before the long work, each in one sentence."""
    parse_departements(settings.departement)
    check_target(settings.db_url)
    db_path = sqlite_path(settings.db_url)
    if settings.mirror is not None and not Path(settings.mirror).is_dir():
        raise ElectioError(f"mirror folder {settings.mirror} does not exist (--mirror or ELECTIO_MIRROR)")
    if not settings.allow_download:
        missing = missing_sources(settings)
        if missing:
            raise ElectioError(f"{len(missing)} source file(s) missing from the cache {settings.cache_dir} and the "
                               f"mirror {settings.mirror} (downloads are off): " + ", ".join(missing))
    check_writable(settings.data_dir, *([db_path.parent] if db_path else []), *(Path(o).parent for o in outputs))


def run_refresh(settings: Settings, *, export: bool = True, figures: bool = False, models: bool = False,
                powerbi: bool = False, report: bool = False, options: dict | None = None,
                cache: bool = False, force: bool = False) -> dict:
    """Build the warehouse, run the stages, swap in warehouse and deliverables; return the summary.

    Serialised by a lock in the data folder. Every output folder is replaced by what this
    run wrote (a stage not requested leaves its folder empty, so nothing stale remains).
    The command line runs every stage; callers in code opt in to the slow ones.
    ``cache``: reuse the outputs of every step whose inputs did not change (:mod:`electio.cache`;
    the command line's default); ``force`` recomputes them all and refreshes the cache.
    """
    wanted = {"correlations": True, "backtest": models, "train": models, "forecast": models,
              "figures": figures, "exports": export, "report": report, "powerbi": powerbi}
    not_requested = {k: f"not requested ({NO_FLAG[k]})" for k, v in wanted.items() if not v}
    targets = {"exports": Path(settings.exports_dir), "reports": Path(settings.reports_dir),
               "powerbi": Path(settings.powerbi_dir)}
    preflight(settings, list(targets.values()))
    db_path = sqlite_path(settings.db_url)
    with refresh_lock(settings.data_dir):
        if db_path is not None:
            for stale in remove_stale_temporaries(db_path):
                log.warning("removed %s left by an interrupted refresh", stale)
        for stale in remove_stale_staging(targets):
            log.warning("removed %s left by an interrupted refresh", stale)
        store = StageCache(settings.data_dir, force=force) if cache or force else None
        return _run_refresh(settings, targets, not_requested, options or {}, store)


def _check_title(row) -> str:
    """'<check> <election>'; election_id is missing (NaN in memory) for a check about a source."""
    return f"{row.check_name} {row.election_id if pd.notna(row.election_id) else ''}".strip()


NO_FLAG = {"backtest": "--no-models", "train": "--no-models", "forecast": "--no-models", "figures": "--no-figures",
           "exports": "--no-export", "report": "--no-report", "powerbi": "--no-powerbi", "correlations": ""}


def _run_refresh(settings: Settings, targets: dict[str, Path], not_requested: dict[str, str], options: dict,
                 store: StageCache | None = None) -> dict:
    started = datetime.now(timezone.utc).replace(microsecond=0)
    refresh_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    t0 = time.perf_counter()
    log.info("refresh of département %s into %s", settings.departement, mask_secrets(settings.db_url))
    if store is None:
        tables, lineage, build = build_tables(settings)
        seconds, missing, sources_reused = dict(lineage.seconds), build.missing, False
    else:
        tables, seconds, missing, sources_reused = build_tables_cached(settings, build_tables, store)
    release_memory()  # the parsed source files
    staged = StagedOutputs(targets)
    pending = None
    try:
        ctx = Context(replace(settings, **{f"{k}_dir": v for k, v in staged.staged.items()}), tables, options)
        runs: dict[str, StageRun] = {}
        for stage in STAGES:  # analysis stages, in memory
            if stage.name in not_requested:
                runs[stage.name] = StageRun(stage.name, "skipped", not_requested[stage.name])
            elif stage.name in ANALYSIS:
                runs[stage.name] = run_stage_cached(stage, ctx, runs, store, run_stage)
        summary = _summary(settings, tables, missing)
        skipped = [f"{r.stage} ({r.reason})" for r in runs.values() if r.status == "skipped"
                   and not r.reason.startswith("not requested")]
        tables["meta_refresh"] = _refresh_history(settings, refresh_id, started, summary, skipped)
        tables["meta_stage_run"] = _stage_rows(refresh_id, runs)
        clock = time.perf_counter()
        # loaded once, not yet in place; a cached refresh rewrites only the tables that changed
        keys = content_keys(tables, store) if store is not None and not store.force else None
        pending = prepare_warehouse(settings.db_url, tables, keys)
        release_memory()
        seconds["load"] = time.perf_counter() - clock
        ctx.settings = replace(ctx.settings, db_url=pending.url)
        for stage in STAGES:  # file stages: read the new tables, write into the staged folders
            if stage.name not in runs:
                runs[stage.name] = run_stage_cached(stage, ctx, runs, store, run_stage)
        ordered = [runs[s.name] for s in STAGES]
        tables["meta_stage_run"] = _stage_rows(refresh_id, runs)
        replace_tables(pending.url, {"meta_stage_run": tables["meta_stage_run"]})
        manifest = {"refresh_id": refresh_id, "departement": settings.departement,
                    "warehouse": mask_secrets(settings.db_url), "stages": {r.stage: r.status for r in ordered},
                    "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (staged.staged["reports"] / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        with interrupts_deferred():  # warehouse and deliverables go in together
            pending.commit()
            staged.commit()
            if "trained" in ctx.state:
                save_model(ctx.state["trained"], models_dir(settings))
    except BaseException:
        staged.discard()
        if pending is not None:
            pending.discard()
        raise
    summary["stages"] = [_moved(r, staged_dirs=ctx.settings, targets=targets) for r in ordered]
    summary["chosen_model"] = _chosen(tables)
    summary["sources_reused"] = sources_reused
    summary["stages_reused"] = [r.stage for r in ordered if r.reused]
    summary["stages_ran"] = [r.stage for r in ordered if r.status == "done" and not r.reused]
    seconds.update({r.stage: r.seconds for r in ordered if r.seconds})
    summary["stage_seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["log"] = str(log_path(settings))
    summary["refresh_id"] = refresh_id
    return summary


def _moved(run: StageRun, *, staged_dirs: Settings, targets: dict[str, Path]) -> StageRun:
    """The stage's files at their final place (after the swap), counted once each."""
    files = []
    for f in run.files:
        f = Path(f)
        for key, target in targets.items():
            stage_dir = Path(getattr(staged_dirs, f"{key}_dir"))
            if f.is_relative_to(stage_dir):
                f = target / f.relative_to(stage_dir)
        files.append(f)
    return replace(run, files=sorted({f for f in files if f.is_file()}))


def _chosen(tables: dict[str, pd.DataFrame]) -> str | None:
    dim = tables.get("dim_model")
    if dim is None or dim.empty:
        return None
    chosen = dim.loc[dim["is_chosen"] == 1, "model_id"]
    return chosen.iloc[0] if len(chosen) else None


def _reason(run: StageRun) -> str | None:
    if run.reused:  # status stays 'done': the outputs are this run's, restored from the cache
        return "reused (inputs unchanged)" + (f": {run.reason}" if run.reason else "")
    return run.reason or None


def _stage_rows(refresh_id: str, runs: dict[str, StageRun]) -> pd.DataFrame:
    rows = [{"refresh_id": refresh_id, "stage_seq": i, "stage": s.name, "status": runs[s.name].status,
             "reason": _reason(runs[s.name]), "seconds": round(runs[s.name].seconds, 2),
             "rows_written": runs[s.name].rows_written, "files_written": count_files(runs[s.name].files)}
            for i, s in enumerate(STAGES, 1) if s.name in runs]
    return pd.DataFrame(rows, columns=["refresh_id", "stage_seq", "stage", "status", "reason", "seconds",
                                       "rows_written", "files_written"])


def rejected_categories(rejected: pd.DataFrame) -> list[tuple[int, str, str]]:
    """Rejected source rows grouped by source and kind of reason (quoted values and numbers removed)."""
    if rejected is None or rejected.empty:
        return []
    kind = rejected["reason"].str.replace(r"'[^']*'|\"[^\"]*\"|\(\S*\)|\d+", "…", regex=True)
    kind = kind.str.replace(r"\(…\)", "", regex=True).str.replace(r"…(\s+…)+", "…", regex=True)
    kind = kind.str.replace(r"\s+", " ", regex=True).str.replace(r"\s*…$", "", regex=True).str.strip()
    counts = rejected.assign(kind=kind).groupby(["source_id", "kind"]).size().sort_values(ascending=False)
    return [(int(n), src, k) for (src, k), n in counts.items()]


def _summary(settings: Settings, tables: dict[str, pd.DataFrame], missing: list[str]) -> dict:
    checks = tables["meta_quality_check"]
    failed = checks[checks["status"] == "fail"]
    warned = checks[checks["status"] == "warn"]
    return {
        "departement": settings.departement,
        "elections_loaded": len(tables["dim_election"]),
        "elections_missing": missing,
        "communes": len(tables["dim_commune"]),
        "fact_turnout_rows": len(tables["fact_turnout"]),
        "fact_election_result_rows": len(tables["fact_election_result"]),
        # distinct source rows (meta_source counts a row once per purpose that read its file: for
        # all of France the perimeter's and the context build read the same national files)
        "rows_rejected": len(tables["meta_rejected_row"]),
        "rejected_categories": rejected_categories(tables.get("meta_rejected_row")),
        "checks": checks["status"].value_counts().to_dict(),
        "failed_checks": [f"{_check_title(r)}: {r.detail}" for r in failed.itertuples()],
        "warned_checks": [_check_title(r) for r in warned.itertuples()],
    }


def _refresh_history(settings: Settings, refresh_id: str, started: datetime, summary: dict,
                     skipped: list[str]) -> pd.DataFrame:
    history = read_history(settings.db_url).get("meta_refresh", pd.DataFrame())
    finished = datetime.now(timezone.utc).replace(microsecond=0)
    row = pd.DataFrame([{
        "refresh_id": refresh_id, "started_at": started.replace(tzinfo=None),
        "finished_at": finished.replace(tzinfo=None), "status": "checks_failed" if summary["failed_checks"] else "ok",
        "departement": settings.departement, "electio_version": __version__,
        "elections_loaded": summary["elections_loaded"], "communes_loaded": summary["communes"],
        "checks_failed": len(summary["failed_checks"]),
        "summary": f"{summary['elections_loaded']} elections, {summary['fact_turnout_rows']} turnout rows, "
                   f"{summary['rows_rejected']} rows rejected, checks {summary['checks']}"
                   + (f"; skipped: {'; '.join(skipped)}" if skipped else "")[:1000]}])
    return pd.concat([history, row], ignore_index=True) if not history.empty else row


def peak_memory_mb() -> int | None:
    """Peak resident memory of this process (Linux/macOS; None elsewhere)."""
    if resource is None:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10))


def format_summary(summary: dict, settings: Settings) -> str:
    lines = [
        f"electio refresh - département {summary['departement']}",
        f"  warehouse : {mask_secrets(settings.db_url)}",
        f"  elections : {summary['elections_loaded']} loaded"
        + (f", missing for this perimeter: {', '.join(summary['elections_missing'])}" if summary["elections_missing"] else ""),
        f"  communes  : {summary['communes']}; turnout rows {summary['fact_turnout_rows']}, "
        f"bloc result rows {summary['fact_election_result_rows']}",
        f"  rejected  : {summary['rows_rejected']} source rows (details in meta_rejected_row)",
    ]
    lines += [f"    {n} {src}: {kind}" for n, src, kind in summary["rejected_categories"][:5]]
    if len(summary["rejected_categories"]) > 5:
        lines.append(f"    ... {len(summary['rejected_categories']) - 5} more kinds")
    lines.append("  checks    : " + ", ".join(f"{k} {v}" for k, v in sorted(summary["checks"].items())))
    lines += [f"    FAILED {f}" for f in summary["failed_checks"]]
    lines += [f"    warn   {w} (see meta_quality_check)" for w in summary["warned_checks"]]
    if summary.get("sources_reused") is not None:
        lines.append("  sources   : " + ("unchanged, tables reused from the cache" if summary["sources_reused"]
                                         else "read and built"))
    lines.append("  stages    :")
    for run in summary["stages"]:
        lines.append(f"    {run.line()}")
    if summary.get("chosen_model"):
        lines.append(f"  model     : {summary['chosen_model']} chosen by the backtest rule, saved in "
                     f"{models_dir(settings)}")
    for key in ("exports", "reports", "powerbi"):
        folder = Path(getattr(settings, f"{key}_dir"))
        n = sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
        if n:
            lines.append(f"  {key:9} : {n} files in {folder}")
    lines.append(f"  time      : {summary['seconds']} s ("
                 + ", ".join(f"{k} {v:.1f}" for k, v in summary.get("stage_seconds", {}).items())
                 + f"), peak memory (RSS) {summary.get('peak_mb', '?')} MB")
    lines.append(f"  log       : {summary['log']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m electio.refresh", description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--no-export", action="store_true", help="skip the CSV/XLSX exports")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument("--no-powerbi", action="store_true", help="do not build this run's Power BI templates")
    parser.add_argument("--no-report", action="store_true", help="do not write the report")
    parser.add_argument("--no-models", action="store_true",
                        help="skip backtests, training and forecasts (their tables are left empty)")
    parser.add_argument("--force", action="store_true",
                        help="recompute every step, even those whose inputs did not change (by default their "
                             "outputs are reused from <data>/.stage-cache)")
    args = parser.parse_args(argv)
    settings = settings_from_args(args)

    def body() -> int:
        summary = run_refresh(settings, export=not args.no_export, figures=not args.no_figures,
                              models=not args.no_models, powerbi=not args.no_powerbi, report=not args.no_report,
                              cache=True, force=args.force)
        summary["peak_mb"] = peak_memory_mb()
        print(format_summary(summary, settings))
        return 0

    return run_command("refresh", body, verbose=args.verbose, log_file=log_path(settings))


if __name__ == "__main__":
    sys.exit(main())
