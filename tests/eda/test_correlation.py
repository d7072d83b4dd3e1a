"""Weighted correlations, vintages without look-ahead, scale-free indicators, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from electio.eda.correlation import (CORRELATION_COLUMNS, LOG10, LOG10_DENSITY, PER_1000_POPULATION,
                                     PER_1000_REGISTERED, IDENTITY, MIN_COMMUNES, bootstrap_pearson_ci,
                                     compute_correlations, effective_n, election_indicators, election_targets,
                                     indicator_transforms, population_indicator, select_vintages,
                                     weighted_p_value, weighted_pearson, weighted_spearman)
from electio.warehouse.schema import table_columns
from tests.eda.synthetic import synthetic_tables


@pytest.fixture(scope="module")
def tables():
    return synthetic_tables()


@pytest.fixture(scope="module")
def corr(tables):
    return compute_correlations(tables, n_boot=200, seed=7)


# ---------------------------------------------------------------- the statistics themselves

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equal_weights_match_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=60)
    y = 0.5 * x + rng.normal(size=60)
    y[:5] = y[5]  # ties, for Spearman's average ranks
    w = np.full(60, 3.0)  # any constant weight is "equal weights"
    assert weighted_pearson(x, y, w) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert weighted_spearman(x, y, w) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    r = weighted_pearson(x, y, w)
    assert weighted_p_value(r, w) == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-9)
    assert effective_n(w) == pytest.approx(60)


def test_weighted_case_computed_by_hand():
    # Weights 1, 1, 2 are the same as repeating the third point:
    x, y, w = [0.0, 1.0, 2.0], [0.0, 2.0, 1.0], [1.0, 1.0, 2.0]
    # mx = (0 + 1 + 4) / 4 = 1.25, my = (0 + 2 + 2) / 4 = 1
    # cov = [1(-1.25)(-1) + 1(-0.25)(1) + 2(0.75)(0)] / 4 = 1 / 4
    # vx = [1.5625 + 0.0625 + 2 * 0.5625] / 4 = 2.75 / 4, vy = [1 + 1 + 0] / 4 = 2 / 4
    expected = 1 / np.sqrt(2.75 * 2)
    assert weighted_pearson(x, y, w) == pytest.approx(expected, abs=1e-12)
    assert weighted_pearson(x, y, w) == pytest.approx(stats.pearsonr([0, 1, 2, 2], [0, 2, 1, 1]).statistic)
    # Ranks x: 1, 2, 3; y: 1, 3, 2 -> Pearson of the ranks with the same weights.
    assert weighted_spearman(x, y, w) == pytest.approx(weighted_pearson([1, 2, 3], [1, 3, 2], w))
    assert effective_n(w) == pytest.approx(16 / 6)


def test_weights_matter_and_constant_input_gives_nan():
    x, y = np.arange(5.0), np.array([0.0, 1.0, 2.0, 3.0, -10.0])
    assert weighted_pearson(x, y, [1, 1, 1, 1, 1e-9]) == pytest.approx(1.0, abs=1e-6)
    assert weighted_pearson(x, y, [1, 1, 1, 1, 100]) < 0
    assert np.isnan(weighted_pearson(x, np.full(5, 4.2), None))
    with pytest.raises(ValueError):
        weighted_pearson(x, y, [1, 1, 1, 1, -1])


def test_bootstrap_is_deterministic_with_a_seed_and_brackets_r():
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    y = x + rng.normal(size=80)
    w = rng.uniform(1, 100, size=80)
    a = bootstrap_pearson_ci(x, y, w, n_boot=300, rng=11)
    b = bootstrap_pearson_ci(x, y, w, n_boot=300, rng=11)
    c = bootstrap_pearson_ci(x, y, w, n_boot=300, rng=12)
    assert a == b and a != c
    assert a[0] < weighted_pearson(x, y, w) < a[1]


# ---------------------------------------------------------------- inputs: vintages, transformations

def test_vintage_published_on_or_after_the_election_is_never_used(tables):
    vintages = select_vintages(tables["fact_indicator"], tables["dim_election"])
    year = {(r.election_id, r.indicator_code): r.indicator_year for r in vintages.itertuples()}
    # 2020 is published on 2022-04-10, the very day of pres_2022_t1: not before it.
    assert year[("pres_2022_t1", "revenu_median")] == 2019
    assert year[("pres_2022_t2", "revenu_median")] == 2020
    assert year[("leg_2022_t1", "revenu_median")] == 2020
    early = tables["dim_election"].assign(election_id="old", election_date=pd.Timestamp("2021-06-01"))
    assert select_vintages(tables["fact_indicator"], early).empty  # published that day: still too late


def test_correlations_use_the_selected_vintage(corr):
    years = corr.groupby("election_id")["indicator_year"].unique().to_dict()
    assert list(years["pres_2022_t1"]) == [2019] and list(years["leg_2022_t1"]) == [2020]


def test_transformations_rule(tables):
    dim, fact = tables["dim_indicator"], tables["fact_indicator"]
    assert population_indicator(dim, fact) == "population"
    assert indicator_transforms(dim, fact) == {
        "etablissements": PER_1000_POPULATION, "pop_15_64": PER_1000_POPULATION, "population": LOG10,
        "revenu_median": IDENTITY, "taux_pauvrete": IDENTITY}  # the département-level one is left out
    no_pop = dim[dim["family"] != "population"]
    assert population_indicator(no_pop) is None
    assert indicator_transforms(no_pop)["etablissements"] == PER_1000_REGISTERED
    area = pd.concat([dim, dim.head(1).assign(indicator_code="superficie", family="emploi", unit="km²")])
    assert indicator_transforms(area)["superficie"] == LOG10_DENSITY


def test_preferred_population_and_largest_median(tables):
    dim = tables["dim_indicator"]
    renamed = dim.replace({"indicator_code": {"population": "population_totale"}})
    fact = tables["fact_indicator"].replace({"indicator_code": {"population": "population_totale"}})
    assert population_indicator(renamed, fact) == "population_totale"  # larger than pop_15_64
    assert population_indicator(renamed) == "population_totale"  # no digit in its code or label
    both = pd.concat([renamed, dim[dim["indicator_code"] == "population"].assign(
        indicator_code="population_municipale")])
    assert population_indicator(both, fact) == "population_municipale"


def test_per_capita_values(tables):
    values, transforms, pop_code = election_indicators(tables)
    v = values.set_index(["election_id", "indicator_code", "commune_code"])["value"]
    f = tables["fact_indicator"].set_index(["indicator_code", "indicator_year", "commune_code"])["value"]
    c = "69005"
    assert v[("pres_2022_t1", "etablissements", c)] == pytest.approx(
        1000 * f[("etablissements", 2019, c)] / f[("population", 2019, c)])
    assert v[("leg_2022_t1", "etablissements", c)] == pytest.approx(
        1000 * f[("etablissements", 2020, c)] / f[("population", 2020, c)])
    assert v[("pres_2022_t1", "population", c)] == pytest.approx(np.log10(f[("population", 2019, c)]))
    assert v[("pres_2022_t1", "revenu_median", c)] == pytest.approx(f[("revenu_median", 2019, c)])
    # Without a population indicator, registered voters at the election are the denominator.
    no_pop = dict(tables, dim_indicator=tables["dim_indicator"].query("family != 'population'"),
                  fact_indicator=tables["fact_indicator"].query("indicator_code not in ['population', 'pop_15_64']"))
    values, transforms, pop_code = election_indicators(no_pop)
    reg = tables["fact_turnout"].set_index(["election_id", "commune_code"])["registered"]
    got = values.set_index(["election_id", "indicator_code", "commune_code"])["value"]
    assert pop_code is None and transforms["etablissements"] == PER_1000_REGISTERED
    assert got[("pres_2022_t1", "etablissements", c)] == pytest.approx(
        1000 * f[("etablissements", 2019, c)] / reg[("pres_2022_t1", c)])


def test_legislative_bloc_without_candidate_has_no_outcome(tables):
    targets = election_targets(tables)
    n = targets.groupby(["election_id", "target"]).size()
    assert n[("leg_2022_t1", "extreme_gauche")] == 30 - 30 // 4
    assert n[("pres_2022_t1", "extreme_gauche")] == 30
    assert ("pres_2022_t2", "gauche") not in n.index  # no votes at all in that election


# ---------------------------------------------------------------- the fact table

def test_fact_correlation_shape_and_rules(tables, corr):
    assert list(corr.columns) == CORRELATION_COLUMNS == table_columns()["fact_correlation"]
    assert not corr.duplicated(["election_id", "indicator_code", "target"]).any()
    assert (corr["n_communes"] >= MIN_COMMUNES).all()
    assert set(corr["indicator_code"]) <= set(tables["dim_indicator"]["indicator_code"])
    assert "crimes_dept" not in set(corr["indicator_code"])  # département level
    assert "pop_15_64" not in set(corr["indicator_code"])  # constant share of the population: skipped
    assert {"turnout", "centre", "extreme_droite"} <= set(corr["target"])
    assert set(corr.loc[corr["election_id"] == "pres_2022_t2", "target"]) == {"centre", "extreme_droite", "turnout"}
    assert (corr["pearson_ci_low"] <= corr["pearson"] + 1e-9).all()
    assert (corr["pearson"] <= corr["pearson_ci_high"] + 1e-9).all()
    assert corr["p_value"].between(0, 1).all()
    # Secret cell: one commune fewer for the poverty rate.
    n = corr.set_index(["election_id", "indicator_code", "target"])["n_communes"]
    assert n[("pres_2022_t1", "taux_pauvrete", "turnout")] == 29
    # The synthetic vote follows income: richer communes vote more for the centre.
    assert corr.set_index(["election_id", "indicator_code", "target"]).loc[
        ("pres_2022_t1", "revenu_median", "centre"), "pearson"] > 0.8


def test_same_input_same_output_and_too_few_communes(tables, corr):
    again = compute_correlations(tables, n_boot=200, seed=7)
    pd.testing.assert_frame_equal(corr, again)
    other = compute_correlations(tables, n_boot=200, seed=8)
    assert not other["pearson_ci_low"].equals(corr["pearson_ci_low"])
    assert other["pearson"].equals(corr["pearson"])
    small = synthetic_tables(n=MIN_COMMUNES - 1)
    assert compute_correlations(small, n_boot=10).empty


def test_no_indicator_gives_an_empty_frame(tables):
    empty = dict(tables, dim_indicator=tables["dim_indicator"].iloc[:0],
                 fact_indicator=tables["fact_indicator"].iloc[:0])
    out = compute_correlations(empty)
    assert out.empty and list(out.columns) == CORRELATION_COLUMNS
