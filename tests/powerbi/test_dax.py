"""DAX: every measure, calculated column and table parses and refers to the model."""

from __future__ import annotations

import pytest

from electio.powerbi.validate import check_dax, dax_expressions, parse_dax

from .helpers import measure, table, with_model

#: The measures the issue asks for, with their display format.
REQUIRED_MEASURES = {
    "Part des voix": "0.0 %;-0.0 %;0.0 %",
    "Participation (%)": "0.0 %;-0.0 %;0.0 %",
    "Évolution depuis l'élection précédente (pts)": '+0.0" pts";-0.0" pts";0.0" pts"',
    "Part prévue": "0.0 %;-0.0 %;0.0 %",
    "Part prévue (département)": "0.0 %;-0.0 %;0.0 %",
    "Probabilité d'arriver en tête": "0 %;-0 %;0 %",
    "MAE pondérée (pts)": "0.00",
    "Erreur absolue moyenne (pts)": "0.00",
}


def test_every_dax_expression_parses_and_refers_to_the_model(template):
    assert len(dax_expressions(template.model)) > 50
    assert check_dax(template) == []


def test_required_measures(template):
    for name, fmt in REQUIRED_MEASURES.items():
        assert measure(template.model, name)["formatString"] == fmt


def test_parser_rejects_broken_dax():
    assert parse_dax("DIVIDE ( [a], [b] )") is None
    assert parse_dax("DIVIDE ( [a], [b] ") is not None
    assert parse_dax("SUM ( 'T'[c] ) )") is not None
    assert parse_dax("VAR x = 1 RETURN") is not None


def _set_measure(name, text):
    def change(model):
        measure(model, name)["expression"] = text
    return change


CORRUPTIONS = {
    "unbalanced parenthesis": (_set_measure("Part des voix", "DIVIDE ( [Voix], [Exprimés] "), "does not parse"),
    "trailing text": (_set_measure("Part des voix", "DIVIDE ( [Voix], [Exprimés] ) )"), "does not parse"),
    "unknown column": (_set_measure("Voix", "SUM ( 'Résultats par bloc'[Voix totales] )"), "unknown column"),
    "unknown table": (_set_measure("Voix", "COUNTROWS ( 'Résultats' )"), "unknown table"),
    "unknown measure": (_set_measure("Part des voix", "DIVIDE ( [Voix], [Suffrages] )"), "unknown measure"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_dax_check_fails_on_corrupted_measure(warehouse_template, corruption):
    change, expected = CORRUPTIONS[corruption]
    problems = check_dax(with_model(warehouse_template, change))
    assert any(expected in p for p in problems), problems


def test_dax_check_fails_on_corrupted_calculated_table_and_column(warehouse_template):
    def change(model):
        table(model, "Années")["partitions"][0]["source"]["expression"] = "GENERATESERIES ( 2000, "
        column = next(c for c in table(model, "Élections")["columns"] if c.get("type") == "calculated")
        column["expression"] = "SWITCH ( 'Élections'[Type] , 1 )"
    problems = check_dax(with_model(warehouse_template, change))
    assert any("calculated table 'Années'" in p for p in problems), problems
    assert any("'Élections'[Type]" in p for p in problems), problems
