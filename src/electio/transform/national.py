"""National (France entière) and département results of every election, whatever the perimeter.

Two kinds of input per election:

* a national file giving every département (aktiur département files 2014-2019,
  the 2012 canton file summed per département, the European 2024 commune JSON
  summed per département): it gives ``fact_departement_result`` and, summed, a
  national result;
* the official national totals (``national_results``), complete for some
  elections and partial for others.

Which one becomes ``fact_national_result`` is decided on the data, in this order:
the official totals when they are complete (totals given and label votes adding
up to exprimés exactly), else the national file (complete by construction, with
its caveat in ``note``), else the official totals as far as they go (partial,
said in ``note``). The others are compared with it in ``meta_quality_check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from electio.transform.politics import BLOCS, assign_blocs, label_key
from electio.transform.quality import check, compare_totals

DEPARTEMENT_COLUMNS = ["election_id", "departement_code", "bloc_code", "votes", "expressed"]
RESULT_COLUMNS = ["election_id", "bloc_code", "votes", "share_expressed", "source_id", "note"]
TURNOUT_COLUMNS = ["election_id", "registered", "voters", "expressed", "source_id"]
OFFICIAL_SOURCE = "national_results"


@dataclass
class NationalFile:
    """One election's national file, summed per département (INSEE codes, 'ZZ' abroad)."""

    election_id: str
    source_id: str
    file_name: str
    turnout: pd.DataFrame  # departement_code, registered, voters, expressed
    votes: pd.DataFrame  # departement_code, label, votes
    note: str = ""  # what the file covers when it is not the final France-wide result
    tolerance: int = 0  # documented gap in votes vs the official figures
    share_tolerance: float | None = None  # compare shares (points) instead of votes


@dataclass
class NationalBuild:
    fact_national_result: pd.DataFrame
    fact_national_turnout: pd.DataFrame
    fact_departement_result: pd.DataFrame
    checks: list[dict] = field(default_factory=list)


def departement_blocs(nf: NationalFile, nuances: pd.DataFrame) -> pd.DataFrame:
    """Bloc votes of every département of the file (every bloc, 0 when absent)."""
    votes = assign_blocs(nf.votes, nuances, nf.election_id, by_key=True)
    by_bloc = votes.groupby(["departement_code", "bloc"])["votes"].sum()
    grid = pd.MultiIndex.from_product([nf.turnout["departement_code"], BLOCS], names=["departement_code", "bloc"])
    out = by_bloc.reindex(grid, fill_value=0).reset_index().rename(columns={"bloc": "bloc_code"})
    out["expressed"] = out["departement_code"].map(nf.turnout.set_index("departement_code")["expressed"])
    out.insert(0, "election_id", nf.election_id)
    return out[DEPARTEMENT_COLUMNS]


@dataclass
class Official:
    """The official national rows of one election, read against the reference."""

    turnout: dict  # registered, voters, expressed: int or None
    label_votes: dict  # label -> votes (labels with published votes)
    label_pct: dict  # label -> pct_exprimes (labels with a published percentage)
    level: str | None  # the level (candidate, list, nuance) used for blocs
    complete: bool
    detail: str


def read_official(election_id: str, rows: pd.DataFrame) -> Official | None:
    rows = rows[rows["election_id"] == election_id]
    if rows.empty:
        return None
    totals = rows[rows["level"] == "total"].set_index("label")["votes"]
    turnout = {k: (int(totals[src]) if src in totals and pd.notna(totals[src]) else None)
               for k, src in (("registered", "inscrits"), ("voters", "votants"), ("expressed", "exprimes"))}
    parts = rows[rows["level"] != "total"]
    best = None
    for level, group in parts.groupby("level"):
        complete = (group["votes"].notna().all() and turnout["expressed"] is not None
                    and int(group["votes"].sum()) == turnout["expressed"])
        rank = (complete, group["votes"].notna().sum() + group["pct_exprimes"].notna().sum(), level == "nuance")
        if best is None or rank > best[0]:
            best = (rank, level, group)
    if best is None:
        return Official(turnout, {}, {}, None, False, "totals only, no candidate/list/nuance row")
    (complete, _, _), level, group = best
    with_votes = group[group["votes"].notna()]
    pct = group[group["pct_exprimes"].notna()]
    missing = [k for k, v in turnout.items() if v is None]
    if complete:
        detail = f"{len(group)} {level} rows whose votes add up to exprimés exactly"
    else:
        detail = (f"{len(with_votes)} of {len(group)} {level} rows with votes, {len(pct)} with a percentage"
                  + (f"; not published: {', '.join(missing)}" if missing else "")
                  + (f"; the {level} votes sum to {int(with_votes['votes'].sum()):,} vs exprimés "
                     f"{turnout['expressed']:,}" if turnout["expressed"] and len(with_votes) else ""))
    return Official(turnout, dict(zip(with_votes["label"], with_votes["votes"].astype(int))),
                    dict(zip(pct["label"], pct["pct_exprimes"].astype(float))), level, complete, detail)


