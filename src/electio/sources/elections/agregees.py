"""data.gouv.fr "Données des élections agrégées", Rhône staging files (2014-2024).

Two files per election: turnout in ``rhone_general_communes.csv`` (all first
rounds, one row per commune x election; ``nuls`` only, no ``blancs``) and one
candidate file ``rhone_<year>_<type>_t1.csv``. Known defect (mirror caveat 5):
the 11 communes nouvelles have every candidate row twice (old and new commune
name); the duplicate copies are rejected and counted, never summed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import Rejection, StagedElection, given
from electio.sources.readers import read_table, require_unique, to_counts

_TURNOUT_REQUIRED = ["id_election", "code_commune", "libelle_commune", "inscrits", "votants",
                     "nuls", "exprimes"]
_CANDIDATE_REQUIRED = ["id_election", "code_commune", "libelle_commune", "nom", "nuance", "voix"]


def parse_turnout(path: Path, *, election_key: str) -> tuple[pd.DataFrame, int]:
    """Turnout of one election (``id_election`` such as ``2019_euro_t1``)."""
    frame = read_table(path, sep=";", required=_TURNOUT_REQUIRED)
    rows_read = int((frame["id_election"] == election_key).sum())
    frame = frame[frame["id_election"] == election_key]
    if frame.empty:
        raise InputFormatError(path, f"no row with id_election = {election_key!r}", column="id_election")
    require_unique(frame, ["code_commune"], path)
    frame = to_counts(frame, ["inscrits", "votants", "nuls", "exprimes"], path)
    frame = frame.rename(columns={"code_commune": "source_code", "libelle_commune": "source_name",
                                  "inscrits": "registered", "votants": "voters",
                                  "nuls": "null_ballots", "exprimes": "expressed"})
    return given(frame, blank=None, null_ballots="null_ballots", blank_and_null=None), rows_read


def parse_candidates(path: Path, *, label_field: str) -> tuple[pd.DataFrame, int, list[Rejection]]:
    """Votes per commune and label (``nom`` for lists and candidates, ``nuance`` for
    legislative elections), with doubled rows removed."""
    frame = read_table(path, sep=";", required=_CANDIDATE_REQUIRED)
    rows_read = len(frame)
    frame = to_counts(frame, ["voix"], path)
    key = ["code_commune", "nom", "nuance"]
    dup = frame.duplicated(key, keep="first")
    if dup.any():
        conflict = frame[frame.duplicated(key, keep=False)].groupby(key)["voix"].nunique()
        if (conflict > 1).any():
            bad = conflict[conflict > 1].index[0]
            line = int(frame[(frame[key] == pd.Series(bad, index=key)).all(axis=1)].index[1])
            raise InputFormatError(path, f"duplicate rows for {dict(zip(key, bad))} with different "
                                   "vote counts", line=line, column="voix")
    rejected = [Rejection(Path(path).name, int(line), f"duplicate of the row for commune {row.code_commune} "
                          f"{row.nom!r} under another commune name ({row.libelle_commune!r})")
                for line, row in frame[dup].iterrows()]
    frame = frame[~dup]
    results = (frame.rename(columns={"code_commune": "source_code", label_field: "label", "voix": "votes"})
               .groupby(["source_code", "label"], as_index=False)["votes"].sum())
    return results, rows_read, rejected


def parse(turnout_path: Path, candidates_path: Path, *, election_key: str, label_field: str,
          departement=None) -> StagedElection:
    """Both files of one election. The staging files cover the Rhône only: elections.toml
    declares them for département 69, so no other perimeter reaches this parser."""
    turnout, read_t = parse_turnout(turnout_path, election_key=election_key)
    results, read_c, rejected = parse_candidates(candidates_path, label_field=label_field)
    return StagedElection(turnout=turnout, results=results, rows_read=read_t + read_c,
                          rejected=rejected)


def parse_bureaux(path: Path, *, election_key: str) -> pd.DataFrame:
    """Polling-station turnout of one election from ``rhone_general_bureaux.csv``."""
    frame = read_table(path, sep=";", required=["id_election", "code_commune", "code_bv",
                                                "inscrits", "votants", "exprimes"])
    frame = frame[frame["id_election"] == election_key]
    require_unique(frame, ["code_commune", "code_bv"], path)
    frame = to_counts(frame, ["inscrits", "votants", "exprimes"], path)
    frame["code_bv"] = frame["code_commune"] + "_" + frame["code_bv"].str.strip()
    return frame.rename(columns={"code_commune": "source_code", "code_bv": "bureau_code",
                                 "inscrits": "registered", "votants": "voters",
                                 "exprimes": "expressed"})
