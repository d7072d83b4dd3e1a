"""Exports for analysts: every warehouse table and flat view as CSV, plus one XLSX workbook.

Three forms of the same rows, written to a temporary folder and swapped in, so a failed
export leaves the previous extracts intact:

- ``<name>.csv``: UTF-8 without BOM, ',' separator, '.' decimals, ISO dates. For tools
  (the Power BI CSV template, pandas, R), which set the culture explicitly.
- ``excel-fr/<name>.csv``: what a French Excel opens correctly by double-click: UTF-8 with
  BOM, ';' separator, decimal comma, dates as dd/mm/yyyy, and text that Excel would turn
  into a number or a date (commune codes such as 01001) written as ="01001".
- ``electio.xlsx``: one sheet per table or view of at most :data:`XLSX_MAX_ROWS` rows, with
  frozen headers, filters, column widths, real dates and codes kept as text; a contents
  sheet and the data dictionary. The scenario forecasts (:data:`FORECAST_SHEETS`) have their
  own workbook, ``electio_previsions.xlsx``, built the same way: a new or edited scenario
  rewrites that small workbook only, not the ~1.2 million cells of the main one.

The flat views (``v_*``) are SQL views of the warehouse (sql/views.sql), read like tables.
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from electio.cache import memo_files
from electio.warehouse.dictionary import dictionary_markdown, indicator_dictionary, schema_dictionary
from electio.warehouse.read import count_rows, present_names, read_tables, read_views
from electio.warehouse.schema import JOURNAL, view_tables

log = logging.getLogger("electio.export")

#: Larger tables go to CSV only: the workbook is for browsing (Excel's own limit is 1,048,575).
XLSX_MAX_ROWS = 100_000
WORKBOOK = "electio.xlsx"
FORECAST_WORKBOOK = "electio_previsions.xlsx"
#: Tables and views of the forecast workbook (the forecast stage's outputs), none in the main one.
FORECAST_SHEETS = ("dim_scenario", "fact_forecast", "fact_forecast_departement", "fact_horizon_error",
                   "v_previsions_communes")
EXCEL_FR_DIR = "excel-fr"

#: Fact tables that the workbook shows through their flat view (labels joined in); their CSV stays.
SHOWN_AS_VIEW = {"fact_election_result": "v_resultats_communes", "fact_turnout": "v_participation_communes",
                 "fact_indicator": "v_indicateurs_communes", "fact_forecast": "v_previsions_communes"}

#: Text that Excel would read as a number, a date or a formula instead of text.
_EXCEL_WOULD_CONVERT = re.compile(
    r"^\s*(?:[-+=@]|[0-9.,]+(?:[eE][-+]?[0-9]+)?%?\s*$|[0-9]{1,4}[/-][0-9]{1,2}(?:[/-][0-9]{1,4})?\s*$"
    r"|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\s*$)")


# --- French Excel CSV -----------------------------------------------------------------------

def _is_date_only(values: pd.Series) -> bool:
    present = values.dropna()
    return present.empty or bool((present == present.dt.normalize()).all())


def excel_fr_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as text cells a French Excel reads back as the same values (for to_csv)."""
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            if pd.api.types.is_float_dtype(col) and col.isna().any() and (col.dropna() % 1 == 0).all():
                col = col.astype("Int64")  # an INT column with NULLs: 832, not 832,0
            out[name] = col  # decimal comma applied by to_csv(decimal=",")
            continue
        # Codes, labels and dates repeat a lot: convert each distinct value once.
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        if pd.api.types.is_datetime64_any_dtype(col):
            fmt = "%d/%m/%Y" if _is_date_only(col) else "%d/%m/%Y %H:%M:%S"
            cells = [v.strftime(fmt) for v in uniques]
        else:
            cells = [f'="{v.replace(chr(34), chr(34) * 2)}"' if _EXCEL_WOULD_CONVERT.match(v) else v
                     for v in map(str, uniques)]
        out[name] = pd.Series(np.array(cells + [None], dtype=object)[codes], index=frame.index)
    return pd.DataFrame(out, index=frame.index)


