"""Quality checks of loaded elections, recorded in ``meta_quality_check``.

A check never fixes data: it states what was verified, on which figures, and
whether it passed. ``fail`` is a real inconsistency; ``warn`` a documented,
bounded gap; ``n/a`` an identity the source cannot be checked on (it derives
one column from the others); ``missing`` an election with no source.
"""

from __future__ import annotations

import pandas as pd

from electio.sources.elections import StagedElection
from electio.transform.elections import ElectionFacts
from electio.transform.politics import label_key


def check(name: str, election_id: str | None, status: str, detail: str,
          observed: float | None = None, expected: float | None = None) -> dict:
    return {"check_name": name, "election_id": election_id, "status": status, "observed": observed,
            "expected": expected, "detail": detail}


def check_staged(election_id: str, staged: StagedElection) -> list[dict]:
    """Identities the source file itself states, on its own rows."""
    t, out = staged.turnout, []
    sums = staged.results.groupby("source_code")["votes"].sum()
    diff = (t.set_index("source_code")["expressed"] - sums.reindex(t["source_code"]).fillna(0).values)
    bad = diff[diff != 0]
    status = "pass" if bad.empty else "fail"
    detail = (f"{len(bad)} of {len(t)} source communes where exprimés != sum of votes"
              + (f" (e.g. {bad.index[0]}: {int(bad.iloc[0])})" if len(bad) else ""))
    if staged.votes_rebuilt and len(bad):
        # Votes rebuilt from 2-decimal percentages: each list may be off by 0.005 % of
        # exprimés, so a commune's sum by (number of lists) x that, plus rounding.
        n_lists = staged.results.groupby("source_code").size().reindex(bad.index).fillna(0)
        bound = n_lists * 0.00005 * t.set_index("source_code")["expressed"].reindex(bad.index) + n_lists / 2
        beyond = int((bad.abs() > bound).sum())
        status = "fail" if beyond else "warn"
        detail += (f"; votes rebuilt from rounded percentages: largest gap {int(bad.abs().max())} votes, "
                   f"{beyond} commune(s) beyond the rounding bound (lists x 0.005 % of exprimés + 0.5 per list)")
    out.append(check("expressed_equals_sum_of_votes", election_id, status, detail, observed=len(bad), expected=0))
    parts = t["blank_and_null"].where(t["blank_and_null"].notna(), t["blank"] + t["null_ballots"])
    if parts.notna().all():
        gap = (t["voters"] - parts - t["expressed"]) != 0
        out.append(check("voters_equals_blank_null_expressed", election_id, "fail" if gap.any() else "pass",
                         f"{int(gap.sum())} of {len(t)} source communes where votants != blancs + nuls + exprimés",
                         observed=int(gap.sum()), expected=0))
    else:
        if t["blank"].notna().any():
            detail = "the source gives blancs but no nuls column; nuls derived as votants - blancs - exprimés"
        elif t["null_ballots"].notna().any():
            detail = "the source gives nuls but no blancs column; blancs derived as votants - nuls - exprimés"
        else:
            detail = "the source gives neither blancs nor nuls; blancs + nuls derived as votants - exprimés"
        out.append(check("voters_equals_blank_null_expressed", election_id, "n/a", f"not checkable: {detail}"))
    order = (t["registered"] >= t["voters"]) & (t["voters"] >= t["expressed"])
    out.append(check("registered_ge_voters_ge_expressed", election_id, "pass" if order.all() else "fail",
                     f"{int((~order).sum())} source communes break inscrits >= votants >= exprimés",
                     observed=int((~order).sum()), expected=0))
    return out


