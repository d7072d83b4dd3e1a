"""INSEE Filosofi (income, standard of living, poverty) at commune level.

Four file formats, one parser each (the vintages are in ``revenus.toml``):

* :func:`parse_filosofi_cc` — the official "base-cc" commune files with ``;``
  separators and '.' decimals (2012, 2019); a secret cell is EMPTY.
* :func:`parse_filosofi_extract` — Rhône extracts re-written by pandas (2016,
  2017): ``,`` separator, floats such as ``133.0``; a secret cell is EMPTY.
* :func:`parse_filosofi_cc_s` — the 2020 base-cc file: ``;``, decimal commas
  (``60,0``), secret cells coded ``s``, ``nd`` (not available) for a few
  communes outside the published field.
* :func:`parse_filosofi_dec` — ``FILO2021_DEC_COM.csv``: DECLARED income per
  consumption unit (before taxes and benefits), not disposable income: its
  quantiles get their own ``revenu_declare_*`` codes; ``s`` secret, ``nd``/``so``
  (not available / not applicable), decimal commas, one all-empty last row.

The year is read from the column suffix (``MED19`` -> 2019). Values keep the
file's geography (Lyon as 69123 *and* 69381-69389). A secret cell is NaN with
``is_suppressed``; ``nd``/``so`` are NaN and not suppressed (nothing withheld).

The helpers at the top are shared by :mod:`.population` and :mod:`.recensement`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import Rejection
from electio.sources.indicators import VALUE_COLUMNS, StagedIndicators
from electio.sources.readers import read_table

#: A commune or arrondissement code: 5 digits, or Corsica's 2A/2B + 3 digits.
COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


# --------------------------------------------------------------------------- shared helpers

def split_blank_rows(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[Rejection]]:
    """Rows whose every cell is empty (e.g. the ``;;;;`` line closing an INSEE
    export) are rejected with their line, not read as a commune."""
    # Only rows whose first cell is empty can be blank: check those few in full
    # (stripping every cell of a national file costs seconds).
    first_empty = frame.iloc[:, 0].astype(str).str.strip() == "" if len(frame.columns) else frame.index == frame.index
    candidates = frame[first_empty]
    blank = pd.Series(False, index=frame.index)
    if len(candidates):
        blank[candidates.index] = (candidates.astype(str).apply(lambda s: s.str.strip()) == "").all(axis=1)
    rejected = [Rejection(Path(path).name, int(line), "empty row (every cell blank): not a commune")
                for line in frame.index[blank]]
    return frame[~blank], rejected


def check_codes(frame: pd.DataFrame, column: str, path: Path, *, key: Iterable[str] | None = None) -> pd.Series:
    """The stripped commune codes; fails on a malformed code or a duplicated key
    (default key: the code alone), naming the line and column."""
    codes = frame[column].astype(str).str.strip()
    bad = ~codes.str.match(COMMUNE_CODE)
    if bad.any():
        line = bad.idxmax()
        raise InputFormatError(path, f"malformed commune code {codes[line]!r} (expected 5 characters "
                               "such as 69123)", line=int(line), column=column)
    key = list(key) if key is not None else [column]
    keyed = frame[key].astype(str).apply(lambda s: s.str.strip()).assign(**{column: codes})
    dup = keyed.duplicated(keep="first")
    if dup.any():
        line = dup.idxmax()
        first = keyed.index[(keyed == keyed.loc[line]).all(axis=1)][0]
        raise InputFormatError(path, f"duplicate row for {dict(keyed.loc[line])} (first given at line {first})",
                               line=int(line), column=column)
    return codes


def in_departement(codes: pd.Series, departement: str) -> pd.Series:
    """Codes of the département (INSEE prefix: '69' keeps 69xxx, Lyon's 6938x
    included; ``"*"`` keeps every code, for national-scale loads)."""
    if departement == "*":
        return pd.Series(True, index=codes.index)
    return codes.str.startswith(str(departement))


def numeric_cells(raw: pd.Series, path: Path, column: str, *, secret: Iterable[str] = (),
                  absent: Iterable[str] = (), decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """(values, suppressed) of one column of text cells.

    ``secret`` markers (statistical secrecy: 's', or '' where the publisher
    leaves secret cells empty) give NaN + suppressed; ``absent`` markers
    (not available, not applicable, or an empty cell meaning "no such commune
    that year") give NaN, not suppressed. Anything else must be a non-negative
    number, else the file, line and column are named.
    """
    if raw.isna().any():  # pandas pads a short row with NaN
        line = raw.isna().idxmax()
        raise InputFormatError(path, "the row has fewer fields than the header", line=int(line), column=column)
    text = raw.astype(str).str.strip()
    secret, absent = set(secret), set(absent)
    is_secret, is_absent = text.isin(secret), text.isin(absent)
    number = text.str.replace(",", ".", regex=False) if decimal_comma else text
    values = pd.to_numeric(number.where(~(is_secret | is_absent)), errors="coerce").astype(float)
    bad = ~(is_secret | is_absent) & (values.isna() | ~np.isfinite(values) | (values < 0))
    if bad.any():
        line = bad.idxmax()
        allowed = sorted(repr(m) for m in secret | absent)
        raise InputFormatError(path, f"expected a non-negative number{' (decimal comma)' if decimal_comma else ''}"
                               f"{' or one of ' + ', '.join(allowed) if allowed else ''}, got {text[line]!r}",
                               line=int(line), column=column)
    return values.where(~(is_secret | is_absent)), is_secret


def long_values(frame: pd.DataFrame, codes: pd.Series, columns: dict[str, tuple[str, int]], path: Path, *,
                secret: Iterable[str] = (), absent: Iterable[str] = (), decimal_comma: bool = False,
                imputed: Iterable[str] = ()) -> pd.DataFrame:
    """One row per (code, indicator, year) from wide columns
    ``{source column: (indicator_code, year)}``; ``imputed`` source columns are flagged."""
    imputed = set(imputed)
    parts = []
    for column, (indicator, year) in columns.items():
        values, suppressed = numeric_cells(frame[column], path, column, secret=secret, absent=absent,
                                           decimal_comma=decimal_comma)
        parts.append(pd.DataFrame({"source_code": codes.values, "indicator_code": indicator, "year": int(year),
                                   "value": values.values, "is_suppressed": suppressed.values.astype(bool),
                                   "is_imputed": column in imputed}))
    if not parts:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["year"] = out["year"].astype(int)
    out["is_imputed"] = out["is_imputed"].astype(bool)
    return out[VALUE_COLUMNS]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    """Fail like :func:`read_table` when columns found only after reading the header are missing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFormatError(path, f"missing expected column(s) {missing}; header has {list(frame.columns)}",
                               line=1, column=missing[0])


# --------------------------------------------------------------------------- Filosofi

#: base-cc column stem -> indicator code (the column is stem + 2-digit year, e.g. MED19).
CC_COLUMNS = {
    "NBMENFISC": "nb_menages_fiscaux",
    "NBPERSMENFISC": "nb_personnes_menages_fiscaux",
    "MED": "niveau_vie_median",
    "PIMP": "part_menages_imposes",
    "TP60": "taux_pauvrete_60",
    "D1": "niveau_vie_d1",
    "D9": "niveau_vie_d9",
    "RD": "rapport_interdecile_d9_d1",
}

#: FILO20xx_DEC_COM stem -> indicator code. Counts and the share of taxed
#: households mean the same as in base-cc; the quantiles are of DECLARED income
#: per consumption unit and get their own codes. ``RD`` has no year suffix.
DEC_COLUMNS = {
    "NBMEN": "nb_menages_fiscaux",
    "NBPERS": "nb_personnes_menages_fiscaux",
    "NBUC": "nb_unites_consommation",
    "PMIMP": "part_menages_imposes",
    "Q2": "revenu_declare_median_uc",
    "D1": "revenu_declare_d1_uc",
    "D9": "revenu_declare_d9_uc",
}
DEC_UNSUFFIXED = {"RD": "revenu_declare_rapport_interdecile"}


def _year_from_header(header: list[str], stem: str, path: Path) -> int:
    found = [m.group(1) for h in header if (m := re.fullmatch(rf"{stem}(\d\d)", h))]
    if len(found) != 1:
        raise InputFormatError(path, f"expected exactly one {stem}<yy> column giving the year, found "
                               f"{[stem + y for y in found] or 'none'}; header has {header[:8]}...", line=1)
    return 2000 + int(found[0])


def _parse_filosofi(path: Path, *, departement: str, sep: str, stems: dict[str, str], year_stem: str,
                    unsuffixed: dict[str, str] | None = None, secret: Iterable[str], absent: Iterable[str] = (),
                    decimal_comma: bool = False, imputed: Iterable[str] = ()) -> StagedIndicators:
    path = Path(path)
    frame = read_table(path, sep=sep, required=["CODGEO"])
    year = _year_from_header(list(frame.columns), year_stem, path)
    yy = f"{year % 100:02d}"
    columns = {f"{stem}{yy}": (code, year) for stem, code in stems.items()}
    columns.update({col: (code, year) for col, code in (unsuffixed or {}).items()})
    require_columns(frame, columns, path)
    rows_read = len(frame)
    imputed = list(imputed)
    unknown = [c for c in imputed if c not in columns]
    if unknown:
        raise InputFormatError(path, f"option imputed names column(s) {unknown} that are not loaded "
                               f"(loaded: {sorted(columns)})", line=1)
    frame, rejected = split_blank_rows(frame, path)
    codes = check_codes(frame, "CODGEO", path)
    keep = in_departement(codes, departement)
    values = long_values(frame[keep], codes[keep], columns, path, secret=secret, absent=absent,
                         decimal_comma=decimal_comma, imputed=imputed)
    return StagedIndicators(values=values, rows_read=rows_read, rejected=rejected)


def parse_filosofi_cc(path: Path, *, departement: str, imputed: Iterable[str] = ()) -> StagedIndicators:
    """Official base-cc commune file, ``;``-separated, '.' decimals, secret = empty
    cell (``base-cc-filosofi-2012.csv``, ``cc_filosofi_2019_COM.CSV``)."""
    return _parse_filosofi(path, departement=departement, sep=";", stems=CC_COLUMNS, year_stem="NBMENFISC",
                           secret=[""], imputed=imputed)


def parse_filosofi_extract(path: Path, *, departement: str, imputed: Iterable[str] = ()) -> StagedIndicators:
    """Rhône base-cc extract re-written by pandas: ``,``-separated, floats
    (``133.0``), secret = empty cell. ``imputed``: columns whose values were
    recomputed by the extract's author (flagged ``is_imputed``)."""
    return _parse_filosofi(path, departement=departement, sep=",", stems=CC_COLUMNS, year_stem="NBMENFISC",
                           secret=[""], imputed=imputed)


def parse_filosofi_cc_s(path: Path, *, departement: str) -> StagedIndicators:
    """base-cc commune file with ``s`` for secret cells, ``nd`` for not available
    and decimal commas (``cc_filosofi_2020_COM.csv``)."""
    return _parse_filosofi(path, departement=departement, sep=";", stems=CC_COLUMNS, year_stem="NBMENFISC",
                           secret=["s"], absent=["nd"], decimal_comma=True)


def parse_filosofi_dec(path: Path, *, departement: str) -> StagedIndicators:
    """Declared-income commune file (``FILO2021_DEC_COM.csv``): ``s`` secret,
    ``nd``/``so`` not available / not applicable, decimal commas."""
    return _parse_filosofi(path, departement=departement, sep=";", stems=DEC_COLUMNS, year_stem="NBMEN",
                           unsuffixed=DEC_UNSUFFIXED, secret=["s"], absent=["nd", "so"], decimal_comma=True)
