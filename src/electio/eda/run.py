"""Exploratory analysis job: ``python -m electio.eda.run`` (same options as the refresh).

Reads the warehouse, computes ``fact_correlation`` and writes it back (that table only,
in one transaction: the rest of the warehouse is untouched), then writes the figures
to ``<reports>/figures/`` and the answer to ``<reports>/eda_answer.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import pandas as pd
from sqlalchemy import MetaData, Table, inspect, select

from electio.eda.answer import answer_question
from electio.eda.correlation import (CORRELATION_COLUMNS, N_BOOT, SEED, compute_correlations, indicator_closeness,
                                     prepare_inputs)
from electio.command import add_common_arguments, run_command, settings_from_args
from electio.eda.figures import write_figures
from electio.errors import ElectioError
from electio.settings import Settings
from electio.warehouse.load import make_engine, sqlite_path
from electio.warehouse.read import read_tables
from electio.warehouse.schema import BASE, GEOMETRY
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio.eda")

ANSWER_FILE = "eda_answer.json"
TABLE = "fact_correlation"


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def write_correlations(db_url: str, corr: pd.DataFrame) -> int:
    """Replace every row of fact_correlation with ``corr``, in one transaction.

    Only this table changes. Every row must name an election of dim_election and an
    indicator of dim_indicator (checked here, whatever the engine enforces); on any
    error the previous rows are kept. Returns the number of rows written.
    """
    if list(corr.columns) != CORRELATION_COLUMNS:
        raise ElectioError(f"{TABLE}: columns {list(corr.columns)} differ from sql/schema.sql {CORRELATION_COLUMNS}")
    if sqlite_path(db_url) is not None and not sqlite_path(db_url).exists():
        raise ElectioError(f"no warehouse at {sqlite_path(db_url)}: run `python -m electio.refresh` first")
    engine = make_engine(db_url)
    try:
        if TABLE not in set(inspect(engine).get_table_names()):
            raise ElectioError(f"the warehouse has no {TABLE} table: rebuild it with `python -m electio.refresh` "
                               "(sql/schema.sql creates it)")
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")  # must precede the transaction
                conn.commit()
            with conn.begin():
                meta = MetaData()
                table = Table(TABLE, meta, autoload_with=conn)
                elections = {r[0] for r in conn.execute(select(Table("dim_election", meta, autoload_with=conn)
                                                                .c.election_id))}
                indicators = {r[0] for r in conn.execute(select(Table("dim_indicator", meta, autoload_with=conn)
                                                                 .c.indicator_code))}
                unknown_e = sorted(set(corr["election_id"]) - elections)
                unknown_i = sorted(set(corr["indicator_code"]) - indicators)
                if unknown_e or unknown_i:
                    raise ElectioError(f"{TABLE}: rows reference elections {unknown_e[:5]} or indicators "
                                       f"{unknown_i[:5]} that are not in the warehouse")
                conn.execute(table.delete())
                if not corr.empty:
                    conn.execute(table.insert(), _records(corr))
    except ElectioError:
        raise
    except Exception as exc:
        raise ElectioError(f"writing {TABLE} failed, previous rows kept: {mask_secrets(exc)}") from None
    finally:
        engine.dispose()
    log.info("%s: %d rows written", TABLE, len(corr))
    return len(corr)


def write_answer(answer: dict, reports_dir: Path) -> Path:
    path = Path(reports_dir) / ANSWER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(answer, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def run_eda(settings: Settings, *, n_boot: int = N_BOOT, seed: int = SEED, figures: bool = True,
            shapes=None, arrondissements=None) -> dict:
    """Correlations -> warehouse, figures and answer -> reports; returns a summary."""
    t0 = time.perf_counter()
    tables = read_tables(settings.db_url, BASE + GEOMETRY)  # the correlations stage's and the maps'
    missing = {"dim_election", "fact_turnout", "fact_election_result", "dim_bloc"} - set(tables)
    if missing:
        raise ElectioError(f"the warehouse lacks {sorted(missing)}: run `python -m electio.refresh` first")
    inputs = prepare_inputs(tables)
    corr = compute_correlations(tables, n_boot=n_boot, seed=seed, inputs=inputs)
    n = write_correlations(settings.db_url, corr)
    answer = answer_question(corr, tables.get("dim_indicator"), dim_election=tables["dim_election"],
                             dim_bloc=tables["dim_bloc"], transforms=inputs.transforms,
                             closeness=indicator_closeness(inputs, tables["dim_election"]))
    answer_path = write_answer(answer, settings.reports_dir)
    files = (write_figures(tables, corr, settings, shapes=shapes, arrondissements=arrondissements, inputs=inputs)
             if figures else [])
    return {
        "n_correlations": n,
        "n_elections": int(corr["election_id"].nunique()),
        "n_indicators": int(corr["indicator_code"].nunique()),
        "top": [{k: r[k] for k in ("rank", "indicator_code", "indicator_label_fr", "target", "target_label_fr",
                                   "mean_pearson", "mean_abs_pearson", "n_elections", "stable")}
                for r in answer["top"]],
        "answer_file": str(answer_path),
        "files": [str(f) for f in files],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m electio.eda.run", description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--n-boot", type=int, default=N_BOOT, help=f"bootstrap draws (default {N_BOOT})")
    parser.add_argument("--seed", type=int, default=SEED, help="bootstrap seed")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    args = parser.parse_args(argv)
    settings = settings_from_args(args)
    return run_command("eda", lambda: _eda(settings, args), verbose=args.verbose)


def _eda(settings: Settings, args) -> int:
    summary = run_eda(settings, n_boot=args.n_boot, seed=args.seed, figures=not args.no_figures)
    print(f"electio eda - {summary['n_correlations']} correlations ({summary['n_elections']} elections, "
          f"{summary['n_indicators']} indicators), {len(summary['files'])} figures, answer in "
          f"{summary['answer_file']} ({summary['seconds']} s)")
    for r in summary["top"]:
        print(f"  {r['rank']}. {r['indicator_label_fr']} x {r['target_label_fr']}: mean r {r['mean_pearson']:+.2f}"
              f"{' (stable)' if r['stable'] else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
