"""French formatting and wording of the report."""

from __future__ import annotations

import pytest

from electio.report.labels import date_fr, datetime_fr, metric_label, publisher_short, size_band_label
from electio.report.registry import Registry, fr_number


@pytest.mark.parametrize("value,digits,signed,expected", [
    (1914667, 0, False, "1\u202f914\u202f667"), (27.113, 1, False, "27,1"), (-0.04, 1, False, "0,0"),
    (-4.26, 1, True, "\u22124,3"), (3.6, 1, True, "+3,6"), (0, 1, True, "0,0"), (float("nan"), 1, False, "n.d."),
])
def test_fr_number(value, digits, signed, expected):
    assert fr_number(value, digits, signed) == expected


def test_labels():
    assert metric_label("coverage_80") == "Couverture de l'intervalle à 80 % (%)"
    assert metric_label("wmae").startswith("MAE pondérée")
    assert size_band_label("lt1k") == "moins de 1\u202f000 inscrits"
    assert size_band_label("5k_20k") == "5\u202f000 à 20\u202f000 inscrits"
    assert size_band_label("gt20k") == "20\u202f000 inscrits et plus"
    assert metric_label("turnout_coverage_80") == "Participation : couverture de l'intervalle à 80 % (%)"
    assert metric_label("mae_size_lt1k") == "MAE, communes de moins de 1\u202f000 inscrits (points)"
    assert date_fr("2022-04-10") == "10/04/2022"
    assert datetime_fr("2026-11-23 19:28:51") == "23/11/2026 à 19\u00a0h\u00a028 (UTC)"
    assert datetime_fr("2026-11-23 09:05:00") == "23/11/2026 à 9\u00a0h\u00a005 (UTC)"
    assert publisher_short("INSEE - Filosofi 2019 (base-cc-filosofi-2019)") == "INSEE - Filosofi 2019"


def test_registry_refuses_untraced_values_and_escapes_text():
    reg = Registry()
    with pytest.raises(ValueError):
        reg.number(3, source="nowhere")
    span = reg.text("<b>Lyon</b>", source="dim_commune", sql="SELECT 1")
    assert "&lt;b&gt;" in span and 'data-ref="v1"' in span


def test_a_tie_for_first_counts_the_commune_once():
    """Commune 'b' has two blocs equally likely first: it goes to the higher central value, and the
    traced SQL counts the same (in the Rhône, legislative 2027 counted 267 of 266 communes)."""
    import sqlite3

    import pandas as pd

    from electio.report.datasets import first_bloc_counts

    rows = [("s", "a", "x", 60.0, 0.9), ("s", "a", "y", 40.0, 0.1), ("s", "b", "x", 45.0, 0.461),
            ("s", "b", "y", 46.0, 0.461), ("s", "b", "z", 9.0, 0.078), ("s", "c", "x", 30.0, 0.5),
            ("s", "c", "y", 30.0, 0.5), ("s", "a", "turnout", 70.0, None)]
    ff = pd.DataFrame(rows, columns=["scenario_id", "commune_code", "target", "predicted", "probability_first"])
    traced = first_bloc_counts({"fact_forecast": ff})
    assert traced.frame.set_index("target")["communes"].to_dict() == {"x": 2, "y": 1}  # a, c (x < y) / b
    with sqlite3.connect(":memory:") as conn:
        ff.to_sql("fact_forecast", conn, index=False)
        sql = traced.cols["communes"].sql
        counts = {t: conn.execute(sql, {"scenario_id": "s", "target": t}).fetchone()[0] for t in ("x", "y", "z")}
    assert counts == {"x": 2, "y": 1, "z": 0}


def test_points_take_the_french_plural_from_two():
    from markupsafe import Markup

    from electio.report.labels import points_fr

    assert points_fr("1,81") == "1,81 point" and points_fr("1,5") == "1,5 point"
    assert points_fr("\u22121,5") == "\u22121,5 point"
    assert points_fr("2,00") == "2,00 points" and points_fr("4,56") == "4,56 points"
    traced = Markup('<span class="v">1,2</span>')  # a traced value, as the report prints it
    assert points_fr(traced) == Markup('<span class="v">1,2</span> point')
