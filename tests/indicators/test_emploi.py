"""DEFM job seekers per commune (emploi.py, emploi.toml)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators import VALUE_COLUMNS, load_indicator_specs
from electio.sources.indicators.emploi import BREAKDOWNS, parse_defm_communes
from tests.conftest import FIXTURES

FIXTURE = FIXTURES / "indicators" / "defm_emploi_rhone.csv"
COUNT = "Nombre de demandeurs d'emploi"


def values(staged) -> dict:
    return {(r.source_code, r.indicator_code, r.year): r.value for r in staged.values.itertuples()}


def corrupt(tmp_path: Path, line: int, old: str, new: str, source: Path = FIXTURE) -> Path:
    """A copy of ``source`` with ``old`` replaced by ``new`` on one line (1 = header)."""
    lines = source.read_text(encoding="utf-8").split("\n")
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / source.name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_fixture_gives_the_total_and_each_breakdown_as_its_own_indicator():
    staged = parse_defm_communes(FIXTURE, departement="69")
    v = values(staged)
    assert staged.rows_read == 22
    assert list(staged.values.columns) == VALUE_COLUMNS
    assert len(staged.values) == 20  # the two Ain rows are outside the département
    assert v[("69001", "demandeurs_emploi_abc", 2018)] == 15.0
    assert v[("69001", "demandeurs_emploi_abc_hommes", 2018)] == 5.0
    assert v[("69001", "demandeurs_emploi_abc_femmes", 2019)] == 15.0
    assert v[("69001", "demandeurs_emploi_abc_50_plus", 2019)] == 10.0
    # A rounded 0 is a count ("fewer than 3"), not a secret cell.
    assert v[("69001", "demandeurs_emploi_abc_moins_25", 2018)] == 0.0
    assert not staged.values["is_suppressed"].any() and not staged.values["is_imputed"].any()
    assert "01001" not in set(staged.values["source_code"])
    assert staged.values["year"].dtype.kind == "i"


def test_lyon_is_kept_both_ways_and_breakdowns_are_not_added():
    v = values(parse_defm_communes(FIXTURE, departement="69"))
    assert v[("69123", "demandeurs_emploi_abc", 2018)] == 49180.0
    assert v[("69381", "demandeurs_emploi_abc", 2018)] == 3760.0
    assert v[("69389", "demandeurs_emploi_abc", 2019)] == 5780.0
    assert v[("69381", "demandeurs_emploi_abc_moins_25", 2018)] == 410.0


def test_year_option_keeps_one_year_but_reads_the_whole_file():
    staged = parse_defm_communes(FIXTURE, departement="69", year=2019)
    assert set(staged.values["year"]) == {2019}
    assert staged.rows_read == 22
    with pytest.raises(InputFormatError, match="no row for year 2015"):
        parse_defm_communes(FIXTURE, departement="69", year=2015)


def test_other_departements_and_national_scale():
    staged = parse_defm_communes(FIXTURE, departement="1")
    assert set(staged.values["source_code"]) == {"01001"}
    # A département the Rhône extract does not cover: nothing to load, not an error.
    empty = parse_defm_communes(FIXTURE, departement="38")
    assert empty.values.empty and empty.rows_read == 22 and list(empty.values.columns) == VALUE_COLUMNS
    assert len(parse_defm_communes(FIXTURE, departement="*").values) == 22


def test_short_row_fails_on_its_line(tmp_path):
    path = corrupt(tmp_path, 4, ",Femmes,Total,10", ",Femmes")
    with pytest.raises(InputFormatError) as err:
        parse_defm_communes(path, departement="69")
    assert err.value.line == 4 and err.value.column == "Tranche d'âge"


@pytest.mark.parametrize("line, old, new, column, message", [
    (2, ",15", ",n.d.", COUNT, "non-negative whole number, got 'n.d.'"),
    (2, ",15", ",-15", COUNT, "non-negative whole number, got '-15'"),
    (2, ",15", ",", COUNT, "non-negative whole number"),
    (3, "69001", "6901", "Code commune", "5-character INSEE commune code, got '6901'"),
    (3, ",69,Rhône,", ",38,Rhône,", "Code département", "commune 69001 is not in département '38'"),
    (4, "Femmes,Total", "Femmes,Moins de 25 ans", "Tranche d'âge", "unknown breakdown"),
    (5, "2018-T4", "2018-T3", "Date", "only fourth-quarter stocks"),
    (5, "2018-T4", "2018", "Date", "expected a quarter"),
    (6, "Brutes", "CVS", "Type de données", "expected raw data"),
    (6, ",ABC,", ",A,", "Catégorie", "expected category 'ABC'"),
    (3, "Hommes,Total,5", "Total,Total,15", "Code commune", "duplicate row"),
])
def test_bad_rows_fail_with_file_line_and_column(tmp_path, line, old, new, column, message):
    path = corrupt(tmp_path, line, old, new)
    with pytest.raises(InputFormatError) as err:
        parse_defm_communes(path, departement="69")
    assert err.value.line == line and err.value.column == column
    assert re.search(re.escape(message), str(err.value))
    assert str(err.value).startswith(str(path))


def test_wrong_separator_fails_on_the_header(tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text(FIXTURE.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"line 1: expected ','-separated"):
        parse_defm_communes(path, departement="69")


def test_real_defm_file(mirror):
    staged = parse_defm_communes(mirror / "defm_communes_69" / "emploi_rhone.csv", departement="69")
    v = values(staged)
    assert staged.rows_read == 8250 and len(staged.values) == 8250
    assert sorted(staged.values["year"].unique()) == [2015, 2016, 2017, 2018, 2019]
    assert staged.values.groupby("indicator_code").size().eq(275 * 5).all()
    assert v[("69001", "demandeurs_emploi_abc", 2015)] == 15.0
    assert v[("69007", "demandeurs_emploi_abc", 2015)] == 135.0
    assert v[("69123", "demandeurs_emploi_abc", 2015)] == 46640.0
    assert v[("69123", "demandeurs_emploi_abc", 2018)] == 49180.0
    # Lyon is given twice: the arrondissements add up to 69123 (the transform keeps one).
    assert sum(v[(f"6938{i}", "demandeurs_emploi_abc", 2015)] for i in range(1, 10)) == 46640.0
    assert (staged.values["value"] % 5 == 0).all()  # rounded to 5 by the publisher


def test_toml_definitions_and_vintages(mirror):
    specs, vintages = load_indicator_specs()
    mine = {s.code: s for s in specs if s.family == "emploi" and s.source_id == "defm_communes_69"}
    assert set(mine) == set(BREAKDOWNS.values())
    for spec in mine.values():
        assert (spec.aggregation, spec.level, spec.source_id, spec.weight_indicator) == \
            ("sum", "commune", "defm_communes_69", None)
        assert spec.unit == "demandeurs" and len(spec.code) <= 40 and len(spec.definition) <= 1000
    ours = [v for v in vintages if v.family == "emploi"]
    assert ours
    module = importlib.import_module("electio.sources.indicators.emploi")
    for vintage in ours:
        staged = getattr(module, vintage.parser)(mirror / vintage.source_id / vintage.file, departement="69",
                                                 **vintage.options)
        assert set(staged.values["year"]) == set(vintage.years)
        assert set(staged.values["indicator_code"]) <= set(mine)
        assert vintage.lyon == "both" and vintage.published_note
