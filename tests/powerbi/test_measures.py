"""Measures at every grain: each SQL equivalent, run on the warehouse for a commune, an EPCI,
a territory and the département, equals an independent pandas computation from the
warehouse tables; and each SQL equivalent aggregates the same warehouse columns as its DAX.

Desktop cannot run here, so the DAX itself is not evaluated: measures.toml keeps, beside
each aggregating measure, the SQL that states the same rule (``sql``). The tests tie the
two together by their inputs (same value and weight columns) and check the SQL against
a recomputation written separately below, plus figures the warehouse stores on its own
(the backtest's wmae, the observed results).
"""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pandas as pd
import pytest

from electio.powerbi.definition import load_definition
from electio.powerbi.model import build_model
from electio.powerbi.validate import dax_references
from electio.warehouse.load import sqlite_path

TOL = 1e-9
CHECKED = ("Part des voix", "Participation (%)", "Évolution depuis l'élection précédente (pts)",
           "Valeur de l'indicateur", "Valeur de la métrique", "Part prévue en backtest", "Part observée en backtest",
           "Erreur absolue moyenne (pts)", "Votants prévus", "Part prévue", "Participation prévue",
           "Probabilité d'arriver en tête")


@pytest.fixture(scope="module")
def db(warehouse):
    conn = sqlite3.connect(sqlite_path(warehouse.db_url))
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def tables(db) -> dict[str, pd.DataFrame]:
    names = ("dim_commune", "dim_election", "dim_indicator", "dim_model", "fact_turnout", "fact_election_result",
             "fact_indicator", "fact_backtest", "fact_model_metric", "fact_forecast", "dim_scenario",
             "fact_forecast_departement")
    return {n: pd.read_sql(f"SELECT * FROM {n}", db) for n in names}


def slices(communes: pd.DataFrame) -> dict[str, list[str]]:
    """One commune, an EPCI outside the Métropole, a territory, the whole département."""
    epci = communes[communes["territory"] == "rhone"]["epci_code"].value_counts().index[0]
    return {"commune": ["69123"],
            "epci": sorted(communes.loc[communes["epci_code"] == epci, "commune_code"]),
            "territoire": sorted(communes.loc[communes["territory"] == "rhone", "commune_code"]),
            "departement": sorted(communes["commune_code"])}


@pytest.fixture(scope="module")
def slice_map(tables):
    out = slices(tables["dim_commune"])
    assert 1 < len(out["epci"]) < len(out["territoire"]) < len(out["departement"])
    return out


def measures_sql() -> dict[str, str]:
    return {m["name"]: m["sql"] for m in load_definition().measures if "sql" in m}


def run(db, measure: str, communes: list[str], **params):
    db.execute("DROP TABLE IF EXISTS temp.tranche")
    db.execute("CREATE TEMP TABLE tranche (commune_code TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO tranche VALUES (?)", [(c,) for c in communes])
    db.execute("DROP TABLE IF EXISTS temp.tranche_elections")
    db.execute("CREATE TEMP TABLE tranche_elections (election_id TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO tranche_elections VALUES (?)", [(e,) for e in params.pop("elections", [])])
    defaults = {"bloc_code": None}
    sql = measures_sql()[measure]
    names = set(re.findall(r":(\w+)", sql))
    return db.execute(sql, {k: v for k, v in {**defaults, **params}.items() if k in names}).fetchone()[0]


def close(a, b, tol=TOL) -> bool:
    if a is None or b is None or (isinstance(b, float) and np.isnan(b)):
        return (a is None) and (b is None or np.isnan(b))
    return abs(a - b) <= tol * max(1.0, abs(b))


# --- the SQL equivalents and the DAX read the same warehouse columns --------------------

def _value_columns(spec) -> dict[tuple[str, str], tuple[str, str]]:
    """Model (table, column) -> SQL (table, column) of every per-row fact value."""
    return {(t.name, c.name): (t.sql_name, c.source) for t in spec.sql_tables for c in t.columns
            if c.kind == "data" and "(ligne" in c.name}


def _dax_inputs(spec, name: str, seen=None) -> set[tuple[str, str]]:
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    values = _value_columns(spec)
    text = spec.measure(name).expression
    qualified, bare, _, _ = dax_references(text)
    found = {values[q] for q in qualified if q in values}
    for ref in bare:
        if spec.measure(ref) is not None:
            found |= _dax_inputs(spec, ref, seen)
    return found


