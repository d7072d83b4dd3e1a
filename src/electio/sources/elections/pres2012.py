"""Presidential election 2012: Rhône commune transcription, and the canton file.

The commune file is a transcription of the Ministry's 293 Rhône rows (mirror
caveat 8): blank and null ballots are merged (2012 rules). The national canton
export is used only to cross-check département totals.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.sources.elections import StagedElection, given
from electio.sources.readers import departement_code, insee_departement, read_table, require_unique, to_counts

_BASE = ["CodeInsee", "Inscrits", "Votants", "Blancs.et.nuls", "Exprimés"]


def parse_communes(path: Path, *, departement: str) -> StagedElection:
    frame = read_table(path, sep=";", required=_BASE)
    rows_read = len(frame)
    labels = list(frame.columns[len(_BASE):])
    frame["CodeInsee"] = frame["CodeInsee"].str.strip().str.zfill(5)
    wanted = {departement} if isinstance(departement, str) else set(departement)
    frame = frame[insee_departement(frame["CodeInsee"]).isin(wanted)]
    require_unique(frame, ["CodeInsee"], path)
    frame = to_counts(frame, _BASE[1:] + labels, path)
    frame = frame.rename(columns={"CodeInsee": "source_code", "Inscrits": "registered",
                                  "Votants": "voters", "Exprimés": "expressed",
                                  "Blancs.et.nuls": "blank_and_null"})
    frame["source_name"] = pd.NA
    turnout = given(frame, blank=None, null_ballots=None, blank_and_null="blank_and_null")
    results = frame.melt(id_vars=["source_code"], value_vars=labels, var_name="label", value_name="votes")
    return StagedElection(turnout=turnout, results=results, rows_read=rows_read)


# The T1 and T2 canton exports name their columns differently.
_CANTON_LAYOUTS = [
    {"dep": "Code du département", "registered": "Inscrits", "voters": "Votants",
     "expressed": "Exprimés", "name": "Nom", "votes": "Voix", "sep": "."},
    {"dep": "code_du_departement", "registered": "inscrits", "voters": "votants",
     "expressed": "exprimes", "name": "nom", "votes": "voix", "sep": "_"},
]


def parse_canton_departements(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every canton row summed per département: (turnout, votes per candidate).

    Same shape as :func:`electio.sources.elections.aktiur.parse_departement_large`
    (INSEE département codes, 'ZZ' abroad). The T1 export writes the département as
    a float ("69.0") and suffixes candidate blocks .1 .. .9; the T2 export uses
    snake_case and _2.
    """
    header = read_table(path, sep=",", required=[]).columns
    layout = next((l for l in _CANTON_LAYOUTS if l["dep"] in header), _CANTON_LAYOUTS[0])
    frame = read_table(path, sep=",", required=[layout[k] for k in ("dep", "registered", "voters", "expressed")])
    frame["departement_code"] = departement_code(frame[layout["dep"]])
    suffix = re.compile(re.escape(layout["name"]) + r"(" + re.escape(layout["sep"]) + r"\d+)?$")
    name_cols = [c for c in frame.columns if suffix.match(c)]
    vote_cols = [layout["votes"] + c[len(layout["name"]):] for c in name_cols]
    counts = [layout[k] for k in ("registered", "voters", "expressed")]
    frame = to_counts(frame, counts + vote_cols, path)
    turnout = (frame.rename(columns={layout[k]: k for k in ("registered", "voters", "expressed")})
               .groupby("departement_code", as_index=False)[["registered", "voters", "expressed"]].sum())
    votes = pd.concat([pd.DataFrame({"departement_code": frame["departement_code"],
                                     "label": frame[n].str.strip(), "votes": frame[v]})
                       for n, v in zip(name_cols, vote_cols)], ignore_index=True)
    votes = votes.groupby(["departement_code", "label"], as_index=False)["votes"].sum()
    return turnout, votes


def parse_canton_totals(path: Path, *, departement) -> pd.Series:
    """Totals (registered, voters, expressed, votes per candidate) of one département
    or a list of them, used to cross-check the commune transcription."""
    turnout, votes = parse_canton_departements(path)
    wanted = {departement.zfill(2)} if isinstance(departement, str) else set(departement)
    turnout = turnout[turnout["departement_code"].isin(wanted)]
    totals = {k: int(turnout[k].sum()) for k in ("registered", "voters", "expressed")}
    per_label = votes[votes["departement_code"].isin(wanted)].groupby("label", sort=False)["votes"].sum()
    totals.update({k: int(v) for k, v in per_label.items()})
    return pd.Series(totals)
