"""Weighted correlations, vintages without look-ahead, scale-free indicators, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from electio.eda.correlation import (CORRELATION_COLUMNS, LOG10, LOG10_DENSITY, PER_1000_POPULATION,
                                     IDENTITY, MIN_COMMUNES, bootstrap_pearson_ci,
                                     compute_correlations, effective_n, election_indicators, election_targets,
                                     indicator_transforms, partial_stats, population_indicator, select_vintages,
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


@pytest.mark.parametrize("case", ["near_mean", "far_from_0", "mostly_zero"])
def test_bootstrap_is_the_percentile_of_the_resampled_weighted_pearson(case):
    """The counts-and-matrix-product bootstrap equals the plain one: r of each resample of communes
    (the same draws), its 2.5 % and 97.5 % quantiles; a constant resample is left out, also when
    its value is 0 and the mean is not (an indicator that is mostly zero)."""
    rng = np.random.default_rng(5)
    x = (1e3 if case == "far_from_0" else 1.0) + rng.normal(size=40)  # centring keeps variances exact
    y = 0.3 * x + rng.normal(size=40)
    x[:38] = x[0]  # few distinct values: some resamples are constant in x
    if case == "mostly_zero":
        x[:38], x[38:] = 0.0, [30.0, 45.0]
    w = rng.uniform(1, 1000, size=40)
    idx = np.random.default_rng(7).integers(0, 40, size=(400, 40))
    r = np.array([weighted_pearson(x[i], y[i], w[i]) for i in idx])
    assert np.isnan(r).any()
    expected = np.quantile(r[np.isfinite(r)], [0.025, 0.975])
    np.testing.assert_allclose(bootstrap_pearson_ci(x, y, w, n_boot=400, rng=7), expected, rtol=0, atol=1e-9)


# ---------------------------------------------------------------- inputs: vintages, transformations

def test_vintage_is_the_nearest_earlier_reference_period_whatever_its_publication(tables):
    vintages = select_vintages(tables["fact_indicator"], tables["dim_election"])
    got = {(r.election_id, r.indicator_code): (r.indicator_year, r.available_before) for r in vintages.itertuples()}
    # 2020 (reference 31/12/2020) is published on 2022-04-10, the very day of pres_2022_t1: a
    # description still uses it, flagged as not available before the election.
    assert got[("pres_2022_t1", "revenu_median")] == (2020, 0)
    assert got[("pres_2022_t2", "revenu_median")] == (2020, 1)
    early = tables["dim_election"].assign(election_id="mid2020", election_date=pd.Timestamp("2020-06-01"))
    years = select_vintages(tables["fact_indicator"], early).set_index("indicator_code")["indicator_year"]
    assert (years == 2019).all()
    before = tables["dim_election"].assign(election_id="old", election_date=pd.Timestamp("2019-12-31"))
    assert select_vintages(tables["fact_indicator"], before).empty  # reference period not over yet


def test_reference_date_column_wins_over_the_year(tables):
    fact = tables["fact_indicator"].assign(
        reference_date=lambda f: pd.to_datetime(f["indicator_year"].astype(str) + "-01-01"),
        available_on=pd.Timestamp("2020-01-15"))
    e = tables["dim_election"].assign(election_id="jan2020", election_date=pd.Timestamp("2020-02-01"))
    v = select_vintages(fact, e)
    assert set(v["indicator_year"]) == {2020} and set(v["available_before"]) == {1}


def test_correlations_use_the_selected_vintage(corr):
    years = corr.groupby("election_id")["indicator_year"].unique().to_dict()
    assert list(years["pres_2022_t1"]) == [2020] and list(years["leg_2022_t1"]) == [2020]
    flags = corr.groupby("election_id")["available_before"].unique().to_dict()
    assert list(flags["pres_2022_t1"]) == [0] and list(flags["leg_2022_t1"]) == [1]


def test_transformations_are_the_declared_rule(tables):
    dim = tables["dim_indicator"]
    assert indicator_transforms(dim) == {
        "etablissements": "ratio:1000:population", "pop_15_64": "ratio:1000:population", "population": LOG10,
        "revenu_median": IDENTITY, "taux_pauvrete": IDENTITY}  # the département-level one is left out
    # Without declared columns (older warehouse): counts per 1,000 of population_municipale.
    legacy = dim.drop(columns=["transform", "denominator", "scale", "redundant_with"]).replace(
        {"indicator_code": {"population": "population_municipale"}})
    t = indicator_transforms(legacy)
    assert t["population_municipale"] == LOG10 and t["etablissements"] == PER_1000_POPULATION
    assert population_indicator(legacy) == "population_municipale" and population_indicator(dim) is None
    area = pd.concat([legacy, legacy.head(1).assign(indicator_code="superficie", family="emploi", unit="km²")])
    assert indicator_transforms(area)["superficie"] == LOG10_DENSITY
    # A ratio whose denominator is not in the warehouse cannot be made comparable: not analysed.
    assert "etablissements" not in indicator_transforms(dim[dim["indicator_code"] != "population"])


def test_per_capita_values_use_the_same_reference_year(tables):
    values, transforms, pop_code = election_indicators(tables)
    v = values.set_index(["election_id", "indicator_code", "commune_code"])["value"]
    f = tables["fact_indicator"].set_index(["indicator_code", "indicator_year", "commune_code"])["value"]
    c = "69005"
    assert v[("pres_2022_t1", "etablissements", c)] == pytest.approx(
        1000 * f[("etablissements", 2020, c)] / f[("population", 2020, c)])
    assert v[("pres_2022_t1", "population", c)] == pytest.approx(np.log10(f[("population", 2020, c)]))
    assert v[("pres_2022_t1", "revenu_median", c)] == pytest.approx(f[("revenu_median", 2020, c)])
    # Only 2019 establishments: divided by the 2019 population although 2020 is described.
    only19 = dict(tables, fact_indicator=tables["fact_indicator"].query(
        "not (indicator_code == 'etablissements' and indicator_year == 2020)"))
    got = election_indicators(only19)[0].set_index(["election_id", "indicator_code", "commune_code"])["value"]
    assert got[("pres_2022_t1", "etablissements", c)] == pytest.approx(
        1000 * f[("etablissements", 2019, c)] / f[("population", 2019, c)])


def test_partial_correlation_controls_size():
    rng = np.random.default_rng(5)
    z = rng.normal(size=400)
    x = z + 0.3 * rng.normal(size=400)
    y = z + 0.3 * rng.normal(size=400)  # x and y related only through size
    w = np.ones(400)
    assert weighted_pearson(x, y, w) > 0.8
    p = partial_stats(x, y, z, w, n_boot=50, rng=1)
    assert abs(p["partial_pearson"]) < 0.15
    y2 = y + x  # a real relation beyond size
    assert partial_stats(x, y2, z, w, n_boot=0)["partial_pearson"] > 0.5
    assert np.isnan(partial_stats(z, y, z, w, n_boot=0)["partial_pearson"])  # x is size itself


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