def _sql_inputs(spec, sql: str) -> set[tuple[str, str]]:
    used_tables = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", sql, re.I))
    found = set()
    for sql_table, col in _value_columns(spec).values():
        if sql_table in used_tables and re.search(rf"\b{col}\b", sql):
            found.add((sql_table, col))
    return found


def test_every_checked_measure_has_a_sql_equivalent():
    assert set(CHECKED) <= set(measures_sql())


@pytest.mark.parametrize("name", sorted(measures_sql()))
def test_sql_equivalent_reads_the_columns_the_dax_reads(name):
    spec = build_model(load_definition(), strict=False)
    sql = measures_sql()[name]
    assert _dax_inputs(spec, name) == _sql_inputs(spec, sql)


def test_input_comparison_catches_an_unweighted_dax():
    # An AVERAGE of row percentages (the old 'Part prévue') no longer reads the weights.
    spec = build_model(load_definition(), strict=False)
    spec.measure("Part prévue").expression = "AVERAGE ( 'Prévisions'[Prévu (ligne, %)] ) / 100"
    assert _dax_inputs(spec, "Part prévue") != _sql_inputs(spec, measures_sql()["Part prévue"])


# --- independent recomputations -----------------------------------------------------------

def latest_election(t) -> str:
    return t["dim_election"].sort_values("election_date")["election_id"].iloc[-1]


def ref_share(t, communes, election, bloc=None):
    r = t["fact_election_result"]
    r = r[(r["election_id"] == election) & r["commune_code"].isin(communes)]
    if bloc:
        r = r[r["bloc_code"] == bloc]
    tu = t["fact_turnout"]
    tu = tu[(tu["election_id"] == election) & tu["commune_code"].isin(communes)]
    return r["votes"].sum() / tu["expressed"].sum()


def ref_previous(t, election) -> str | None:
    e = t["dim_election"].set_index("election_id")
    cur = e.loc[election]
    prev = e[(e["election_type"] == cur["election_type"]) & (e["round_number"] == cur["round_number"])
             & (e["election_date"] < cur["election_date"])]
    return prev.sort_values("election_date").index[-1] if len(prev) else None


def ref_indicator(t, communes, code):
    meta = t["dim_indicator"].set_index("indicator_code").loc[code]
    f = t["fact_indicator"]
    rows = f[(f["indicator_code"] == code) & f["commune_code"].isin(communes)]
    year = rows["indicator_year"].max()
    values = rows[rows["indicator_year"] == year].groupby("commune_code")["value"].sum(min_count=1)
    if meta["aggregation"] == "sum":
        return values.sum(min_count=1)
    if len(communes) == 1:  # one commune: its own value
        return float(values.iloc[0]) if len(values) else None
    wyears = sorted(f.loc[f["indicator_code"] == meta["weight_indicator"], "indicator_year"].unique())
    before = [y for y in wyears if y <= year]
    wyear = before[-1] if before else wyears[0]
    w = f[(f["indicator_code"] == meta["weight_indicator"]) & (f["indicator_year"] == wyear)]
    w = w.groupby("commune_code")["value"].sum(min_count=1).reindex(values.index)
    ok = values.notna() & (w > 0)
    return float((values[ok] * w[ok]).sum() / w[ok].sum())


def ref_backtest(t, communes, model, mode, election, column, bloc=None):
    b = t["fact_backtest"]
    b = b[(b["model_id"] == model) & (b["mode"] == mode) & (b["election_id"] == election)
          & (b["target"] != "turnout") & b["commune_code"].isin(communes)]
    if bloc:
        b = b[b["target"] == bloc]
    tu = t["fact_turnout"]
    w = tu[tu["election_id"] == election].set_index("commune_code")["expressed"]
    if column == "error":
        b = b.assign(err=(b["predicted"] - b["actual"]).abs(), w=b["commune_code"].map(w))
        per_bloc = b.groupby("target").apply(lambda g: (g["err"] * g["w"]).sum() / g["w"].sum(), include_groups=False)
        return float(per_bloc.mean())
    per_commune = b.groupby("commune_code")[column].sum()
    ww = pd.Series(per_commune.index.map(w), index=per_commune.index)
    return float((per_commune * ww).sum() / ww.sum() / 100)


