"""Benchmark: national-scale load into SQLite, our loader against a naive ``to_sql`` baseline.

Not a test (pytest never collects bench/).

1. Build (one child process): every commune of France for every election the
   national sources hold -- the aktiur commune-level wide files (euro 2014, pres
   2017 T1/T2, leg 2017 T1/T2, euro 2019) plus their polling-station (bureau)
   files -- harmonised onto the reference list (etalab 2026 ``communes.json``):
   a national code map (``build_code_map``) and a national ``dim_commune``
   (``build_dim_commune`` for every département of the reference list, no
   geometry), then ``harmonise_election`` per election. The star-schema frames
   are pickled to a temporary folder.
2. Load, alternating order, ``--runs`` times, each in a fresh child process so
   that its peak RSS is its own:
   * ours:  ``electio.warehouse.load.write_warehouse("sqlite:///<new file>", tables)``;
   * naive: a fresh file created with sql/schema.sql, then
     ``frame.to_sql(name, engine, if_exists="append", index=False)`` per table, in
     the same (foreign-key) order, with default pandas/SQLAlchemy settings (no
     PRAGMA, no ``method=``, no ``chunksize``).
   * prototypes of faster loaders (bench/proto_loader.py, ``--variants``).
   All are timed from engine creation to the closed file, schema creation
   included; CPU time (user + system) is reported beside wall time because the
   machine is shared. Throughput = fact rows / seconds (all tables are loaded; the
   dimension tables are ~110k rows, reported apart).
3. Both warehouses must end with identical row counts per table (checked).

    python bench/bench_national_load.py                # 3 runs of each loader
    python bench/bench_national_load.py --runs 5 --json bench/results/national.json
    python bench/bench_national_load.py --variants chunked,chunked_fkcheck   # other prototypes
    python bench/bench_national_load.py --variants ''                        # ours and naive only

Bench-local pre-mapping (not in the product yet, reported): aktiur writes
overseas départements with Ministry codes (ZA..ZX, or 971..988 in 2014, with
3-digit commune numbers such as 101 for 97101). They are translated to INSEE
codes here; rows that have no commune on the reference list at all (French
abroad "ZZ"/"99", Wallis-et-Futuna given as one unit) are left out and counted.

Targets (issue 8): national load >= 3x the naive baseline's rows/s, peak memory < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import (DEFAULT_MIRROR, current_rss_mb, fmt, machine_info, markdown_table,  # noqa: E402
                        run_child, schedstat, self_peak_rss_mb, stats)

TARGET_RATIO = 3.0
#: the fastest prototype of bench/proto_loader.py, timed by default beside ours and naive
DEFAULT_VARIANTS = "chunked_page16k_fkcheck_worowid"
TARGET_PEAK_MB = 2048.0
AKTIUR = "aktiur_resultats_electoraux"
#: election_id -> aktiur file stem; commune file "<stem>_par_commune_large.csv.gz", bureau "<stem>_par_bureau_large.csv.gz".
ELECTIONS = {"euro_2014_t1": "2014-europeennes", "pres_2017_t1": "2017-presidentielle-1",
             "pres_2017_t2": "2017-presidentielle-2", "leg_2017_t1": "2017-legislatives-1",
             "leg_2017_t2": "2017-legislatives-2", "euro_2019_t1": "2019-europeennes"}
FACT_TABLES = ("fact_turnout", "fact_election_result", "fact_label_result", "fact_turnout_bureau")
#: Ministry overseas codes -> INSEE département (commune = last 2 digits of the 3-digit number).
MINISTRY_OVERSEAS = {"ZA": "971", "ZB": "972", "ZC": "973", "ZD": "974", "ZS": "975", "ZM": "976",
                     "ZW": "986", "ZP": "987", "ZN": "988"}


# --------------------------------------------------------------------------- build
def insee_codes(codes):
    """aktiur source codes ("69123", "ZA101", "971101", "ZX701") -> INSEE codes ("97101", "97701")."""
    dep, com = codes.str[:-3], codes.str[-3:]
    dep3 = dep.map(MINISTRY_OVERSEAS).fillna(dep)
    out = codes.copy()
    overseas = dep3.str.len() == 3
    out[overseas] = dep3[overseas] + com[overseas].str[-2:]
    st_barth_martin = dep.isin(["ZX", "977", "978"])  # 701 Saint-Barthélemy, 801 Saint-Martin
    out[st_barth_martin] = "97" + com[st_barth_martin]
    return out


def build(frames_dir: Path, mirror: Path) -> dict:
    import pandas as pd

    from electio.sources.elections import aktiur
    from electio.sources.geography import parse_cog_communes, parse_etalab_communes, parse_etalab_epci
    from electio.transform.communes import build_code_map, build_dim_commune
    from electio.transform.elections import harmonise_election, load_election_specs
    from electio.transform.politics import load_blocs, load_nuances
    from electio.pipeline import BUREAU_FACT_COLUMNS, REFERENCE_COG, REFERENCE_COMMUNES, REFERENCE_EPCI, REFERENCE_VINTAGE

    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    etalab = parse_etalab_communes(mirror.joinpath(*REFERENCE_COMMUNES))
    epci = parse_etalab_epci(mirror.joinpath(*REFERENCE_EPCI))
    cog = parse_cog_communes(mirror.joinpath(*REFERENCE_COG))
    code_map = build_code_map(etalab)
    deps = sorted(etalab.loc[etalab["type"] == "commune-actuelle", "departement"].dropna().unique())
    dim = pd.concat([build_dim_commune(etalab, epci, cog, {}, departement=d,
                                       cog_vintage=REFERENCE_VINTAGE) for d in deps], ignore_index=True)
    dim = dim.sort_values("commune_code").reset_index(drop=True)
    code_map = code_map[code_map["commune_code"].isin(set(dim["commune_code"]))].sort_values("source_code")
    known = set(code_map["source_code"])
    seconds["geography"] = time.perf_counter() - clock

    nuances, blocs = load_nuances(), load_blocs()
    specs = {s.id: s for s in load_election_specs()}
    facts, elections, per_election = [], [], {}
    clock = time.perf_counter()
    for election_id, stem in ELECTIONS.items():
        commune_file, bureau_file = f"{stem}_par_commune_large.csv.gz", f"{stem}_par_bureau_large.csv.gz"
        staged = aktiur.parse_commune_large(mirror / AKTIUR / commune_file, departement="*")
        excluded = {}
        for part in ("turnout", "results"):
            frame = getattr(staged, part)
            frame["source_code"] = insee_codes(frame["source_code"])
            keep = frame["source_code"].isin(known)
            excluded[part] = sorted(frame.loc[~keep, "source_code"].unique().tolist())
            setattr(staged, part, frame[keep].reset_index(drop=True))
        info = {"commune_rows_read": staged.rows_read, "communes_excluded": len(excluded["turnout"]),
                "excluded_examples": excluded["turnout"][:5]}
        bureau_path = mirror / AKTIUR / bureau_file
        if bureau_path.exists():
            b = aktiur.parse_commune_large(bureau_path, departement="*").bureaux
            b["source_code"] = insee_codes(b["source_code"])
            keep = b["source_code"].isin(known)
            info.update(bureau_rows_read=len(b), bureaux_excluded=int((~keep).sum()))
            staged.bureaux = b[keep].reset_index(drop=True)
        f = harmonise_election(election_id, staged, code_map, nuances, where=f"{AKTIUR}/{commune_file}")
        facts.append(f)
        spec = specs[election_id]
        elections.append({"election_id": spec.id, "election_type": spec.type, "election_year": spec.year,
                          "round_number": spec.round, "election_date": spec.date, "label_fr": spec.label_fr,
                          "source_id": AKTIUR, "source_file": commune_file})
        info.update(communes=len(f.turnout), registered=int(f.turnout["registered"].sum()),
                    expressed=int(f.turnout["expressed"].sum()),
                    bureaux=0 if f.bureaux is None else len(f.bureaux))
        per_election[election_id] = info
        print(f"  {election_id}: {info}", file=sys.stderr, flush=True)
    seconds["elections"] = time.perf_counter() - clock

    def concat(attr):
        return pd.concat([getattr(f, attr) for f in facts if getattr(f, attr) is not None], ignore_index=True)

    turnout, labels, bloc_facts, bureaux = concat("turnout"), concat("labels"), concat("blocs"), concat("bureaux")
    ids = set(ELECTIONS)
    tables = {
        "dim_commune": dim,
        "map_commune_code": code_map[["source_code", "commune_code", "relation", "source_name"]],
        "dim_election": pd.DataFrame(elections),
        "dim_bloc": blocs[["bloc_code", "label_fr", "sort_order", "color_hex"]],
        "dim_nuance": nuances[nuances["election_id"].isin(ids) & (nuances["label_kind"] != "list_code")]
        .rename(columns={"bloc": "bloc_code"})[["election_id", "label", "label_kind", "display_name", "bloc_code",
                                                "rationale"]].sort_values(["election_id", "label"]),
        "fact_turnout": turnout[["election_id", "commune_code", "registered", "voters", "blank", "null_ballots",
                                 "blank_and_null", "expressed", "turnout_pct"]],
        "fact_election_result": bloc_facts.rename(columns={"bloc": "bloc_code"})[
            ["election_id", "commune_code", "bloc_code", "votes", "share_expressed", "n_labels"]],
        "fact_label_result": labels[["election_id", "commune_code", "label", "votes", "share_expressed"]],
        "fact_turnout_bureau": bureaux[BUREAU_FACT_COLUMNS],
    }
    tables = {k: v.reset_index(drop=True) for k, v in tables.items()}
    frames_dir.mkdir(parents=True, exist_ok=True)
    with open(frames_dir / "tables.pkl", "wb") as fh:
        pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return {"seconds": seconds, "departements": len(deps), "rows": {k: len(v) for k, v in tables.items()},
            "elections": per_election, "peak_rss_mb_self": self_peak_rss_mb()}


# --------------------------------------------------------------------------- loaders
def load_ours(db: Path, tables) -> None:
    from electio.warehouse.load import write_warehouse

    write_warehouse(f"sqlite:///{db}", tables)


def load_naive(db: Path, tables) -> None:
    """The naive baseline: schema.sql into a fresh file, then DataFrame.to_sql per table, defaults only."""
    from sqlalchemy import create_engine

    from electio.warehouse.schema import schema_sql, table_columns

    engine = create_engine(f"sqlite:///{db}")
    try:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.executescript(schema_sql())
            raw.commit()
        finally:
            raw.close()
        for name in table_columns():  # creation order = foreign-key order
            if name in tables and not tables[name].empty:
                tables[name].to_sql(name, engine, if_exists="append", index=False)
    finally:
        engine.dispose()


def loaders() -> dict:
    found = {"ours": load_ours, "naive": load_naive}
    try:  # prototypes of faster loaders, if any (bench/proto_loader.py)
        import proto_loader

        found.update(proto_loader.VARIANTS)
    except ImportError:
        pass
    return found


def child_load(kind: str, frames_dir: Path, db: Path) -> dict:
    with open(frames_dir / "tables.pkl", "rb") as fh:
        tables = pickle.load(fh)
    rss_before = current_rss_mb()
    loader = loaders()[kind]
    sched = schedstat()
    clock, cpu = time.perf_counter(), time.process_time()
    loader(db, tables)
    seconds, cpu_seconds = time.perf_counter() - clock, time.process_time() - cpu
    after = schedstat()
    runq = after[1] - sched[1] if sched and after else None
    return {"kind": kind, "seconds": seconds, "cpu_seconds": cpu_seconds, "runq_wait_seconds": runq,
            "rss_before_load_mb": rss_before,
            "peak_rss_mb_self": self_peak_rss_mb(), "db_bytes": db.stat().st_size}


def count_rows(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: con.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def table_digests(db: Path) -> dict[str, str]:
    """sha256 of every table's rows in primary-key order (values and SQLite storage types)."""
    import hashlib

    con = sqlite3.connect(db)
    try:
        out = {}
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
            pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]] or [r[1] for r in info]
            cols = [r[1] for r in info]
            select = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
            digest = hashlib.sha256()
            cur = con.execute(f'SELECT {select} FROM "{name}" ORDER BY {", ".join(chr(34) + c + chr(34) for c in pk)}')
            while rows := cur.fetchmany(50_000):
                digest.update(repr(rows).encode())
            out[name] = digest.hexdigest()[:16]
        return out
    finally:
        con.close()


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each loader (default 3)")
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR))
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help="comma-separated prototype loaders of bench/proto_loader.py to time as well "
                             f"(default {DEFAULT_VARIANTS}; '' for none)")
    parser.add_argument("--json", help="also write all figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the frames, warehouses and logs")
    parser.add_argument("--no-digest", action="store_true",
                        help="skip the content comparison (sha256 of each table) after the first run")
    parser.add_argument("--child", choices=["build", "load"], help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--frames", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "build":
        print(json.dumps(build(Path(args.frames), Path(args.mirror)), default=str))
        return 0
    if args.child == "load":
        print(json.dumps(child_load(args.kind, Path(args.frames), Path(args.db))))
        return 0

    machine = machine_info()
    print(f"code {machine['git_head']}; machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB, Python "
          f"{machine['python']}, pandas {machine['pandas']}, SQLAlchemy {machine['sqlalchemy']}, SQLite "
          f"{machine['sqlite']}, load average at start {machine['loadavg_at_start']}", flush=True)
    kinds = ["ours", "naive"] + [v.strip() for v in args.variants.split(",") if v.strip() not in ("", "ours", "naive")]
    unknown = set(kinds) - set(loaders())
    if unknown:
        parser.error(f"unknown loader(s) {sorted(unknown)}; known: {sorted(loaders())}")
    base = Path(tempfile.mkdtemp(prefix="electio-bench-national-"))
    frames = base / "frames"
    script = str(Path(__file__).resolve())
    try:
        print("building the national frames...", flush=True)
        b = run_child([script, "--child", "build", "--frames", str(frames), "--mirror", args.mirror],
                      log=base / "logs" / "build.log")
        if b.returncode != 0:
            print(f"build FAILED (exit {b.returncode}):\n{b.log.read_text()[-3000:]}", file=sys.stderr)
            return 1
        built = b.result
        rows = built["rows"]
        fact_rows = sum(rows[t] for t in FACT_TABLES)
        total_rows = sum(rows.values())
        print(f"  built in {b.wall_seconds:.1f} s (peak RSS {b.peak_rss_mb:.0f} MB): {built['departements']} "
              f"départements, {fact_rows:,} fact rows, {total_rows:,} rows in all: {rows}", flush=True)

        results: dict[str, list[dict]] = {k: [] for k in kinds}
        counts: dict[str, dict] = {}
        digests: dict[str, dict] = {}
        for i in range(args.runs):
            order = kinds if i % 2 == 0 else kinds[::-1]
            for kind in order:
                db = base / f"{kind}-{i + 1}.sqlite"
                load_before = round(os.getloadavg()[0], 2)
                r = run_child([script, "--child", "load", "--kind", kind, "--frames", str(frames), "--db", str(db)],
                              log=base / "logs" / f"{kind}-{i + 1}.log")
                if r.returncode != 0:
                    print(f"{kind} run {i + 1} FAILED (exit {r.returncode}):\n{r.log.read_text()[-3000:]}",
                          file=sys.stderr)
                    return 1
                c = count_rows(db)
                if kind not in counts:
                    counts[kind] = c
                elif c != counts[kind]:
                    print(f"{kind}: row counts differ between runs: {c} vs {counts[kind]}", file=sys.stderr)
                    return 1
                run = {**r.result, "peak_rss_mb": r.peak_rss_mb, "process_seconds": r.wall_seconds,
                       "loadavg_before": load_before, "fact_rows_per_s": fact_rows / r.result["seconds"],
                       "fact_rows_per_cpu_s": fact_rows / r.result["cpu_seconds"],
                       "rows_per_s": total_rows / r.result["seconds"]}
                results[kind].append(run)
                if i == 0 and not args.no_digest:
                    digests[kind] = table_digests(db)
                print(f"  run {i + 1} {kind:8s}: {r.result['seconds']:6.1f} s (CPU {r.result['cpu_seconds']:5.1f} s, "
                      f"waiting for a CPU {fmt(r.result.get('runq_wait_seconds'), 1)} s), "
                      f"{run['fact_rows_per_s']:9,.0f} fact "
                      f"rows/s, peak RSS {r.peak_rss_mb:5.0f} MB (frames alone {r.result['rss_before_load_mb']:.0f} MB)"
                      f", load avg {load_before}", flush=True)
                db.unlink(missing_ok=True)

        # identical row counts, and equal to the frames
        expected = {t: n for t, n in rows.items() if n}
        verdicts = {}
        for kind, c in counts.items():
            nonzero = {t: n for t, n in c.items() if n}
            verdicts[kind] = nonzero == expected
        identical = len({json.dumps(c, sort_keys=True) for c in counts.values()}) == 1
        summary = {k: {"seconds": stats([r["seconds"] for r in rs]),
                       "fact_rows_per_s": stats([r["fact_rows_per_s"] for r in rs]),
                       "cpu_seconds": stats([r["cpu_seconds"] for r in rs]),
                       "runq_wait_seconds": stats([r.get("runq_wait_seconds") for r in rs]),
                       "fact_rows_per_cpu_s": stats([r["fact_rows_per_cpu_s"] for r in rs]),
                       "rows_per_s": stats([r["rows_per_s"] for r in rs]),
                       "peak_rss_mb": stats([r["peak_rss_mb"] for r in rs]),
                       "rss_before_load_mb": stats([r["rss_before_load_mb"] for r in rs])}
                   for k, rs in results.items()}
        naive_rate = summary["naive"]["fact_rows_per_s"]["median"]
        # per-run ratio (each run pairs loaders measured back to back), then median
        for kind in kinds:
            summary[kind]["ratio_vs_naive"] = summary[kind]["fact_rows_per_s"]["median"] / naive_rate
            summary[kind]["cpu_ratio_vs_naive"] = (summary[kind]["fact_rows_per_cpu_s"]["median"]
                                                   / summary["naive"]["fact_rows_per_cpu_s"]["median"])
            summary[kind]["paired_ratios"] = [r["fact_rows_per_s"] / n["fact_rows_per_s"]
                                              for r, n in zip(results[kind], results["naive"])]

        print(f"\n### National load into SQLite ({args.runs} runs each; {fact_rows:,} fact rows, "
              f"{total_rows:,} rows in all)\n")
        table = []
        for kind in kinds:
            s = summary[kind]
            table.append([kind, fmt(fact_rows), fmt(s["seconds"]["median"], 1),
                          f"{fmt(s['seconds']['min'], 1)}-{fmt(s['seconds']['max'], 1)}",
                          fmt(s["fact_rows_per_s"]["median"], 0), f"{s['ratio_vs_naive']:.2f}x",
                          fmt(s["cpu_seconds"]["median"], 1), f"{s['cpu_ratio_vs_naive']:.2f}x",
                          fmt(s["runq_wait_seconds"]["median"], 1),
                          fmt(s["peak_rss_mb"]["median"], 0), fmt(s["rss_before_load_mb"]["median"], 0)])
        print(markdown_table(["loader", "fact rows", "seconds (median)", "seconds (min-max)", "fact rows/s",
                              "ratio vs naive", "CPU s (median)", "CPU ratio vs naive",
                              "waiting for a CPU s (median)", "peak RSS MB",
                              "RSS of frames before load MB"], table))
        ours = summary["ours"]
        ratio_met = ours["ratio_vs_naive"] >= TARGET_RATIO
        mem_met = ours["peak_rss_mb"]["max"] < TARGET_PEAK_MB and b.peak_rss_mb < TARGET_PEAK_MB
        print(f"\nper-table rows: {rows}")
        print(f"row counts identical in every warehouse: {identical and all(verdicts.values())} {verdicts}")
        if digests:
            same = {k: [t for t in d if d[t] != digests["ours"].get(t)] for k, d in digests.items() if k != "ours"}
            print("content (sha256 of rows in key order, with SQLite types) differing from ours: "
                  + ", ".join(f"{k}: {v or 'none'}" for k, v in same.items()))
            bad_variants = {k: v for k, v in same.items() if k != "naive" and v}
            if bad_variants:
                print(f"PROTOTYPE CONTENT DIFFERS from ours: {bad_variants}", file=sys.stderr)
        print(f"target ratio >= {TARGET_RATIO:.0f}x: {'MET' if ratio_met else 'NOT MET'} "
              f"(ours {ours['ratio_vs_naive']:.2f}x on wall time, {ours['cpu_ratio_vs_naive']:.2f}x on CPU time; "
              f"paired per-run wall ratios "
              f"{[round(x, 2) for x in ours['paired_ratios']]})")
        print(f"target peak memory < 2 GB: {'MET' if mem_met else 'NOT MET'} (our loader max "
              f"{ours['peak_rss_mb']['max']:.0f} MB; national build {b.peak_rss_mb:.0f} MB)")
        print(f"load average at end {[round(x, 2) for x in os.getloadavg()]}")
        report = {"machine": machine, "runs": args.runs, "build": {**built, "process_seconds": b.wall_seconds,
                                                                   "peak_rss_mb": b.peak_rss_mb},
                  "fact_rows": fact_rows, "total_rows": total_rows, "row_counts": counts,
                  "row_counts_identical": identical and all(verdicts.values()), "digests": digests,
                  "summary": summary, "runs_detail": results,
                  "targets": {"ratio_met": ratio_met, "memory_met": mem_met}}
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        return 0 if identical and all(verdicts.values()) else 1
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
