"""The data the templates read: SQLite through the ODBC driver, and the CSV extracts."""

from __future__ import annotations

from electio.powerbi.validate import (check_csv_exports, check_sqlite_odbc, native_query_problems, odbc_navigation,
                                      sqlite_odbc_driver)
from electio.warehouse.load import sqlite_path

from .helpers import partition_m, set_partition_m, with_model


def test_sqlite_odbc_driver_is_installed(sqlite_odbc):
    # Debian's libsqliteodbc (installed by tests/provision.py) registers "SQLite3"; missing fails, never skips.
    assert "sqlite3" in sqlite_odbc_driver().lower()


def test_odbc_navigation_replays_through_the_driver(sqlite_odbc, warehouse, warehouse_template):
    items = odbc_navigation(warehouse_template.model)
    assert len(items) == sum(1 for t in warehouse_template.model["tables"]
                             if t["partitions"][0]["source"]["type"] == "m")
    assert native_query_problems(warehouse_template.model) == []
    assert check_sqlite_odbc(warehouse_template, sqlite_path(warehouse.db_url)) == []


def _edit_query(old, new):
    def change(model):
        text = partition_m(model, "Communes")
        assert old in text
        set_partition_m(model, "Communes", text.replace(old, new))
    return change


def test_odbc_check_fails_on_a_broken_navigation(sqlite_odbc, warehouse, warehouse_template):
    db = sqlite_path(warehouse.db_url)
    renamed = with_model(warehouse_template, _edit_query('"commune_name",', '"commune_label",'))
    assert any("the model expects" in p for p in check_sqlite_odbc(renamed, db))
    unknown = with_model(warehouse_template, _edit_query('Name = "dim_commune"', 'Name = "dim_communes"'))
    assert any("is not a table of the ODBC source" in p for p in check_sqlite_odbc(unknown, db))
    native = with_model(warehouse_template, _edit_query(
        'Odbc.DataSource(Connexion, [HierarchicalNavigation = false]){[Name = "dim_commune", Kind = "Table"]}[Data]',
        'Odbc.Query(Connexion, "SELECT * FROM dim_commune")'))
    problems = check_sqlite_odbc(native, db)
    assert any("sends a native query" in p for p in problems), problems
    assert any("no Odbc.DataSource navigation step" in p for p in problems), problems


def test_csv_variant_reads_the_exported_headers(warehouse, csv_template):
    assert check_csv_exports(csv_template, warehouse.exports_dir) == []


def test_csv_check_fails_on_a_wrong_header_or_file(warehouse, csv_template, tmp_path):
    def rename(model):
        set_partition_m(model, "Communes", partition_m(model, "Communes").replace('"commune_name"', '"nom"'))
    problems = check_csv_exports(with_model(csv_template, rename), warehouse.exports_dir)
    assert any("dim_commune.csv: header" in p for p in problems), problems
    problems = check_csv_exports(csv_template, tmp_path)
    assert any("does not exist" in p for p in problems)
    bad = tmp_path / "exports"
    bad.mkdir()
    for f in warehouse.exports_dir.glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        if f.name == "dim_commune.csv":  # a French-locale export: decimal commas
            text = text.replace("45.84515", '"45,84515"')
        (bad / f.name).write_text(text, encoding="utf-8")
    problems = check_csv_exports(csv_template, bad)
    assert any("'45,84515' does not convert to double" in p for p in problems), problems
