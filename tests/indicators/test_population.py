"""Population parsers: the populations légales zip and the 2013-2023 series."""

from __future__ import annotations

import importlib
import io
import math
import zipfile

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators import load_indicator_specs, population
from tests.conftest import FIXTURES

DIR = FIXTURES / "indicators"


def _value(staged, code, indicator, year):
    rows = staged.values[(staged.values["source_code"] == code) & (staged.values["indicator_code"] == indicator)
                         & (staged.values["year"] == year)]
    assert len(rows) == 1
    return rows.iloc[0]


def _zip_with(tmp_path, text: str, member="donnees_communes.csv"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(member, text)
    path = tmp_path / "ensemble.zip"
    path.write_bytes(buf.getvalue())
    return path


def test_populations_legales_read_inside_the_zip_lyon_by_arrondissements():
    staged = population.parse_populations_legales(DIR / "ensemble.zip", departement="69", year=2023)
    assert staged.rows_read == 4
    assert sorted(staged.values["source_code"].unique()) == ["69001", "69381", "69382"]  # no 69123 in this file
    assert _value(staged, "69381", "population_municipale", 2023)["value"] == 28717
    assert _value(staged, "69381", "population_comptee_a_part", 2023)["value"] == 856
    assert _value(staged, "69001", "population_totale", 2023)["value"] == 409
    assert not staged.values["is_suppressed"].any() and not staged.values["is_imputed"].any()


def test_populations_legales_bad_value_names_the_zip_member(tmp_path):
    text = (zipfile.ZipFile(DIR / "ensemble.zip").read("donnees_communes.csv").decode("utf-8")
            .replace("Lyon 2e Arrondissement;29981;", "Lyon 2e Arrondissement;29 981;"))
    bad = _zip_with(tmp_path, text)
    with pytest.raises(InputFormatError, match=r"ensemble.zip!donnees_communes.csv, line 5, column 'PMUN'"):
        population.parse_populations_legales(bad, departement="69", year=2023)


def test_populations_legales_missing_member_or_not_a_zip(tmp_path):
    with pytest.raises(InputFormatError, match=r"ensemble.zip.*no 'donnees_communes.csv'"):
        population.parse_populations_legales(_zip_with(tmp_path, "x", member="autre.csv"), departement="69",
                                             year=2023)
    not_zip = tmp_path / "plain.zip"
    not_zip.write_text("COM;PMUN\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="not a readable zip"):
        population.parse_populations_legales(not_zip, departement="69", year=2023)


def test_populations_legales_missing_column_names_the_member(tmp_path):
    bad = _zip_with(tmp_path, "COM;PMUN;PTOT\r\n69001;400;409\r\n")
    with pytest.raises(InputFormatError, match=r"ensemble.zip!donnees_communes.csv, line 1, column 'PCAP'"):
        population.parse_populations_legales(bad, departement="69", year=2023)


def test_series_one_row_per_code_and_year_empty_is_missing_not_secret():
    staged = population.parse_population_series(DIR / "population_municipale_communes_france.csv",
                                                departement="69")
    assert staged.rows_read == 5
    assert sorted(staged.values["source_code"].unique()) == ["69149", "69152", "69159", "69381"]
    assert sorted(staged.values["year"].unique()) == list(range(2013, 2024))
    assert len(staged.values) == 4 * 11
    assert _value(staged, "69149", "population_municipale", 2013)["value"] == 26072
    assert _value(staged, "69149", "population_municipale", 2022)["value"] == 37928  # its own vintage's geography
    gone = _value(staged, "69152", "population_municipale", 2022)
    assert math.isnan(gone["value"]) and not gone["is_suppressed"]
    assert math.isnan(_value(staged, "69159", "population_municipale", 2023)["value"])


def test_series_only_years():
    staged = population.parse_population_series(DIR / "population_municipale_communes_france.csv",
                                                departement="69", only_years=[2016])
    assert set(staged.values["year"]) == {2016} and len(staged.values) == 4
    with pytest.raises(InputFormatError, match=r"column 'p24_pop'"):
        population.parse_population_series(DIR / "population_municipale_communes_france.csv",
                                           departement="69", only_years=[2024])


def test_series_bad_value_and_unknown_column(tmp_path):
    text = (DIR / "population_municipale_communes_france.csv").read_bytes().decode("utf-8")
    bad = tmp_path / "series.csv"
    bad.write_bytes(text.replace("26512;26594", "26512;s").encode("utf-8"))
    with pytest.raises(InputFormatError, match=r"series.csv, line 4, column 'p17_pop'"):
        population.parse_population_series(bad, departement="69")
    bad.write_bytes(text.replace(";p23_pop", ";p23_pop_x").encode("utf-8"))
    with pytest.raises(InputFormatError, match=r"line 1, column 'p23_pop_x'"):
        population.parse_population_series(bad, departement="69")


def test_population_toml_one_vintage_per_millesime():
    specs, vintages = load_indicator_specs()
    mine = [v for v in vintages if v.family == "population"]
    module = importlib.import_module("electio.sources.indicators.population")
    for v in mine:
        assert callable(getattr(module, v.parser)) and v.lyon == "arrondissements"
        if v.parser == "parse_population_series":
            assert list(v.options["only_years"]) == list(v.years)
            assert v.published_on.year == v.years[0] + 2 + (v.published_on.month == 1)
    series_years = sorted(y for v in mine if v.parser == "parse_population_series" for y in v.years)
    assert series_years == list(range(2013, 2024))
    assert {s.code for s in specs if s.family == "population"} == {
        "population_municipale", "population_comptee_a_part", "population_totale", "superficie"}


# ----------------------------------------------------------------- the real mirror files

def test_real_population_files(mirror):
    legales = population.parse_populations_legales(mirror / "insee_populations_legales_2023" / "ensemble.zip",
                                                   departement="69", year=2023)
    codes = set(legales.values["source_code"])
    assert len(codes) == 274 and "69123" not in codes and {f"6938{i}" for i in range(1, 10)} <= codes
    assert _value(legales, "69381", "population_municipale", 2023)["value"] == 28717

    path = mirror / "insee_population_communes_2013_2023" / "population_municipale_communes_france.csv"
    series = population.parse_population_series(path, departement="69", only_years=[2022, 2023])
    assert series.values["source_code"].nunique() == 275 and "69123" not in set(series.values["source_code"])
    # p23_pop is the populations légales 2023 of the zip
    pmun = legales.values[legales.values["indicator_code"] == "population_municipale"].set_index("source_code")
    p23 = series.values[series.values["year"] == 2023].set_index("source_code")["value"].dropna()
    assert (p23 == pmun.loc[p23.index, "value"]).all() and len(p23) == 273
    assert _value(series, "69149", "population_municipale", 2022)["value"] == 37928
    assert math.isnan(_value(series, "69152", "population_municipale", 2022)["value"])
