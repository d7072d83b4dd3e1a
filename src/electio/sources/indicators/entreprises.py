"""Private-sector employer establishments and employees per commune (URSSAF), PROCESSED.

Mirror file ``urssaf_etablissements_69/etablissements_salaries_communes_dep69.csv``
(';' separated, UTF-8 with BOM)::

    annee;code_commune;nom_commune;nb_etablissements;effectifs_salaries
    2012;69001;Affoux;4.0;6.0

A third party (axcvwy/prediction-electorale-rhone-2027, ``05_emploi.py``) took
the URSSAF open-data table "établissements employeurs et effectifs salariés en
fin d'année, par commune x APE", kept the Rhône and the years 2012, 2017 and
2022, and summed every APE sector of a commune. The raw commune x APE file is
not in the mirror, so these sums cannot be checked. Counts are written as
floats ('4.0'); a fraction, a negative number, text or an empty cell fails.

A commune with no employer in a year has no row that year (absent, not 0).
Lyon is given by arrondissement only (69381-69389, no 69123). Codes follow the
publisher's geography of 2024: 69149 is already named Oullins-Pierre-Bénite
while 69152 Pierre-Bénite keeps the establishments that closed before the
2024 merger, and Porte des Pierres Dorées is still 69159; the transform maps
both onto the reference communes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.indicators import StagedIndicators
from electio.sources.readers import fail_duplicates, fail_first, read_table, to_counts

YEAR = "annee"
COMMUNE = "code_commune"
#: file column -> indicator code (see entreprises.toml).
MEASURES = {
    "nb_etablissements": "entreprises_etablissements",
    "effectifs_salaries": "entreprises_salaries",
}
_REQUIRED = [YEAR, COMMUNE, "nom_commune", *MEASURES]
_COMMUNE_CODE = re.compile(r"(?:\d{5}|2[AB]\d{3})")
_YEAR = re.compile(r"\d{4}")


def parse_urssaf_communes(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """Establishments and employees per commune of ``departement`` (sums over APE sectors).

    ``departement="*"`` keeps every commune; a département absent from the file
    gives no values. ``year`` keeps a single year (the file must have it); the
    whole file is still read and its codes and years checked.
    """
    frame = read_table(path, sep=";", required=_REQUIRED)
    rows_read = len(frame)
    short = frame[_REQUIRED].isna()  # pandas pads a short row with NaN
    if short.any().any():
        line = short.any(axis=1).idxmax()
        raise InputFormatError(path, "the row has fewer fields than the header", line=int(line),
                               column=short.loc[line].idxmax())
    frame[COMMUNE] = frame[COMMUNE].astype(str).str.strip()
    frame[YEAR] = frame[YEAR].astype(str).str.strip()
    fail_first(frame, ~_matches(frame[COMMUNE], _COMMUNE_CODE), path, COMMUNE,
                lambda r: f"expected a 5-character INSEE commune code, got {r[COMMUNE]!r}")
    fail_first(frame, ~_matches(frame[YEAR], _YEAR), path, YEAR,
                lambda r: f"expected a 4-digit year, got {r[YEAR]!r}")
    frame[YEAR] = frame[YEAR].astype(int)
    if year is not None:
        frame = frame[frame[YEAR] == int(year)]
        if frame.empty:
            raise InputFormatError(path, f"no row for year {year}", column=YEAR)
    if departement != "*":
        frame = frame[frame[COMMUNE].map(_commune_departement) == _departement(departement)]
    frame = to_counts(frame, list(MEASURES), path)
    fail_duplicates(frame, [COMMUNE, YEAR], path, COMMUNE)

    parts = [pd.DataFrame({"source_code": frame[COMMUNE].astype(str), "indicator_code": code,
                           "year": frame[YEAR].astype(int), "value": frame[column].astype(float),
                           "is_suppressed": False, "is_imputed": False})
             for column, code in MEASURES.items()]
    values = pd.concat(parts, ignore_index=True)
    values = values.astype({"indicator_code": str, "is_suppressed": bool, "is_imputed": bool})
    return StagedIndicators(values=values.sort_values(["indicator_code", "source_code", "year"]),
                            rows_read=rows_read)


def _commune_departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def _departement(code: str) -> str:
    code = str(code).strip()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


def _matches(values: pd.Series, pattern: re.Pattern) -> pd.Series:
    return values.str.fullmatch(pattern).fillna(False).astype(bool)
