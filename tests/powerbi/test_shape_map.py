"""The communes' TopoJSON embedded for the Shape Map, decoded with topojson-client."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from shapely.geometry import shape

from electio.perimeter import departement_file
from electio.powerbi.shapes import warehouse_communes
from electio.powerbi.validate import check_shape_map, shape_map_features
from electio.sources.geography import parse_geojson_features
from electio.sources.resolve import resolve_source
from electio.transform.communes import commune_shapes

from .helpers import altered

# Decoding the maps runs topojson-client under node.
pytestmark = pytest.mark.usefixtures("node_validators")

ENTRY = "Report/StaticResources/RegisteredResources/communes.topo.json"


def test_map_has_one_clockwise_polygon_per_commune(warehouse, template):
    dim, _ = warehouse_communes(warehouse.db_url)
    assert len(dim) == 266
    assert check_shape_map(template, set(dim["commune_code"])) == []


def test_decoded_shapes_match_the_united_boundaries(warehouse, warehouse_template, built):
    dim, code_map = warehouse_communes(warehouse.db_url)
    features = parse_geojson_features(resolve_source(*departement_file("69").boundaries, settings=warehouse).path)
    expected = commune_shapes(features, code_map)
    decoded = shape_map_features(warehouse_template)["communes.topo.json"]
    names = dict(zip(dim["commune_code"], dim["commune_name"]))
    for f in decoded:
        code = f["properties"]["code"]
        assert f["properties"]["nom"] == names[code]
        got, ref = shape(f["geometry"]), expected[code]
        assert abs(got.area - ref.area) / ref.area < 0.01, code
        assert got.symmetric_difference(ref).area / ref.area < 0.02, code
    assert built["map"].read_bytes() == warehouse_template.parts[ENTRY]


def _rewrite(t, change):
    t = altered(t)
    topo = json.loads(t.parts[ENTRY])
    change(topo)
    t.parts[ENTRY] = json.dumps(topo).encode("utf-8")
    return t


def test_shape_map_check_fails_on_corrupted_map(warehouse, warehouse_template):
    codes = set(pd.Series(warehouse_communes(warehouse.db_url)[0]["commune_code"]))

    def reverse_arcs(topo):  # counter-clockwise exteriors: d3 would fill the whole world
        for g in topo["objects"]["communes"]["geometries"]:
            polygons = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
            for polygon in polygons:
                for i, ring in enumerate(polygon):
                    polygon[i] = [~a for a in reversed(ring)]

    def drop_commune(topo):
        topo["objects"]["communes"]["geometries"].pop()

    def wrong_key(topo):
        topo["objects"]["communes"]["geometries"][0]["properties"]["code"] = "69999"

    def projected(topo):  # Lambert-93 metres instead of longitude/latitude
        topo["transform"]["translate"] = [800000.0, 6500000.0]

    problems = check_shape_map(_rewrite(warehouse_template, reverse_arcs), codes)
    assert any("wound the wrong way" in p for p in problems), problems[:3]
    assert any("codes differ" in p for p in check_shape_map(_rewrite(warehouse_template, drop_commune), codes))
    assert any("has id" in p for p in check_shape_map(_rewrite(warehouse_template, wrong_key), codes))
    assert any("outside WGS84" in p for p in check_shape_map(_rewrite(warehouse_template, projected), codes))
    broken = altered(warehouse_template)
    broken.parts[ENTRY] = b'{"type":"Topology","objects":{"communes":{"type":"GeometryCollection","geometries":['
    assert check_shape_map(broken, codes)
