"""aktiur/resultats-electoraux: Ministry results re-formatted as wide CSV (2014-2019).

One row per commune (or bureau), one column per nuance, list or candidate
(every column that is not an identifier or a turnout count). Commune codes are 3 digits beside ``departement``. There is no
``nuls`` column, and 2014 has no ``blancs`` either.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import StagedElection, given
from electio.sources.readers import commune_code, read_table, require_unique, to_counts

#: Columns that describe the unit and its turnout; every other column is a label.
_NOT_LABELS = {"departement", "commune", "commune_libelle", "bureau", "circonscription", "inscrits", "votants",
               "blancs", "nuls", "exprimes", "abstentions"}
_RENAME = {"inscrits": "registered", "votants": "voters", "exprimes": "expressed",
           "blancs": "blank", "commune_libelle": "source_name"}


def parse_commune_large(path: Path, *, departement: str) -> StagedElection:
    """Commune-level (or bureau-level) wide file, filtered to one département
    (``"*"``: all of them, for national-scale loads)."""
    frame = read_table(path, sep=",", required=["departement", "commune", "commune_libelle",
                                                 "inscrits", "votants", "exprimes"])
    rows_read = len(frame)
    labels = [c for c in frame.columns if c not in _NOT_LABELS]
    if not labels:
        raise InputFormatError(path, "no candidate, list or nuance column besides the turnout columns", line=1)
    if departement != "*":
        frame = frame[frame["departement"].str.strip() == departement]
    counts = ["inscrits", "votants", "exprimes"] + (["blancs"] if "blancs" in frame else [])
    frame = to_counts(frame, counts + labels, path)
    frame["source_code"] = commune_code(frame["departement"], frame["commune"])
    require_unique(frame, ["departement", "commune"] + (["bureau"] if "bureau" in frame.columns else []), path)
    frame = frame.rename(columns=_RENAME)
    turnout = given(frame, blank="blank" if "blank" in frame else None, null_ballots=None,
                    blank_and_null=None)
    if "bureau" in frame.columns:
        return _bureau_level(frame, labels, rows_read)
    results = frame.melt(id_vars=["source_code"], value_vars=labels, var_name="label", value_name="votes")
    return StagedElection(turnout=turnout, results=results, rows_read=rows_read)


def _bureau_level(frame, labels: list[str], rows_read: int) -> StagedElection:
    """Bureau file: commune totals and label votes summed, polling stations kept."""
    counts = ["registered", "voters", "blank", "expressed"] if "blank" in frame else ["registered", "voters",
                                                                                        "expressed"]
    bureaux = frame.assign(bureau_code=frame["source_code"] + "_" + frame["bureau"].str.strip())
    communes = frame.groupby("source_code", as_index=False).agg(
        source_name=("source_name", "first"), **{c: (c, "sum") for c in counts + labels})
    turnout = given(communes, blank="blank" if "blank" in communes else None, null_ballots=None,
                    blank_and_null=None)
    results = communes.melt(id_vars=["source_code"], value_vars=labels, var_name="label", value_name="votes")
    return StagedElection(turnout=turnout, results=results, rows_read=rows_read, bureaux=bureaux,
                          rows_kept=len(frame))


def parse_departement_totals(path: Path, *, departement: str) -> pd.Series:
    """Département totals (inscrits, votants, exprimes and one entry per label)."""
    frame = read_table(path, sep=",", required=["departement", "inscrits", "votants", "exprimes"])
    row = frame[frame["departement"].str.strip() == departement]
    if row.empty:
        raise ValueError(f"{path}: no row for département {departement}")
    numeric = [c for c in frame.columns if c != "departement"]
    return to_counts(row, numeric, path).iloc[0][numeric].astype(int)
