"""Benchmark: cold, warm and one-change refreshes of département 69, against a baseline checkout.

Not a test. Every run is a fresh child process running the real command through
``bench_refresh.py --child`` (outputs, data, cache and warehouse in a temporary folder).
One round, in one work folder:

1. ``before``  -- the baseline code (``--baseline DIR``: a checkout of main exported with
   ``git archive``; run with PYTHONPATH=DIR/src), cold, in its own folder;
2. ``cold``    -- this checkout, empty stage cache;
3. ``warm``    -- the same folder again, nothing changed;
4. ``one-change`` -- a custom scenario file added to ``<data>/scenarios/`` (the example of
   data/reference), then the same folder again.

After ``cold`` and ``warm`` every warehouse table is read and every output file hashed: the
identity check compares them (the run's journal, meta_refresh / meta_stage_run, differs by
design, as do the files that show it: listed, not hidden).

    nice python bench/bench_incremental.py --baseline /tmp/speed-base --runs 1 --json bench/results/incremental.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import DEFAULT_MIRROR, REPO, fmt, machine_info, markdown_table, run_child, stats  # noqa: E402

JOURNAL = {"meta_refresh", "meta_stage_run"}
SCENARIO_EXAMPLE = REPO / "data" / "reference" / "scenario_custom_example.csv"


def snapshot(work: Path) -> dict:
    """Digest of every warehouse table (rows in order) and every output file."""
    import pandas as pd
    from electio.warehouse.read import read_tables

    tables = read_tables(f"sqlite:///{work / 'data' / 'electio.sqlite'}")
    digests = {name: hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
                                    + repr(list(frame.columns)).encode()).hexdigest()
               for name, frame in tables.items()}
    files = {}  # every deliverable: exports, reports, Power BI (not the data folder, cache or logs)
    for p in sorted(work.rglob("*")):
        rel = p.relative_to(work)
        if p.is_file() and rel.parts[0] not in {"data", "cache"}:
            files[rel.as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return {"tables": digests, "files": files}


def compare(a: dict, b: dict) -> dict:
    t_diff = sorted(k for k in set(a["tables"]) | set(b["tables"]) if a["tables"].get(k) != b["tables"].get(k))
    f_diff = sorted(k for k in set(a["files"]) | set(b["files"]) if a["files"].get(k) != b["files"].get(k))
    return {"tables_compared": len(set(a["tables"]) | set(b["tables"])), "tables_differing": t_diff,
            "tables_differing_beyond_journal": [t for t in t_diff if t not in JOURNAL],
            "files_compared": len(set(a["files"]) | set(b["files"])), "files_differing": f_diff}


def one_run(label: str, work: Path, mirror: str, log_dir: Path, env: dict | None = None,
            flags: tuple[str, ...] = ()) -> dict:
    cmd = [str(Path(__file__).resolve().parent / "bench_refresh.py"), "--child", "--workdir", str(work),
           "--mirror", mirror, "--departement", "69", "--flags", json.dumps(list(flags))]
    load = round(os.getloadavg()[0], 2)
    r = run_child(cmd, log=log_dir / f"{label}.log", env=env, timeout=1800)
    s = r.result.get("summary")
    if r.returncode != 0 or not s:
        raise SystemExit(f"run {label} failed (exit {r.returncode}): {r.log}\n{r.log.read_text()[-3000:]}")
    stages = dict(s["stage_seconds"])
    stages["startup"] = round(r.wall_seconds - s["seconds"], 2)
    run = {"label": label, "wall_seconds": r.wall_seconds, "refresh_seconds": s["seconds"], "stages": stages,
           "cpu_seconds": r.result.get("cpu_seconds"), "runq_wait_seconds": r.result.get("runq_wait_seconds"),
           "peak_rss_mb": r.peak_rss_mb, "loadavg_before": load,
           "reused": s.get("stages_reused"), "ran": s.get("stages_ran"), "sources_reused": s.get("sources_reused")}
    print(f"  {label:10s}: process {r.wall_seconds:6.1f} s, CPU {fmt(run['cpu_seconds'])} s, waiting for a CPU "
          f"{fmt(run['runq_wait_seconds'])} s, peak RSS {r.peak_rss_mb:.0f} MB, load {load}; "
          f"sources reused {run['sources_reused']}, reused {run['reused']}, ran {run['ran']}", flush=True)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--baseline", help="checkout of the baseline code (its src/ goes first on PYTHONPATH)")
    parser.add_argument("--code", help="checkout of the code to measure (default: this one); e.g. a `git archive` "
                        "of HEAD, so that edits during a long run do not change the code between runs")
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    parser.add_argument("--json")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--force-check", action="store_true",
                        help="after the one-change run, run again with --force in the same folder and compare: "
                             "reused and memoised outputs against a full recomputation on the same inputs")
    args = parser.parse_args(argv)
    machine = machine_info()
    print(f"code {args.code or machine['git_head']} (modified: {machine['tracked_files_modified']}), baseline {args.baseline}, "
          f"load average at start {machine['loadavg_at_start']}", flush=True)
    base = Path(tempfile.mkdtemp(prefix="electio-bench-incremental-"))
    rounds = []
    try:
        for i in range(args.runs):
            rnd: dict = {}
            if args.baseline:
                env = {"PYTHONPATH": str(Path(args.baseline) / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
                rnd["before"] = one_run(f"before-{i + 1}", base / f"before-{i + 1}", args.mirror, base / "logs", env)
            work = base / f"after-{i + 1}"
            env = {"PYTHONPATH": str(Path(args.code) / "src"), "PYTHONDONTWRITEBYTECODE": "1"} if args.code else None
            rnd["cold"] = one_run(f"cold-{i + 1}", work, args.mirror, base / "logs", env)
            cold = snapshot(work)
            rnd["warm"] = one_run(f"warm-{i + 1}", work, args.mirror, base / "logs", env)
            rnd["identity_cold_vs_warm"] = compare(cold, snapshot(work))
            (work / "data" / "scenarios").mkdir(parents=True, exist_ok=True)
            shutil.copy(SCENARIO_EXAMPLE, work / "data" / "scenarios" / "bench_custom.csv")
            rnd["one_change"] = one_run(f"change-{i + 1}", work, args.mirror, base / "logs", env)
            if args.force_check:
                changed = snapshot(work)
                rnd["forced"] = one_run(f"forced-{i + 1}", work, args.mirror, base / "logs", env, ("--force",))
                rnd["identity_one_change_vs_forced"] = compare(changed, snapshot(work))
                print(f"  identity one-change vs forced: {json.dumps(rnd['identity_one_change_vs_forced'])}",
                      flush=True)
            rounds.append(rnd)
            print(f"  identity cold vs warm: {json.dumps(rnd['identity_cold_vs_warm'])}", flush=True)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    labels = [k for k in ("before", "cold", "warm", "one_change", "forced") if k in rounds[0]]
    stage_names = list(dict.fromkeys(s for r in rounds for k in labels for s in r[k]["stages"]))
    rows = []
    for name in stage_names:
        rows.append([name] + [fmt(stats([r[k]["stages"].get(name) for r in rounds])["median"], 2) for k in labels])
    for key, title in (("wall_seconds", "**process wall**"), ("cpu_seconds", "CPU time"),
                       ("runq_wait_seconds", "waiting for a CPU"), ("peak_rss_mb", "peak RSS (MB)")):
        rows.append([title] + [fmt(stats([r[k][key] for r in rounds])["median"], 1) for k in labels])
    print()
    print(markdown_table(["stage (s, median of %d)" % len(rounds)] + labels, rows))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"machine": machine, "baseline": args.baseline, "rounds": rounds},
                                              indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
