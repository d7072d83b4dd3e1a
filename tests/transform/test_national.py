"""National tables: which source wins, partial figures, and the checks that compare them."""

from __future__ import annotations

import pandas as pd
import pytest

from electio.errors import UnmappedLabelError
from electio.transform.national import NationalFile, build_national, read_official

NUANCES = pd.DataFrame({
    "election_id": ["e1", "e1", "e2", "e2"],
    "label": ["LePen", "Hollande", "RN", "UG"],
    "label_kind": ["candidate"] * 2 + ["nuance"] * 2,
    "display_name": ["x"] * 4, "bloc": ["extreme_droite", "gauche", "extreme_droite", "gauche"],
    "rationale": ["r"] * 4})
NO_ALIAS = pd.DataFrame(columns=["election_id", "official_label", "source_label", "rationale"])


def official(rows):
    frame = pd.DataFrame(rows, columns=["election_id", "level", "label", "votes", "pct_exprimes"])
    frame["votes"] = frame["votes"].astype("Int64")
    frame["note"], frame["line"] = "", range(2, 2 + len(frame))
    return frame


def national_file(eid="e1", zz_votes=(5, 5), note="", tolerance=0):
    turnout = pd.DataFrame({"departement_code": ["69", "971", "ZZ"], "registered": [200, 100, 30],
                            "voters": [150, 80, 12], "expressed": [140, 70, 10]})
    votes = pd.DataFrame({"departement_code": ["69", "69", "971", "971", "ZZ", "ZZ"],
                          "label": ["LE PEN", "HOLLANDE"] * 3, "votes": [40, 100, 30, 40, *zz_votes]})
    return NationalFile(eid, "aktiur", "dep.csv", turnout, votes, note=note, tolerance=tolerance)


TOTALS = [("e1", "total", "inscrits", 330, None), ("e1", "total", "votants", 242, None),
          ("e1", "total", "exprimes", 220, None)]


def test_complete_official_wins_and_matches_the_file():
    off = official(TOTALS + [("e1", "candidate", "LE PEN", 75, None), ("e1", "candidate", "HOLLANDE", 145, None)])
    b = build_national(["e1"], {"e1": national_file()}, off, NUANCES, NO_ALIAS)
    res = b.fact_national_result.set_index("bloc_code")
    assert res.loc["gauche", "votes"] == 145 and res.loc["gauche", "share_expressed"] == pytest.approx(65.9091)
    assert res.loc["centre", "votes"] == 0 and set(res["source_id"]) == {"national_results"}
    assert b.fact_national_turnout.iloc[0][["registered", "voters", "expressed"]].tolist() == [330, 242, 220]
    # Every département of the file, abroad included, every bloc.
    dep = b.fact_departement_result
    assert set(dep["departement_code"]) == {"69", "971", "ZZ"} and len(dep) == 18
    assert dep.loc[(dep["departement_code"] == "971") & (dep["bloc_code"] == "gauche"), "votes"].item() == 40
    status = {c["check_name"]: c["status"] for c in b.checks}
    assert status == {"national_result_source": "pass", "national_votes_sum_to_expressed": "pass",
                      "national_file_vs_official": "pass"}


def test_file_wins_over_partial_official_and_gaps_are_reported():
    # Official totals lack one candidate: partial, so the file gives the national result.
    off = official(TOTALS + [("e1", "candidate", "LE PEN", 80, None)])
    b = build_national(["e1"], {"e1": national_file(note="provisoire", tolerance=3)}, off, NUANCES, NO_ALIAS)
    assert set(b.fact_national_result["source_id"]) == {"aktiur"}
    assert set(b.fact_national_result["note"]) == {"provisoire"}
    checks = {c["check_name"]: c for c in b.checks}
    assert checks["national_result_source"]["status"] == "warn"
    # LE PEN: file 75 vs official 80 -> gap 5 > tolerance 3.
    assert checks["national_file_vs_official"]["status"] == "fail"
    assert checks["national_file_vs_official"]["observed"] == 5


def test_partial_official_percentages_only():
    off = official([("e2", "total", "votants", 1000, None), ("e2", "nuance", "RN", None, 33.15),
                    ("e2", "nuance", "UG", None, 27.99)])
    b = build_national(["e2"], {}, off, NUANCES, NO_ALIAS)
    res = b.fact_national_result.set_index("bloc_code")
    assert set(res.index) == {"extreme_droite", "gauche"}  # blocs without a published row are absent
    assert res["votes"].isna().all() and res.loc["extreme_droite", "share_expressed"] == 33.15
    assert res["note"].iloc[0].startswith("partiel")
    turnout = b.fact_national_turnout.iloc[0]
    assert turnout["voters"] == 1000 and pd.isna(turnout["registered"])
    assert b.checks[0]["status"] == "warn" and b.checks[0]["observed"] == pytest.approx(61.14)


def test_no_national_data_is_reported_missing():
    b = build_national(["e1"], {}, official([]), NUANCES, NO_ALIAS)
    assert b.fact_national_result.empty and b.checks[0]["status"] == "missing"


def test_unmapped_national_label_stops():
    nf = national_file()
    nf.votes.loc[0, "label"] = "INCONNU"
    with pytest.raises(UnmappedLabelError, match="INCONNU"):
        build_national(["e1"], {"e1": nf}, official([]), NUANCES, NO_ALIAS)


def test_read_official_picks_the_complete_level():
    off = official(TOTALS + [("e1", "list", "Liste A", 100, None),  # list rows fall short of exprimés
                             ("e1", "nuance", "LePen", 75, None), ("e1", "nuance", "Hollande", 145, None)])
    o = read_official("e1", off)
    assert o.complete and o.level == "nuance"


def test_mirror_national_totals(shared_warehouse):
    """The national files of the mirror agree with the official totals as CHECKS.md says (the
    session's warehouse, built from the mirror by the same build_national_tables)."""
    from electio.warehouse.read import read_tables

    b = read_tables(shared_warehouse.settings.db_url, ["fact_national_result", "fact_national_turnout",
                                                       "fact_departement_result", "meta_quality_check"])
    checks = b["meta_quality_check"]
    status = dict(zip(zip(checks["election_id"], checks["check_name"]), checks["status"]))
    assert status[("pres_2012_t1", "national_file_vs_official")] == "pass"  # canton file = official, exact
    assert status[("pres_2017_t1", "national_file_vs_official")] == "pass"  # aktiur incl. ZZ = official
    assert status[("euro_2024_t1", "national_file_vs_official")] == "warn"  # no French abroad in the archive
    res = b["fact_national_result"].set_index(["election_id", "bloc_code"])
    assert res.loc[("pres_2017_t1", "centre"), "votes"] == 8_656_346  # Macron
    assert res.loc[("euro_2024_t1", "extreme_droite"), "source_id"] == "euro2024_interieur_web_france"
    turnout = b["fact_national_turnout"].set_index("election_id")
    assert turnout.loc["euro_2024_t1", "expressed"] == 24_430_299  # the manifest's sum over communes
    dep = b["fact_departement_result"]
    assert dep[dep["election_id"] == "pres_2017_t1"]["departement_code"].nunique() == 107  # 101 + COM + ZX + ZZ
