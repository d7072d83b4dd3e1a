"""Indicator projections: which vintage, which value, which uncertainty; never written back."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from electio.forecast.projection import (PROJECTED_SOURCE, perturb_features, project_indicators, projection_scale,
                                         with_projection)


def indicator_tables(noise: float = 0.0, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Three communes; 'revenu' (euros, yearly 2016-2020, published 3 years + 3 months later, +2 %/year),
    'pauvrete' (%, same vintages, +0.5 point/year), 'recense' (census: 2017 and 2022 only) and
    'unique' (a single vintage)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, c in enumerate(["69001", "69002", "69003"]):
        for y in range(2016, 2021):
            pub = date(y + 3, 4, 1)
            rows.append((c, "revenu", y, 20000 * (1 + 0.1 * k) * 1.02 ** (y - 2016) * np.exp(noise * rng.normal()), pub))
            rows.append((c, "pauvrete", y, 10 + 2 * k + 0.5 * (y - 2016) + noise * 10 * rng.normal(), pub))
        rows.append((c, "recense", 2017, 100.0 + k, date(2020, 6, 30)))
        rows.append((c, "recense", 2022, 110.0 + k, date(2025, 6, 30)))
        rows.append((c, "unique", 2021, 5.0, date(2024, 1, 1)))
    fact = pd.DataFrame(rows, columns=["commune_code", "indicator_code", "indicator_year", "value", "published_on"])
    fact = fact.assign(is_suppressed=0, is_imputed=0, is_reaggregated=0, source_file="x.csv")
    dim = pd.DataFrame({"indicator_code": ["revenu", "pauvrete", "recense", "unique"],
                        "unit": ["euros", "%", "personnes", "ratio"]})
    return {"dim_commune": pd.DataFrame({"commune_code": ["69001", "69002", "69003"]}), "fact_indicator": fact,
            "dim_indicator": dim}


CODES = ["pauvrete", "recense", "revenu", "unique"]


def test_projected_vintage_value_and_date():
    tables = indicator_tables()
    before = tables["fact_indicator"].copy()
    proj = project_indicators(tables, "2027-04-11", CODES)
    summary = proj.summary.set_index("indicator_code")
    # revenu 2020 was published 2023-04-01: 2024 is out by 2027-04-01, before the election; 2025 is not.
    assert summary.loc["revenu", "projected_year"] == 2024
    rev = proj.rows[proj.rows["indicator_code"] == "revenu"].set_index("commune_code")
    assert (rev["published_on"] == pd.Timestamp("2027-04-01")).all()
    assert rev.loc["69002", "value"] == pytest.approx(22000 * 1.02 ** 8, rel=1e-3)  # relative trend, log scale
    pauv = proj.rows[proj.rows["indicator_code"] == "pauvrete"].set_index("commune_code")
    assert pauv.loc["69003", "value"] == pytest.approx(14 + 0.5 * 8, abs=1e-6)  # points scale for percentages
    assert (proj.rows["published_on"] < pd.Timestamp("2027-04-11")).all()
    assert (proj.rows["is_imputed"] == 1).all() and (proj.rows["source_file"] == PROJECTED_SOURCE).all()
    # census every 5 years: 2027 not out by then; single vintage: no trend -> nothing projected
    assert "as published" in summary.loc["recense", "method"] and pd.isna(summary.loc["recense", "projected_year"])
    assert "single vintage" in summary.loc["unique", "method"]
    assert set(proj.rows["indicator_code"]) == {"revenu", "pauvrete"}
    pd.testing.assert_frame_equal(tables["fact_indicator"], before)  # input untouched


def test_with_projection_is_a_copy():
    tables = indicator_tables()
    proj = project_indicators(tables, "2027-04-11", CODES)
    copy = with_projection(tables, proj)
    assert len(copy["fact_indicator"]) == len(tables["fact_indicator"]) + len(proj.rows)
    assert not (tables["fact_indicator"]["source_file"] == PROJECTED_SOURCE).any()
    assert copy["dim_commune"] is tables["dim_commune"]


def test_uncertainty_grows_with_the_lead():
    tables = indicator_tables(noise=0.02)
    sd1 = project_indicators(tables, "2027-04-11", CODES).sd["revenu"]
    sd3 = project_indicators(tables, "2029-04-08", CODES).sd["revenu"]
    assert (sd1 > 0).all() and (sd3 > sd1).all()
    np.testing.assert_allclose(sd3 / sd1, 6 / 4)  # sd proportional to the lead (2026 vs 2024 from 2020)
    assert project_indicators(tables, "2027-04-11", CODES).sd["recense"].eq(0).all()


def test_projection_scale():
    assert projection_scale("%") == "points" and projection_scale("‰") == "points"
    assert projection_scale("euros") == "log1p" and projection_scale(None) == "log1p"


def test_perturb_features_only_moves_projected_indicators():
    tables = indicator_tables(noise=0.02)
    proj = project_indicators(tables, "2027-04-11", CODES)
    communes = np.array(["69001", "69002", "69003"])
    columns = ["ind__revenu", "ind__recense", "dev_ref__gauche"]
    X = np.tile(np.array([[20000.0, 100.0, 1.5]]), (3, 1))
    draws = 4
    out = perturb_features(np.tile(X, (draws, 1)), columns, communes, proj, {"revenu": "identity"}, None,
                           np.random.default_rng(0), draws)
    assert out.shape == (12, 3)
    assert np.unique(out[:, 0]).size == 12  # every copy x commune drawn
    np.testing.assert_array_equal(out[:, 1:], np.tile(X, (draws, 1))[:, 1:])
    assert np.all(np.abs(np.log(out[:, 0] / 20000.0)) < 8 * proj.sd["revenu"].max())
