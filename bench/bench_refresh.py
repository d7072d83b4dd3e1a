"""Benchmark: full refresh of the default perimeter (département 69) from the mirror.

Not a test (pytest never collects bench/). Each run is a fresh child process that
runs the real command, ``electio.refresh.main([...])``, exactly as
``python -m electio.refresh --mirror <mirror> --offline <flags>`` would, except
that every output goes to a new temporary folder: ELECTIO_DATA / _CACHE /
_EXPORTS / _REPORTS / _DB_URL point there, and so does the Power BI output folder
(the command writes ``<project>/powerbi`` otherwise). Empty cache, no history,
mirror read in place, downloads disabled. The per-stage wall times are the
command's own ``stage_seconds``; the peak resident memory is the child's
ru_maxrss (os.wait4), so it belongs to that run alone. Modes are interleaved run
by run so that load drift on a shared machine hits them alike.

Modes (flags added to the command):

* ``default``    -- the command's defaults without model tuning: ``--no-models``
                    today, since hyper-parameter tuning happens inside the backtest
                    and training stages and the command has no switch to skip only
                    the tuning. If the command grows such a switch (--no-tuning,
                    --no-tune, --skip-tuning...), it is used instead, with models on.
* ``no-export``  -- the same plus ``--no-export`` (no CSV/XLSX exports).
* ``with-models``-- the command's defaults exactly (backtests, training), opt-in.

    python bench/bench_refresh.py                            # 5 runs of default and no-export
    python bench/bench_refresh.py --runs 3 --modes default,no-export,with-models --json bench/results/refresh.json

Target (issue 8): default refresh, without model tuning, under 60 s on 2 cores
(judged on the median process wall time, start-up included).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import (DEFAULT_MIRROR, fmt, machine_info, markdown_table, run_child,  # noqa: E402
                        schedstat, self_peak_rss_mb, stats)

TARGET_SECONDS = 60.0
#: Switches that would skip only the tuning, if the command grows one (first found wins).
TUNING_SWITCHES = ("--no-tuning", "--no-tune", "--skip-tuning", "--no-model-tuning", "--no-hyperparameter-search")
MODES = ("default", "no-export", "with-models")


def command_help() -> str:
    from electio.refresh import main as refresh_main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        refresh_main(["--help"])
    return out.getvalue()


def no_tuning_flags() -> tuple[list[str], str]:
    """Flags for "without model tuning", and why."""
    text = command_help()
    for switch in TUNING_SWITCHES:
        if switch in text:
            return [switch], f"{switch} (the command's switch to skip tuning; models on)"
    if "--no-models" in text:
        return ["--no-models"], ("--no-models: the command has no switch to skip only the tuning, which runs "
                                 "inside its backtest and training stages; they are skipped")
    return [], "the command has no model stage"


def mode_flags(mode: str, tuning: list[str]) -> list[str]:
    return {"default": tuning, "no-export": tuning + ["--no-export"], "with-models": []}[mode]


def child(args: argparse.Namespace) -> int:
    """One refresh through the real command in this process; prints a JSON line with its figures."""
    clock = time.perf_counter()
    import electio.refresh as refresh

    imports = time.perf_counter() - clock
    root = Path(args.workdir)
    os.environ.update({"ELECTIO_DATA": str(root / "data"), "ELECTIO_CACHE": str(root / "cache"),
                       "ELECTIO_EXPORTS": str(root / "exports"), "ELECTIO_REPORTS": str(root / "reports"),
                       "ELECTIO_DB_URL": f"sqlite:///{root / 'data' / 'electio.sqlite'}",
                       "ELECTIO_DEPARTEMENT": args.departement})
    refresh.PROJECT_ROOT = root  # the command writes <PROJECT_ROOT>/powerbi: keep it in the temp folder
    captured: dict = {}
    original = refresh.run_refresh

    def run_and_capture(*a, **kw):
        captured["kwargs"] = {k: str(v) for k, v in kw.items()}
        for key, value in kw.items():  # never write into the checkout
            if isinstance(value, Path) and not value.resolve().is_relative_to(root.resolve()):
                raise SystemExit(f"bench: run_refresh({key}={value}) would write outside {root}; not run")
        captured["summary"] = original(*a, **kw)
        return captured["summary"]

    refresh.run_refresh = run_and_capture
    flags = json.loads(args.flags)
    code = refresh.main(["--mirror", args.mirror, "--offline", *flags])
    sched = schedstat()  # whole process so far
    db = root / "data" / "electio.sqlite"
    print(json.dumps({"exit": code, "summary": captured.get("summary"), "run_refresh_kwargs": captured.get("kwargs"),
                      "flags": flags, "imports_seconds": imports, "cpu_seconds": time.process_time() + children_cpu(),
                      "runq_wait_seconds": sched[1] if sched else None,
                      "db_bytes": db.stat().st_size if db.exists() else None,
                      "peak_rss_mb_self": self_peak_rss_mb()}, default=str))
    return code


def children_cpu() -> float:
    """CPU time of the child processes the refresh waited for: the figures drawn in forked children
    (electio.forked), Graphviz, Node. Part of the run's work, absent from ``time.process_time()``."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (default 5)")
    parser.add_argument("--modes", default="default,no-export",
                        help=f"comma-separated, among {', '.join(MODES)} (default: default,no-export)")
    parser.add_argument("--departement", default="69")
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    parser.add_argument("--json", help="also write all figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders and logs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--flags", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if set(modes) - set(MODES):
        parser.error(f"unknown mode(s) {sorted(set(modes) - set(MODES))}; known: {', '.join(MODES)}")
    machine = machine_info()
    tuning, why = no_tuning_flags()
    print(f"code {machine['git_head']}; machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB, Python "
          f"{machine['python']}, pandas {machine['pandas']}, SQLAlchemy {machine['sqlalchemy']}, "
          f"load average at start {machine['loadavg_at_start']}")
    print(f"without model tuning: {why}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="electio-bench-refresh-"))
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    try:
        for i in range(args.runs):
            for mode in (modes if i % 2 == 0 else modes[::-1]):
                work = base / f"{mode}-{i + 1}"
                flags = mode_flags(mode, tuning)
                cmd = [str(Path(__file__).resolve()), "--child", "--workdir", str(work), "--mirror", args.mirror,
                       "--departement", args.departement, "--flags", json.dumps(flags)]
                load_before = round(os.getloadavg()[0], 2)
                r = run_child(cmd, log=base / "logs" / f"{mode}-{i + 1}.log")
                s = r.result.get("summary")
                if r.returncode != 0 or not s:
                    print(f"run {mode} {i + 1} FAILED (exit {r.returncode}); log: {r.log}", file=sys.stderr)
                    print(r.log.read_text()[-3000:], file=sys.stderr)
                    return 1
                stages = dict(s["stage_seconds"])
                stages["other"] = round(s["seconds"] - sum(stages.values()), 2)  # lock, history, checks...
                stages["startup"] = round(r.wall_seconds - s["seconds"], 2)      # interpreter, imports, exit
                run = {"mode": mode, "run": i + 1, "flags": flags, "wall_seconds": r.wall_seconds,
                       "refresh_seconds": s["seconds"], "stages": stages, "peak_rss_mb": r.peak_rss_mb,
                       "cpu_seconds": r.result.get("cpu_seconds"), "runq_wait_seconds": r.result.get("runq_wait_seconds"),
                       "db_bytes": r.result.get("db_bytes"), "loadavg_before": load_before,
                       "run_refresh_kwargs": r.result.get("run_refresh_kwargs"),
                       "rows": {k: s.get(k) for k in ("communes", "fact_turnout_rows", "fact_election_result_rows")}}
                runs[mode].append(run)
                print(f"  {mode:11s} run {i + 1}: process {r.wall_seconds:5.1f} s, refresh {s['seconds']:5.1f} s, "
                      f"CPU {fmt(run['cpu_seconds'], 1)} s, waiting for a CPU {fmt(run['runq_wait_seconds'], 1)} s, "
                      f"peak RSS {r.peak_rss_mb:4.0f} MB ({', '.join(f'{k} {v:.1f}' for k, v in stages.items())})",
                      flush=True)
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    report = {"machine": machine, "runs_per_mode": args.runs, "departement": args.departement,
              "without_model_tuning": why, "modes": {}}
    for mode in modes:
        rs = runs[mode]
        stage_names = list(dict.fromkeys(k for r in rs for k in r["stages"]))
        summary = {"flags": rs[0]["flags"], "stages": {}, "refresh_seconds": stats([r["refresh_seconds"] for r in rs]),
                   "wall_seconds": stats([r["wall_seconds"] for r in rs]),
                   "cpu_seconds": stats([r["cpu_seconds"] for r in rs]),
                   "runq_wait_seconds": stats([r["runq_wait_seconds"] for r in rs]),
                   "peak_rss_mb": stats([r["peak_rss_mb"] for r in rs])}
        rows = []
        for name in stage_names:
            st = summary["stages"][name] = stats([r["stages"].get(name) for r in rs])
            rows.append([name, fmt(st["median"], 2), fmt(st["min"], 2), fmt(st["max"], 2)])
        for label, key in (("**refresh total** (run_refresh)", "refresh_seconds"),
                           ("**process total** (incl. start-up)", "wall_seconds"),
                           ("CPU time of the process (user + system)", "cpu_seconds"),
                           ("time waiting for a CPU (other jobs)", "runq_wait_seconds")):
            st = summary[key]
            rows.append([label, fmt(st["median"], 2), fmt(st["min"], 2), fmt(st["max"], 2)])
        st = summary["peak_rss_mb"]
        rows.append(["peak RSS (MB)", fmt(st["median"], 0), fmt(st["min"], 0), fmt(st["max"], 0)])
        met = summary["wall_seconds"]["median"] < TARGET_SECONDS
        summary["target_met"] = met
        report["modes"][mode] = {"summary": summary, "runs": rs}
        print(f"\n### Refresh of département {args.departement}, mode {mode} "
              f"(`python -m electio.refresh {' '.join(rs[0]['flags'])}`; {len(rs)} runs, seconds)\n")
        print(markdown_table(["stage", "median", "min", "max"], rows))
        print(f"\ntarget < {TARGET_SECONDS:.0f} s (median process wall time): {'MET' if met else 'NOT MET'} "
              f"(median {summary['wall_seconds']['median']:.1f} s, slowest {summary['wall_seconds']['max']:.1f} s; "
              f"load average before runs {[r['loadavg_before'] for r in rs]})")
    print(f"\nrows: {runs[modes[0]][0]['rows']}; load average at end {[round(x, 2) for x in os.getloadavg()]}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
