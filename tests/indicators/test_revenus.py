"""Filosofi parsers on small hand-written files in each real format, then on the mirror."""

from __future__ import annotations

import importlib
import math

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators import VALUE_COLUMNS, load_indicator_specs, revenus
from tests.conftest import FIXTURES

DIR = FIXTURES / "indicators"


def _cell(staged, code, indicator, year):
    rows = staged.values[(staged.values["source_code"] == code) & (staged.values["indicator_code"] == indicator)
                         & (staged.values["year"] == year)]
    assert len(rows) == 1, (code, indicator, year, len(rows))
    return rows.iloc[0]


def _copy_with(tmp_path, name, old, new, encoding="utf-8-sig"):
    text = (DIR / name).read_bytes().decode("utf-8")
    assert old in text
    out = tmp_path / name
    out.write_bytes(text.replace(old, new, 1).encode("utf-8"))
    return out


def test_cc_2012_filters_departement_keeps_lyon_both_ways_and_secret_empty_cells():
    staged = revenus.parse_filosofi_cc(DIR / "base-cc-filosofi-2012.csv", departement="69")
    assert list(staged.values.columns) == VALUE_COLUMNS
    assert staged.rows_read == 7  # every data row of the file, before filtering
    assert sorted(staged.values["source_code"].unique()) == ["69001", "69003", "69123", "69261", "69381"]
    assert set(staged.values["year"]) == {2012}
    assert _cell(staged, "69123", "niveau_vie_median", 2012)["value"] == 21659.6
    assert _cell(staged, "69381", "nb_personnes_menages_fiscaux", 2012)["value"] == 26660.0
    assert _cell(staged, "69003", "rapport_interdecile_d9_d1", 2012)["value"] == 3.7
    # an empty cell is a secret cell: NaN and suppressed, never 0
    secret = _cell(staged, "69001", "taux_pauvrete_60", 2012)
    assert math.isnan(secret["value"]) and bool(secret["is_suppressed"])
    vernay = staged.values[staged.values["source_code"] == "69261"]
    assert vernay["value"].isna().all() and vernay["is_suppressed"].all() and len(vernay) == 8
    published = _cell(staged, "69001", "niveau_vie_median", 2012)
    assert published["value"] == 20896.7 and not published["is_suppressed"] and not published["is_imputed"]
    assert not staged.rejected


def test_cc_2012_other_departement_and_corsica_codes():
    staged = revenus.parse_filosofi_cc(DIR / "base-cc-filosofi-2012.csv", departement="2A")
    assert list(staged.values["source_code"].unique()) == ["2A004"]
    national = revenus.parse_filosofi_cc(DIR / "base-cc-filosofi-2012.csv", departement="*")
    assert national.values["source_code"].nunique() == 7


def test_extract_2016_floats_and_imputed_columns():
    staged = revenus.parse_filosofi_extract(DIR / "filosofi_2016_rhone.csv", departement="69",
                                            imputed=["MED16", "D116", "D916", "RD16"])
    med = _cell(staged, "69001", "niveau_vie_median", 2016)
    assert med["value"] == pytest.approx(21615.714285714286) and bool(med["is_imputed"])
    count = _cell(staged, "69001", "nb_menages_fiscaux", 2016)
    assert count["value"] == 133.0 and not count["is_imputed"]
    assert bool(_cell(staged, "69123", "rapport_interdecile_d9_d1", 2016)["is_imputed"])
    assert not _cell(staged, "69123", "taux_pauvrete_60", 2016)["is_imputed"]
    secret = _cell(staged, "69261", "niveau_vie_median", 2016)
    assert math.isnan(secret["value"]) and secret["is_suppressed"]
    assert {"69123", "69381"} <= set(staged.values["source_code"])


def test_extract_imputed_option_must_name_a_loaded_column():
    with pytest.raises(InputFormatError, match="MED17"):
        revenus.parse_filosofi_extract(DIR / "filosofi_2016_rhone.csv", departement="69", imputed=["MED17"])