def write_csv_excel_fr(frame: pd.DataFrame, path: Path) -> None:
    excel_fr_frame(frame).to_csv(path, index=False, sep=";", decimal=",", encoding="utf-8-sig",
                                 lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    # Plain UTF-8, '.' decimals, ISO dates: the Power BI template sets the culture explicitly.
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


# --- workbook -------------------------------------------------------------------------------

#: Excel truncates a cell's text beyond this (commune boundaries as GeoJSON are longer).
EXCEL_MAX_CHARS = 32_767


def _too_long_for_excel(frame: pd.DataFrame) -> bool:
    return any(frame[c].astype("string").str.len().max(skipna=True) > EXCEL_MAX_CHARS
               for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_datetime64_any_dtype(frame[c]) and frame[c].notna().any())


def _column_width(name: str, col: pd.Series) -> float:
    sample = col.head(5000)
    if pd.api.types.is_datetime64_any_dtype(sample):
        longest = 10 if _is_date_only(sample) else 19
    elif sample.empty:
        longest = 0
    else:
        longest = sample.astype("string").str.len().max(skipna=True)
        longest = 0 if pd.isna(longest) else int(longest)
    return min(max(len(name), longest, 6) + 2, 60)


def _cells(col: pd.Series) -> tuple[str, list]:
    """How to write one column (string, number, datetime, bool) and its values, None for missing."""
    if pd.api.types.is_datetime64_any_dtype(col):
        kind, values = "datetime", list(col.dt.to_pydatetime())
        return kind, [None if pd.isna(v) else v for v in values]
    if pd.api.types.is_bool_dtype(col):
        kind = "bool"
    elif pd.api.types.is_numeric_dtype(col):
        kind = "number"
        col = col.astype("float64") if not pd.api.types.is_integer_dtype(col) else col
        col = col.where(np.isfinite(col.astype("float64")))
    else:
        kind = "string"
    return kind, col.astype(object).where(col.notna(), None).tolist()


def write_sheet(book: xlsxwriter.Workbook, name: str, frame: pd.DataFrame, formats: dict) -> None:
    sheet = book.add_worksheet(name[:31])
    for i, column in enumerate(frame.columns):
        sheet.set_column(i, i, _column_width(str(column), frame[column]))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(frame), 1), max(len(frame.columns) - 1, 0))
    sheet.write_row(0, 0, [str(c) for c in frame.columns], formats["header"])
    columns = []
    for column in frame.columns:
        kind, values = _cells(frame[column])
        if kind == "datetime":
            fmt = formats["date"] if _is_date_only(frame[column]) else formats["datetime"]
            columns.append((sheet.write_datetime, values, fmt))
        else:
            write = {"string": sheet.write_string, "number": sheet.write_number, "bool": sheet.write_boolean}[kind]
            columns.append((write, values, None))
    # Row by row: the workbook is written in constant-memory mode.
    for r in range(len(frame)):
        row = r + 1
        for c, (write, values, fmt) in enumerate(columns):
            value = values[r]
            if value is not None:
                if fmt is None:
                    write(row, c, value)
                else:
                    write(row, c, value, fmt)


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame], contents: pd.DataFrame) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    formats = {"header": book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1}),
               "date": book.add_format({"num_format": "dd/mm/yyyy"}),
               "datetime": book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})}
    try:
        write_sheet(book, "sommaire", contents, formats)
        for name, frame in sheets.items():
            write_sheet(book, name, frame, formats)
    finally:
        book.close()


# --- export ---------------------------------------------------------------------------------

def _table_files(name: str, frame: pd.DataFrame, folder: Path) -> list[Path]:
    paths = [folder / f"{name}.csv", folder / EXCEL_FR_DIR / f"{name}.csv"]
    write_csv(frame, paths[0])
    write_csv_excel_fr(frame, paths[1])
    return paths


def _workbook_files(book: str, shown: dict[str, pd.DataFrame | int], columns: pd.DataFrame, folder: Path,
                    elsewhere: dict[str, str]) -> list[Path]:
    """One workbook: the tables and views small enough for a sheet, a contents sheet, the dictionary.
    ``shown``: this workbook's tables and views, each frame or only its row count when it has too
    many rows for a sheet. ``elsewhere``: tables kept out of this workbook -> where they are instead
    (listed in the contents without a row count, so that this workbook does not change when they do)."""
    in_book = {n: f for n, f in shown.items() if isinstance(f, pd.DataFrame) and len(f) <= XLSX_MAX_ROWS
               and SHOWN_AS_VIEW.get(n) not in shown and not _too_long_for_excel(f)}
    rows = {n: f if isinstance(f, int) else len(f) for n, f in shown.items()}
    for name in sorted(set(shown) - set(in_book)):
        if rows[name] > XLSX_MAX_ROWS or _too_long_for_excel(shown[name]):
            log.info("%s: CSV only (more than %d rows or cells over Excel's %d characters)", name,
                     XLSX_MAX_ROWS, EXCEL_MAX_CHARS)

    def where(n: str) -> str:
        if n in in_book:
            return f"{n}.csv + onglet {n[:31]}"
        if SHOWN_AS_VIEW.get(n) in shown:
            return f"{n}.csv (dans le classeur : onglet {SHOWN_AS_VIEW[n]}, avec les libellés)"
        return f"{n}.csv (trop de lignes ou de texte pour un onglet)"

    contents = pd.DataFrame({"table": list(shown), "lignes": [rows[n] for n in shown],
                             "fichier": [where(n) for n in shown]})
    others = pd.DataFrame({"table": list(elsewhere), "lignes": np.nan, "fichier": list(elsewhere.values())})
    contents = pd.concat([contents, others], ignore_index=True) if not others.empty else contents
    clock = time.perf_counter()
    dictionary = columns.drop(columns=["table_meaning"], errors="ignore")
    if book != WORKBOOK:  # the main workbook's dictionary describes every table
        dictionary = dictionary[dictionary["table"].isin(shown)].reset_index(drop=True)
    write_workbook(folder / book, {**in_book, "dictionnaire": dictionary}, contents)
    log.info("%s written: %d sheets, %.1f s", book, len(in_book) + 2, time.perf_counter() - clock)
    return [folder / book]


