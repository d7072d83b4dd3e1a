"""aktiur/resultats-electoraux: Ministry results re-formatted as wide CSV (2014-2019).

One row per commune (or bureau), one column per nuance, list or candidate
(every column that is not an identifier or a turnout count). Commune codes are 3 digits beside ``departement``. There is no
``nuls`` column, and 2014 has no ``blancs`` either.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import StagedElection, given, in_perimeter, reject_non_communes
from electio.sources.readers import (NON_COMMUNE_UNITS, commune_code, departement_code, read_table, require_unique,
                                     to_counts)

#: Columns that describe the unit and its turnout; every other column is a label.
_NOT_LABELS = {"departement", "commune", "commune_libelle", "bureau", "circonscription", "inscrits", "votants",
               "blancs", "nuls", "exprimes", "abstentions"}
_RENAME = {"inscrits": "registered", "votants": "voters", "exprimes": "expressed",
           "blancs": "blank", "commune_libelle": "source_name"}


def parse_commune_large(path: Path, *, departement) -> StagedElection:
    """Commune-level (or bureau-level) wide file, filtered to the perimeter: one
    département, a list of them, or ``"*"`` (all of France).

    Ministry overseas codes become INSEE codes (ZA101 -> 97101); rows abroad (ZZ)
    and non-commune units within the perimeter are rejected with their line.
    """
    frame = read_table(path, sep=",", required=["departement", "commune", "commune_libelle",
                                                 "inscrits", "votants", "exprimes"])
    rows_read = len(frame)
    labels = [c for c in frame.columns if c not in _NOT_LABELS]
    if not labels:
        raise InputFormatError(path, "no candidate, list or nuance column besides the turnout columns", line=1)
    frame["source_code"] = commune_code(frame["departement"], frame["commune"])
    abroad = frame["source_code"].str.startswith("ZZ")
    frame = frame[in_perimeter(frame["source_code"], departement) | (abroad & (departement == "*"))]
    frame, rejected = reject_non_communes(frame, "source_code", Path(path).name)
    counts = ["inscrits", "votants", "exprimes"] + (["blancs"] if "blancs" in frame else [])
    frame = to_counts(frame, counts + labels, path)
    require_unique(frame, ["departement", "commune"] + (["bureau"] if "bureau" in frame.columns else []), path)
    frame = frame.rename(columns=_RENAME)
    turnout = given(frame, blank="blank" if "blank" in frame else None, null_ballots=None,
                    blank_and_null=None)
    if "bureau" in frame.columns:
        staged = _bureau_level(frame, labels, rows_read)
    else:
        results = frame.melt(id_vars=["source_code"], value_vars=labels, var_name="label", value_name="votes")
        staged = StagedElection(turnout=turnout, results=results, rows_read=rows_read)
    staged.rejected = rejected
    return staged


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


def parse_departement_large(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every row of a département-level wide file: (turnout, votes per label).

    turnout: departement_code (INSEE; 'ZZ' abroad, 'ZX' Saint-Barthélemy and
    Saint-Martin together), registered, voters, expressed. votes: departement_code,
    label, votes. Nothing is filtered: the rows add up to the national result.
    """
    frame = read_table(path, sep=",", required=["departement", "inscrits", "votants", "exprimes"])
    labels = [c for c in frame.columns if c not in _NOT_LABELS]
    if not labels:
        raise InputFormatError(path, "no candidate, list or nuance column besides the turnout columns", line=1)
    frame = to_counts(frame, ["inscrits", "votants", "exprimes"] + labels, path)
    frame["departement_code"] = departement_code(frame["departement"])
    require_unique(frame, ["departement_code"], path)
    turnout = frame.rename(columns=_RENAME)[["departement_code", "registered", "voters", "expressed"]]
    votes = frame.melt(id_vars=["departement_code"], value_vars=labels, var_name="label", value_name="votes")
    return turnout.reset_index(drop=True), votes


def parse_departement_totals(path: Path, *, departement) -> pd.Series:
    """Totals (inscrits, votants, exprimes and one entry per label) of one département
    or the sum over a list of them."""
    turnout, votes = parse_departement_large(path)
    wanted = {departement} if isinstance(departement, str) else set(departement)
    if {"977", "978"} <= wanted:
        wanted.add("ZX")  # the Ministry reports Saint-Barthélemy and Saint-Martin as one unit
    # Units the COG splits differently are rejected at commune level: not compared here either.
    wanted -= {code[:3] for code in NON_COMMUNE_UNITS}
    turnout = turnout[turnout["departement_code"].isin(wanted)]
    if turnout.empty:
        raise ValueError(f"{path}: no row for département {', '.join(sorted(wanted))}")
    totals = {"inscrits": int(turnout["registered"].sum()), "votants": int(turnout["voters"].sum()),
              "exprimes": int(turnout["expressed"].sum())}
    per_label = votes[votes["departement_code"].isin(wanted)].groupby("label", sort=False)["votes"].sum()
    totals.update({k: int(v) for k, v in per_label.items()})
    return pd.Series(totals)
