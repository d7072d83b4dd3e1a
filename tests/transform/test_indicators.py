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


def test_two_dates_per_value_from_the_publisher_calendar(code_map):
    from electio.sources.indicators import CalendarRule

    census = CalendarRule("s", "jan1", 42, 0, None, "RP N diffusé en juillet N+3", "http://x")
    h = harmonise_indicators(staged([("69001", "pop", 2019, 100.0, False)]), VINTAGE, SPECS, code_map, census)
    row = h.values.iloc[0]
    assert row["reference_date"] == date(2019, 1, 1)
    assert row["available_on"] == date(2022, 1, 20)  # the file (20/01/2022) came before July 2022
    ssmsi = CalendarRule("s", "year_end", 3, 0, date(2022, 3, 8), "mars N+1", "http://x")
    assert ssmsi.available_on(2017) == date(2022, 3, 8)   # the base did not exist before March 2022
    assert ssmsi.available_on(2023) == date(2024, 3, 31)
    assert CalendarRule("s", "jan1", 36, -1, None, "", "").available_on(2021) == date(2023, 12, 31)
    assert CalendarRule("s", "year_end", 0, 160, None, "", "").available_on(2022) == date(2023, 6, 9)
    no_rule = harmonise_indicators(staged([("69001", "pop", 2019, 100.0, False)]), VINTAGE, SPECS, code_map)
    assert no_rule.values.iloc[0]["available_on"] == VINTAGE.published_on


def test_revisions_between_two_files_are_measured():
    from electio.transform.indicators import measure_revisions

    first = pd.DataFrame({"commune_code": ["a", "b", "c"], "indicator_code": "pop", "indicator_year": 2016,
                          "value": [100.0, 200.0, 300.0], "published_on": date(2019, 1, 1), "source_file": "old.csv"})
    later = first.assign(value=[100.0, 210.0, np.nan], published_on=date(2025, 12, 31), source_file="new.csv")
    rev = measure_revisions(pd.concat([later, first]), ["commune_code", "indicator_code", "indicator_year"], "commune")
    r = rev.iloc[0]
    assert (r["first_file"], r["later_file"], r["n_values"], r["n_changed"]) == ("old.csv", "new.csv", 2, 1)
    assert r["max_abs_rel_diff_pct"] == pytest.approx(5.0) and r["mean_abs_diff"] == pytest.approx(5.0)
    assert measure_revisions(first, ["commune_code", "indicator_code", "indicator_year"], "commune").empty
