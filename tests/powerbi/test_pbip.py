"""The Power BI project (PBIP): Microsoft's schemas (offline), TMDL round trip, fields, UX.

The schemas are the copy in shared/reference/json-schemas (README there): a missing copy
fails these tests, it never skips them.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path

import pytest

from electio.powerbi.pbip import NAME, SCHEMAS, read_project
from electio.powerbi.pbip_check import (check_fields, check_schemas, parse_tmdl, roundtrip_differences,
                                        schema_registry, schema_versions, validate_json)
from electio.powerbi.theme import report_theme
from electio.powerbi.validate import Template
from electio.settings import PROJECT_ROOT
from electio.warehouse.load import sqlite_path

REFERENCE = (PROJECT_ROOT.parent / "shared" / "reference").resolve()
SCHEMAS_ROOT = REFERENCE / "json-schemas"
THEME_SCHEMA = REFERENCE / "powerbi-theme-schema" / "reportThemeSchema-2.152.json"


@pytest.fixture(scope="module")
def schemas_root() -> Path:
    if not (SCHEMAS_ROOT / "fabric").is_dir():
        pytest.fail(f"Microsoft's JSON schemas are required and were not found at {SCHEMAS_ROOT}")
    return SCHEMAS_ROOT


@pytest.fixture(scope="module")
def project(built) -> dict[str, bytes]:
    return read_project(built["pbip"])


@pytest.fixture(scope="module")
def model_schema(built) -> dict:
    return Template.read(built["entrepot"]).json("DataModelSchema")


def _json(files, rel):
    return json.loads(files[rel].decode("utf-8"))


def _set(files, rel, doc) -> dict[str, bytes]:
    out = dict(files)
    out[rel] = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return out


def _first(files, suffix):
    return next(rel for rel in sorted(files) if rel.endswith(suffix))


# --- Microsoft's schemas -------------------------------------------------------------------

def test_every_json_file_is_valid_against_microsoft_schemas(project, schemas_root):
    results = check_schemas(project, schemas_root)
    assert len(results) > 50
    assert {rel: errors for rel, errors in results.items() if errors} == {}


def test_project_is_also_valid_against_the_newest_schemas(project, schemas_root):
    from electio.powerbi.pbip import NEWEST

    newer = {}
    for rel, data in project.items():
        if rel.endswith((".json", ".pbip", ".pbir", ".pbism")) and "/StaticResources/" not in rel:
            doc = json.loads(data.decode("utf-8"))
            for kind, version in NEWEST.items():
                declared = SCHEMAS[kind]
                if doc["$schema"].endswith(declared):
                    doc["$schema"] = doc["$schema"].replace(declared, declared.replace(
                        declared.split("/")[-2], version))
            newer[rel] = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    assert {rel: e for rel, e in check_schemas(newer, schemas_root).items() if e} == {}


def test_schema_versions_are_the_declared_ones(project):
    versions = schema_versions(project)
    assert set(versions) == set(SCHEMAS.values())
    assert versions[SCHEMAS["page"]] == sum(1 for rel in project if rel.endswith("/page.json"))


@pytest.mark.parametrize("case", ["extra property", "missing position", "bad display option",
                                  "bad sort direction", "bad alt text key", "no theme collection"])
def test_schema_validation_catches_corruption(project, schemas_root, case):
    visual_rel = _first(project, "/visual.json")
    page_rel = _first(project, "/page.json")
    report_rel = f"{NAME}.Report/definition/report.json"
    visual, page, report = (_json(project, r) for r in (visual_rel, page_rel, report_rel))
    rel, doc = {
        "extra property": (visual_rel, {**visual, "couleur": "rouge"}),
        "missing position": (visual_rel, {k: v for k, v in visual.items() if k != "position"}),
        "bad display option": (page_rel, {**page, "displayOption": "AjusterALaPage"}),
        "bad sort direction": (visual_rel, _with_sort(visual, "Croissant")),
        "bad alt text key": (visual_rel, _with_alt_key(visual, "texteAlternatif")),
        "no theme collection": (report_rel, {k: v for k, v in report.items() if k != "themeCollection"}),
    }[case]
    errors = check_schemas(_set(project, rel, doc), schemas_root)[rel]
    assert errors, case


def _with_sort(visual, direction):
    doc = copy.deepcopy(visual)
    field = {"Column": {"Expression": {"SourceRef": {"Entity": "Communes"}}, "Property": "Commune"}}
    doc["visual"].setdefault("query", {"queryState": {}})["sortDefinition"] = {
        "sort": [{"field": field, "direction": direction}]}
    return doc


def _with_alt_key(visual, key):
    doc = copy.deepcopy(visual)
    doc["visual"]["visualContainerObjects"]["general"] = [
        {"properties": {key: {"expr": {"Literal": {"Value": "'texte'"}}}}}]
    return doc


def test_schemas_are_read_offline_and_remote_refs_refused(schemas_root, tmp_path):
    from referencing.exceptions import Unresolvable

    registry = schema_registry(str(schemas_root))
    with pytest.raises(Unresolvable):
        registry.resolver().lookup("https://json.schemastore.org/package.json")
    assert "is not one of Microsoft's fabric schemas" in validate_json(
        {"$schema": "https://example.com/schema.json"}, str(schemas_root))[0]
    # A schema whose $ref leaves the local copy is refused, not fetched.
    root = tmp_path / "schemas"
    target = root / "fabric" / "item" / "report" / "definition" / "versionMetadata" / "9.0.0" / "schema.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"$schema": "http://json-schema.org/draft-07/schema#",
                                  "$id": "https://developer.microsoft.com/json-schemas/fabric/item/report/"
                                         "definition/versionMetadata/9.0.0/schema.json",
                                  "$ref": "https://example.com/remote.json"}))
    doc = {"$schema": "https://developer.microsoft.com/json-schemas/fabric/item/report/definition/"
                      "versionMetadata/9.0.0/schema.json", "version": "1"}
    errors = validate_json(doc, str(root))
    assert errors and "unresolvable" in errors[0], errors
    with pytest.raises(FileNotFoundError):
        schema_registry(str(tmp_path / "absent"))


# --- TMDL ------------------------------------------------------------------------------------

def test_tmdl_round_trip_equals_the_template_model(project, model_schema):
    assert roundtrip_differences(project, model_schema) == []
    tables = [rel for rel in project if rel.startswith(f"{NAME}.SemanticModel/definition/tables/")]
    assert len(tables) == len(model_schema["model"]["tables"])


def _edit_tmdl(project, table_file, old, new):
    rel = f"{NAME}.SemanticModel/definition/tables/{table_file}.tmdl"
    text = project[rel].decode("utf-8")
    assert old in text
    out = dict(project)
    out[rel] = text.replace(old, new, 1).encode("utf-8")
    return out


def test_tmdl_round_trip_catches_differences(project, model_schema):
    changed = _edit_tmdl(project, "Résultats par bloc", "formatString: 0.0 %;-0.0 %;0.0 %", "formatString: 0.00")
    assert any("formatString" in d for d in roundtrip_differences(changed, model_schema))
    changed = _edit_tmdl(project, "Résultats par bloc", "DIVIDE ( [Voix], [Exprimés] )",
                         "DIVIDE ( [Voix], [Inscrits] )")
    assert any("Part des voix" in d for d in roundtrip_differences(changed, model_schema))
    spaces = _edit_tmdl(project, "Communes", "\tcolumn 'Code commune'", "    column 'Code commune'")
    assert any("indentation with spaces" in d for d in roundtrip_differences(spaces, model_schema))
    model_rel = f"{NAME}.SemanticModel/definition/model.tmdl"
    orphan = dict(project)
    orphan[model_rel] = project[model_rel].decode("utf-8").replace("ref table Communes\n", "").encode("utf-8")
    assert any("refers to tables" in d for d in roundtrip_differences(orphan, model_schema))


def test_tmdl_parser_reads_names_descriptions_and_expressions():
    objects = parse_tmdl("/// Une table\ntable 'L''été'\n\tlineageTag: x\n\n"
                         "\tmeasure 'Part (%)' =\n\t\t\tVAR a = 1\n\t\t\tRETURN\n\t\t\t    a\n\t\tformatString: 0 %\n\n"
                         "\tcolumn Année\n\t\tdataType: int64\n\t\tisHidden\n")
    table = objects[0]
    assert (table["name"], table["description"]) == ("L'été", "Une table")
    measure, column = table["children"]
    assert measure["value"] == "VAR a = 1\nRETURN\n    a" and measure["props"]["formatString"] == "0 %"
    assert column["props"] == {"dataType": "int64", "isHidden": True}
    quoted = parse_tmdl('table T\n\tmeasure M = 1\n\t\tformatString: "+0.0"" pts"";-0.0"" pts"""\n')
    assert quoted[0]["children"][0]["props"]["formatString"] == '+0.0" pts";-0.0" pts"'