def test_cc_2020_s_cells_decimal_commas_and_nd():
    staged = revenus.parse_filosofi_cc_s(DIR / "cc_filosofi_2020_COM.csv", departement="69")
    assert staged.rows_read == 7
    assert _cell(staged, "69123", "part_menages_imposes", 2020)["value"] == 60.0
    assert _cell(staged, "69123", "rapport_interdecile_d9_d1", 2020)["value"] == pytest.approx(4.1)
    assert _cell(staged, "69381", "niveau_vie_d9", 2020)["value"] == 48260.0
    secret = _cell(staged, "69261", "nb_menages_fiscaux", 2020)
    assert math.isnan(secret["value"]) and secret["is_suppressed"]
    assert _cell(staged, "69152", "taux_pauvrete_60", 2020)["value"] == 20.0
    # 'nd' (not available) is missing but not a secret
    nd = _cell(staged, "69999", "niveau_vie_median", 2020)
    assert math.isnan(nd["value"]) and not nd["is_suppressed"]


def test_dec_2021_declared_income_has_its_own_codes():
    staged = revenus.parse_filosofi_dec(DIR / "FILO2021_DEC_COM.csv", departement="69")
    codes = set(staged.values["indicator_code"])
    assert "niveau_vie_median" not in codes and "taux_pauvrete_60" not in codes
    assert {"revenu_declare_median_uc", "revenu_declare_d1_uc", "revenu_declare_d9_uc",
            "revenu_declare_rapport_interdecile", "nb_menages_fiscaux", "nb_unites_consommation"} <= codes
    assert _cell(staged, "69123", "revenu_declare_median_uc", 2021)["value"] == 25860.0
    assert _cell(staged, "69001", "nb_unites_consommation", 2021)["value"] == pytest.approx(229.8)
    assert _cell(staged, "69123", "revenu_declare_rapport_interdecile", 2021)["value"] == pytest.approx(8.1)
    assert _cell(staged, "69123", "part_menages_imposes", 2021)["value"] == 61.0
    secret = _cell(staged, "69001", "revenu_declare_d1_uc", 2021)
    assert math.isnan(secret["value"]) and secret["is_suppressed"]
    so = _cell(staged, "69998", "revenu_declare_rapport_interdecile", 2021)  # 'so' = sans objet (D1 = 0)
    assert math.isnan(so["value"]) and not so["is_suppressed"]
    assert _cell(staged, "69998", "revenu_declare_d1_uc", 2021)["value"] == 0.0
    # the closing ';;;;' row is read, rejected with its line, not taken for a commune
    assert staged.rows_read == 6
    assert [(r.line, r.file_name) for r in staged.rejected] == [(7, "FILO2021_DEC_COM.csv")]


@pytest.mark.parametrize("parser, name, old, new, line, column", [
    (revenus.parse_filosofi_cc, "base-cc-filosofi-2012.csv", "69123;Lyon;221187;451604.5;21659.6",
     "69123;Lyon;221187;451604.5;21659,6", 5, "MED12"),
    (revenus.parse_filosofi_cc, "base-cc-filosofi-2012.csv", "69001;Affoux;119;341.0;20896.7;;",
     "69001;Affoux;119;341.0;20896.7;s;", 3, "PIMP12"),  # 's' is not this format's secret marker
    (revenus.parse_filosofi_cc_s, "cc_filosofi_2020_COM.csv", "69152;4403;10467;20660;",
     "69152;4403;10467;;", 5, "MED20"),  # an empty cell is not documented in the 's' format
    (revenus.parse_filosofi_extract, "filosofi_2016_rhone.csv", "69001,Affoux,133.0,",
     "69001,Affoux,-133.0,", 2, "NBMENFISC16"),
    (revenus.parse_filosofi_dec, "FILO2021_DEC_COM.csv", "69381;Lyon 1er Arrondissement;13371;",
     "69381;Lyon 1er Arrondissement;n/a;", 5, "NBMEN21"),
])
def test_bad_value_fails_with_file_line_and_column(tmp_path, parser, name, old, new, line, column):
    bad = _copy_with(tmp_path, name, old, new)
    with pytest.raises(InputFormatError, match=rf"{name}, line {line}, column '{column}'"):
        parser(bad, departement="69")


