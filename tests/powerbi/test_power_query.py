"""Power Query (M): every expression parses with Microsoft's parser; parameters are prompted."""

from __future__ import annotations

import re

import pytest

from electio.powerbi.validate import check_m, m_expressions, m_parser_problem, parse_m

from .helpers import partition_m, set_partition_m, with_model


@pytest.mark.usefixtures("node_validators")
def test_m_parser_is_installed():
    # A missing parser fails (never skips) with what to install: tests/provision.py runs `npm ci`.
    assert m_parser_problem() is None


@pytest.mark.usefixtures("node_validators")
def test_every_m_expression_parses(template):
    model = template.model
    texts = m_expressions(model)
    data_tables = [t for t in model["tables"] if t["partitions"][0]["source"]["type"] == "m"]
    assert len(texts) == len(data_tables) + len(model["expressions"])
    assert check_m(template) == []


@pytest.mark.usefixtures("node_validators")
def test_parser_rejects_broken_m():
    results = parse_m({"ok": "let a = 1 in a", "broken": "let a = in a", "unclosed": "let a = (1 in a"})
    assert results["ok"] is None
    assert results["broken"] and results["unclosed"]


@pytest.mark.usefixtures("node_validators")
def test_m_check_fails_on_broken_partition(warehouse_template):
    def change(model):
        text = partition_m(model, "Communes")
        set_partition_m(model, "Communes", text.replace("Table.SelectColumns(Source,", "Table.SelectColumns(Source"))
    problems = check_m(with_model(warehouse_template, change))
    assert len(problems) == 1 and "table Communes" in problems[0], problems


@pytest.mark.usefixtures("node_validators")
def test_m_check_fails_on_broken_parameter(csv_template):
    def change(model):
        model["expressions"][0]["expression"] = 'C:\\exports" meta [IsParameterQuery=true]'
    problems = check_m(with_model(csv_template, change))
    assert any("expression Dossier des exports CSV" in p for p in problems), problems


def test_parameters_are_prompted_by_desktop(built, template):
    params = {e["name"]: e["expression"] for e in template.model["expressions"]}
    meta = re.compile(r'^"[^"]*" meta \[IsParameterQuery=true, .*Type="Text", IsParameterQueryRequired=(true|false)\]$')
    assert params and all(meta.match(text) for text in params.values()), params
    if "Dossier des exports CSV" in params:
        assert set(params) == {"Dossier des exports CSV"}
    else:
        assert set(params) == {"Source de données", "Fichier SQLite", "Chaîne de connexion ODBC",
                               "Serveur SQL Server", "Base SQL Server", "Schéma SQL Server"}
        assert 'List={"SQLite (ODBC)", "SQL Server"}' in params["Source de données"]


def test_sources_and_invariant_culture(warehouse_template, csv_template):
    sql = partition_m(warehouse_template.model, "Résultats par bloc")
    assert 'Sql.Database(#"Serveur SQL Server", #"Base SQL Server")' in sql
    assert ('Odbc.DataSource(Connexion, [HierarchicalNavigation = false])'
            '{[Name = "fact_election_result", Kind = "Table"]}[Data]') in sql
    assert "Odbc.Query" not in sql  # no native query, so no approval prompt
    assert "Driver={SQLite3 ODBC Driver}" in sql
    csv = partition_m(csv_template.model, "Résultats par bloc")
    assert 'File.Contents(Dossier & "\\fact_election_result.csv")' in csv
    assert "Encoding = 65001" in csv
    for text in (sql, csv):
        assert '{"share_expressed", type number}' in text
        assert text.rstrip().endswith("in\n    Types")
        assert '}, "en-US")' in text