def check_facts(election_id: str, facts: ElectionFacts, reference_communes: set[str], *,
                votes_rebuilt: bool = False, uninhabited: set[str] | None = None) -> list[dict]:
    out = []
    shares = facts.blocs["share_expressed"]
    in_range = shares.between(0, 100).all()
    total = facts.blocs.groupby("commune_code")["share_expressed"].sum()
    expressed_communes = set(facts.turnout.loc[facts.turnout["expressed"] > 0, "commune_code"])
    off = total[total.index.isin(expressed_communes) & ((total - 100).abs() > 0.01)]
    status = "pass" if in_range and off.empty else "fail"
    detail = f"bloc shares within [0, 100]: {in_range}; communes whose shares do not sum to 100: {len(off)}"
    if votes_rebuilt and in_range and len(off):
        # Votes rebuilt from 2-decimal percentages: each label may be off by 0.005 point.
        n_labels = facts.labels.groupby("commune_code").size().reindex(off.index)
        beyond = int(((off - 100).abs() > 0.005 * n_labels + 0.01).sum())
        status = "fail" if beyond else "warn"
        detail += (f" (votes rebuilt from rounded percentages: largest gap {float((off - 100).abs().max()):.3f} "
                   f"points, {beyond} beyond 0.005 point per list)")
    out.append(check("shares_in_0_100_and_sum_to_100", election_id, status, detail, observed=len(off), expected=0))
    if facts.bureaux is not None:
        counts = ["registered", "voters", "expressed"]
        by_commune = facts.bureaux.groupby("commune_code")[counts].sum()
        communes = facts.turnout.set_index("commune_code")[counts]
        gap = (by_commune.reindex(communes.index) - communes).abs().sum(axis=1)
        n = int((gap != 0).sum())
        out.append(check("bureaux_sum_to_communes", election_id, "pass" if n == 0 else "fail",
                         f"{len(facts.bureaux)} polling stations; {n} communes where their inscrits, votants "
                         "or exprimés do not add up to the commune figures", observed=n, expected=0))
    loaded = set(facts.turnout["commune_code"])
    absent = sorted(reference_communes - loaded)
    outside = sorted(loaded - reference_communes)
    # Communes with no inhabitant (the Meuse villages destroyed in 1916) have no voters.
    empty = [c for c in absent if c in (uninhabited or set())]
    absent = [c for c in absent if c not in empty]
    status = "pass" if not absent and not outside else "fail"
    out.append(check("commune_coverage", election_id, status,
                     f"{len(loaded)} reference communes loaded of {len(reference_communes)}"
                     + (f"; without result: {absent[:10]}" + (f" and {len(absent) - 10} more" if len(absent) > 10
                                                               else "") if absent else "")
                     + (f"; {len(empty)} uninhabited communes without voters: {empty[:6]}" if empty else "")
                     + (f"; outside the perimeter: {outside[:10]}" if outside else ""),
                     observed=len(loaded), expected=len(reference_communes) - len(empty)))
    return out


def compare_totals(name: str, election_id: str, loaded: dict[str, int], reference: dict[str, int],
                   *, source: str, tolerance: int = 0) -> dict:
    """Compare département totals (turnout and per label) with an independent source."""
    ref = {label_key(k): int(v) for k, v in reference.items()}
    got = {label_key(k): int(v) for k, v in loaded.items()}
    common = sorted(set(ref) & set(got))
    gaps = {k: got[k] - ref[k] for k in common if got[k] != ref[k]}
    worst = max((abs(v) for v in gaps.values()), default=0)
    status = "pass" if worst == 0 else ("warn" if worst <= tolerance else "fail")
    detail = (f"vs {source}: {len(common)} figures compared, {len(gaps)} differ"
              + (f" (largest |gap| {worst}; " + ", ".join(f"{k} {v:+d}" for k, v in list(gaps.items())[:6]) + ")"
                 if gaps else "")
              + (f"; documented tolerance {tolerance}" if tolerance else ""))
    if not common:
        status, detail = "fail", f"vs {source}: no figure in common (labels {sorted(ref)[:5]}...)"
    return check(name, election_id, status, detail, observed=worst, expected=tolerance)