def test_malformed_code_fails_even_outside_the_departement(tmp_path):
    bad = _copy_with(tmp_path, "base-cc-filosofi-2012.csv", "01001;", "1001;")
    with pytest.raises(InputFormatError, match=r"line 2, column 'CODGEO'.*'1001'"):
        revenus.parse_filosofi_cc(bad, departement="69")


def test_duplicated_code_fails(tmp_path):
    bad = _copy_with(tmp_path, "cc_filosofi_2020_COM.csv", "69381;", "69123;")
    with pytest.raises(InputFormatError, match=r"line 7, column 'CODGEO'.*duplicate.*line 4"):
        revenus.parse_filosofi_cc_s(bad, departement="69")


def test_wrong_separator_is_named(tmp_path):
    with pytest.raises(InputFormatError, match=r"filosofi_2016_rhone.csv, line 1.*CODGEO"):
        revenus.parse_filosofi_cc(DIR / "filosofi_2016_rhone.csv", departement="69")


def test_revenus_toml_vintages_parsers_and_weights():
    specs, vintages = load_indicator_specs()
    by_code = {s.code: s for s in specs}
    mine = [v for v in vintages if v.family == "revenus"]
    assert {v.years for v in mine} == {(2012,), (2016,), (2017,), (2019,), (2020,), (2021,)}
    module = importlib.import_module("electio.sources.indicators.revenus")
    for v in mine:
        assert callable(getattr(module, v.parser)), v.parser
        assert v.lyon == "both" and v.published_note
    for spec in (s for s in specs if s.family == "revenus"):
        if spec.aggregation == "weighted_mean":
            assert by_code[spec.weight_indicator].aggregation == "sum"
    v2016 = next(v for v in mine if v.years == (2016,))
    assert "MED16" in v2016.options["imputed"]
    # published dates are in order of the millésimes
    dates = [v.published_on for v in sorted(mine, key=lambda v: v.years)]
    assert dates == sorted(dates)


# ----------------------------------------------------------------- the real mirror files

def test_real_filosofi_files(mirror):
    f2012 = revenus.parse_filosofi_cc(mirror / "insee_filosofi_2012_com" / "base-cc-filosofi-2012.csv",
                                      departement="69")
    assert f2012.values["source_code"].nunique() == 297  # 288 communes (2012 geography) + 9 arrondissements
    assert f2012.rows_read == 36587
    assert _cell(f2012, "69123", "niveau_vie_median", 2012)["value"] == 21659.6

    f2019 = revenus.parse_filosofi_cc(mirror / "insee_filosofi_2019_com" / "cc_filosofi_2019_COM.CSV",
                                      departement="69")
    assert f2019.values["source_code"].nunique() == 276
    assert _cell(f2019, "69123", "niveau_vie_median", 2019)["value"] == 24150.0
    assert {"69123", "69381", "69389", "69152", "69159"} <= set(f2019.values["source_code"])

    f2020 = revenus.parse_filosofi_cc_s(mirror / "insee_filosofi_2020_com" / "cc_filosofi_2020_COM.csv",
                                        departement="69")
    tp = f2020.values[f2020.values["indicator_code"] == "taux_pauvrete_60"]
    assert len(tp) == 276 and int(tp["is_suppressed"].sum()) == 184  # README: 184 's' cells for TP6020

    f2021 = revenus.parse_filosofi_dec(mirror / "insee_filosofi_2021_com" / "FILO2021_DEC_COM.csv",
                                       departement="69")
    assert f2021.values["source_code"].nunique() == 276
    assert _cell(f2021, "69123", "revenu_declare_median_uc", 2021)["value"] == 25860.0
    assert [r.line for r in f2021.rejected] == [34931]  # the closing ';;;' row

    f2016 = revenus.parse_filosofi_extract(mirror / "insee_filosofi_69_extracts" / "filosofi_2016_rhone.csv",
                                           departement="69", imputed=["MED16", "D116", "D916", "RD16"])
    assert f2016.rows_read == 276
    assert f2016.values.loc[f2016.values["indicator_code"] == "niveau_vie_median", "is_imputed"].all()
