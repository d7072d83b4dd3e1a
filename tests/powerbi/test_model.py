"""The model against sql/schema.sql, its relationships, and the generator's own refusals."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from electio.powerbi.definition import DefinitionError, load_definition
from electio.powerbi.model import build_model
from electio.powerbi.sqltypes import schema_tables
from electio.powerbi.validate import check_model_vs_schema
from electio.settings import project_file

from .helpers import partition_m, set_partition_m, table, with_model


def test_model_matches_schema(template):
    assert check_model_vs_schema(template) == []


def test_definition_names_every_schema_table_and_column():
    # Strict build: a table or column of sql/schema.sql without a French name (or an
    # explicit exclusion) in powerbi/definition/model.toml fails here.
    spec = build_model(load_definition(), strict=True)
    assert {t.sql_name for t in spec.sql_tables} <= set(schema_tables())


def test_every_schema_table_is_exposed_or_excluded_with_a_reason(template):
    model_tables = {t["name"] for t in template.model["tables"]}
    declared = load_definition().model["tables"]
    for sql_name in schema_tables():
        spec = declared[sql_name]
        assert ("exclude" in spec and len(spec["exclude"]) > 20) or spec["name"] in model_tables


def _column(model, table_name, name):
    return next(c for c in table(model, table_name)["columns"] if c["name"] == name)


def _set(table_name, column, key, value):
    def change(model):
        _column(model, table_name, column)[key] = value
    return change


def _drop_column(table_name, column):
    def change(model):
        cols = table(model, table_name)["columns"]
        cols.remove(_column(model, table_name, column))
    return change


def _edit_m(table_name, old, new):
    def change(model):
        set_partition_m(model, table_name, partition_m(model, table_name).replace(old, new))
    return change


def _relationship(key, value):
    def change(model):
        model["relationships"][0][key] = value
    return change


CORRUPTIONS = {
    "incompatible type": (_set("Communes", "Population", "dataType", "string"), "incompatible with dim_commune"),
    "unknown source column": (_set("Communes", "Population", "sourceColumn", "habitants"), "is not in dim_commune"),
    "column missing from the model": (_drop_column("Communes", "Latitude"), "missing from the model: ['latitude']"),
    "wrong Power Query type": (_edit_m("Participation", '{"voters", Int64.Type}', '{"voters", type text}'),
                               "types fact_turnout.voters as type text"),
    "no explicit culture": (_edit_m("Participation", ', "en-US")', ")"), "without an explicit culture"),
    "table not in the schema": (_edit_m("Blocs", "dim_bloc", "dim_blocs"), "not a table of sql/schema.sql"),
    "relationship to unknown column": (_relationship("toColumn", "Code"), "does not exist"),
    "relationship between different types": (_relationship("fromColumn", "Inscrits (ligne)"), "types int64 and string"),
    "relationship to a non-key column": (_relationship("toColumn", "Type d'élection"), "not the primary key"),
    "unknown sort column": (_set("Élections", "Élection", "sortByColumn", "Date"), "sort column 'Date'"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_model_check_fails_on_corrupted_template(warehouse_template, corruption):
    change, expected = CORRUPTIONS[corruption]
    problems = check_model_vs_schema(with_model(warehouse_template, change))
    assert any(expected in p for p in problems), problems


def test_relationships_form_unambiguous_single_direction_paths(template):
    model = template.model
    edges = defaultdict(set)  # filters flow from the one side (to) to the many side (from)
    for rel in model["relationships"]:
        assert rel.get("crossFilteringBehavior", "oneDirection") == "oneDirection"
        edges[rel["toTable"]].add(rel["fromTable"])

    def paths(src, dst, seen=()):
        if src == dst:
            return 1
        return sum(paths(nxt, dst, seen + (src,)) for nxt in edges[src] if nxt not in seen)

    names = [t["name"] for t in model["tables"]]
    for src in names:
        for dst in names:
            if src != dst:
                assert paths(src, dst) <= 1, f"ambiguous filter paths from {src} to {dst}"
    facts = ["Participation", "Résultats par bloc", "Backtests", "Prévisions", "Valeurs des indicateurs"]
    for fact in facts:
        assert paths("Communes", fact) == 1
    assert paths("Années", "Résultats par bloc") == 1 and paths("Années", "Prévisions") == 1


def test_french_display_names_and_formats(template):
    model = template.model
    assert model["culture"] == "fr-FR"
    communes = table(model, "Communes")
    assert _column(model, "Communes", "Latitude")["dataCategory"] == "Latitude"
    assert _column(model, "Communes", "Longitude")["dataCategory"] == "Longitude"
    assert _column(model, "Élections", "Élection")["sortByColumn"] == "Date du scrutin"
    assert communes["columns"][0]["sourceColumn"] == "commune_code" and communes["columns"][0]["name"] == "Code commune"
    assert table(model, "Années")["partitions"][0]["source"]["type"] == "calculated"
    annotations = {a["name"]: a["value"] for a in model["annotations"]}
    assert annotations["__PBI_TimeIntelligenceEnabled"] == "0"


def _definition_copy(tmp_path: Path) -> Path:
    root = tmp_path / "definition"
    shutil.copytree(project_file("powerbi/definition"), root)
    return root


def _edit(root: Path, file: str, old: str, new: str) -> None:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("file, old, new, message", [
    ("model.toml", 'population = { name = "Population", format = "#,0", summarize = "sum" }\n', "",
     "column population of sql/schema.sql has no French name"),
    ("model.toml", "[tables.fact_turnout_bureau]", "[tables.fact_turnout_bureaux]", "absent from sql/schema.sql"),
    ("model.toml", 'to = "Années[Année]"', 'to = "Années[Annee]"', "unknown column"),
    ("measures.toml", 'name = "Inscrits"', 'name = "Voix"', "declared twice"),
    ("measures.toml", 'name = "Inscrits"', 'name = "Population"', "has the name of a column"),
])
def test_generator_refuses_an_inconsistent_definition(tmp_path, file, old, new, message):
    root = _definition_copy(tmp_path)
    _edit(root, file, old, new)
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(").replace("[", r"\[")):
        build_model(load_definition(root))
