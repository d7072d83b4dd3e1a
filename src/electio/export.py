"""Exports for analysts: every warehouse table as UTF-8 CSV, plus one XLSX workbook.

Files are written to a temporary folder and swapped in, so a failed export leaves
the previous extracts intact.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from electio.warehouse.dictionary import dictionary_markdown, indicator_dictionary, schema_dictionary
from electio.warehouse.read import read_tables

log = logging.getLogger("electio.export")

#: Larger tables go to CSV only: the workbook is for browsing, and openpyxl
#: needs ~10 s per 100,000 rows (Excel's own hard limit is 1,048,575).
XLSX_MAX_ROWS = 50_000
WORKBOOK = "electio.xlsx"


def flat_views(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Analyst-friendly denormalised views (one row per commune x election x bloc)."""
    needed = {"fact_election_result", "fact_turnout", "dim_election", "dim_commune", "dim_bloc"}
    if not needed <= set(tables) or tables["fact_election_result"].empty:
        return {}
    election = tables["dim_election"][["election_id", "election_type", "election_year", "round_number",
                                       "election_date", "label_fr"]].rename(columns={"label_fr": "election_label"})
    commune = tables["dim_commune"][["commune_code", "commune_name", "territory", "epci_name", "population"]]
    bloc = tables["dim_bloc"][["bloc_code", "label_fr", "sort_order"]].rename(columns={"label_fr": "bloc_label"})
    turnout = tables["fact_turnout"][["election_id", "commune_code", "registered", "voters", "expressed",
                                      "turnout_pct"]]
    flat = (tables["fact_election_result"].merge(election, on="election_id").merge(commune, on="commune_code")
            .merge(bloc, on="bloc_code").merge(turnout, on=["election_id", "commune_code"]))
    flat = flat.sort_values(["election_date", "commune_code", "sort_order"]).drop(columns="sort_order")
    cols = ["election_id", "election_label", "election_type", "election_year", "round_number", "election_date",
            "commune_code", "commune_name", "territory", "epci_name", "population", "registered", "voters",
            "expressed", "turnout_pct", "bloc_code", "bloc_label", "votes", "share_expressed", "n_labels"]
    return {"v_resultats_communes": flat[cols].reset_index(drop=True)}


def export_tables(db_url: str, out_dir: Path) -> list[Path]:
    """Write ``<table>.csv`` for every table, the flat views, and ``electio.xlsx``."""
    tables = read_tables(db_url)
    tables.update(flat_views(tables))
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".exports-", dir=out_dir.parent))
    try:
        for name, frame in tables.items():
            # Plain UTF-8, '.' decimals, ISO dates: the Power BI template sets the
            # culture explicitly; Excel users open the XLSX instead.
            frame.to_csv(staging / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n")
        columns, indicators = schema_dictionary(), indicator_dictionary()
        columns.to_csv(staging / "data_dictionary.csv", index=False, encoding="utf-8", lineterminator="\n")
        indicators.to_csv(staging / "data_dictionary_indicators.csv", index=False, encoding="utf-8",
                          lineterminator="\n")
        (staging / "data_dictionary.md").write_text(dictionary_markdown(columns, indicators), encoding="utf-8")
        contents = pd.DataFrame({
            "table": list(tables), "rows": [len(f) for f in tables.values()],
            "fichier": [f"{n}.csv" + ("" if len(f) > XLSX_MAX_ROWS else f" + onglet {n[:31]}")
                        for n, f in tables.items()]})
        with pd.ExcelWriter(staging / WORKBOOK, engine="openpyxl") as xlsx:
            contents.to_excel(xlsx, sheet_name="sommaire", index=False)
            for name, frame in tables.items():
                if len(frame) > XLSX_MAX_ROWS:
                    log.info("%s has %d rows: CSV only, not in the workbook", name, len(frame))
                    continue
                frame.to_excel(xlsx, sheet_name=name[:31], index=False)
        if out_dir.exists():
            old = out_dir.with_name(out_dir.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            staging.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(out_dir.iterdir())
    log.info("exported %d tables to %s", len(tables), out_dir)
    return files