def ref_forecast(t, communes, scenario, what, bloc=None):
    tu = t["fact_turnout"]
    registered = tu[tu["election_id"] == latest_election(t)].set_index("commune_code")["registered"]
    f = t["fact_forecast"]
    f = f[(f["scenario_id"] == scenario) & f["commune_code"].isin(communes)]
    turnout = f[f["target"] == "turnout"].set_index("commune_code")["predicted"]
    voters = registered.reindex(turnout.index) * turnout / 100
    if what == "voters":
        return float(voters.sum())
    if what == "turnout":
        return float(voters.sum() / registered.reindex(turnout.index).sum())
    blocs = f[f["target"] != "turnout"]
    if bloc:
        blocs = blocs[blocs["target"] == bloc]
    if what == "probability":
        return float(blocs["probability_first"].sum()) if len(communes) == 1 else None
    if set(communes) == set(t["dim_commune"]["commune_code"]):
        # The whole département: the stored département median (one number per fact, as in the report).
        d = t["fact_forecast_departement"]
        d = d[(d["scenario_id"] == scenario) & (d["target"] != "turnout")]
        return float(d.loc[d["target"] == bloc, "predicted"].sum() if bloc else d["predicted"].sum()) / 100
    share = blocs.groupby("commune_code")["predicted"].sum()
    w = voters.reindex(share.index)
    return float((share * w).sum() / w.sum() / 100)


# --- the comparisons, slice by slice --------------------------------------------------------

SLICES = ("commune", "epci", "territoire", "departement")


@pytest.mark.parametrize("grain", SLICES)
def test_results_measures(db, tables, slice_map, grain):
    communes = slice_map[grain]
    election = latest_election(tables)
    previous = ref_previous(tables, election)
    assert previous is not None
    for bloc in (None, "gauche", "extreme_droite"):
        share = run(db, "Part des voix", communes, election_id=election, bloc_code=bloc)
        assert close(share, ref_share(tables, communes, election, bloc))
        change = run(db, "Évolution depuis l'élection précédente (pts)", communes, election_id=election, bloc_code=bloc)
        expected = (ref_share(tables, communes, election, bloc) - ref_share(tables, communes, previous, bloc)) * 100
        assert close(change, expected)
    tu = tables["fact_turnout"]
    tu = tu[(tu["election_id"] == election) & tu["commune_code"].isin(communes)]
    assert close(run(db, "Participation (%)", communes, election_id=election), tu["voters"].sum() / tu["registered"].sum())


@pytest.mark.parametrize("grain", SLICES)
@pytest.mark.parametrize("code", ["population_municipale", "demandeurs_emploi_abc", "niveau_vie_median",
                                  "part_menages_imposes", "taux_chomage_15_64"])
def test_indicator_value(db, tables, slice_map, grain, code):
    communes = slice_map[grain]
    got = run(db, "Valeur de l'indicateur", communes, indicator_code=code)
    assert got is not None
    assert close(got, ref_indicator(tables, communes, code), 1e-9)


def test_indicator_value_is_not_a_simple_mean(db, tables, slice_map):
    # The old measure averaged communes: for counts and rates both differ from the right total.
    communes = slice_map["departement"]
    for code in ("population_municipale", "niveau_vie_median"):
        f = tables["fact_indicator"]
        rows = f[(f["indicator_code"] == code)]
        simple = rows[rows["indicator_year"] == rows["indicator_year"].max()]["value"].mean()
        assert not close(run(db, "Valeur de l'indicateur", communes, indicator_code=code), simple, 1e-3)


@pytest.fixture(scope="module")
def backtest_case(tables):
    chosen = tables["dim_model"].loc[tables["dim_model"]["is_chosen"] == 1, "model_id"].iloc[0]
    b = tables["fact_backtest"]
    elections = tables["dim_election"].set_index("election_id")["election_date"]
    tested = sorted(set(b.loc[b["model_id"] == chosen, "election_id"]), key=elections.get)
    return chosen, "unconditional", tested[-1]


@pytest.mark.parametrize("grain", SLICES)
def test_backtest_measures(db, tables, slice_map, backtest_case, grain):
    communes = slice_map[grain]
    model, mode, election = backtest_case
    params = dict(model_id=model, mode=mode, election_id=election)
    for bloc in (None, "gauche", "extreme_droite"):
        for measure, column in (("Part prévue en backtest", "predicted"), ("Part observée en backtest", "actual")):
            got = run(db, measure, communes, bloc_code=bloc, **params)
            assert close(got, ref_backtest(tables, communes, model, mode, election, column, bloc))
        got = run(db, "Erreur absolue moyenne (pts)", communes, bloc_code=bloc, **params)
        assert close(got, ref_backtest(tables, communes, model, mode, election, "error", bloc))


