"""Refresh of whole perimeters, end to end: all of France and other départements (issue 11, item 5).

Each perimeter runs the real command in a fresh child process::

    python -m electio.refresh --departement <P> --mirror M --offline <flags>

(``--no-figures --no-report --no-export --no-powerbi --no-models`` by default) into a
temporary folder, then reads the warehouse it built: communes, rows per election,
rejected rows, checks by status, failed checks. Reported: wall time and peak RSS of
the child (os.wait4), and the stage times the command logs.

    python bench/bench_perimeters.py                       # FR, 33, 23, 971
    python bench/bench_perimeters.py --perimeters 33 --flags ""   # 33 with every stage
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import DEFAULT_MIRROR, machine_info, markdown_table, run_child  # noqa: E402

DEFAULT_FLAGS = "--no-figures --no-report --no-export --no-powerbi --no-models"


def warehouse_figures(path: Path) -> dict:
    con = sqlite3.connect(path)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    elections = {e: {"communes": n, "registered": r, "expressed": x}
                 for e, n, r, x in q("SELECT election_id, COUNT(*), SUM(registered), SUM(expressed) "
                                     "FROM fact_turnout GROUP BY election_id ORDER BY election_id")}
    for e, n in q("SELECT election_id, COUNT(*) FROM fact_election_result GROUP BY election_id"):
        elections[e]["bloc_rows"] = n
    for e, n in q("SELECT election_id, COUNT(*) FROM fact_label_result GROUP BY election_id"):
        elections[e]["label_rows"] = n
    for e, n in q("SELECT election_id, COUNT(*) FROM fact_turnout_bureau GROUP BY election_id"):
        elections[e]["bureau_rows"] = n
    out = {
        "communes": q("SELECT COUNT(*) FROM dim_commune")[0][0],
        "elections": elections,
        "missing": [e for (e,) in q("SELECT election_id FROM meta_quality_check WHERE check_name = "
                                    "'election_available' AND status = 'missing'")],
        "rows_rejected": q("SELECT COUNT(*) FROM meta_rejected_row")[0][0],
        "checks": dict(q("SELECT status, COUNT(*) FROM meta_quality_check GROUP BY status")),
        "failed": [f"{c} {e}: {d[:160]}" for c, e, d in
                   q("SELECT check_name, election_id, detail FROM meta_quality_check WHERE status = 'fail'")],
        "tables": {t: q(f"SELECT COUNT(*) FROM {t}")[0][0] for (t,) in
                   q("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")},
        # the last refresh's stages: done, or skipped with the reason it recorded
        "stage_runs": [f"{s} {st}" + (f" ({r[:140]})" if st != "done" and r else "") for s, st, r in
                       q("SELECT stage, status, reason FROM meta_stage_run WHERE refresh_id = (SELECT refresh_id "
                         "FROM meta_refresh ORDER BY finished_at DESC LIMIT 1) ORDER BY stage_seq")],
        "chosen_model": [m for (m,) in q("SELECT model_id FROM dim_model WHERE is_chosen = 1")],
        # mean weighted MAE over the test elections, per mode: the chosen model and the uniform swing
        "backtest_wmae": {f"{m} {mode}": v for m, mode, v in
                          q("SELECT model_id, mode, ROUND(AVG(value), 2) FROM fact_model_metric WHERE metric = 'wmae' "
                            "AND (model_id = 'uniform_swing' OR model_id IN (SELECT model_id FROM dim_model "
                            "WHERE is_chosen = 1)) AND mode NOT LIKE 'france%' GROUP BY model_id, mode ORDER BY mode, model_id")},
    }
    con.close()
    return out


def run(perimeter: str, mirror: Path, flags: str, folder: Path) -> dict:
    work = folder / perimeter.replace(",", "_")
    db = work / "electio.sqlite"
    env = {"ELECTIO_DATA": str(work / "data"), "ELECTIO_CACHE": str(work / "cache"),
           "ELECTIO_EXPORTS": str(work / "exports"), "ELECTIO_REPORTS": str(work / "reports")}
    child = run_child(["-m", "electio.refresh", "--departement", perimeter, "--mirror", str(mirror), "--offline",
                       "--db", f"sqlite:///{db}", *flags.split()], log=work / "refresh.log", env=env,
                      timeout=3600)
    text = child.log.read_text(errors="replace") + child.log.with_suffix(".out").read_text(errors="replace")
    stages = re.search(r"time\s*:\s*([\d.]+) s \(([^)]*)\)", text)
    out = {"perimeter": perimeter, "returncode": child.returncode, "wall_seconds": round(child.wall_seconds, 1),
           "peak_rss_mb": round(child.peak_rss_mb), "stages": stages.group(2) if stages else None,
           "tail": text.strip().splitlines()[-12:]}
    if db.exists():
        out.update(warehouse_figures(db))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--perimeters", default="FR,33,23,971", help="';'-free list: FR,33,23,971")
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    parser.add_argument("--flags", default=DEFAULT_FLAGS)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    results = {"machine": machine_info(), "flags": args.flags, "runs": []}
    with tempfile.TemporaryDirectory(prefix="electio-perimeters-") as tmp:
        for perimeter in args.perimeters.split(","):
            r = run(perimeter.strip(), args.mirror, args.flags, Path(tmp))
            results["runs"].append(r)
            print(f"{perimeter}: rc={r['returncode']} wall {r['wall_seconds']} s, peak {r['peak_rss_mb']} MB, "
                  f"{r.get('communes')} communes, checks {r.get('checks')}", file=sys.stderr)
    rows = [[r["perimeter"], r["returncode"], r["wall_seconds"], r["peak_rss_mb"], r.get("communes"),
             len(r.get("elections", {})), r.get("rows_rejected"), r.get("checks"), r["stages"]]
            for r in results["runs"]]
    print(markdown_table(["perimeter", "rc", "wall s", "peak RSS MB", "communes", "elections", "rejected rows",
                          "checks", "stage seconds"], rows))
    for r in results["runs"]:
        print(f"\n{r['perimeter']} rows per election:")
        print(markdown_table(["election", "communes", "bloc rows", "label rows", "bureau rows", "registered",
                              "expressed"],
                             [[e, v["communes"], v.get("bloc_rows"), v.get("label_rows"), v.get("bureau_rows"),
                               v["registered"], v["expressed"]] for e, v in r.get("elections", {}).items()]))
        if r.get("failed"):
            print("failed checks: " + "; ".join(r["failed"]))
        print("stages: " + "; ".join(r.get("stage_runs", [])))
        if r.get("chosen_model") is not None:
            print(f"chosen model: {', '.join(r['chosen_model']) or 'none'}; backtest wmae (mean over test elections): "
                  + ", ".join(f"{k} {v}" for k, v in r.get("backtest_wmae", {}).items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0 if all(r["returncode"] == 0 for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