# --- fields and bindings against the model -------------------------------------------------------

def test_every_report_field_exists_in_the_tmdl_model(project):
    assert check_fields(project) == []


def test_field_check_catches_unknown_fields_and_bindings(project):
    rel = next(r for r in sorted(project) if r.endswith("/visual.json")
               and _json(project, r)["visual"].get("visualType") == "shapeMap")
    doc = _json(project, rel)
    text = json.dumps(doc, ensure_ascii=False).replace('"Property": "Code commune"', '"Property": "Code INSEE"')
    doc2 = json.loads(text)
    doc2["visual"]["visualContainerObjects"]["visualTooltip"][0]["properties"]["section"]["expr"]["Literal"][
        "Value"] = "'ReportSectionAbsente'"
    problems = check_fields(_set(project, rel, doc2))
    assert any("unknown column 'Communes'[Code INSEE]" in p for p in problems), problems
    assert any("is not a tooltip page" in p for p in problems), problems


# --- analyst UX -------------------------------------------------------------------------------------

def _pages(project):
    return {_json(project, r)["displayName"]: r.rsplit("/", 1)[0] for r in project if r.endswith("/page.json")}


def _visuals(project, page_dir):
    return [_json(project, r) for r in sorted(project) if r.startswith(page_dir + "/visuals/")
            and r.endswith("/visual.json")]


