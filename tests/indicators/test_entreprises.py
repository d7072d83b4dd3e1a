"""URSSAF establishments and employees per commune (entreprises.py, entreprises.toml)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators import VALUE_COLUMNS, load_indicator_specs
from electio.sources.indicators.entreprises import MEASURES, parse_urssaf_communes
from tests.conftest import FIXTURES

FIXTURE = FIXTURES / "indicators" / "urssaf_etablissements_dep69.csv"
REAL = ("urssaf_etablissements_69", "etablissements_salaries_communes_dep69.csv")


def values(staged) -> dict:
    return {(r.source_code, r.indicator_code, r.year): r.value for r in staged.values.itertuples()}


def corrupt(tmp_path: Path, line: int, old: str, new: str) -> Path:
    lines = FIXTURE.read_text(encoding="utf-8").split("\n")
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path = tmp_path / FIXTURE.name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_fixture_float_counts_become_values():
    staged = parse_urssaf_communes(FIXTURE, departement="69")
    v = values(staged)
    assert staged.rows_read == 9
    assert list(staged.values.columns) == VALUE_COLUMNS
    assert len(staged.values) == 18  # 9 rows x 2 indicators
    assert v[("69001", "entreprises_etablissements", 2012)] == 4.0
    assert v[("69001", "entreprises_salaries", 2012)] == 6.0
    assert v[("69001", "entreprises_etablissements", 2017)] == 5.0
    # A true 0 (an employer with no employee at year end) stays 0.
    assert v[("69016", "entreprises_salaries", 2012)] == 0.0
    assert not staged.values["is_suppressed"].any() and not staged.values["is_imputed"].any()


def test_absent_commune_is_absent_not_zero_and_lyon_is_by_arrondissement():
    staged = parse_urssaf_communes(FIXTURE, departement="69")
    v = values(staged)
    assert ("69016", "entreprises_etablissements", 2017) not in v
    assert "69123" not in set(staged.values["source_code"])
    assert v[("69381", "entreprises_salaries", 2017)] == 9285.0
    assert v[("69152", "entreprises_etablissements", 2017)] == 83.0  # pre-merger code kept as given


def test_year_option():
    staged = parse_urssaf_communes(FIXTURE, departement="69", year=2017)
    assert set(staged.values["year"]) == {2017} and staged.rows_read == 9
    with pytest.raises(InputFormatError, match="no row for year 2013"):
        parse_urssaf_communes(FIXTURE, departement="69", year=2013)


def test_departement_outside_the_extract_and_national_scale():
    empty = parse_urssaf_communes(FIXTURE, departement="01")
    assert empty.values.empty and empty.rows_read == 9 and list(empty.values.columns) == VALUE_COLUMNS
    assert len(parse_urssaf_communes(FIXTURE, departement="*").values) == 18


@pytest.mark.parametrize("line, old, new, column, message", [
    (2, ";4.0;", ";4.5;", "nb_etablissements", "non-negative whole number, got '4.5'"),
    (2, ";6.0", ";-6.0", "effectifs_salaries", "non-negative whole number, got '-6.0'"),
    (2, ";6.0", ";s", "effectifs_salaries", "non-negative whole number, got 's'"),
    (2, ";4.0;", ";;", "nb_etablissements", "non-negative whole number, got ''"),
    (3, "69016", "6901A", "code_commune", "5-character INSEE commune code, got '6901A'"),
    (3, "2012;", "12;", "annee", "4-digit year, got '12'"),
    (7, "2017;69001", "2012;69001", "code_commune", "duplicate row for code_commune='69001', annee=2012"),
])
def test_bad_rows_fail_with_file_line_and_column(tmp_path, line, old, new, column, message):
    path = corrupt(tmp_path, line, old, new)
    with pytest.raises(InputFormatError) as err:
        parse_urssaf_communes(path, departement="69")
    assert err.value.line == line and err.value.column == column
    assert message in str(err.value) and str(err.value).startswith(str(path))


def test_missing_column_fails_on_the_header(tmp_path):
    path = tmp_path / "renamed.csv"
    path.write_text(FIXTURE.read_text(encoding="utf-8").replace("effectifs_salaries", "salaries"),
                    encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"line 1, column 'effectifs_salaries'"):
        parse_urssaf_communes(path, departement="69")


def test_real_urssaf_file(mirror):
    staged = parse_urssaf_communes(mirror.joinpath(*REAL), departement="69")
    v = values(staged)
    assert staged.rows_read == 820 and len(staged.values) == 1640
    per_year = staged.values[staged.values["indicator_code"] == "entreprises_etablissements"] \
        .groupby("year").size().to_dict()
    assert per_year == {2012: 274, 2017: 272, 2022: 274}
    assert v[("69001", "entreprises_etablissements", 2012)] == 4.0
    assert v[("69001", "entreprises_salaries", 2012)] == 6.0
    assert v[("69383", "entreprises_etablissements", 2022)] == 5032.0
    assert v[("69383", "entreprises_salaries", 2022)] == 81092.0
    assert "69123" not in set(staged.values["source_code"])
    assert len({c for c in staged.values["source_code"] if c.startswith("6938")}) == 9


def test_toml_definitions_and_vintages(mirror):
    specs, vintages = load_indicator_specs()
    mine = {s.code: s for s in specs if s.family == "entreprises"}
    assert set(mine) == set(MEASURES.values())
    assert mine["entreprises_etablissements"].unit == "établissements"
    assert mine["entreprises_salaries"].unit == "salariés"
    for spec in mine.values():
        assert (spec.aggregation, spec.level, spec.source_id) == ("sum", "commune", "urssaf_etablissements_69")
        assert "TRAITÉE" in spec.definition and len(spec.definition) <= 1000
    ours = [v for v in vintages if v.family == "entreprises"]
    assert ours
    module = importlib.import_module("electio.sources.indicators.entreprises")
    for vintage in ours:
        staged = getattr(module, vintage.parser)(mirror / vintage.source_id / vintage.file, departement="69",
                                                 **vintage.options)
        assert set(staged.values["year"]) == set(vintage.years)
        assert vintage.lyon == "arrondissements" and vintage.published_note
