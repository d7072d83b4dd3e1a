"""Warehouse writes: atomic swap on SQLite, one transaction elsewhere, secrets masked."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from electio.errors import ElectioError
from electio.warehouse import load
from electio.warehouse.secrets import mask_secrets

BLOCS = pd.DataFrame({"bloc_code": ["gauche", "droite"], "label_fr": ["Gauche", "Droite"], "sort_order": [1, 2],
                      "color_hex": ["#E4572E", "#3066BE"]})


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(f"select count(*) from {table}")).scalar()
    engine.dispose()
    return n


def test_sqlite_swap_replaces_content(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    load.write_warehouse(url, {"dim_bloc": BLOCS})
    load.write_warehouse(url, {"dim_bloc": BLOCS.head(1)})
    assert count(url, "dim_bloc") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["w.sqlite"]


def test_columns_must_match_the_schema(tmp_path):
    with pytest.raises(ElectioError, match="dim_bloc: columns"):
        load.write_warehouse(f"sqlite:///{tmp_path / 'w.sqlite'}", {"dim_bloc": BLOCS.drop(columns="color_hex")})
    with pytest.raises(ElectioError, match="'dim_nothing' is not in sql/schema.sql"):
        load.write_warehouse(f"sqlite:///{tmp_path / 'w.sqlite'}", {"dim_nothing": BLOCS})


def test_foreign_keys_are_enforced(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    load.write_warehouse(url, {"dim_bloc": BLOCS})
    orphan = pd.DataFrame({"election_id": ["x"], "label": ["L"], "label_kind": ["list"], "display_name": ["L"],
                           "bloc_code": ["gauche"], "rationale": ["r"]})
    with pytest.raises(Exception, match="FOREIGN KEY"):
        load.write_warehouse(url, {"dim_bloc": BLOCS, "dim_nuance": orphan})
    assert count(url, "dim_bloc") == 2  # previous content kept


def test_transaction_path_creates_refills_and_rolls_back(tmp_path, monkeypatch):
    """The non-SQLite path (SQL Server in production), exercised on a SQLite file."""
    url = f"sqlite:///{tmp_path / 't.sqlite'}"
    load._write_transaction(url, {"dim_bloc": BLOCS})  # creates the schema on an empty database
    load._write_transaction(url, {"dim_bloc": BLOCS})  # idempotent: emptied then refilled
    assert count(url, "dim_bloc") == 2
    monkeypatch.setattr(load, "_records", lambda frame: [(None, "x", 1, "#000000")])
    with pytest.raises(ElectioError, match="warehouse load failed, previous content kept"):
        load._write_transaction(url, {"dim_bloc": BLOCS.head(1)})
    assert count(url, "dim_bloc") == 2


@pytest.mark.parametrize("secret,masked", [
    ("mssql+pyodbc://loader:S3cr%21t@db.example/electio?driver=ODBC+Driver+18",
     "mssql+pyodbc://loader:***@db.example/electio?driver=ODBC+Driver+18"),
    ("DRIVER={ODBC Driver 18};SERVER=db;UID=loader;PWD={p;w}", "DRIVER={ODBC Driver 18};SERVER=db;UID=loader;PWD=***"),
    ("Server=db;Password=hunter2;Database=x", "Server=db;Password=***;Database=x"),
])
def test_mask_secrets(secret, masked):
    assert mask_secrets(secret) == masked
    assert mask_secrets(f"error: cannot connect with {secret}").endswith(masked)


def test_failed_sql_server_load_does_not_log_the_password(monkeypatch, caplog):
    url = "mssql+pyodbc://loader:TopSecret42@127.0.0.1:1/electio?driver=ODBC+Driver+18+for+SQL+Server"

    class Boom:
        def __init__(self, *a, **k):
            raise RuntimeError(f"login failed for {url}")

    monkeypatch.setattr(load, "inspect", Boom)
    monkeypatch.setattr(load, "make_engine", lambda u: type("E", (), {"dispose": lambda self: None})())
    with caplog.at_level(logging.DEBUG), pytest.raises(ElectioError) as info:
        load._write_transaction(url, {"dim_bloc": BLOCS})
    assert "TopSecret42" not in str(info.value) and "***" in str(info.value)
    assert "TopSecret42" not in caplog.text


def test_replace_tables_is_all_or_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    load.write_warehouse(url, {"dim_bloc": BLOCS})
    model = pd.DataFrame({"model_id": ["ridge"], "model_kind": ["model"], "label_fr": ["Ridge"],
                          "description": ["d"], "is_chosen": [1]})
    load.replace_tables(url, {"dim_model": model})
    assert count(url, "dim_model") == 1 and count(url, "dim_bloc") == 2
    bad_metric = pd.DataFrame({"model_id": ["unknown"], "election_id": ["e"], "mode": ["conditional"],
                               "metric": ["wmae"], "value": [1.0]})
    with pytest.raises(ElectioError, match="previous content kept"):
        load.replace_tables(url, {"dim_model": model.assign(model_id="other"), "fact_model_metric": bad_metric})
    assert count(url, "dim_model") == 1  # FK failure rolled everything back
    with pytest.raises(ElectioError, match="run the refresh first"):
        load.replace_tables(f"sqlite:///{tmp_path / 'empty.sqlite'}", {"dim_model": model})


def test_a_keyed_load_rewrites_only_the_changed_tables_of_a_copy(tmp_path, monkeypatch):
    from electio.cache import frame_digest
    from electio.warehouse.read import read_tables
    from tests.test_export import small_warehouse

    url, full_url = f"sqlite:///{tmp_path / 'w.sqlite'}", f"sqlite:///{tmp_path / 'full.sqlite'}"
    keys = lambda t: {n: frame_digest(f) for n, f in t.items()}  # noqa: E731
    tables = small_warehouse()
    load.prepare_warehouse(url, tables, keys(tables)).commit()
    written = []
    real = load._insert_all
    monkeypatch.setattr(load, "_insert_all", lambda conn, t: written.append(sorted(t)) or real(conn, t))
    changed = dict(tables, fact_forecast=tables["fact_forecast"].assign(predicted=1.0))
    load.prepare_warehouse(url, changed, keys(changed)).commit()
    assert written == [["fact_forecast"]]
    load.write_warehouse(full_url, changed)  # the same tables built whole: the same content
    copy, full = read_tables(url), read_tables(full_url)
    for name in full:
        pd.testing.assert_frame_equal(copy[name], full[name], obj=name)
    # a table no longer given is emptied, as a new file would have it
    fewer = {n: f for n, f in changed.items() if n != "fact_forecast"}
    load.prepare_warehouse(url, fewer, keys(fewer)).commit()
    assert written[-1] == [] and count(url, "fact_forecast") == 0 and count(url, "dim_scenario") == 1
    # the file changed behind the record (a stage run alone): built whole again
    load.replace_tables(url, {"fact_forecast": changed["fact_forecast"]})
    load.prepare_warehouse(url, changed, keys(changed)).commit()
    assert written[-1] == sorted(changed)
    # without keys (--force, or no cache): built whole, and the record is gone
    load.prepare_warehouse(url, changed).commit()
    assert written[-1] == sorted(changed) and not (tmp_path / ".w.sqlite.keys.json").exists()
