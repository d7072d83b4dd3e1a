"""Ministry of the Interior official wide files (presidential 2022).

Column names are the official ones: ``Code du département``, ``Code de la
commune`` (3 digits), turnout columns, then one block per candidate
(``Nom_i``, ``Voix_i``...). The round-1 file is polling-station level
(``Code du b.vote``); the round-2 file is commune level.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from electio.sources.elections import StagedElection, given, in_perimeter
from electio.sources.readers import commune_code, read_table, require_unique, to_counts

_REQUIRED = ["Code du département", "Code de la commune", "Libellé de la commune", "Inscrits",
             "Votants", "Blancs", "Nuls", "Exprimés", "Nom_1", "Voix_1"]
_TURNOUT = {"Inscrits": "registered", "Votants": "voters", "Blancs": "blank",
            "Nuls": "null_ballots", "Exprimés": "expressed"}


def parse_wide(path: Path, *, departement) -> StagedElection:
    frame = read_table(path, sep=";", required=_REQUIRED)
    rows_read = len(frame)
    frame["source_code"] = commune_code(frame["Code du département"], frame["Code de la commune"])
    frame = frame[in_perimeter(frame["source_code"], departement)]
    blocks = sorted(int(m.group(1)) for c in frame.columns if (m := re.fullmatch(r"Nom_(\d+)", c)))
    frame = to_counts(frame, list(_TURNOUT) + [f"Voix_{i}" for i in blocks], path)
    require_unique(frame, ["source_code"] + (["Code du b.vote"] if "Code du b.vote" in frame.columns else []), path)
    frame = frame.rename(columns={**_TURNOUT, "Libellé de la commune": "source_name"})
    long = pd.concat(
        [pd.DataFrame({"source_code": frame["source_code"], "label": frame[f"Nom_{i}"].str.strip(),
                       "votes": frame[f"Voix_{i}"]}) for i in blocks], ignore_index=True)
    bureaux = None
    if "Code du b.vote" in frame.columns:
        bureaux = frame.assign(bureau_code=frame["source_code"] + "_" + frame["Code du b.vote"].str.strip())
    counts = ["registered", "voters", "blank", "null_ballots", "expressed"]
    communes = frame.groupby("source_code", as_index=False).agg(
        source_name=("source_name", "first"), **{c: (c, "sum") for c in counts})
    turnout = given(communes, blank="blank", null_ballots="null_ballots", blank_and_null=None)
    results = long.groupby(["source_code", "label"], as_index=False)["votes"].sum()
    return StagedElection(turnout=turnout, results=results, rows_read=rows_read, bureaux=bureaux,
                          rows_kept=len(frame))
