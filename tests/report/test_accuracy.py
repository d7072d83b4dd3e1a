"""The accuracy, coverage, targets, horizons and national scenarios of the report: every number shown
equals the warehouse value, recomputed here with pandas (independently of the report's own SQL)."""

from __future__ import annotations

import html as htmllib
import re

import pandas as pd
import pytest

from electio.model.backtest import target_summary
from electio.report.build import render_report, report_tables
from electio.report.labels import MODE_FR
from electio.report.registry import fr_number
from electio.warehouse.read import read_tables
from electio.warehouse.schema import CONTEXT
from tests.report.trace import plain


def _text(fragment: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", htmllib.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def table_after(html: str, heading: str) -> list[list[str]]:
    """Rows (cell texts, header row first) of the first table after ``heading``."""
    start = html.index(heading)
    block = html[html.index("<table", start): html.index("</table>", start)]
    return [[_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", block, flags=re.S)]


@pytest.fixture(scope="module")
def warehouse(full_report):
    settings, html = full_report
    t = read_tables(settings.db_url, without=CONTEXT)
    chosen = t["dim_model"].loc[t["dim_model"]["is_chosen"] == 1, "model_id"].iloc[0]
    return t, chosen, plain(html)  # the phrases below use ordinary spaces (the report: no-break ones)


def _scale(fm: pd.DataFrame, metric: str) -> float:
    values = fm.loc[fm["metric"] == metric, "value"].dropna()
    return 100.0 if values.abs().max() <= 1.0 else 1.0


def test_plain_accuracy_sentences_show_the_warehouse_means(warehouse):
    t, chosen, html = warehouse
    fm = t["fact_model_metric"]
    mine = fm[fm["model_id"] == chosen]
    section = html[html.index("La précision en clair"):html.index("Résultats : métriques face aux références")]
    found = {}
    for m in re.finditer(r"<strong>Mode ([^<]+)</strong> : écart moyen de (.*?)</li>", section, flags=re.S):
        found[m.group(1)] = _text(m.group(2))
    modes = [m for m in ("conditional", "national_conditional", "unconditional") if m in set(mine["mode"])]
    assert len(modes) == 3 and set(found) == {MODE_FR[m] for m in modes}
    for mode in modes:
        sub = mine[mine["mode"] == mode]
        wmae = sub.loc[sub["metric"] == "wmae", "value"].mean()
        first = sub.loc[sub["metric"] == "first_bloc_accuracy", "value"].mean() * _scale(fm, "first_bloc_accuracy")
        n = sub.loc[sub["metric"] == "wmae", "election_id"].nunique()
        sentence = found[MODE_FR[mode]]
        assert sentence.startswith(f"{fr_number(wmae, 2)} points par bloc et par commune"), sentence
        assert f"bloc en tête correct dans {fr_number(first / 10)} communes sur dix" in sentence, sentence
        assert f"({n} élections test)" in sentence, sentence


def test_where_a_simple_baseline_wins_is_said(warehouse):
    t, chosen, html = warehouse
    fm = t["fact_model_metric"]
    kinds = t["dim_model"].set_index("model_id")["model_kind"]
    labels = t["dim_election"].set_index("election_id")["label_fr"]
    w = fm[(fm["metric"] == "wmae") & fm["mode"].isin(["conditional", "national_conditional", "unconditional"])]
    expected = []
    for (mode, election), sub in w.groupby(["mode", "election_id"]):
        base = sub[sub["model_id"].map(kinds) == "baseline"]["value"].min()
        mine = sub.loc[sub["model_id"] == chosen, "value"].iloc[0]
        if base < mine:
            expected.append(f"Mode {MODE_FR[mode]}, {labels[election]} :")
    assert expected, "the synthetic warehouse has a baseline that wins somewhere"
    section = _text(html[html.index("Là où une référence simple fait mieux"):
                         html.index("Résultats : métriques face aux références")])
    assert sorted(expected) == sorted(re.findall(r"Mode [^,]+, [^:]+ :", section))


def test_per_bloc_coverage_and_interval_score_are_the_warehouse_means(warehouse):
    t, chosen, html = warehouse
    fm = t["fact_model_metric"]
    scale = _scale(fm, "coverage_80")
    rows = table_after(html, "Fiabilité des intervalles, bloc par bloc")
    header, body = rows[0], {r[0]: r[1:] for r in rows[1:]}
    modes = [m for m in ("conditional", "national_conditional", "unconditional")
             if f"Couverture, mode {MODE_FR[m]} (%)" in header]
    assert len(modes) == 3
    blocs = t["dim_bloc"].set_index("bloc_code")["label_fr"]
    for code, label in blocs.items():
        for i, mode in enumerate(modes):
            sel = fm[(fm["model_id"] == chosen) & (fm["mode"] == mode) & (fm["metric"] == f"coverage_80__{code}")]
            score = fm[(fm["model_id"] == chosen) & (fm["mode"] == mode)
                       & (fm["metric"] == f"interval_score_80__{code}")]["value"].mean()
            v = sel["value"] * scale
            assert body[label][2 * i] == f"{fr_number(v.mean())} ({fr_number(v.min())} – {fr_number(v.max())})"
            assert body[label][2 * i + 1] == fr_number(score, 1)


def test_targets_table_agrees_with_the_backtest(warehouse):
    t, chosen, html = warehouse
    fm = t["fact_model_metric"].copy()
    cov = fm["metric"].str.startswith("coverage_80")
    fm.loc[cov, "value"] *= _scale(fm, "coverage_80")  # target_summary reads percentages
    expected = target_summary(fm, chosen)["reached"].tolist()
    rows = table_after(html, "Objectifs de précision fixés")[1:]
    assert [r[-1] for r in rows] == ["atteint" if r else "non atteint" for r in expected]
    cond = fm[(fm["model_id"] == chosen) & (fm["mode"] == "conditional") & (fm["metric"] == "wmae")]["value"].mean()
    assert rows[0][1] == f"{fr_number(cond, 2)} {'point' if round(cond, 2) < 2 else 'points'}"  # 1,81 point


def test_all_france_results_show_communes_and_departements(warehouse):
    t, _, html = warehouse
    fm = t["fact_model_metric"]
    rows = table_after(html, "Sur toutes les communes de France")
    fr = fm[fm["mode"].str.startswith("france_")]
    n = fr.loc[fr["metric"] == "n_communes", "value"].iloc[0]
    d = fr.loc[fr["metric"] == "n_departements", "value"].iloc[0]
    assert len(rows) - 1 == fr[["election_id", "mode"]].drop_duplicates().shape[0]
    assert all(r[2] == plain(fr_number(n)) and r[3] == plain(fr_number(d)) for r in rows[1:])


def test_horizon_error_growth_is_the_stored_table(warehouse):
    t, _, html = warehouse
    he = t["fact_horizon_error"].sort_values("mean_lead_years")
    rows = table_after(html, "Plus l'échéance est lointaine")[1:]
    assert [r[5] for r in rows] == [fr_number(v, 1) for v in he["bloc_mae_points"]]
    text = _text(html[html.index("Plus l'échéance est lointaine"):])
    assert f"{fr_number(he['bloc_mae_points'].iloc[0], 1)} points à moins d'un an" in text
    assert f"{fr_number(he['bloc_mae_points'].iloc[-1], 1)} points à 3 ans et plus" in text


def test_national_scenario_is_shown_and_the_example_labelled(warehouse):
    t, _, html = warehouse
    scen = _text(html[html.index('<section id="scenarios"'):html.index('<section id="visualisations"')])
    assert "Hypothèse intention de vote nationale (exemple, chiffres inventés) — résultat départemental" in scen
    assert "Exemple illustratif" in scen and "Aucune intention de vote nationale" not in scen
    # Invented numbers never make the synthesis.
    synthese = _text(html[html.index('<section id="synthese"'):html.index('<section id="perimetre"')])
    assert "nationale :" not in synthese and "inventés" not in synthese


def test_without_national_intention_the_report_says_so(full_report):
    settings, _ = full_report
    t, counts = report_tables(settings.db_url)
    keep = set(t["dim_scenario"].loc[t["dim_scenario"]["swing"] != "national", "scenario_id"])
    for name in ("dim_scenario", "fact_forecast", "fact_forecast_departement"):
        t[name] = t[name][t[name]["scenario_id"].isin(keep)]
    html, _ = render_report(t, settings, france={}, diagrams={}, row_counts=counts)
    assert "Aucune intention de vote nationale n'a été fournie" in _text(html)


def test_national_scenario_commune_forecasts_are_the_stored_values(warehouse):
    t, _, html = warehouse
    sid = t["dim_scenario"].loc[t["dim_scenario"]["swing"] == "national", "scenario_id"].iloc[0]
    rows = table_after(html, "Prévisions par commune du scénario")[1:]
    assert rows
    names = t["dim_commune"].set_index("commune_name")["commune_code"]
    blocs = t["dim_bloc"].set_index("label_fr")["bloc_code"]
    ff = t["fact_forecast"].set_index(["scenario_id", "commune_code", "target"])
    for commune, _, bloc, share, proba in rows:
        code, target = names[commune], blocs[bloc]
        r = ff.loc[(sid, code, target)]
        assert share == f"{fr_number(r['predicted'], 1)} ({fr_number(r['interval_low'], 1)} – "\
                        f"{fr_number(r['interval_high'], 1)})"
        assert proba == fr_number(100 * r["probability_first"])
        others = t["fact_forecast"].query("scenario_id == @sid and commune_code == @code and target != 'turnout'")
        assert r["probability_first"] == others["probability_first"].max()  # the most likely bloc is shown
