"""Benchmark: training across départements (issue 13, item 2). Not a test (pytest never collects bench/).

Each step runs in a fresh child process (peak RSS = its own ``ru_maxrss``; CPU time and run-queue
wait reported because the 2 cores are shared):

1. ``context``: the context tables from the mirror (reference geography, the European 2024
   France archive, then ``build_context_tables``: every commune of France at euro_2014,
   pres_2017, leg_2017, euro_2019, euro_2024) -- what the refresh adds to its "context" step;
2. ``panel``: the context panel (``build_context_panel``) from those tables and a warehouse;
3. ``fit``: ``lightgbm_fr`` fitted on the Rhône window of euro_2024 (euro_2014 .. leg_2022) plus
   2,000 context rows per earlier election, and the same window without context rows
   (``lightgbm``, the single-département model), for comparison;
4. ``france``: the all-France evaluation of euro_2019 and euro_2024 (baselines and lightgbm_fr).

    python bench/bench_crossdep.py --db sqlite:///data/electio.sqlite   # a 69 warehouse with the context tables
    python bench/bench_crossdep.py --db ... --json bench/results/crossdep.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import DEFAULT_MIRROR, machine_info, markdown_table, run_child, schedstat  # noqa: E402

STEPS = ("context", "panel", "fit", "france")


def _tables(db: str):
    from electio.warehouse.read import read_tables

    return read_tables(db)


def child(step: str, db: str, mirror: str) -> dict:
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    out: dict = {"step": step}
    if step == "context":
        from electio import pipeline as P
        from electio.perimeter import load_perimeter
        from electio.settings import Settings
        from electio.transform.elections import load_election_specs
        from electio.transform.politics import load_nuances

        tmp = Path(tempfile.mkdtemp(prefix="bench_crossdep_"))
        settings = Settings.from_env(mirror=Path(mirror), allow_download=False, data_dir=tmp, cache_dir=tmp / "raw")
        lineage = P.Lineage(settings)
        geo = P.build_geography(lineage, load_perimeter("69"))
        specs = load_election_specs()
        france = P._france_archive(lineage, specs)
        if france:
            france()  # parsed once by the refresh for the national tables anyway
        t1 = time.perf_counter()
        build = P.build_context_tables(lineage, geo, load_nuances(), specs, france)
        out["context_seconds"] = time.perf_counter() - t1
        out["rows_result"] = len(build.fact_context_result)
        out["rows_turnout"] = len(build.fact_context_turnout)
        out["memory_mb_frames"] = (build.fact_context_result.memory_usage(deep=True).sum()
                                   + build.fact_context_turnout.memory_usage(deep=True).sum()) / 2**20
    else:
        from electio.model import context as ctxm
        from electio.model.backtest import training_elections
        from electio.model.baselines import BASELINES
        from electio.model.estimators import LightGBMDeviation
        from electio.model.panel import build_panel

        tables = _tables(db)
        t1 = time.perf_counter()
        cp = ctxm.build_context_panel(tables)
        out["context_panel_seconds"] = time.perf_counter() - t1
        out["context_panel_rows"] = len(cp.panel)
        with threadpool_limits(limits=1):
            if step == "fit":
                panel = build_panel(tables)
                dates = panel.rows.groupby("election_id")["election_date"].first()
                ptr = panel.for_elections(training_elections(panel, dates["euro_2024_t1"]))
                t1 = time.perf_counter()
                model = ctxm.CrossDepartementLightGBM(cp, ["69"]).fit(ptr)
                out["fit_lightgbm_fr_seconds"] = time.perf_counter() - t1
                out["fit_lightgbm_fr_rows"] = len(ptr) + model.n_context_rows_
                t1 = time.perf_counter()
                LightGBMDeviation().fit(ptr)
                out["fit_lightgbm_seconds"] = time.perf_counter() - t1
                out["fit_lightgbm_rows"] = len(ptr)
            elif step == "france":
                from functools import partial

                t1 = time.perf_counter()
                _, info = ctxm.france_evaluation(tables, list(BASELINES) + [partial(ctxm.CrossDepartementLightGBM,
                                                                                       None)], cp)
                out["france_seconds"] = time.perf_counter() - t1
                out["fits"] = {f"{m}/{e}": v for (m, e), v in info.items() if m == "lightgbm_fr"}
    out["wall_seconds_in_child"] = time.perf_counter() - t0
    sched = schedstat()
    if sched:
        out["cpu_seconds"], out["wait_seconds"] = sched
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///data/electio.sqlite")
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db, args.mirror), default=float))
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for step in [s for s in args.steps.split(",") if s]:
            run = run_child([__file__, "--child", step, "--db", args.db, "--mirror", args.mirror],
                            log=Path(tmp) / f"{step}.log")
            runs.append({"step": step, "returncode": run.returncode, "wall_seconds": run.wall_seconds,
                         "peak_rss_mb": run.peak_rss_mb, **run.result})
            print(f"{step}: rc {run.returncode}, {run.wall_seconds:.1f} s, peak {run.peak_rss_mb:.0f} MB, "
                  f"{json.dumps(run.result, default=float)}", flush=True)
    print(markdown_table(["step", "wall s", "cpu s", "wait s", "peak RSS MB"],
                         [[r["step"], r["wall_seconds"], r.get("cpu_seconds"), r.get("wait_seconds"),
                           r["peak_rss_mb"]] for r in runs]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine_info(), "runs": runs}, indent=1, default=float))


if __name__ == "__main__":
    main()
