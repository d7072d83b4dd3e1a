"""Commune results of every département of France: the context panel of models learned across
départements (``fact_context_result``, ``fact_context_turnout``).

The perimeter's tables (``fact_election_result``...) hold its own communes only. A model that
learns how communes deviate from their département needs many départements: this module turns
the France-wide commune files the perimeter already uses (``[[election.source]]`` entries of
``elections.toml`` with ``departements = ["*"]``: aktiur commune files 2014-2019 and the
European 2024 Ministry archive) into the same bloc facts, for every commune of France, with
the same parsers and the same harmonisation (reference communes, blocs). First rounds only:
the models use first rounds. No new parser: :func:`electio.transform.elections.stage_election`
reads the files.
"""

from __future__ import annotations

import pandas as pd

from electio.sources.readers import insee_departement
from electio.transform.elections import ElectionFacts, ElectionSpec

#: Parsers whose France-wide files give every commune of France.
FRANCE_PARSERS = ("aktiur_commune_large", "euro2024_france")
RESULT_COLUMNS = ["election_id", "commune_code", "bloc_code", "votes"]
TURNOUT_COLUMNS = ["election_id", "commune_code", "departement_code", "registered", "voters", "expressed"]


def france_source(spec: ElectionSpec) -> dict | None:
    """The source entry giving every commune of France for a first round, or None."""
    if spec.round != 1:
        return None
    return next((s for s in spec.sources
                 if s["parser"] in FRANCE_PARSERS and "*" in s.get("departements", ["*"])), None)


def context_rows(election_id: str, facts: ElectionFacts) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(fact_context_result, fact_context_turnout) rows of one harmonised France-wide election."""
    result = facts.blocs.rename(columns={"bloc": "bloc_code"})
    result = result.assign(election_id=election_id)[RESULT_COLUMNS]
    turnout = facts.turnout.assign(election_id=election_id,
                                   departement_code=insee_departement(facts.turnout["commune_code"]))
    turnout = turnout[TURNOUT_COLUMNS]
    for frame, counts in ((result, ["votes"]), (turnout, ["registered", "voters", "expressed"])):
        for c in counts:
            frame[c] = frame[c].astype("int64")
    return result.reset_index(drop=True), turnout.reset_index(drop=True)


def departement_gaps(turnout: pd.DataFrame, result: pd.DataFrame, departement_result: pd.DataFrame) -> pd.DataFrame:
    """Per election and département: expressed votes and bloc votes summed from the context
    communes minus those of ``fact_departement_result`` (same national files: should be 0, bar
    the documented rounding of rebuilt votes)."""
    ctx_exp = turnout.groupby(["election_id", "departement_code"])["expressed"].sum()
    ctx_votes = (result.assign(departement_code=result["commune_code"].map(
        turnout.drop_duplicates("commune_code").set_index("commune_code")["departement_code"]))
        .groupby(["election_id", "departement_code", "bloc_code"])["votes"].sum())
    dep = departement_result[departement_result["election_id"].isin(set(turnout["election_id"]))]
    ref_votes = dep.set_index(["election_id", "departement_code", "bloc_code"])["votes"]
    ref_exp = dep.groupby(["election_id", "departement_code"])["expressed"].max()
    exp_gap = (ctx_exp - ref_exp.reindex(ctx_exp.index)).rename("expressed_gap")
    vote_gap = (ctx_votes - ref_votes.reindex(ctx_votes.index)).abs().groupby(
        level=["election_id", "departement_code"]).max().rename("max_bloc_vote_gap")
    return pd.concat([exp_gap, vote_gap], axis=1).reset_index()
