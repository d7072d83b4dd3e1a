"""--departement parsing and perimeter files."""

from __future__ import annotations

import pytest

from electio.errors import ElectioError
from electio.perimeter import ALL_DEPARTEMENTS, departement_file, load_perimeter, parse_departements


@pytest.mark.parametrize("text, expected", [
    ("69", ["69"]), ("2a", ["2A"]), (" 2B ", ["2B"]), ("971", ["971"]), ("1,69", ["01", "69"]),
    ("69,69,33", ["69", "33"]), ("fr", list(ALL_DEPARTEMENTS))])
def test_parse_departements(text, expected):
    assert parse_departements(text) == expected


@pytest.mark.parametrize("text, message", [
    ("20", "Corsica is 2A or 2B"), ("100", "unknown département '100'"), ("69,zz", "'ZZ'"),
    ("", "empty"), ("FR,69", "all of France")])
def test_parse_departements_refuses(text, message):
    with pytest.raises(ElectioError, match=message):
        parse_departements(text)


def test_france_covers_departements_and_collectivities_with_voters():
    deps = parse_departements("FR")
    assert len(deps) == 107 and {"2A", "976", "987", "977", "978"} <= set(deps)
    assert "984" not in deps and "20" not in deps  # TAAF: no voters; 20 is not a code since 1976


def test_perimeter_file_of_the_rhone_and_plain_departements():
    rhone = departement_file("69")
    assert rhone.name == "Rhône" and rhone.boundaries == ("france_geojson_69", "communes-69-rhone.geojson")
    assert rhone.arrondissement_commune == "69123" and len(rhone.arrondissement_codes) == 9
    assert [t.code for t in rhone.territories] == ["metropole_lyon", "rhone"]
    plain = departement_file("33")
    assert plain.name == "Gironde" and plain.boundaries is None and plain.territories == ()
    p = load_perimeter("33,69")
    assert p.text == "33,69" and p.name == "Gironde, Rhône" and p.default_communes == ("69123", "69266", "69264")
    assert load_perimeter("FR").is_france and load_perimeter("FR").name == "France entière"


def test_perimeter_file_must_match_its_name(tmp_path):
    (tmp_path / "33.toml").write_text('code = "34"\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ElectioError, match="expected '33'"):
        departement_file("33", tmp_path)
