"""Elections: from a source file to harmonised commune facts.

stage (parse the file chosen for the perimeter) -> harmonise (reference
communes, blocs) -> facts ready for the warehouse. Quality checks read both the
staged and the harmonised frames (:mod:`electio.transform.quality`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Callable

import pandas as pd

from electio.sources.elections import StagedElection, aktiur, agregees, euro2024, ministere, pres2012
from electio.transform.communes import harmonise_communes
from electio.transform.politics import BLOCS, assign_blocs

TURNOUT_COUNTS = ["registered", "voters", "blank", "null_ballots", "blank_and_null", "expressed"]

#: resolve(source_id, file_name) -> local path of a checksum-verified file.
Resolver = Callable[[str, str], Path]


@dataclass(frozen=True)
class ElectionSpec:
    id: str
    type: str
    year: int
    round: int
    date: date
    label_fr: str
    sources: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    bureaux: list[dict] = field(default_factory=list)
    national: list[dict] = field(default_factory=list)

    def source_for(self, departement: str) -> dict | None:
        """First source whose perimeter covers the département, or None."""
        return next((s for s in self.sources if _covers(s, departement)), None)

    def checks_for(self, departement: str) -> list[dict]:
        return [c for c in self.checks if _covers(c, departement)]

    def bureaux_for(self, departement: str) -> dict | None:
        return next((b for b in self.bureaux if _covers(b, departement)), None)


def _covers(entry: dict, departement) -> bool:
    """Whether an entry covers the département, or every département of a list."""
    deps = entry.get("departements", ["*"])
    wanted = [departement] if isinstance(departement, str) else list(departement)
    return "*" in deps or all(d in deps for d in wanted)


def load_election_specs(text: str | None = None) -> list[ElectionSpec]:
    """Election definitions from the packaged ``elections.toml``."""
    if text is None:
        text = resources.files("electio.sources").joinpath("elections.toml").read_text(encoding="utf-8")
    specs = []
    for item in tomllib.loads(text)["election"]:
        specs.append(ElectionSpec(id=item["id"], type=item["type"], year=int(item["year"]),
                                  round=int(item["round"]), date=item["date"], label_fr=item["label_fr"],
                                  sources=item.get("source", []), checks=item.get("check", []),
                                  bureaux=item.get("bureaux", []), national=item.get("national", [])))
    ids = [s.id for s in specs]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate election id in elections.toml")
    return specs


def stage_election(source: dict, departement: str, resolve: Resolver) -> StagedElection:
    """Parse the election file(s) named by a source entry."""
    parser, sid = source["parser"], source["source"]
    if parser == "aktiur_commune_large":
        return aktiur.parse_commune_large(resolve(sid, source["file"]), departement=departement)
    if parser == "pres2012_communes":
        return pres2012.parse_communes(resolve(sid, source["file"]), departement=departement)
    if parser == "ministere_wide":
        return ministere.parse_wide(resolve(sid, source["file"]), departement=departement)
    if parser == "euro2024_france":
        return euro2024.parse_france_archive(resolve(sid, source["file"]), departement=departement)
    if parser == "agregees":
        return agregees.parse(resolve(sid, source["turnout_file"]), resolve(sid, source["file"]),
                              election_key=source["key"], label_field=source["label_field"],
                              departement=departement)
    raise ValueError(f"unknown parser {parser!r} in elections.toml")


def complete_turnout(turnout: pd.DataFrame) -> pd.DataFrame:
    """Derive what the source leaves out, from the identity voters = blank + null + expressed.

    blank_and_null is always filled; blank and null stay NA where the source merges
    them (2012, 2014) and are derived when only one of them is given.
    """
    out = turnout.copy()
    merged = (out["voters"] - out["expressed"]).astype("Int64")
    out["blank_and_null"] = out["blank_and_null"].fillna(merged)
    out["null_ballots"] = out["null_ballots"].fillna(out["blank_and_null"] - out["blank"])
    out["blank"] = out["blank"].fillna(out["blank_and_null"] - out["null_ballots"])
    return out


@dataclass
class ElectionFacts:
    """One election on the reference geography, ready to load."""

    turnout: pd.DataFrame
    labels: pd.DataFrame
    blocs: pd.DataFrame
    bureaux: pd.DataFrame | None


def harmonise_election(election_id: str, staged: StagedElection, code_map: pd.DataFrame,
                       nuances: pd.DataFrame, *, where: str) -> ElectionFacts:
    """Sum counts onto reference communes, then compute shares and blocs.

    Shares are recomputed from summed votes (never averaged) so that merged
    communes and Lyon weigh what they should.
    """
    turnout = complete_turnout(staged.turnout)
    turnout = harmonise_communes(turnout, code_map, counts=TURNOUT_COUNTS, where=where)
    turnout["turnout_pct"] = (100 * turnout["voters"] / turnout["registered"]).round(4)
    expressed = turnout.set_index("commune_code")["expressed"]

    labels = harmonise_communes(staged.results, code_map, counts=["votes"], keys=["label"], where=where)
    labels = assign_blocs(labels, nuances, election_id)
    labels["share_expressed"] = _share(labels["votes"], labels["commune_code"].map(expressed))

    by_bloc = labels.assign(has_votes=labels["votes"] > 0).groupby(["commune_code", "bloc"]).agg(
        votes=("votes", "sum"), n_labels=("has_votes", "sum"))
    grid = pd.MultiIndex.from_product([turnout["commune_code"], BLOCS], names=["commune_code", "bloc"])
    blocs = by_bloc.reindex(grid, fill_value=0).reset_index()
    blocs["share_expressed"] = _share(blocs["votes"], blocs["commune_code"].map(expressed))

    bureaux = None
    if staged.bureaux is not None:
        known = harmonise_communes(staged.bureaux[["source_code"]].drop_duplicates().assign(n=1),
                                   code_map, counts=["n"], where=where)  # fails on unknown codes
        lookup = dict(zip(code_map["source_code"], code_map["commune_code"]))
        bureaux = staged.bureaux.assign(commune_code=staged.bureaux["source_code"].map(lookup))
        assert len(known) and bureaux["commune_code"].notna().all()
    for frame in (turnout, labels, blocs) + ((bureaux,) if bureaux is not None else ()):
        frame.insert(0, "election_id", election_id)
    return ElectionFacts(turnout=turnout, labels=labels, blocs=blocs, bureaux=bureaux)


def _share(votes: pd.Series, expressed: pd.Series) -> pd.Series:
    return (100 * votes / expressed.where(expressed > 0)).fillna(0.0).round(4)