def _workbooks(names: list[str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each workbook -> (its tables and views, the others it lists as kept elsewhere). The refresh
    journal stays in its CSV files: it changes on every run, the workbooks need not."""
    journal = {n: f"{n}.csv (journal des rafraîchissements, hors classeur : il change à chaque exécution)"
               for n in JOURNAL if n in names}
    forecast = [n for n in names if n in FORECAST_SHEETS]
    main = [n for n in names if n not in JOURNAL and n not in FORECAST_SHEETS]
    # "see its contents": there a table may be a sheet, shown through its view, or CSV only
    in_forecast = {n: f"{n}.csv ; voir le sommaire du classeur {FORECAST_WORKBOOK} (prévisions par scénario)"
                   for n in forecast}
    in_main = {n: f"{n}.csv ; voir le sommaire du classeur {WORKBOOK}" for n in main}
    return {WORKBOOK: (main, {**in_forecast, **journal}), FORECAST_WORKBOOK: (forecast, {**in_main, **journal})}


def export_tables(db_url: str, out_dir: Path, *, keys: dict[str, str] | None = None) -> list[Path]:
    """Write every table and view as CSV (two flavours), the workbook and the data dictionary.

    ``keys``: the content key of each table the warehouse was just loaded from (a cached refresh:
    :func:`electio.cache.content_keys`). A table, a view (keyed by the tables it reads) or the
    workbook whose keys are all known and unchanged has its files restored from the cache instead
    of being read and written again; the journal (no key) is always written."""
    clock = time.perf_counter()
    keys = keys or {}
    table_names, views = present_names(db_url)
    sources = view_tables()
    # A table the load had no frame for is empty (the load creates every table of the schema).
    parts = {n: None if n in JOURNAL or not keys else keys.get(n, "absent") for n in table_names}
    # a view is keyed by the tables it reads (unknown if one of them is)
    parts.update({v: None if v not in sources or any(parts.get(t) is None for t in sources[v])
                  else [(t, parts[t]) for t in sources[v]] for v in views})
    read: dict[str, pd.DataFrame] = {}   # what the workbook may show, read once
    too_big: dict[str, int] = {}          # CSV only: row counts (the frame is not kept)

    def frame(name: str) -> pd.DataFrame:
        if name in read:
            return read[name]
        got = (read_views(db_url, [name]) if name in views else read_tables(db_url, [name]))[name]
        if len(got) > XLSX_MAX_ROWS:
            too_big[name] = len(got)  # e.g. a million context rows: written, then released
        else:
            read[name] = got
        return got

    def book_frame(name: str) -> pd.DataFrame | int:
        if name not in read and name not in too_big:  # CSV restored from the cache: count before reading
            if (n := count_rows(db_url, name)) > XLSX_MAX_ROWS:
                too_big[name] = n
        return too_big[name] if name in too_big else frame(name)

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".exports-", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp creates 0700: colleagues and gateway accounts must read the extracts
        (staging / EXCEL_FR_DIR).mkdir()
        names = table_names + views
        for i, name in enumerate(names, 1):
            memo_files(f"export-{name}", parts[name], staging, partial(lambda n: _table_files(n, frame(n), staging), name))
            log.debug("CSV %d/%d: %s", i, len(names), name)
        log.info("CSV written: %d tables and views (%d read from the warehouse), %.1f s", len(names), len(read),
                 time.perf_counter() - clock)
        columns, indicators = schema_dictionary(), indicator_dictionary()
        write_csv(columns, staging / "data_dictionary.csv")
        write_csv(indicators, staging / "data_dictionary_indicators.csv")
        write_csv_excel_fr(columns, staging / EXCEL_FR_DIR / "data_dictionary.csv")
        write_csv_excel_fr(indicators, staging / EXCEL_FR_DIR / "data_dictionary_indicators.csv")
        (staging / "data_dictionary.md").write_text(dictionary_markdown(columns, indicators), encoding="utf-8")
        for book, (members, elsewhere) in _workbooks(names).items():
            key = [(n, parts[n]) for n in members]
            memo_files(f"export-{book}", None if any(k is None for _, k in key) else key + [("elsewhere", list(elsewhere))],
                       staging, partial(lambda b, m, e: _workbook_files(b, {n: book_frame(n) for n in m}, columns,
                                                                        staging, e), book, members, elsewhere))
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
    files = sorted(p for p in out_dir.rglob("*") if p.is_file())
    log.info("exported %d tables and views to %s in %.1f s (%d read and written, the rest unchanged)",
             len(names), out_dir, time.perf_counter() - clock, len(read))
    return files
