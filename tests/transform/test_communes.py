"""Harmonisation onto the reference commune list."""

from __future__ import annotations

import pandas as pd
import pytest

from electio.sources.geography import parse_cog_communes, parse_etalab_communes, parse_etalab_epci
from electio.perimeter import departement_file
from electio.transform.communes import (UnknownCommuneCode, build_code_map, build_dim_commune, commune_shapes,
                                        harmonise_communes)
from tests.conftest import FIXTURES

SQUARE = {"type": "Polygon", "coordinates": [[[4.0, 45.0], [4.01, 45.0], [4.01, 45.01], [4.0, 45.01], [4.0, 45.0]]]}
SQUARE_EAST = {"type": "Polygon", "coordinates": [[[4.01, 45.0], [4.02, 45.0], [4.02, 45.01], [4.01, 45.01], [4.01, 45.0]]]}


@pytest.fixture
def etalab():
    return parse_etalab_communes(FIXTURES / "etalab_communes.json")


@pytest.fixture
def code_map(etalab):
    return build_code_map(etalab)


def test_code_map_relations(code_map):
    m = code_map.set_index("source_code")
    assert m.loc["69211", ["commune_code", "relation"]].tolist() == ["69019", "merged"]
    assert m.loc["69159", "commune_code"] == "69114"  # renumbered in COG 2025
    assert m.loc["69381", ["commune_code", "relation"]].tolist() == ["69123", "arrondissement"]
    assert m.loc["69019", "relation"] == "same"  # the chef-lieu's delegated row does not hide it
    assert m.loc["69152", "commune_code"] == "69149"
    assert code_map["source_code"].is_unique


def test_merged_communes_are_summed_and_lyon_rolls_up(code_map):
    frame = pd.DataFrame({"source_code": ["69019", "69211", "69381", "69389", "69001"],
                          "registered": [100, 50, 1000, 2000, 7], "voters": [80, 40, 700, 1500, 5]})
    out = harmonise_communes(frame, code_map, counts=["registered", "voters"], where="test")
    assert out.set_index("commune_code")["registered"].to_dict() == {"69001": 7, "69019": 150, "69123": 3000}


def test_unknown_code_fails_naming_the_file(code_map):
    frame = pd.DataFrame({"source_code": ["69001", "69999"], "votes": [1, 2]})
    with pytest.raises(UnknownCommuneCode, match=r"results.csv: commune code\(s\) \['69999'\]"):
        harmonise_communes(frame, code_map, counts=["votes"], where="results.csv")


def test_dim_commune_split_epci_and_geometry(etalab, code_map):
    epci = parse_etalab_epci(FIXTURES / "etalab_epci.json")
    cog = parse_cog_communes(FIXTURES / "v_commune.csv")
    # 69114 has no polygon of its own (like the 2018 layer): its former codes' shapes are united.
    features = [("69101", SQUARE), ("69159", SQUARE_EAST), ("69001", SQUARE)]
    split = {"69": departement_file("69").territories}  # from data/perimeters/69.toml
    dim = build_dim_commune(etalab, epci, cog, commune_shapes(features, code_map), departement="69", cog_vintage=2026,
                            territories=split)
    d = dim.set_index("commune_code")
    assert list(d.index) == ["69001", "69019", "69114", "69123", "69149"]
    assert d.loc["69123", "territory"] == "metropole_lyon" and d.loc["69001", "territory"] == "rhone"
    assert d.loc["69149", "epci_code"] == "200046977"
    assert d.loc["69114", "area_km2"] == pytest.approx(2 * d.loc["69001", "area_km2"], rel=1e-3)
    assert d.loc["69001", "area_km2"] == pytest.approx(0.87, abs=0.02)  # 0.01 deg square at 45 N
    assert pd.isna(d.loc["69019", "area_km2"])  # no boundary: missing, not zero
    assert d.loc["69114", "canton_code"] == "6916" and pd.isna(d.loc["69123", "canton_code"])
    # Without a perimeter file (a plain département) there is no split.
    plain = build_dim_commune(etalab, epci, cog, {}, departement=["69"], cog_vintage=2026)
    assert set(plain["territory"]) == {"departement"}