def _national_rows(election_id: str, bloc_votes: pd.Series | None, shares: pd.Series, source_id: str,
                   note: str) -> pd.DataFrame:
    out = pd.DataFrame({"bloc_code": shares.index, "share_expressed": shares.round(4).values})
    out["votes"] = (bloc_votes.reindex(shares.index).astype("Int64").values if bloc_votes is not None
                    else pd.array([pd.NA] * len(out), dtype="Int64"))
    out["election_id"], out["source_id"], out["note"] = election_id, source_id, note
    return out[RESULT_COLUMNS]


def _official_blocs(election_id: str, labels: dict, nuances: pd.DataFrame, aliases: dict) -> pd.Series:
    """Official values per label -> per bloc (aliases: official label -> label of the national file)."""
    frame = pd.DataFrame({"label": [aliases.get(k, k) for k in labels], "value": list(labels.values())})
    return assign_blocs(frame, nuances, election_id, by_key=True).groupby("bloc")["value"].sum()


def build_national(election_ids: list[str], files: dict[str, NationalFile], official_rows: pd.DataFrame,
                   nuances: pd.DataFrame, aliases: pd.DataFrame) -> NationalBuild:
    """The three national tables and their checks, for the elections given (in order)."""
    results, turnouts, departements, checks = [], [], [], []
    for eid in election_ids:
        nf, off = files.get(eid), read_official(eid, official_rows)
        alias = dict(zip(*aliases.loc[aliases["election_id"] == eid, ["official_label", "source_label"]].T.values))
        file_votes = file_turnout = None
        if nf is not None:
            dep = departement_blocs(nf, nuances)
            departements.append(dep)
            file_votes = dep.groupby("bloc_code")["votes"].sum().reindex(BLOCS)
            file_turnout = {k: int(nf.turnout[k].sum()) for k in ("registered", "voters", "expressed")}
        if off is not None and off.complete:
            votes = _official_blocs(eid, off.label_votes, nuances, alias).reindex(BLOCS, fill_value=0)
            results.append(_national_rows(eid, votes, 100 * votes / off.turnout["expressed"], OFFICIAL_SOURCE,
                                          "résultat officiel complet"))
            turnouts.append({"election_id": eid, **off.turnout, "source_id": OFFICIAL_SOURCE})
            checks.append(check("national_result_source", eid, "pass",
                                f"France entière from the official totals ({off.detail})"))
        elif nf is not None:
            results.append(_national_rows(eid, file_votes, 100 * file_votes / file_turnout["expressed"],
                                          nf.source_id, nf.note or "somme du fichier national par département"))
            turnouts.append({"election_id": eid, **file_turnout, "source_id": nf.source_id})
            checks.append(check("national_result_source", eid, "warn" if nf.note else "pass",
                                f"France entière summed from {nf.source_id}/{nf.file_name} over "
                                f"{len(nf.turnout)} départements" + (f" ({nf.note})" if nf.note else "")
                                + (f"; official totals partial: {off.detail}" if off is not None else "")))
        elif off is not None and (off.label_votes or off.label_pct):
            if off.label_votes and len(off.label_votes) >= len(off.label_pct):
                votes = _official_blocs(eid, off.label_votes, nuances, alias)
                base = off.turnout["expressed"] or int(sum(off.label_votes.values()))
                shares, bloc_votes = 100 * votes / base, votes
                how = ("exprimés not published: shares over the sum of the published votes"
                       if not off.turnout["expressed"] else "shares over exprimés")
            else:
                shares, bloc_votes = _official_blocs(eid, off.label_pct, nuances, alias), None
                how = "votes not published: shares are the published percentages"
            note = (f"partiel : {off.detail} ; {how} ; blocs sans ligne publiée absents, "
                    f"{100 - shares.sum():.2f} points non attribués")
            results.append(_national_rows(eid, bloc_votes, shares, OFFICIAL_SOURCE, note))
            turnouts.append({"election_id": eid, **off.turnout, "source_id": OFFICIAL_SOURCE})
            checks.append(check("national_result_source", eid, "warn", f"France entière, official totals, {note}",
                                observed=round(float(shares.sum()), 4), expected=100.0))
            if bloc_votes is not None and off.label_pct:
                label_share = {k: 100 * v / base for k, v in off.label_votes.items()}
                gaps = {k: round(label_share[k] - p, 3) for k, p in off.label_pct.items() if k in label_share}
                worst = max(abs(g) for g in gaps.values())
                checks.append(check("national_votes_vs_published_pct", eid, "pass" if worst <= 0.005 else "fail",
                                    f"{len(gaps)} labels: share recomputed from votes vs published percentage, "
                                    f"largest gap {worst:.3f} points (rounding of the published figure: 0.005)",
                                    observed=worst, expected=0.005))
        else:
            checks.append(check("national_result_source", eid, "missing",
                                "no national file and no official national totals for this election"))
            continue
        last = results[-1]
        if last["votes"].notna().all() and turnouts[-1]["expressed"]:
            gap = int(last["votes"].sum()) - int(turnouts[-1]["expressed"])
            tol = nf.tolerance if (nf is not None and last["source_id"].iloc[0] == nf.source_id) else 0
            checks.append(check("national_votes_sum_to_expressed", eid,
                                "pass" if gap == 0 else ("warn" if abs(gap) <= tol else "fail"),
                                f"bloc votes {int(last['votes'].sum()):,} vs exprimés "
                                f"{int(turnouts[-1]['expressed']):,} ({last['source_id'].iloc[0]})"
                                + (f"; documented tolerance {tol}" if gap else ""), observed=gap, expected=0))
        if nf is not None and off is not None:
            checks.append(_file_vs_official(eid, nf, off, alias))
    frame = lambda parts, cols: pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)
    turnout = pd.DataFrame(turnouts, columns=TURNOUT_COLUMNS)
    for column in ("registered", "voters", "expressed"):
        turnout[column] = turnout[column].astype("Int64")
    return NationalBuild(frame(results, RESULT_COLUMNS), turnout, frame(departements, DEPARTEMENT_COLUMNS), checks)


