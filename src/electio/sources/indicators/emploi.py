"""Registered job seekers (DEFM, category ABC) per commune: DARES / France Travail.

Mirror file ``defm_communes_69/emploi_rhone.csv``: a Rhône extract of the DARES
open-data table ``dares_defm_communales-brutes`` (',' separated, UTF-8 with BOM,
long format). One row per quarter x commune x breakdown::

    Date,Code région,Région,Code département,Département,Code commune,Commune,
    Type de données,Catégorie,Sexe,Tranche d'âge,Nombre de demandeurs d'emploi
    2015-T4,84,Auvergne-Rhône-Alpes,69,Rhône,69001,Affoux,Brutes,ABC,Total,Total,15

Each commune and quarter has six rows: the total (Sexe = Tranche d'âge =
'Total'), two sex rows and three age-band rows. Each breakdown becomes its own
indicator; they are never added to the total. Counts are rounded by the
publisher to a multiple of 5, so a breakdown may differ from the total by a
few units and a 0 means "fewer than 3", not a secret cell.

Only fourth-quarter stocks are published at commune level; ``year`` is the
year of the quarter ('2015-T4' -> 2015). A row for another quarter, another
category or data type, or an unknown breakdown fails: the indicators are
defined as raw category-ABC stocks at the end of Q4. Lyon is listed both as
69123 and as 69381-69389 (mirror caveat 2); staging keeps both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.indicators import StagedIndicators
from electio.sources.readers import fail_duplicates, fail_first, read_table, to_counts

DATE = "Date"
DEPARTEMENT = "Code département"
COMMUNE = "Code commune"
TYPE = "Type de données"
CATEGORY = "Catégorie"
SEX = "Sexe"
AGE = "Tranche d'âge"
COUNT = "Nombre de demandeurs d'emploi"
_REQUIRED = [DATE, DEPARTEMENT, COMMUNE, TYPE, CATEGORY, SEX, AGE, COUNT]

#: (Sexe, Tranche d'âge) -> indicator code (see emploi.toml).
BREAKDOWNS = {
    ("Total", "Total"): "demandeurs_emploi_abc",
    ("Hommes", "Total"): "demandeurs_emploi_abc_hommes",
    ("Femmes", "Total"): "demandeurs_emploi_abc_femmes",
    ("Total", "Moins de 25 ans"): "demandeurs_emploi_abc_moins_25",
    ("Total", "De 25 à 49 ans"): "demandeurs_emploi_abc_25_49",
    ("Total", "50 ans et plus"): "demandeurs_emploi_abc_50_plus",
}

_COMMUNE_CODE = re.compile(r"(?:\d{5}|2[AB]\d{3})")
_DEPARTEMENT_CODE = re.compile(r"(?:\d{2}|2[AB]|97\d)")
_QUARTER = re.compile(r"(\d{4})-T([1-4])")


def commune_departement(code: str) -> str:
    """Département of a 5-character commune code (3 digits overseas)."""
    return code[:3] if code.startswith("97") else code[:2]


def parse_defm_communes(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """Q4 job-seeker stocks (category ABC, raw) per commune of ``departement``.

    ``departement="*"`` keeps every commune; a département absent from the file
    gives no values. ``year`` keeps a single year (for a vintage per year; the
    file must have it). The whole file is always read and its codes, quarters
    and breakdowns checked; ``rows_read`` counts all its data rows.
    """
    frame = read_table(path, sep=",", required=_REQUIRED)
    rows_read = len(frame)
    _fail_short_rows(frame, _REQUIRED, path)
    for column in (DATE, DEPARTEMENT, COMMUNE, TYPE, CATEGORY, SEX, AGE):
        frame[column] = frame[column].astype(str).str.strip()

    _check_pattern(frame, COMMUNE, _COMMUNE_CODE, path, "a 5-character INSEE commune code")
    _check_pattern(frame, DEPARTEMENT, _DEPARTEMENT_CODE, path, "a département code")
    own = frame[COMMUNE].map(commune_departement)
    fail_first(frame, own != frame[DEPARTEMENT], path, DEPARTEMENT,
                lambda r: f"commune {r[COMMUNE]} is not in département {r[DEPARTEMENT]!r}")
    quarter = frame[DATE].str.extract(_QUARTER)
    fail_first(frame, quarter[0].isna(), path, DATE,
                lambda r: f"expected a quarter such as '2019-T4', got {r[DATE]!r}")
    fail_first(frame, quarter[1] != "4", path, DATE,
                lambda r: f"only fourth-quarter stocks are expected at commune level, got {r[DATE]!r}")
    fail_first(frame, frame[TYPE] != "Brutes", path, TYPE,
                lambda r: f"expected raw data ('Brutes'), got {r[TYPE]!r}")
    fail_first(frame, frame[CATEGORY] != "ABC", path, CATEGORY,
                lambda r: f"expected category 'ABC', got {r[CATEGORY]!r}")
    indicator = pd.Series([BREAKDOWNS.get((s, a)) for s, a in zip(frame[SEX], frame[AGE])],
                          index=frame.index, dtype=object)
    fail_first(frame, indicator.isna(), path, AGE,
                lambda r: f"unknown breakdown Sexe={r[SEX]!r}, Tranche d'âge={r[AGE]!r} "
                          f"(known: {sorted(BREAKDOWNS)})")

    frame = frame.assign(year=quarter[0].astype(int), indicator_code=indicator)
    if year is not None:
        frame = frame[frame["year"] == int(year)]
        if frame.empty:
            raise InputFormatError(path, f"no row for year {year}", column=DATE)
    if departement != "*":
        frame = frame[own[frame.index] == _departement(departement)]
    frame = to_counts(frame, [COUNT], path)
    fail_duplicates(frame, [COMMUNE, "indicator_code", "year"], path, COMMUNE)

    values = pd.DataFrame({
        "source_code": frame[COMMUNE].astype(str), "indicator_code": frame["indicator_code"].astype(str),
        "year": frame["year"].astype(int), "value": frame[COUNT].astype(float),
        "is_suppressed": False, "is_imputed": False}).astype({"is_suppressed": bool, "is_imputed": bool})
    return StagedIndicators(values=values.sort_values(["indicator_code", "source_code", "year"]),
                            rows_read=rows_read)


def _departement(code: str) -> str:
    code = str(code).strip()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


def _fail_short_rows(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    """pandas pads a row with fewer fields than the header with NaN."""
    short = frame[columns].isna()
    if short.any().any():
        line = short.any(axis=1).idxmax()
        raise InputFormatError(path, "the row has fewer fields than the header", line=int(line),
                               column=short.loc[line].idxmax())


def _check_pattern(frame: pd.DataFrame, column: str, pattern: re.Pattern, path: Path, what: str) -> None:
    bad = ~frame[column].str.fullmatch(pattern).fillna(False).astype(bool)
    fail_first(frame, bad, path, column, lambda r: f"expected {what}, got {r[column]!r}")
