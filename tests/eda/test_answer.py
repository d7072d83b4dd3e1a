"""The answer to "which indicator is most correlated with the results?": ranking and stability."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from electio.eda.answer import answer_question, is_stable, relation_summary, strongest_relations
from electio.eda.correlation import CORRELATION_COLUMNS

ELECTIONS = pd.DataFrame({
    "election_id": ["e1_t1", "e2_t1", "e3_t1", "e4_t1", "e5_t1", "e3_t2"],
    "round_number": [1, 1, 1, 1, 1, 2],
    "label_fr": ["Élection 1", "Élection 2", "Élection 3", "Élection 4", "Élection 5", "Élection 3, 2nd tour"],
})
DIM_INDICATOR = pd.DataFrame({
    "indicator_code": ["income", "poverty", "shops"],
    "label_fr": ["Revenu médian", "Taux de pauvreté", "Commerces"],
    "family": ["revenus", "revenus", "entreprises"], "unit": ["euros", "%", "établissements"],
    "aggregation": ["weighted_mean", "weighted_mean", "sum"], "weight_indicator": [None, None, None],
    "level": ["commune"] * 3, "source_id": ["s"] * 3, "definition": ["d"] * 3,
})


def frame(values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """Correlation rows from {(indicator, target): [r for e1..e5]}."""
    rows = []
    for (code, target), rs in values.items():
        for i, r in enumerate(rs):
            rows.append({"election_id": f"e{i + 1}_t1", "indicator_code": code, "target": target,
                         "indicator_year": 2019, "n_communes": 266, "pearson": r, "spearman": r,
                         "pearson_ci_low": r - 0.1, "pearson_ci_high": r + 0.1, "p_value": 0.01})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


CORR = frame({
    ("income", "centre"): [0.6, 0.5, 0.7, 0.55, 0.65],       # stable, mean 0.6
    ("poverty", "centre"): [-0.9, 0.8, -0.9, 0.7, -0.9],     # larger |r| but the sign flips: unstable
    ("income", "extreme_droite"): [-0.4, -0.35, -0.5, -0.2, -0.45],  # 4/5 = 80 % with |r| >= 0.3: stable
    ("shops", "extreme_droite"): [-0.4, -0.35, -0.5, -0.2, -0.25],   # 3/5: unstable
    ("poverty", "turnout"): [-0.7, -0.75, -0.8, -0.72, -0.78],
})


def test_stability_rule():
    assert is_stable([0.6, 0.5, 0.7])
    assert not is_stable([0.6, -0.5, 0.7])            # sign change
    assert is_stable([0.4, 0.35, 0.5, 0.2, 0.45])      # 80 % strong
    assert not is_stable([0.4, 0.35, 0.5, 0.2, 0.25])  # 60 % strong
    assert not is_stable([0.9])                        # a single election
    assert not is_stable([0.5, np.nan])                # NaN does not count as an election


def test_answer_per_target_with_sign_values_and_stability():
    answer = answer_question(CORR, DIM_INDICATOR, dim_election=ELECTIONS)
    json.dumps(answer, allow_nan=False)  # valid JSON, no NaN
    centre = answer["by_target"]["centre"]
    assert centre["indicator_code"] == "poverty"  # highest mean |r| ...
    assert centre["stable"] is False               # ... but not stable
    assert centre["mean_abs_pearson"] == pytest.approx(0.84)
    assert [e["pearson"] for e in centre["per_election"]] == [-0.9, 0.8, -0.9, 0.7, -0.9]
    assert centre["runner_up"][0]["indicator_code"] == "income" and centre["runner_up"][0]["stable"] is True
    droite = answer["by_target"]["extreme_droite"]
    assert (droite["indicator_code"], droite["sign"], droite["sign_fr"], droite["stable"]) == \
        ("income", -1, "négative", True)
    assert droite["per_election"][0]["election_label_fr"] == "Élection 1"
    assert answer["by_target"]["turnout"]["target_label_fr"] == "Participation"
    assert answer["by_target"]["turnout"]["transformation"] == "identity"
    assert "gauche" not in answer["by_target"]
    assert answer["status"] == "ok" and "Taux de pauvreté" in answer["summary_fr"]
    # No population indicator here: a count cannot be made comparable, so it is not analysed.
    assert "shops" not in answer["transformations"]


def test_overall_top_is_sorted_by_mean_abs_r():
    top = strongest_relations(CORR, top=3, dim_indicator=DIM_INDICATOR)
    assert [(t["indicator_code"], t["target"]) for t in top] == [
        ("poverty", "centre"), ("poverty", "turnout"), ("income", "centre")]
    assert [t["rank"] for t in top] == [1, 2, 3]
    assert top[0]["indicator_label_fr"] == "Taux de pauvreté" and top[1]["target_label_fr"] == "Participation"


def test_second_rounds_are_left_out_when_elections_are_known():
    t2 = frame({("income", "centre"): [-0.9]}).assign(election_id="e3_t2")  # a duel: sign reversed
    corr = pd.concat([CORR, t2], ignore_index=True)
    everything = answer_question(corr, DIM_INDICATOR)
    assert everything["by_target"]["centre"]["runner_up"][0]["stable"] is False
    first_rounds = answer_question(corr, DIM_INDICATOR, dim_election=ELECTIONS)
    assert first_rounds["by_target"]["centre"]["runner_up"][0]["stable"] is True
    assert "e3_t2" not in first_rounds["elections_used"] and "e3_t2" in everything["elections_used"]


def test_coverage_rule_keeps_late_indicators_out_of_the_ranking():
    late = frame({("shops", "centre"): [0.99, 0.99]})  # only two of the five elections
    corr = pd.concat([CORR, late], ignore_index=True)
    answer = answer_question(corr, DIM_INDICATOR, dim_election=ELECTIONS)
    assert answer["by_target"]["centre"]["indicator_code"] == "poverty"
    assert ("shops", "centre") not in {(t["indicator_code"], t["target"]) for t in answer["top"]}
    assert relation_summary(corr).iloc[0][["indicator_code", "target"]].tolist() == ["shops", "centre"]
    only_late = frame({("shops", "gauche"): [0.5, 0.6]})  # nothing else for that target: ranked anyway
    corr = pd.concat([CORR, only_late], ignore_index=True)
    assert answer_question(corr, DIM_INDICATOR)["by_target"]["gauche"]["indicator_code"] == "shops"


def test_single_election_relations_rank_after_covered_ones():
    one = frame({("shops", "gauche"): [0.95]})
    corr = pd.concat([CORR, one, frame({("income", "gauche"): [0.3, 0.35]})], ignore_index=True)
    assert answer_question(corr, DIM_INDICATOR)["by_target"]["gauche"]["indicator_code"] == "income"
    summary = relation_summary(corr)
    assert summary.iloc[0][["indicator_code", "target"]].tolist() == ["shops", "gauche"]


def test_no_correlation_gives_a_no_data_answer():
    answer = answer_question(CORR.iloc[:0], DIM_INDICATOR.iloc[:0])
    assert answer["status"] == "no_data" and answer["top"] == [] and answer["by_target"] == {}
    assert "Aucune corrélation" in answer["summary_fr"]
    json.dumps(answer, allow_nan=False)


def test_ranking_controls_size_drops_redundant_and_covers_every_family():
    corr = CORR.copy()
    partial = {"income": 0.2, "poverty": -0.1, "shops": 0.5}
    corr["partial_pearson"] = corr["indicator_code"].map(partial) * np.sign(corr["pearson"])
    shops = frame({("shops", "centre"): [0.1, 0.1, 0.1, 0.1, 0.1]}).assign(partial_pearson=0.5)
    dup = frame({("poverty_copy", "centre"): [-0.95] * 5}).assign(partial_pearson=-0.9)
    corr = pd.concat([corr, shops, dup], ignore_index=True)
    dim = pd.concat([DIM_INDICATOR.assign(redundant_with=None),
                     DIM_INDICATOR.iloc[[1]].assign(indicator_code="poverty_copy", redundant_with="poverty")])
    answer = answer_question(corr, dim, dim_election=ELECTIONS)
    # size controlled: shops (partial 0.5) beats poverty (raw r 0.84, partial 0.1); the copy is never ranked
    assert answer["by_target"]["centre"]["indicator_code"] == "shops"
    assert "poverty_copy" not in {t["indicator_code"] for t in answer["top"]}
    assert answer["redundant_not_ranked"] == ["poverty_copy"]
    assert set(answer["by_family"]) == {"revenus", "entreprises"}
    assert answer["by_family"]["entreprises"]["top"][0]["mean_partial_pearson"] == pytest.approx(0.5)
    themes = {t["theme_fr"]: t for t in answer["themes"]}
    assert themes["Vie associative"]["status"] == "gap" and "RNA" in themes["Vie associative"]["evidence_fr"]
    assert themes["Entreprises"]["status"] == "data" and themes["Sécurité (délinquance)"]["status"] == "gap"
    # income and poverty move against each other (r = -0.9): same-sign relations are flagged
    close = pd.DataFrame({"indicator_a": ["income"], "indicator_b": ["poverty"], "election_id": ["e5_t1"],
                          "r": [-0.9]})
    corr2 = corr.copy()
    corr2.loc[corr2["indicator_code"] == "poverty", "partial_pearson"] = 0.3
    corr2.loc[corr2["indicator_code"] == "income", "partial_pearson"] = 0.3
    flagged = answer_question(corr2, dim, dim_election=ELECTIONS, closeness=close)["sign_instabilities"]
    assert {f["target"] for f in flagged} >= {"centre"} and flagged[0]["r_between"] == -0.9
    json.dumps(answer, allow_nan=False)
