"""Votes rebuilt from rounded percentages (European 2024 site): bounded gaps warn, larger ones fail."""

from __future__ import annotations

import pandas as pd

from electio.sources.elections import StagedElection
from electio.transform.elections import ElectionFacts
from electio.transform.quality import check_facts, check_staged


def staged(votes_a: int, *, rebuilt: bool) -> StagedElection:
    turnout = pd.DataFrame({"source_code": ["33063"], "source_name": ["Bordeaux"], "registered": [200_000],
                            "voters": [110_000], "blank": [1_000], "null_ballots": [1_000], "blank_and_null": [pd.NA],
                            "expressed": [108_000]})
    results = pd.DataFrame({"source_code": ["33063"] * 2, "label": ["LRN", "LENS"], "votes": [votes_a, 58_000]})
    return StagedElection(turnout=turnout, results=results, rows_read=1, votes_rebuilt=rebuilt)


def test_rounding_gap_warns_only_for_rebuilt_votes():
    close = check_staged("e", staged(50_004, rebuilt=True))[0]  # 4 votes: within 2 x 0.005 % x 108,000 + 1
    assert close["check_name"] == "expressed_equals_sum_of_votes" and close["status"] == "warn"
    assert check_staged("e", staged(50_004, rebuilt=False))[0]["status"] == "fail"
    assert check_staged("e", staged(50_500, rebuilt=True))[0]["status"] == "fail"  # 500 votes: not rounding


def test_shares_sum_tolerance_for_rebuilt_votes():
    blocs = pd.DataFrame({"election_id": "e", "commune_code": ["33063"] * 2, "bloc": ["a", "b"],
                          "votes": [50_004, 58_000], "share_expressed": [46.3, 53.715], "n_labels": [1, 1]})
    labels = pd.DataFrame({"commune_code": ["33063"] * 2, "label": ["LRN", "LENS"]})
    turnout = pd.DataFrame({"commune_code": ["33063"], "expressed": [108_000]})
    facts = ElectionFacts(turnout=turnout, labels=labels, blocs=blocs, bureaux=None)
    assert check_facts("e", facts, {"33063"}, votes_rebuilt=True)[0]["status"] == "warn"
    assert check_facts("e", facts, {"33063"})[0]["status"] == "fail"
