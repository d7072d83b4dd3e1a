"""Indicator metadata: every source has a cited publication calendar; one declared size rule."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from electio.sources.indicators import load_calendar_rules, load_indicator_specs, roles


def test_every_vintage_source_has_a_calendar_rule_with_its_source():
    specs, vintages = load_indicator_specs()
    rules = load_calendar_rules()
    assert {v.source_id for v in vintages} <= set(rules)
    for rule in rules.values():
        assert rule.rule_source_url.startswith("http") and rule.rule_fr
    # The rules quoted in the report, as measured on the calendars found:
    assert rules["defm_communes_69"].available_on(2019) == date(2020, 1, 31)      # Q4 published end January
    assert rules["insee_rp_indicateurs_69"].available_on(2016) == date(2019, 7, 1)  # census N in July N+3
    assert rules["insee_filosofi_2020_com"].available_on(2020) == date(2022, 1, 31)  # Filosofi N in N+2
    assert rules["urssaf_etablissements_69"].available_on(2017) == date(2018, 6, 9)  # end of year + 160 days
    assert rules["ssmsi_delinquance_communes_69"].available_on(2017) == date(2022, 3, 8)  # base created 2022
    assert rules["insee_population_communes_2013_2023"].available_on(2016) == date(2018, 12, 31)


def test_declared_roles_are_consistent():
    specs, _ = load_indicator_specs()
    by_code = {s.code: s for s in specs}
    assert by_code["population_municipale"].transform == "log10"
    assert by_code["logements_vacants"].denominator == "logements" and by_code["logements_vacants"].scale == 100
    assert by_code["non_immigres"].redundant_with == "immigres"
    assert by_code["immigres"].family == "immigration" and by_code["logements"].family == "logement"
    for s in specs:
        if s.level == "commune" and s.aggregation == "sum":
            assert s.transform != "identity", s.code  # a count is never compared raw across communes


def test_transform_values_one_rule():
    dim = pd.DataFrame({"indicator_code": ["population_municipale", "chomeurs", "actifs", "superficie", "taux"],
                        "level": "commune", "aggregation": ["sum", "sum", "sum", "sum", "weighted_mean"],
                        "unit": ["habitants", "personnes", "personnes", "km²", "%"],
                        "transform": ["log10", "ratio", "ratio", "log10_density", "identity"],
                        "denominator": [None, "actifs", "population_municipale", "population_municipale", None],
                        "scale": [None, 100.0, 100.0, None, None], "redundant_with": None})
    role_map = roles.indicator_roles(dim)
    vals = pd.DataFrame({"g": "e", "commune_code": "c", "indicator_code": list(dim["indicator_code"]),
                         "indicator_year": [2022, 2022, 2022, 2022, 2022], "value": [1000.0, 5.0, 50.0, 10.0, 7.0]})
    out = roles.transform_values(vals, role_map, ["g"]).set_index("indicator_code")["value"]
    assert out["population_municipale"] == pytest.approx(3.0)
    assert out["chomeurs"] == pytest.approx(10.0)      # per 100 actifs
    assert out["actifs"] == pytest.approx(5.0)         # per 100 inhabitants
    assert out["superficie"] == pytest.approx(2.0)     # log10(1000 / 10)
    assert out["taux"] == 7.0
    # Same reference year preferred in the pool; else the group's own denominator vintage
    pool = pd.concat([vals, vals.assign(indicator_year=2016, value=[500.0, 1.0, 25.0, 10.0, 1.0])])
    old = vals.assign(indicator_year=[2022, 2016, 2022, 2022, 2022])
    got = roles.transform_values(old, role_map, ["g"], pool=pool[["commune_code", "indicator_code",
                                                                  "indicator_year", "value"]])
    assert got.set_index("indicator_code")["value"]["chomeurs"] == pytest.approx(100 * 5.0 / 25.0)
    assert np.isfinite(got["value"]).all()
