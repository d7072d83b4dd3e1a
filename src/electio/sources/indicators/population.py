"""INSEE populations (vintages in ``population.toml``).

* :func:`parse_populations_legales` — ``ensemble.zip`` of the populations
  légales: ``donnees_communes.csv`` inside the zip (``;``, UTF-8), one row per
  commune with PMUN (population municipale), PCAP (comptée à part) and PTOT
  (totale). Lyon is given by its arrondissements only (no 69123 row). The
  millésime is not written in the file: the vintage passes ``year``.
* :func:`parse_population_series` — third-party table of populations
  municipales ``p13_pop`` ... ``p23_pop`` (``;``, BOM): one row per (code, year)
  as given, each column in its own millésime's geography; an empty cell is a
  code that did not exist that year (missing, not secret). ``only_years``
  restricts the output so that each millésime can be its own vintage with its
  own publication date.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable

from electio.errors import InputFormatError
from electio.sources.indicators import StagedIndicators
from electio.sources.indicators.revenus import (check_codes, in_departement, long_values, require_columns,
                                                split_blank_rows)
from electio.sources.readers import read_table

LEGALES_COLUMNS = {"PMUN": "population_municipale", "PCAP": "population_comptee_a_part",
                   "PTOT": "population_totale"}
SERIES_ID_COLUMNS = {"reg", "dep", "cv", "codgeo", "libgeo"}


def parse_populations_legales(path: Path, *, departement: str, year: int,
                              member: str = "donnees_communes.csv") -> StagedIndicators:
    """Commune populations of one millésime from the INSEE zip (read in place)."""
    path = Path(path)
    where = f"{path}!{member}"
    try:
        with zipfile.ZipFile(path) as archive:
            if member not in archive.namelist():
                raise InputFormatError(path, f"no {member!r} in the zip (members: {archive.namelist()})")
            data = archive.read(member)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFormatError(path, f"not a readable zip file ({exc})") from exc
    with tempfile.TemporaryDirectory() as tmp:
        extracted = Path(tmp) / member
        extracted.write_bytes(data)
        try:
            frame = read_table(extracted, sep=";", required=["COM", *LEGALES_COLUMNS])
        except InputFormatError as exc:  # name the zip member, not the temporary copy
            raise InputFormatError(where, exc.problem, line=exc.line, column=exc.column) from exc
    rows_read = len(frame)
    frame, rejected = split_blank_rows(frame, Path(member))
    codes = check_codes(frame, "COM", where)
    keep = in_departement(codes, departement)
    columns = {col: (code, int(year)) for col, code in LEGALES_COLUMNS.items()}
    values = long_values(frame[keep], codes[keep], columns, where)
    return StagedIndicators(values=values, rows_read=rows_read, rejected=rejected)


def parse_population_series(path: Path, *, departement: str,
                            only_years: Iterable[int] | None = None) -> StagedIndicators:
    """``codgeo`` + ``pNN_pop`` columns (year 20NN); empty cell = code absent that year."""
    path = Path(path)
    frame = read_table(path, sep=";", required=["codgeo"])
    years = {}
    for col in frame.columns:
        if m := re.fullmatch(r"p(\d\d)_pop", col):
            years[col] = 2000 + int(m.group(1))
        elif col not in SERIES_ID_COLUMNS:
            raise InputFormatError(path, f"unexpected column {col!r} (expected {sorted(SERIES_ID_COLUMNS)} "
                                   "and pNN_pop)", line=1, column=col)
    if not years:
        raise InputFormatError(path, "no pNN_pop column", line=1)
    if only_years is not None:
        wanted = [int(y) for y in only_years]
        require_columns(frame, [f"p{y % 100:02d}_pop" for y in wanted], path)
        years = {col: y for col, y in years.items() if y in wanted}
    rows_read = len(frame)
    frame, rejected = split_blank_rows(frame, path)
    codes = check_codes(frame, "codgeo", path)
    keep = in_departement(codes, departement)
    columns = {col: ("population_municipale", y) for col, y in years.items()}
    values = long_values(frame[keep], codes[keep], columns, path, absent=[""])
    return StagedIndicators(values=values, rows_read=rows_read, rejected=rejected)
