"""SSMSI recorded crime: commune totals and département bases (securite.py, securite.toml)."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators import VALUE_COLUMNS, load_indicator_specs
from electio.sources.indicators.securite import (
    CATEGORIES, COMMUNE_TOTAL, DWELLINGS, EDITION_2023, EDITION_2024, POPULATION, count_code,
    parse_ssmsi_communes, parse_ssmsi_departements_2023, parse_ssmsi_departements_2024, rate_code)
from tests.conftest import FIXTURES

COMMUNES = FIXTURES / "indicators" / "ssmsi_communes_rhone.csv"
DEP_2023 = FIXTURES / "indicators" / "ssmsi_dep_2023.csv"
DEP_2024 = FIXTURES / "indicators" / "ssmsi_dep_2024.csv"
REAL_DEP = "ssmsi_delinquance_departements"
REAL_2023 = "donnee-dep-data.gouv-2023-geographie2023-produit-le2024-03-07.csv"


def values(staged) -> dict:
    return {(r.source_code, r.indicator_code, r.year): r.value for r in staged.values.itertuples()}


def corrupt(tmp_path: Path, source: Path, line: int, old: str, new: str) -> Path:
    lines = source.read_text(encoding="utf-8").split("\n")
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / source.name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def fails(path: Path, parser, line: int, column: str, message: str, departement: str = "69") -> None:
    with pytest.raises(InputFormatError) as err:
        parser(path, departement=departement)
    assert (err.value.line, err.value.column) == (line, column), str(err.value)
    assert message in str(err.value) and str(err.value).startswith(str(path))


# --- commune totals (PROCESSED) -------------------------------------------------------

def test_commune_zeros_are_staged_as_withheld_not_as_zero():
    staged = parse_ssmsi_communes(COMMUNES, departement="69")
    assert list(staged.values.columns) == VALUE_COLUMNS
    assert staged.rows_read == 12 and len(staged.values) == 12
    rows = staged.values.set_index(["source_code", "year"])
    for key in [("69001", 2017), ("69001", 2024), ("69389", 2024)]:
        assert math.isnan(rows.loc[key, "value"]) and rows.loc[key, "is_suppressed"]
    assert rows.loc[("69003", 2017), "value"] == 68.0 and not rows.loc[("69003", 2017), "is_suppressed"]
    assert rows.loc[("69056", 2017), "value"] == 5.0
    assert (staged.values["value"] > 0).sum() == 9
    assert set(staged.values["indicator_code"]) == {COMMUNE_TOTAL}
    assert not staged.values["is_imputed"].any()


def test_commune_file_lists_lyon_both_ways():
    v = values(parse_ssmsi_communes(COMMUNES, departement="69"))
    assert v[("69123", COMMUNE_TOTAL, 2017)] == 54699.0
    assert v[("69381", COMMUNE_TOTAL, 2017)] == 4168.0


@pytest.mark.parametrize("line, old, new, column, message", [
    (4, ";68.0", ";68.5", "total_delits", "got '68.5'"),
    (4, ";68.0", ";-68.0", "total_delits", "got '-68.0'"),
    (4, ";68.0", ";nd", "total_delits", "got 'nd'"),
    (4, "69003;", "6903;", "code_commune", "expected a 5-character INSEE commune code, got '6903'"),
    (4, ";2017;", ";17;", "annee", "expected a 4-digit year, got '17'"),
    (5, ";2024;", ";2017;", "code_commune", "duplicate row for code_commune='69003', annee=2017"),
])
def test_commune_bad_rows_fail_with_line_and_column(tmp_path, line, old, new, column, message):
    fails(corrupt(tmp_path, COMMUNES, line, old, new), parse_ssmsi_communes, line, column, message)


def test_real_commune_file(mirror):
    staged = parse_ssmsi_communes(mirror / "ssmsi_delinquance_communes_69" / "rhone_securite.csv",
                                  departement="69")
    v = values(staged)
    assert staged.rows_read == 825 and len(staged.values) == 825
    assert int(staged.values["is_suppressed"].sum()) == 312
    assert staged.values.loc[staged.values["is_suppressed"], "value"].isna().all()
    assert (staged.values.loc[~staged.values["is_suppressed"], "value"] > 0).all()
    assert v[("69123", COMMUNE_TOTAL, 2017)] == 54699.0
    assert v[("69003", COMMUNE_TOTAL, 2017)] == 68.0
    assert v[("69003", COMMUNE_TOTAL, 2024)] == 139.0
    assert sorted(staged.values["year"].unique()) == [2017, 2022, 2024]
    assert staged.values["source_code"].nunique() == 275  # 69123 and its 9 arrondissements


# --- département bases ----------------------------------------------------------------

def test_2023_edition_fixture():
    staged = parse_ssmsi_departements_2023(DEP_2023, departement="69")
    v = values(staged)
    assert staged.rows_read == 14
    assert set(staged.values["source_code"]) == {"69"}
    # 4 categories x 2 years, count + rate, plus population and dwellings per year
    assert len(staged.values) == 4 * 2 * 2 + 2 * 2
    assert v[("69", "securite_dep_homicides", 2016)] == 23.0  # 2-digit year '16'
    assert v[("69", "securite_dep_homicides_taux", 2016)] == pytest.approx(0.0125278949922736)
    assert v[("69", "securite_dep_cambriolages_taux", 2023)] == pytest.approx(8.102947)
    assert v[("69", "securite_dep_violences_sex_e23", 2023)] == 2656.0
    assert v[("69", "securite_dep_usage_stupefiants", 2016)] == 6617.0
    assert v[("69", POPULATION, 2023)] == 1893692.0
    assert v[("69", DWELLINGS, 2016)] == pytest.approx(904462.0024263281)
    assert not staged.values["is_suppressed"].any()


def test_2023_edition_skips_the_unattributed_na_rows_and_pads_codes():
    staged = parse_ssmsi_departements_2023(DEP_2023, departement="1")
    assert set(staged.values["source_code"]) == {"01"}
    assert values(staged)[("01", "securite_dep_homicides", 2023)] == 5.0
    assert parse_ssmsi_departements_2023(DEP_2023, departement="NA").values.empty
    assert not staged.rejected
    # National scale: every département, and the 'NA' rows reported as not loaded.
    national = parse_ssmsi_departements_2023(DEP_2023, departement="*")
    assert set(national.values["source_code"]) == {"01", "69"}
    assert [r.line for r in national.rejected] == [4, 7, 11, 14]
    assert all("not attributed to a département" in r.reason for r in national.rejected)


def test_2024_edition_fixture():
    staged = parse_ssmsi_departements_2024(DEP_2024, departement="69")
    v = values(staged)
    assert staged.rows_read == 14
    assert len(staged.values) == 4 * 2 * 2 + 2 * 2
    assert v[("69", "securite_dep_homicides", 2024)] == 27.0
    assert v[("69", "securite_dep_homicides_taux", 2024)] == pytest.approx(0.0141511)
    assert v[("69", "securite_dep_usage_stupefiants_afd", 2024)] == 7531.0
    assert v[("69", "securite_dep_violences_sex_e24", 2023)] == 3099.0
    assert v[("69", POPULATION, 2024)] == 1907982.0
    # '1' in the file is département 01
    assert set(parse_ssmsi_departements_2024(DEP_2024, departement="01").values["source_code"]) == {"01"}


def test_2024_edition_incomplete_foreign_rows_fail_only_for_their_departement():
    fails(DEP_2024, parse_ssmsi_departements_2024, 8, "indicateur",
          "unknown crime category 'Vols de vehicules'", departement="13")
    assert parse_ssmsi_departements_2024(DEP_2024, departement="38").values.empty


def test_a_second_series_after_a_complete_year_is_rejected_row_by_row(tmp_path):
    header = DEP_2024.read_text(encoding="utf-8").split("\n")[0]
    rows = [f"13;93;2016;{c};{CATEGORIES[c][1].capitalize()};{i};0,{i};2019717;2016;1009576;2016"
            for i, c in enumerate(EDITION_2024)]
    rows += ["13;93;2016;Homicides;Victime;44;0,0217852;2019717;2016;1009576;2016",
             "13;93;2016;Vols de vehicules;Vehicule;8007;3,9652853;2019717;2016;1009576;2016"]
    path = tmp_path / "second_series.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    staged = parse_ssmsi_departements_2024(path, departement="13")
    assert len(staged.values) == 18 * 2 + 2
    assert values(staged)[("13", "securite_dep_homicides", 2016)] == 0.0  # the first series is kept
    assert [r.line for r in staged.rejected] == [20, 21]
    assert "second series appended after the 18 categories of département 13 in 2016" in staged.rejected[1].reason
    assert staged.rejected[1].file_name == "second_series.csv"


def test_codes_are_shared_across_editions_unless_the_definition_changed():
    assert count_code("Homicides", 2023) == count_code("Homicides", 2024) == "securite_dep_homicides"
    assert count_code("Cambriolages de logement", 2023) == count_code("Cambriolages de logement", 2024)
    assert count_code("Violences sexuelles", 2023) == "securite_dep_violences_sex_e23"
    assert count_code("Violences sexuelles", 2024) == "securite_dep_violences_sex_e24"
    assert rate_code("Escroqueries", 2024) == "securite_dep_escroqueries_e24_taux"
    assert len(EDITION_2023) == 16 and len(EDITION_2024) == 18


@pytest.mark.parametrize("line, old, new, column, message", [
    (2, '"1,25278949922736e-02"', '"n.d."', "tauxpourmille", "expected a non-negative number, got 'n.d.'"),
    (2, '"1,25278949922736e-02"', '"-1,2"', "tauxpourmille", "got '-1,2'"),
    (2, '"23";"1835903"', '"2,5";"1835903"', "faits", "non-negative whole number, got '2,5'"),
    (2, '"23";"1835903"', '"23";"1835903,5"', "POP", "whole population"),
    (2, '"victime"', '"infraction"', "unité.de.compte", "the category's definition changed"),
    (2, '"Homicides"', '"Meurtres"', "classe", "unknown crime category 'Meurtres'"),
    (3, '"01"', '"1"', "Code.département", "expected a département code, got '1'"),
    (2, '"16";"69"', '"2016";"69"', "annee", "2-digit year"),
    (5, '"10233";"1835903"', '"10233";"1835904"', "POP", "POP differs between categories of year 2016"),
    (6, '"Violences sexuelles"', '"Homicides"', "classe",
     "duplicate row for Code.département='69', annee=2016, classe='Homicides'"),
])
def test_2023_edition_bad_rows_fail_with_line_and_column(tmp_path, line, old, new, column, message):
    path = corrupt(tmp_path, DEP_2023, line, old, new)
    fails(path, parse_ssmsi_departements_2023, line, column, message)


@pytest.mark.parametrize("line, old, new, column, message", [
    (2, ";Victime;", ";Infraction;", "unite_de_compte", "counting unit 'Infraction' for 'Homicides'"),
    (2, ";0,0099582;", ";-0,0099582;", "taux_pour_mille", "got '-0,0099582'"),
    (2, ";19;", ";dix-neuf;", "nombre", "got 'dix-neuf'"),
    (2, "69;84;", "690;84;", "code_departement", "expected a département code, got '690'"),
    (2, ";2023;", ";23;", "annee", "4-digit year"),
])
def test_2024_edition_bad_rows_fail_with_line_and_column(tmp_path, line, old, new, column, message):
    fails(corrupt(tmp_path, DEP_2024, line, old, new), parse_ssmsi_departements_2024, line, column, message)


def test_real_2023_edition(mirror):
    staged = parse_ssmsi_departements_2023(mirror / REAL_DEP / REAL_2023, departement="69")
    v = values(staged)
    counts = staged.values[~staged.values["indicator_code"].str.endswith("_taux")
                           & ~staged.values["indicator_code"].isin([POPULATION, DWELLINGS])]
    assert staged.rows_read == 13056
    assert len(counts) == 128  # 16 categories x 8 years (mirror README)
    assert len(staged.values) == 128 * 2 + 8 * 2
    assert v[("69", "securite_dep_homicides", 2016)] == 23.0
    assert v[("69", "securite_dep_cambriolages", 2023)] == 7694.0
    assert v[("69", "securite_dep_violences_sex_e23", 2016)] == 1048.0
    assert v[("69", "securite_dep_cambriolages_taux", 2023)] == pytest.approx(8.102947, rel=1e-6)
    assert v[("69", POPULATION, 2016)] == 1835903.0
    assert v[("69", POPULATION, 2023)] == 1893692.0  # 2021 population reused (millPOP 21)


def test_real_2024_edition(mirror):
    staged = parse_ssmsi_departements_2024(mirror / REAL_DEP / "statistiques_police.csv", departement="69")
    v = values(staged)
    counts = staged.values[~staged.values["indicator_code"].str.endswith("_taux")
                           & ~staged.values["indicator_code"].isin([POPULATION, DWELLINGS])]
    assert staged.rows_read == 16422
    assert len(counts) == 162  # 18 categories x 9 years (mirror README)
    assert v[("69", "securite_dep_homicides", 2024)] == 27.0
    assert v[("69", "securite_dep_tentatives_homicides", 2024)] == 100.0
    assert v[("69", "securite_dep_usage_stupefiants_afd", 2024)] == 7531.0
    assert v[("69", "securite_dep_usage_stupefiants_afd", 2019)] == 0.0
    assert v[("69", "securite_dep_cambriolages", 2024)] == 8316.0
    assert v[("69", "securite_dep_cambriolages_taux", 2024)] == pytest.approx(8.626223, rel=1e-6)
    assert v[("69", POPULATION, 2024)] == 1907982.0


def test_real_2024_edition_rejects_the_foreign_rows_of_departement_13(mirror):
    path = mirror / REAL_DEP / "statistiques_police.csv"
    staged = parse_ssmsi_departements_2024(path, departement="13")
    assert len(staged.rejected) == 60 and len(staged.values) == 342
    assert values(staged)[("13", "securite_dep_cambriolages", 2016)] == 11275.0  # the standard series
    national = parse_ssmsi_departements_2024(path, departement="*")
    assert national.values["source_code"].nunique() == 101 and len(national.rejected) == 60
    assert not parse_ssmsi_departements_2024(path, departement="69").rejected


def test_real_editions_agree_on_shared_codes(mirror):
    """A code shared by both editions means the same thing: 2016-2022 values within 2 %."""
    old = values(parse_ssmsi_departements_2023(mirror / REAL_DEP / REAL_2023, departement="69"))
    new = values(parse_ssmsi_departements_2024(mirror / REAL_DEP / "statistiques_police.csv", departement="69"))
    shared = {k for k in old.keys() & new.keys()
              if not k[1].endswith("_taux") and k[1] not in (POPULATION, DWELLINGS) and k[2] <= 2022}
    assert len(shared) == 11 * 7  # 11 categories keep their code, years 2016-2022
    for key in shared:
        assert new[key] == pytest.approx(old[key], rel=0.02, abs=3), key


def test_toml_definitions_and_vintages(mirror):
    specs, vintages = load_indicator_specs()
    mine = {s.code: s for s in specs if s.family == "securite"}
    emitted = {COMMUNE_TOTAL, POPULATION, DWELLINGS}
    for edition, labels in ((2023, EDITION_2023), (2024, EDITION_2024)):
        emitted |= {count_code(c, edition) for c in labels} | {rate_code(c, edition) for c in labels}
    assert set(mine) == emitted
    for spec in mine.values():
        assert len(spec.code) <= 40 and len(spec.label_fr) <= 200 and len(spec.definition) <= 1000
        assert spec.level == ("commune" if spec.code == COMMUNE_TOTAL else "departement")
        if spec.aggregation == "weighted_mean":
            weight = mine[spec.weight_indicator]
            assert weight.aggregation == "sum" and weight.level == spec.level
            assert spec.unit == "‰"
        else:
            assert spec.aggregation == "sum" and spec.weight_indicator is None
    assert mine["securite_dep_cambriolages_taux"].weight_indicator == DWELLINGS
    assert "TRAITÉE" in mine[COMMUNE_TOTAL].definition and "is_suppressed" in mine[COMMUNE_TOTAL].definition
    ours = [v for v in vintages if v.family == "securite"]
    assert {v.file for v in ours} == {"rhone_securite.csv", REAL_2023, "statistiques_police.csv"}
    module = importlib.import_module("electio.sources.indicators.securite")
    for vintage in ours:
        staged = getattr(module, vintage.parser)(mirror / vintage.source_id / vintage.file, departement="69",
                                                 **vintage.options)
        assert set(staged.values["year"]) == set(vintage.years)
        assert set(staged.values["indicator_code"]) <= set(mine)
        assert vintage.published_note.startswith("estimate:")
    assert {CATEGORIES[c][0] for c in EDITION_2024} == {v[0] for v in CATEGORIES.values()}
