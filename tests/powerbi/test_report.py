"""Report pages and visuals: every referenced field exists; pages answer the brief."""

from __future__ import annotations

import json

import pytest

from electio.powerbi.validate import check_visuals

from .helpers import visual, with_layout

PAGES = {
    "Vue d'ensemble": {"shapeMap", "slicer", "card", "clusteredBarChart", "tableEx", "textbox"},
    "Cartes par bloc": {"shapeMap", "slicer", "card", "tableEx"},
    "Explorateur des résultats": {"lineChart", "clusteredColumnChart", "pivotTable", "tableEx", "shapeMap", "slicer"},
    "Indicateurs des communes": {"shapeMap", "lineChart", "tableEx", "slicer", "card"},
    "Corrélations avec le vote": {"pivotTable", "clusteredBarChart", "slicer", "card"},
    "Précision des modèles": {"clusteredBarChart", "lineChart", "scatterChart", "pivotTable", "tableEx", "card"},
    "Scénarios des prochaines élections": {"lineChart", "clusteredBarChart", "shapeMap", "pivotTable", "tableEx", "card"},
    "Sources et qualité des données": {"card", "tableEx", "slicer"},
    "Fiche commune": {"card", "lineChart", "clusteredColumnChart", "tableEx", "slicer"},
    "Infobulle commune": {"card", "clusteredBarChart"},
}


def test_every_visual_field_exists(template):
    assert check_visuals(template) == []


def test_pages_and_their_visuals(template):
    layout = template.layout
    pages = {}
    for section in layout["sections"]:
        types = {json.loads(c["config"])["singleVisual"]["visualType"] for c in section["visualContainers"]}
        pages[section["displayName"]] = types
    assert list(pages) == list(PAGES)
    for page, expected in PAGES.items():
        assert expected <= pages[page], (page, expected - pages[page])


def test_maps_use_the_embedded_communes_and_no_bing_map(template):
    layout = template.layout
    _, shape = visual(layout, "Vue d'ensemble", "shapeMap")
    geo = shape["singleVisual"]["objects"]["shape"][0]["properties"]["map"]["geoJson"]
    assert geo["content"]["expr"]["ResourcePackageItem"] == {
        "PackageName": "RegisteredResources", "PackageType": 1, "ItemName": "communes.topo.json"}
    assert shape["singleVisual"]["projections"]["Category"][0]["queryRef"] == "Communes.Code commune"
    types = {json.loads(c["config"])["singleVisual"]["visualType"]
             for s in layout["sections"] for c in s["visualContainers"]}
    assert not types & {"map", "filledMap"}  # Bing maps need tenant settings and are being retired


def test_heatmaps_colour_their_measure(template):
    _, matrix = visual(template.layout, "Corrélations avec le vote", "pivotTable")
    rule = matrix["singleVisual"]["objects"]["values"][0]
    assert rule["selector"]["metadata"] == "Corrélations.Corrélation (Pearson)"
    gradient = rule["properties"]["backColor"]["solid"]["color"]["expr"]["FillRule"]["FillRule"]["linearGradient3"]
    assert [gradient[k]["value"]["Literal"]["Value"] for k in ("min", "mid", "max")] == ["-1.0D", "0.0D", "1.0D"]


def _edit_visual(page, visual_type, change):
    def edit(layout):
        container, config = visual(layout, page, visual_type)
        change(config, container)
        container["config"] = json.dumps(config, ensure_ascii=False)
    return edit


def _rename_select(old_property, new_property):
    def change(config, container):
        for select in config["singleVisual"]["prototypeQuery"]["Select"]:
            for key in ("Column", "Measure"):
                if select.get(key, {}).get("Property") == old_property:
                    select[key]["Property"] = new_property
    return change


def _filter_measure(name):
    def change(config, container):
        filters = json.loads(container["filters"])
        filters[0]["expression"]["Measure"]["Property"] = name
        container["filters"] = json.dumps(filters, ensure_ascii=False)
    return change


def _rename_role(config, container):
    projections = config["singleVisual"]["projections"]
    projections["Legend"] = projections.pop("Series")


def _drop_select(config, container):
    config["singleVisual"]["prototypeQuery"]["Select"].pop()


def _unknown_entity(config, container):
    config["singleVisual"]["prototypeQuery"]["From"][0]["Entity"] = "Communes 2018"


def _unknown_resource(config, container):
    geo = config["singleVisual"]["objects"]["shape"][0]["properties"]["map"]["geoJson"]
    geo["content"]["expr"]["ResourcePackageItem"]["ItemName"] = "france.topo.json"


def _overlap(config, container):
    container["y"] = 10


CORRUPTIONS = {
    "unknown column in a visual": (_edit_visual("Vue d'ensemble", "tableEx", _rename_select("Commune", "Nom")),
                                   "unknown column Communes.Nom"),
    "unknown measure in a visual": (_edit_visual("Vue d'ensemble", "card", _rename_select(
        "Élection affichée", "Scrutin affiché")), "unknown measure Élections.Scrutin affiché"),
    "unknown measure in a filter": (_edit_visual("Vue d'ensemble", "shapeMap", _filter_measure("Est premier")),
                                    "unknown measure"),
    "unknown role": (_edit_visual("Explorateur des résultats", "lineChart", _rename_role), "role 'Legend'"),
    "projection not selected": (_edit_visual("Vue d'ensemble", "tableEx", _drop_select), "is not selected"),
    "unknown table": (_edit_visual("Vue d'ensemble", "tableEx", _unknown_entity), "unknown table 'Communes 2018'"),
    "unknown map resource": (_edit_visual("Vue d'ensemble", "shapeMap", _unknown_resource),
                             "resource 'france.topo.json'"),
    "overlapping visuals": (_edit_visual("Vue d'ensemble", "tableEx", _overlap), "overlap"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_visual_check_fails_on_corrupted_template(warehouse_template, corruption):
    change, expected = CORRUPTIONS[corruption]
    problems = check_visuals(with_layout(warehouse_template, change))
    assert any(expected in p for p in problems), problems
