"""Indicator harmonisation: Lyon double listing, merged communes, secrecy, vintages."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from electio.errors import ElectioError
from electio.sources.indicators import IndicatorSpec, StagedIndicators, VintageSpec
from electio.transform.communes import build_code_map
from electio.sources.geography import parse_etalab_communes
from electio.transform.indicators import first_release, harmonise_indicators
from tests.conftest import FIXTURES

SPECS = {
    "pop": IndicatorSpec("pop", "Population", "population", "habitants", "sum", None, "commune", "s", "d"),
    "median": IndicatorSpec("median", "Médiane", "revenus", "euros", "weighted_mean", "pop", "commune", "s", "d"),
}
VINTAGE = VintageSpec("revenus", "s", "file.csv", "parse", (2019,), date(2022, 1, 20), "test", "both")


@pytest.fixture(scope="module")
def code_map():
    return build_code_map(parse_etalab_communes(FIXTURES / "etalab_communes.json"))


def staged(rows) -> StagedIndicators:
    frame = pd.DataFrame(rows, columns=["source_code", "indicator_code", "year", "value", "is_suppressed"])
    frame["is_imputed"] = False
    return StagedIndicators(values=frame, rows_read=len(frame))


def result(h) -> dict:
    return {(r.commune_code, r.indicator_code): r.value for r in h.values.itertuples()}


def test_lyon_listed_twice_keeps_69123(code_map):
    s = staged([("69123", "pop", 2019, 500.0, False), ("69381", "pop", 2019, 30.0, False),
                ("69389", "pop", 2019, 50.0, False)])
    h = harmonise_indicators(s, VINTAGE, SPECS, code_map)
    assert result(h) == {("69123", "pop"): 500.0}
    assert h.excluded == {"Lyon arrondissement also given as 69123": 2}


def test_lyon_by_arrondissements_only_is_summed(code_map):
    s = staged([("69381", "pop", 2019, 30.0, False), ("69389", "pop", 2019, 50.0, False)])
    h = harmonise_indicators(s, VINTAGE, SPECS, code_map)
    assert result(h) == {("69123", "pop"): 80.0}
    assert h.values["is_reaggregated"].tolist() == [1]


def test_merged_commune_sums_counts_and_weights_medians(code_map):
    s = staged([("69019", "pop", 2019, 100.0, False), ("69211", "pop", 2019, 300.0, False),
                ("69019", "median", 2019, 20000.0, False), ("69211", "median", 2019, 24000.0, False)])
    h = harmonise_indicators(s, VINTAGE, SPECS, code_map)
    assert result(h) == {("69019", "pop"): 400.0, ("69019", "median"): pytest.approx(23000.0)}
    assert h.values["is_reaggregated"].eq(1).all()


def test_secret_part_makes_the_commune_missing_not_smaller(code_map):
    s = staged([("69019", "pop", 2019, 100.0, False), ("69211", "pop", 2019, np.nan, True),
                ("69001", "pop", 2019, np.nan, True)])
    h = harmonise_indicators(s, VINTAGE, SPECS, code_map)
    v = h.values.set_index("commune_code")
    assert v["value"].isna().all() and v["is_suppressed"].eq(1).all()


def test_absent_code_of_an_older_geography_is_not_a_value(code_map):
    # Population series: 69152 is empty once merged into 69149.
    s = staged([("69149", "pop", 2022, 37928.0, False), ("69152", "pop", 2022, np.nan, False)])
    h = harmonise_indicators(s, VINTAGE, SPECS, code_map)
    assert result(h) == {("69149", "pop"): 37928.0}
    assert h.values["is_reaggregated"].tolist() == [0]


def test_unknown_code_and_unknown_indicator_fail(code_map):
    with pytest.raises(ElectioError, match=r"s/file.csv: commune code\(s\) \['69998'\]"):
        harmonise_indicators(staged([("69998", "pop", 2019, 1.0, False)]), VINTAGE, SPECS, code_map)
    with pytest.raises(ElectioError, match=r"indicator code\(s\) \['nope'\]"):
        harmonise_indicators(staged([("69001", "nope", 2019, 1.0, False)]), VINTAGE, SPECS, code_map)


def test_vintage_date_is_recorded_and_first_release_wins():
    a = pd.DataFrame({"k": ["x"], "value": [1.0], "published_on": [date(2024, 3, 7)]})
    b = pd.DataFrame({"k": ["x"], "value": [1.2], "published_on": [date(2025, 3, 1)]})
    kept = first_release(pd.concat([b, a]), ["k"])
    assert kept["value"].tolist() == [1.0] and kept["published_on"].tolist() == [date(2024, 3, 7)]