def test_backtest_measures_agree_with_stored_figures(db, tables, slice_map, backtest_case):
    model, mode, election = backtest_case
    communes = slice_map["departement"]
    params = dict(model_id=model, mode=mode, election_id=election)
    # Over every commune, the recomputed weighted error is the wmae the backtest stored...
    m = tables["fact_model_metric"]
    stored = m[(m["model_id"] == model) & (m["mode"] == mode) & (m["election_id"] == election)
               & (m["metric"] == "wmae")]["value"].iloc[0]
    assert abs(run(db, "Erreur absolue moyenne (pts)", communes, **params) - stored) < 1e-4  # stored rounded
    # ...and the weighted observed share is the real result of the bloc.
    for bloc in ("gauche", "centre"):
        observed = run(db, "Part observée en backtest", communes, bloc_code=bloc, **params)
        assert abs(observed - ref_share(tables, communes, election, bloc)) < 1e-4


@pytest.mark.parametrize("grain", SLICES)
def test_metric_value(db, tables, slice_map, backtest_case, grain):
    model, mode, _ = backtest_case
    m = tables["fact_model_metric"]
    elections = sorted(set(m["election_id"]))[:3]
    got = run(db, "Valeur de la métrique", slice_map[grain], model_id=model, mode=mode, metric="wmae",
              elections=elections)
    sel = m[(m["model_id"] == model) & (m["mode"] == mode) & (m["metric"] == "wmae") & m["election_id"].isin(elections)]
    assert close(got, sel["value"].mean())


@pytest.fixture(scope="module")
def scenario(tables):
    s = tables["dim_scenario"]
    return s[(s["swing"] == "status_quo")].sort_values("horizon_years")["scenario_id"].iloc[0]


@pytest.mark.parametrize("grain", SLICES)
def test_forecast_measures(db, tables, slice_map, scenario, grain):
    communes = slice_map[grain]
    assert close(run(db, "Votants prévus", communes, scenario_id=scenario),
                 ref_forecast(tables, communes, scenario, "voters"))
    assert close(run(db, "Participation prévue", communes, scenario_id=scenario),
                 ref_forecast(tables, communes, scenario, "turnout"))
    for bloc in (None, "gauche", "extreme_droite"):
        assert close(run(db, "Part prévue", communes, scenario_id=scenario, bloc_code=bloc),
                     ref_forecast(tables, communes, scenario, "share", bloc))
        got = run(db, "Probabilité d'arriver en tête", communes, scenario_id=scenario, bloc_code=bloc)
        assert close(got, ref_forecast(tables, communes, scenario, "probability", bloc))


def test_departement_share_is_the_stored_departement_value(db, tables, slice_map, scenario):
    """At the whole département, 'Part prévue' is fact_forecast_departement's value (what the report prints),
    not the voter-weighted mean of commune medians, which differs by a few hundredths."""
    d = tables["fact_forecast_departement"]
    for bloc in ("gauche", "extreme_droite"):
        stored = d[(d["scenario_id"] == scenario) & (d["target"] == bloc)]["predicted"].iloc[0] / 100
        got = run(db, "Part prévue", slice_map["departement"], scenario_id=scenario, bloc_code=bloc)
        assert close(got, stored), (bloc, got, stored)
        # The département card prints one decimal of a percentage: the same text as the report's.
        assert f"{100 * got:.1f}" == f"{100 * stored:.1f}"
    # The DAX takes the same branch: it reads the département measure when every commune is in context.
    dax = load_definition()
    expression = next(m["expression"] for m in dax.measures if m["name"] == "Part prévue")
    assert "[Part prévue (département)]" in expression and "ALL ( 'Communes'[Code commune] )" in expression


def test_probabilities_are_fractions(tables):
    p = tables["fact_forecast"]["probability_first"].dropna()
    assert len(p) and p.between(0, 1).all()
    # Per commune the blocs' probabilities of coming first add up to one.
    f = tables["fact_forecast"]
    sums = f[f["target"] != "turnout"].groupby(["scenario_id", "commune_code"])["probability_first"].sum()
    assert np.allclose(sums, 1.0, atol=1e-6)


def test_no_dax_measure_guesses_the_probability_scale():
    # Probabilities are fractions in the warehouse (CONTRACTS.md): no rescaling at query time.
    for m in load_definition().measures:
        if "Probabilité" in m["name"]:
            assert "_echelle" not in m["expression"] and "/ 100" not in m["expression"], m["name"]
