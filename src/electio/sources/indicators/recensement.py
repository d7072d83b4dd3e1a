"""Census (recensement de la population) indicators from PROCESSED third-party
extracts (vintages in ``recensement.toml``); no raw INSEE base-cc file of these
themes is in the mirror.

* :func:`parse_chomage_rp` — ``chomage_communes_dep69.csv``: long file
  ``annee;code_commune;nom_commune;taux_chomage`` (unemployment rate of the
  15-64 year-olds in %, unrounded, recomputed by the provider; no counts).
* :func:`parse_rp_emploi`, :func:`parse_rp_immigration`,
  :func:`parse_rp_logement` — wide files ``code_commune;<measure>_<year>...``
  with the author's column names. Counts are census weighted estimates (with
  decimals). Rates and densities the author derived (``taux_chomage_<year>``,
  ``densite_<year>``) are not loaded: they are recomputed from the counts.

Lyon is given as the file gives it (69123, and sometimes 69381-69389 as well).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.indicators import StagedIndicators
from electio.sources.indicators.revenus import (check_codes, in_departement, long_values, numeric_cells,
                                                split_blank_rows)
from electio.sources.readers import read_table

EMPLOI_MEASURES = {"actifs": "actifs_15_64", "chomeurs": "chomeurs_15_64",
                   "actifs_occupes": "actifs_occupes_15_64", "inactifs": "inactifs_15_64"}
IMMIGRATION_MEASURES = {"nb_immigres": "immigres", "nb_non_immigres": "non_immigres"}
LOGEMENT_MEASURES = {"population": "population_municipale", "nb_logements": "logements",
                     "nb_residences_principales": "residences_principales",
                     "nb_logements_vacants": "logements_vacants"}


def parse_chomage_rp(path: Path, *, departement: str) -> StagedIndicators:
    """Unemployment rate of the 15-64 (%), one row per commune and census year."""
    path = Path(path)
    frame = read_table(path, sep=";", required=["annee", "code_commune", "taux_chomage"])
    rows_read = len(frame)
    frame, rejected = split_blank_rows(frame, path)
    years = frame["annee"].astype(str).str.strip()
    bad = ~years.str.fullmatch(r"(19|20)\d\d")
    if bad.any():
        line = bad.idxmax()
        raise InputFormatError(path, f"expected a 4-digit census year, got {years[line]!r}", line=int(line),
                               column="annee")
    codes = check_codes(frame, "code_commune", path, key=["code_commune", "annee"])
    keep = in_departement(codes, departement)
    values, suppressed = numeric_cells(frame.loc[keep, "taux_chomage"], path, "taux_chomage")
    out = pd.DataFrame({"source_code": codes[keep], "indicator_code": "taux_chomage_15_64",
                        "year": years[keep].astype(int), "value": values, "is_suppressed": suppressed,
                        "is_imputed": False})
    return StagedIndicators(values=out, rows_read=rows_read, rejected=rejected)


def _parse_wide(path: Path, *, departement: str, measures: dict[str, str], derived: tuple[str, ...] = (),
                fixed: dict[str, str] | None = None, fixed_year: int | None = None) -> StagedIndicators:
    """``code_commune`` + ``<measure>_<yyyy>`` columns. ``derived`` measures are the
    author's ratios (not loaded); ``fixed`` columns have no year (``superficie_km2``)
    and are given ``fixed_year`` (default: the latest year of the file). Any other
    column fails: the layout is the author's and may change."""
    path = Path(path)
    fixed = fixed or {}
    frame = read_table(path, sep=";", required=["code_commune"])
    columns: dict[str, tuple[str, int]] = {}
    for col in frame.columns:
        if col == "code_commune" or col in fixed:
            continue
        m = re.fullmatch(r"(.+)_((?:19|20)\d\d)", col)
        if m and m.group(1) in measures:
            columns[col] = (measures[m.group(1)], int(m.group(2)))
        elif not (m and m.group(1) in derived):
            raise InputFormatError(path, f"unexpected column {col!r} (expected code_commune and "
                                   f"{sorted(measures)} as <name>_<year>)", line=1, column=col)
    found = {code for code, _ in columns.values()}
    missing = [name for name, code in measures.items() if code not in found]
    if missing:
        raise InputFormatError(path, f"no <name>_<year> column for {missing}; header has {list(frame.columns)}",
                               line=1, column=f"{missing[0]}_<year>")
    if fixed:
        year = int(fixed_year) if fixed_year is not None else max(y for _, y in columns.values())
        columns.update({col: (code, year) for col, code in fixed.items() if col in frame.columns})
        absent = [col for col in fixed if col not in frame.columns]
        if absent:
            raise InputFormatError(path, f"missing expected column(s) {absent}", line=1, column=absent[0])
    rows_read = len(frame)
    frame, rejected = split_blank_rows(frame, path)
    codes = check_codes(frame, "code_commune", path)
    keep = in_departement(codes, departement)
    values = long_values(frame[keep], codes[keep], columns, path)
    return StagedIndicators(values=values, rows_read=rows_read, rejected=rejected)


def parse_rp_emploi(path: Path, *, departement: str) -> StagedIndicators:
    """Active, unemployed, employed and inactive 15-64 year-olds (``rhone_emploi.csv``)."""
    return _parse_wide(path, departement=departement, measures=EMPLOI_MEASURES, derived=("taux_chomage",))


def parse_rp_immigration(path: Path, *, departement: str) -> StagedIndicators:
    """Immigrants and non-immigrants (``rhone_immigration_<year>.csv``)."""
    return _parse_wide(path, departement=departement, measures=IMMIGRATION_MEASURES)


def parse_rp_logement(path: Path, *, departement: str, area_year: int | None = None) -> StagedIndicators:
    """Population, dwellings, principal residences, vacant dwellings and area
    (``rhone_population.csv``); the author's densities are not loaded."""
    return _parse_wide(path, departement=departement, measures=LOGEMENT_MEASURES, derived=("densite",),
                       fixed={"superficie_km2": "superficie"}, fixed_year=area_year)