def _file_vs_official(eid: str, nf: NationalFile, off: Official, alias: dict) -> dict:
    """The national file's France-wide sums against the official figures."""
    file_labels = nf.votes.groupby("label")["votes"].sum()
    file_expressed = int(nf.turnout["expressed"].sum())
    by_key = {label_key(k): k for k in file_labels.index}
    source = f"{OFFICIAL_SOURCE} (official) vs {nf.source_id}/{nf.file_name} summed over {len(nf.turnout)} départements"
    if nf.share_tolerance is not None:
        gaps = {}
        for label, pct in off.label_pct.items():
            own = by_key.get(label_key(alias.get(label, label)))
            if own is not None:
                gaps[own] = round(100 * file_labels[own] / file_expressed - pct, 3)
        worst = max((abs(g) for g in gaps.values()), default=None)
        status = ("fail" if worst is None or worst > nf.share_tolerance
                  else ("pass" if worst <= 0.005 else "warn"))
        return check("national_file_vs_official", eid, status,
                     f"{source}: {len(gaps)} shares compared in points ("
                     + ", ".join(f"{k} {v:+.2f}" for k, v in gaps.items()) + f"); {nf.note}; "
                     f"documented tolerance {nf.share_tolerance} points", observed=worst, expected=nf.share_tolerance)
    loaded = {"registered": int(nf.turnout["registered"].sum()), "voters": int(nf.turnout["voters"].sum()),
              "expressed": file_expressed, **{k: int(v) for k, v in file_labels.items()}}
    reference = {k: v for k, v in off.turnout.items() if v is not None}
    reference.update({alias.get(k, k): v for k, v in off.label_votes.items()})
    return compare_totals("national_file_vs_official", eid, loaded, reference, source=source,
                          tolerance=nf.tolerance)