def test_drillthrough_and_tooltip_pages(project):
    pages = _pages(project)
    fiche = _json(project, pages["Fiche commune"] + "/page.json")
    assert fiche["pageBinding"]["type"] == "Drillthrough" and fiche["visibility"] == "HiddenInViewMode"
    assert fiche["filterConfig"]["filters"][0]["field"]["Column"]["Property"] == "Commune"
    tip = _json(project, pages["Infobulle commune"] + "/page.json")
    assert tip["type"] == "Tooltip" and (tip["width"], tip["height"]) == (320, 240)
    maps = [v for d in pages.values() for v in _visuals(project, d) if v["visual"]["visualType"] == "shapeMap"]
    assert len(maps) >= 6
    for v in maps:
        section = v["visual"]["visualContainerObjects"]["visualTooltip"][0]["properties"]["section"]
        assert section["expr"]["Literal"]["Value"] == f"'{tip['name']}'"


def test_every_visual_has_alt_text_and_every_slicer_a_default_or_a_documented_empty_state(project):
    from electio.powerbi.definition import load_definition

    for page in load_definition().pages:
        for visual in page["visual"]:
            if visual["type"] == "slicer":
                assert "default" in visual or visual.get("empty"), (page["id"], visual["id"])
    for page_dir in _pages(project).values():
        for v in _visuals(project, page_dir):
            if v["visual"]["visualType"] != "textbox":
                alt = v["visual"]["visualContainerObjects"]["general"][0]["properties"]["altText"]
                assert len(alt["expr"]["Literal"]["Value"]) > 5


def test_slicer_defaults_and_sync(project):
    slicers = [v for d in _pages(project).values() for v in _visuals(project, d)
               if v["visual"]["visualType"] == "slicer"]
    groups: dict[str, int] = {}
    for s in slicers:
        if "syncGroup" in s["visual"]:
            groups[s["visual"]["syncGroup"]["groupName"]] = groups.get(s["visual"]["syncGroup"]["groupName"], 0) + 1
    assert groups["election"] >= 3 and groups["hypothese"] >= 2 and groups["bloc_choisi"] >= 2
    defaults = {json.dumps(s["visual"]["objects"]["general"][0]["properties"]["filter"], ensure_ascii=False)
                for s in slicers if "general" in s["visual"].get("objects", {})}
    assert any("'Population municipale'" in d for d in defaults)
    assert any("'Statu quo'" in d for d in defaults)


def test_slicer_defaults_exist_in_the_warehouse(warehouse):
    # A default that names no row would open the page blank: check the labels against the data.
    with sqlite3.connect(sqlite_path(warehouse.db_url)) as db:
        indicators = {r[0] for r in db.execute("SELECT label_fr FROM dim_indicator")}
        blocs = {r[0] for r in db.execute("SELECT label_fr FROM dim_bloc")}
        types = {r[0] for r in db.execute("SELECT DISTINCT election_type FROM dim_scenario")}
    from electio.powerbi.definition import load_definition

    for page in load_definition().pages:
        for visual in page["visual"]:
            field = visual.get("fields", {}).get("Values", [""])[0]
            for value in visual.get("default", []):
                if "Indicateur" in field:
                    assert value in indicators
                elif "Bloc" in field:
                    assert value in blocs
                elif "Élection prévue" in field:  # the label of a type, as the model's column gives it
                    codes = {"Présidentielle": "presidentielle", "Législatives": "legislatives",
                             "Européennes": "europeennes"}
                    assert codes[value] in types


def test_phone_layouts(project):
    pages = _pages(project)
    for name in ("Vue d'ensemble", "Fiche commune"):
        mobiles = [r for r in project if r.startswith(pages[name] + "/visuals/") and r.endswith("/mobile.json")]
        assert len(mobiles) >= 5, name


def test_theme_is_valid_and_uses_the_bloc_colours(warehouse, schemas_root):
    import jsonschema

    schema = json.loads(THEME_SCHEMA.read_text(encoding="utf-8"))
    theme = report_theme()
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(theme)) == []
    bad = {**theme, "dataColors": "rouge"}
    assert list(jsonschema.validators.validator_for(schema)(schema).iter_errors(bad))
    with sqlite3.connect(sqlite_path(warehouse.db_url)) as db:
        colours = [r[0] for r in db.execute("SELECT color_hex FROM dim_bloc ORDER BY sort_order")]
    assert theme["dataColors"][:len(colours)] == colours


def test_local_settings_are_ignored(project):
    assert ".pbi/localSettings.json" in project[".gitignore"].decode() and "cache.abf" in project[".gitignore"].decode()
    assert not any("/.pbi/" in rel for rel in project)


def test_committed_project_is_up_to_date(project):
    committed = read_project(PROJECT_ROOT / "powerbi")
    assert sorted(committed) == sorted(project), "run `electio powerbi build` and commit powerbi/"
    stale = [rel for rel in project if committed[rel] != project[rel]]
    assert stale == [], f"{stale[:5]} differ from a fresh build: run `electio powerbi build`"
