"""Extracts for analysts: SQL views of the warehouse, CSV for tools and for a French Excel, workbook."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest
import sqlglot

import electio.export as export
from electio.cache import _ACTIVE, StageCache, content_keys
from electio.export import (FORECAST_SHEETS, FORECAST_WORKBOOK, SHOWN_AS_VIEW, WORKBOOK, excel_fr_frame,
                            export_tables)
from electio.warehouse.read import read_views
from electio.settings import project_file
from electio.warehouse.load import write_warehouse
from electio.warehouse.schema import statements, table_columns, view_names


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=table_columns()[table])


def small_warehouse() -> dict[str, pd.DataFrame]:
    """Two communes (one with a leading zero, one Corsican), one election, two blocs, one indicator, one scenario."""
    communes = [
        dict(commune_code="01001", commune_name="L'Abergement-Clémenciat", departement_code="01",
             territory="departement", epci_code="200069193", epci_name='CC "Dombes"; Saône', canton_code="0108",
             population=832, area_km2=15.95, latitude=46.15, longitude=4.92, cog_vintage=2026),
        dict(commune_code="2A004", commune_name="Ajaccio", departement_code="2A", territory="departement",
             epci_code=None, epci_name=None, canton_code=None, population=None, area_km2=None, latitude=None,
             longitude=None, cog_vintage=2026),
    ]
    election = dict(election_id="pres_2012_t1", election_type="presidentielle", election_year=2012, round_number=1,
                    election_date=date(2012, 4, 22), label_fr="Présidentielle 2012, 1er tour",
                    source_id="src", source_file="f.csv")
    blocs = [dict(bloc_code="gauche", label_fr="Gauche", sort_order=2, color_hex="#E00000"),
             dict(bloc_code="droite", label_fr="Droite", sort_order=4, color_hex="#0055A4")]
    turnout = [dict(election_id="pres_2012_t1", commune_code=c, registered=600, voters=480, blank=5,
                    null_ballots=3, blank_and_null=8, expressed=472, turnout_pct=80.0) for c in ("01001", "2A004")]
    results = [dict(election_id="pres_2012_t1", commune_code=c, bloc_code=b, votes=v, share_expressed=v / 4.72,
                    n_labels=2) for c in ("01001", "2A004") for b, v in (("gauche", 200), ("droite", 272))]
    indicator = dict(indicator_code="population", label_fr="Population municipale", family="population",
                     unit="personnes", aggregation="sum", weight_indicator=None, level="commune", source_id="src",
                     definition="Population")
    values = [dict(commune_code="01001", indicator_code="population", indicator_year=2021, value=832.0,
                   is_suppressed=0, is_imputed=0, is_reaggregated=0, published_on=date(2023, 12, 28),
                   source_file="f.csv")]
    scenario = dict(scenario_id="pres_h1", label_fr="Présidentielle 2027", reference_year=2022, horizon_years=1,
                    target_year=2027, election_type="presidentielle", swing="status_quo", description="d")
    forecast = [dict(scenario_id="pres_h1", commune_code="01001", target=t, predicted=p, interval_low=p - 5,
                     interval_high=p + 5, probability_first=q)
                for t, p, q in (("gauche", 40.5, 0.25), ("droite", 59.5, 0.75), ("turnout", 78.0, None))]
    return {"dim_commune": _frame("dim_commune", communes), "dim_election": _frame("dim_election", [election]),
            "dim_bloc": _frame("dim_bloc", blocs), "fact_turnout": _frame("fact_turnout", turnout),
            "fact_election_result": _frame("fact_election_result", results),
            "dim_indicator": _frame("dim_indicator", [indicator]), "fact_indicator": _frame("fact_indicator", values),
            "dim_scenario": _frame("dim_scenario", [scenario]), "fact_forecast": _frame("fact_forecast", forecast)}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    url = f"sqlite:///{root / 'w.sqlite'}"
    write_warehouse(url, small_warehouse())
    export_tables(url, root / "exports")
    return url, root / "exports"


def test_views_sql_is_portable():
    text = project_file("sql/views.sql").read_text(encoding="utf-8")
    stmts = statements(text)
    assert len(stmts) == 2 * len(view_names()) == 8
    for stmt in stmts:
        for dialect in ("tsql", "sqlite"):
            assert sqlglot.parse_one(stmt, read=dialect) is not None
        assert "ORDER BY" not in stmt.upper()  # SQL Server refuses ORDER BY in a view


def test_load_creates_the_views(exported):
    url, _ = exported
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        views = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert views == set(view_names())
    flat = read_views(url)
    results = flat["v_resultats_communes"]
    assert len(results) == 4 and results["commune_code"].tolist() == ["01001", "01001", "2A004", "2A004"]
    assert results["bloc_label"].tolist() == ["Droite", "Gauche", "Droite", "Gauche"]
    assert results["election_date"].iloc[0] == pd.Timestamp(2012, 4, 22)
    turnout = flat["v_participation_communes"]
    assert turnout["abstention_pct"].tolist() == [20.0, 20.0]
    forecast = flat["v_previsions_communes"].set_index("target")
    assert forecast.loc["turnout", "target_label"] == "Participation" and forecast.loc["gauche", "target_label"] == "Gauche"
    assert flat["v_indicateurs_communes"]["indicator_label"].tolist() == ["Population municipale"]


def test_reloading_replaces_the_views(exported, tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    write_warehouse(url, small_warehouse())
    write_warehouse(url, small_warehouse())  # DROP VIEW IF EXISTS: a second load does not fail
    assert set(read_views(url)) == set(view_names())


def test_tool_csv_is_plain_utf8(exported):
    _, out = exported
    raw = (out / "v_resultats_communes.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out / "v_resultats_communes.csv", dtype={"commune_code": str})
    assert frame["commune_code"].iloc[0] == "01001" and frame["election_date"].iloc[0] == "2012-04-22"


def test_excel_fr_csv_opens_in_a_french_excel(exported):
    _, out = exported
    raw = (out / "excel-fr" / "v_resultats_communes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8, not Windows-1252
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, first = rows[0], dict(zip(rows[0], rows[1]))
    assert len(rows) == 5 and "share_expressed" in header
    assert first["commune_code"] == '="01001"'  # kept as text: no lost leading zero
    assert first["election_date"] == "22/04/2012"
    assert first["share_expressed"] == "57,6271186440678"  # 272 / 4.72, decimal comma
    assert first["turnout_pct"] == "80,0"
    corsica = dict(zip(header, rows[3]))
    assert corsica["commune_code"] == "2A004"  # Excel keeps it as text anyway
    communes = list(csv.reader(io.StringIO((out / "excel-fr" / "dim_commune.csv").read_text("utf-8-sig")),
                               delimiter=";"))
    first_commune = dict(zip(communes[0], communes[1]))
    assert first_commune["epci_name"] == 'CC "Dombes"; Saône'  # quoted, not split
    assert first_commune["population"] == "832" and first_commune["area_km2"] == "15,95"  # INT with NULLs stays whole


def test_excel_fr_frame_protects_what_excel_would_convert():
    frame = pd.DataFrame({"code": ["01001", "2A004", "1E5", "=cmd", "12/04", "1.5", "09:30", "Lyon", None],
                          "x": [1.5, 2.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})
    cells = excel_fr_frame(frame)
    assert cells["code"].tolist()[:8] == ['="01001"', "2A004", '="1E5"', '="=cmd"', '="12/04"', '="1.5"', '="09:30"',
                                          "Lyon"]
    assert pd.isna(cells["code"].iloc[8])
    assert cells["x"].equals(frame["x"])


def test_workbook_has_frozen_headers_filters_widths_dates_and_text_codes(exported):
    _, out = exported
    book = openpyxl.load_workbook(out / WORKBOOK)
    # Facts are shown through their view (with labels); their CSV stays.
    assert not set(SHOWN_AS_VIEW) & set(book.sheetnames)
    assert {"sommaire", "dim_commune", "v_resultats_communes", "dictionnaire"} <= set(book.sheetnames)
    sheet = book["v_resultats_communes"]
    header = [c.value for c in sheet[1]]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}5"
    col = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
    assert sheet.column_dimensions[col["election_label"]].width >= len("Présidentielle 2012, 1er tour")
    date = sheet[f"{col['election_date']}2"]
    assert date.value == datetime(2012, 4, 22) and date.number_format == "dd/mm/yyyy"
    code = sheet[f"{col['commune_code']}2"]
    assert code.value == "01001" and code.data_type == "s"
    assert sheet[f"{col['votes']}2"].value == 272
    contents = pd.read_excel(out / WORKBOOK, sheet_name="sommaire")
    assert "onglet v_resultats_communes" in contents.set_index("table").loc["fact_election_result", "fichier"]


def test_forecasts_have_their_own_workbook(exported):
    _, out = exported
    main = openpyxl.load_workbook(out / WORKBOOK, read_only=True).sheetnames
    forecast = openpyxl.load_workbook(out / FORECAST_WORKBOOK, read_only=True).sheetnames
    assert not set(FORECAST_SHEETS) & set(main) and "dim_commune" not in forecast
    assert {"sommaire", "dim_scenario", "v_previsions_communes", "dictionnaire"} <= set(forecast)
    contents = pd.read_excel(out / WORKBOOK, sheet_name="sommaire").set_index("table")
    # listed in the main contents, without a row count: the main workbook does not change with them
    assert FORECAST_WORKBOOK in contents.loc["fact_forecast", "fichier"] and pd.isna(contents.loc["fact_forecast", "lignes"])
    assert contents.loc["fact_turnout", "lignes"] == 2
    other = pd.read_excel(out / FORECAST_WORKBOOK, sheet_name="sommaire").set_index("table")
    assert other.loc["fact_forecast", "lignes"] == 3 and WORKBOOK in other.loc["dim_commune", "fichier"]
    assert set(pd.read_excel(out / FORECAST_WORKBOOK, sheet_name="dictionnaire")["table"]) <= set(FORECAST_SHEETS)


def test_a_changed_scenario_rewrites_the_forecast_workbook_only(tmp_path, monkeypatch):
    written = []
    real = export.write_workbook
    monkeypatch.setattr(export, "write_workbook", lambda path, *a: written.append(path.name) or real(path, *a))
    tables = small_warehouse()
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    token = _ACTIVE.set(StageCache(tmp_path / "data"))  # as inside a cached refresh
    try:
        for predicted in (40.5, 41.5, 41.5):
            tables["fact_forecast"] = tables["fact_forecast"].assign(predicted=[predicted, 59.5, 78.0])  # a new frame
            write_warehouse(url, tables)
            export_tables(url, tmp_path / "exports", keys=content_keys(tables))
    finally:
        _ACTIVE.reset(token)
    assert written == [WORKBOOK, FORECAST_WORKBOOK, FORECAST_WORKBOOK]
    sheet = pd.read_excel(tmp_path / "exports" / FORECAST_WORKBOOK, sheet_name="v_previsions_communes")
    assert 41.5 in sheet["predicted"].tolist()
    assert openpyxl.load_workbook(tmp_path / "exports" / WORKBOOK, read_only=True).sheetnames[0] == "sommaire"


def test_cells_longer_than_excel_allows_stay_in_csv(tmp_path):
    tables = small_warehouse()
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    tables["dim_indicator"].loc[0, "definition"] = "x" * 40_000  # beyond Excel's 32,767 characters a cell
    write_warehouse(url, tables)
    export_tables(url, tmp_path / "exports")
    assert "dim_indicator" not in openpyxl.load_workbook(tmp_path / "exports" / WORKBOOK, read_only=True).sheetnames
    assert len(pd.read_csv(tmp_path / "exports" / "dim_indicator.csv")["definition"].iloc[0]) == 40_000


def test_exports_are_readable_by_others(exported):
    _, out = exported
    assert out.stat().st_mode & 0o755 == 0o755
    assert (out / "excel-fr").stat().st_mode & 0o755 == 0o755
