"""Census extract parsers (unemployment, employment, immigration, housing)."""

from __future__ import annotations

import importlib

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators import load_indicator_specs, recensement
from tests.conftest import FIXTURES

DIR = FIXTURES / "indicators"


def _value(staged, code, indicator, year):
    rows = staged.values[(staged.values["source_code"] == code) & (staged.values["indicator_code"] == indicator)
                         & (staged.values["year"] == year)]
    assert len(rows) == 1
    return rows.iloc[0]["value"]


def _copy_with(tmp_path, name, old, new):
    text = (DIR / name).read_bytes().decode("utf-8")
    assert old in text
    out = tmp_path / name
    out.write_bytes(text.replace(old, new, 1).encode("utf-8"))
    return out


def test_chomage_long_file_one_row_per_commune_and_year():
    staged = recensement.parse_chomage_rp(DIR / "chomage_communes_dep69.csv", departement="69")
    assert staged.rows_read == 7
    assert len(staged.values) == 6 and set(staged.values["indicator_code"]) == {"taux_chomage_15_64"}
    assert sorted(staged.values["year"].unique()) == [2011, 2016, 2022]
    assert _value(staged, "69123", "taux_chomage_15_64", 2016) == pytest.approx(13.4892674014073)


def test_chomage_duplicate_year_and_bad_year_fail(tmp_path):
    bad = _copy_with(tmp_path, "chomage_communes_dep69.csv", "2016;69123;", "2011;69123;")
    with pytest.raises(InputFormatError, match=r"line 5, column 'code_commune'.*duplicate"):
        recensement.parse_chomage_rp(bad, departement="69")
    bad = _copy_with(tmp_path, "chomage_communes_dep69.csv", "2016;69123;", "16;69123;")
    with pytest.raises(InputFormatError, match=r"line 5, column 'annee'"):
        recensement.parse_chomage_rp(bad, departement="69")


def test_emploi_counts_loaded_author_rate_not_loaded_lyon_both_ways():
    staged = recensement.parse_rp_emploi(DIR / "rhone_emploi.csv", departement="69")
    assert set(staged.values["indicator_code"]) == {"actifs_15_64", "chomeurs_15_64", "actifs_occupes_15_64",
                                                    "inactifs_15_64"}
    assert _value(staged, "69001", "actifs_15_64", 2022) == pytest.approx(220.265899012915)
    assert {"69123", "69381"} <= set(staged.values["source_code"])  # emitted as given; the transform dedups


def test_immigration_year_from_the_header():
    staged = recensement.parse_rp_immigration(DIR / "rhone_immigration_2017.csv", departement="69")
    assert set(staged.values["year"]) == {2017} and len(staged.values) == 6
    assert _value(staged, "69152", "immigres", 2017) == 1350


def test_logement_counts_population_and_area_densities_not_loaded():
    staged = recensement.parse_rp_logement(DIR / "rhone_population.csv", departement="69", area_year=2022)
    codes = set(staged.values["indicator_code"])
    assert codes == {"population_municipale", "logements", "residences_principales", "logements_vacants",
                     "superficie"}
    assert _value(staged, "69001", "population_municipale", 2016) == 358
    assert _value(staged, "69001", "logements_vacants", 2022) == pytest.approx(12.4863534439763)
    area = staged.values[staged.values["indicator_code"] == "superficie"]
    assert set(area["year"]) == {2022} and _value(staged, "69001", "superficie", 2022) == 10.65


def test_unexpected_column_and_bad_value_fail(tmp_path):
    bad = _copy_with(tmp_path, "rhone_emploi.csv", ";inactifs_2022;", ";retraites_2022;")
    with pytest.raises(InputFormatError, match=r"line 1, column 'retraites_2022'"):
        recensement.parse_rp_emploi(bad, departement="69")
    bad = _copy_with(tmp_path, "rhone_population.csv", "69123;520774;515695;", "69123;520774;;")
    with pytest.raises(InputFormatError, match=r"rhone_population.csv, line 3, column 'population_2016'"):
        recensement.parse_rp_logement(bad, departement="69")
    bad = _copy_with(tmp_path, "rhone_immigration_2017.csv", "69123;", "691230;")
    with pytest.raises(InputFormatError, match=r"line 3, column 'code_commune'"):
        recensement.parse_rp_immigration(bad, departement="69")


def test_recensement_toml():
    specs, vintages = load_indicator_specs()
    by_code = {s.code: s for s in specs}
    mine = [v for v in vintages if v.family == "recensement"]
    module = importlib.import_module("electio.sources.indicators.recensement")
    assert {v.file for v in mine} == {"chomage_communes_dep69.csv", "rhone_emploi.csv",
                                      "rhone_immigration_2017.csv", "rhone_immigration_2022.csv",
                                      "rhone_population.csv"}
    for v in mine:
        assert callable(getattr(module, v.parser))
    assert by_code["taux_chomage_15_64"].aggregation == "weighted_mean"
    assert by_code[by_code["taux_chomage_15_64"].weight_indicator].aggregation == "sum"
    assert all(by_code[c].aggregation == "sum" for c in ("actifs_15_64", "immigres", "logements", "superficie"))


# ----------------------------------------------------------------- the real mirror files

def test_real_census_files(mirror):
    folder = mirror / "insee_rp_indicateurs_69"
    chomage = recensement.parse_chomage_rp(mirror / "chomage_rp_communes_69" / "chomage_communes_dep69.csv",
                                           departement="69")
    assert len(chomage.values) == 798 and chomage.values["source_code"].nunique() == 266  # 266 x 3 years
    assert "69381" not in set(chomage.values["source_code"])
    emploi = recensement.parse_rp_emploi(folder / "rhone_emploi.csv", departement="69")
    assert emploi.values["source_code"].nunique() == 275
    lyon = _value(emploi, "69123", "actifs_15_64", 2022)
    arr = emploi.values[(emploi.values["source_code"].str.startswith("6938"))
                        & (emploi.values["indicator_code"] == "actifs_15_64")]["value"].sum()
    assert lyon == pytest.approx(arr)  # 69123 = its arrondissements: listed twice, not to be summed
    assert recensement.parse_rp_immigration(folder / "rhone_immigration_2017.csv",
                                            departement="69").values["source_code"].nunique() == 267
    assert recensement.parse_rp_immigration(folder / "rhone_immigration_2022.csv",
                                            departement="69").values["source_code"].nunique() == 266
    logement = recensement.parse_rp_logement(folder / "rhone_population.csv", departement="69", area_year=2022)
    assert logement.values["source_code"].nunique() == 275
    assert _value(logement, "69019", "population_municipale", 2016) == 12776  # re-aggregated (2025 geography)
