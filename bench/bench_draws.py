"""Benchmark: the forecast's Monte Carlo noise and time against its number of draws (issue 17: the
one-change refresh would meet its target with fewer draws; this says what that would cost).

One scenario (default: the presidential status quo) forecast with seeds 1..N at each number of
swing draws (x 4 commune draws each); reports the seed-to-seed standard deviation of the central
value and of the 80 % bounds (median over communes x blocs) and of the département's central
values, and the seconds per forecast (outside a cached refresh, so with the lead-time errors).

    python bench/bench_draws.py --db sqlite:///data/electio.sqlite --models data/models
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from electio.forecast.run import forecast_tables
from electio.forecast.scenarios import default_scenarios
from electio.model.train import load_model
from electio.warehouse.read import read_tables
from electio.warehouse.schema import CONTEXT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--models", required=True, help="folder of the trained model (data/models)")
    parser.add_argument("--scenario", default="pres_2027_status_quo")
    parser.add_argument("--reference-year", type=int, default=2024)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--swings", default="250,500,2000")
    args = parser.parse_args(argv)
    tables = read_tables(args.db, without=CONTEXT)
    trained = load_model(Path(args.models))
    scenario = [s for s in default_scenarios(args.reference_year) if s.scenario_id == args.scenario]
    print(f"{args.scenario}, {args.seeds} seeds per setting")
    for n_swing in map(int, args.swings.split(",")):
        commune, dep, seconds = [], [], []
        for seed in range(1, args.seeds + 1):
            clock = time.perf_counter()
            out = forecast_tables(tables, trained, scenario, seed=seed, n_swing=n_swing)
            seconds.append(time.perf_counter() - clock)
            cols = ["predicted", "interval_low", "interval_high"]
            commune.append(out["fact_forecast"].query("target != 'turnout'")[cols].to_numpy(float))
            dep.append(out["fact_forecast_departement"].set_index("target")["predicted"])
        sd_c = np.nanmedian(np.std(np.stack(commune), axis=0, ddof=1), axis=0)
        sd_d = np.std(np.stack([d.to_numpy(float) for d in dep]), axis=0, ddof=1)
        print(f"{n_swing * 4:6d} draws: {np.median(seconds):.1f} s per forecast; communes, median SD of the central "
              f"value / 80 % low / high: {sd_c[0]:.2f} / {sd_c[1]:.2f} / {sd_c[2]:.2f} points; département SD: "
              + ", ".join(f"{t} {v:.2f}" for t, v in zip(dep[0].index, sd_d)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
