"""The command line only orchestrates; check that it wires settings and prints results."""

from __future__ import annotations

import subprocess
import sys

from electio import cli, command
from electio.settings import PROJECT_ROOT, Settings
from electio.warehouse.schema import CONTEXT

from tests.conftest import seed_stage_cache


def test_settings_from_args_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ELECTIO_DB_URL", "sqlite:///from-env.sqlite")
    monkeypatch.setenv("ELECTIO_DEPARTEMENT", "01")
    parser = __import__("argparse").ArgumentParser()
    command.add_common_arguments(parser)
    s = command.settings_from_args(parser.parse_args(["--mirror", str(tmp_path), "--offline"]))
    assert (s.db_url, s.departement, s.mirror, s.allow_download) == ("sqlite:///from-env.sqlite", "01", tmp_path, False)
    s = command.settings_from_args(parser.parse_args(["--departement", "38", "--db", "sqlite:///x.sqlite"]))
    assert (s.departement, s.db_url, s.allow_download) == ("38", "sqlite:///x.sqlite", True)


def test_default_warehouse_is_sqlite_under_data(monkeypatch):
    monkeypatch.delenv("ELECTIO_DB_URL", raising=False)
    assert Settings.from_env().db_url.endswith("data/electio.sqlite")


def test_sources_list(capsys):
    assert cli.main(["sources", "list"]) == 0
    out = capsys.readouterr().out
    assert "aktiur_resultats_electoraux" in out and "euro2024_interieur_web_69" in out


def test_refresh_prints_a_summary(tmp_path, mirror, shared_warehouse, monkeypatch, capsys):
    seed_stage_cache(shared_warehouse.settings.data_dir, tmp_path)  # the command caches: reuse the session's build
    monkeypatch.setenv("ELECTIO_DATA", str(tmp_path))
    monkeypatch.setenv("ELECTIO_CACHE", str(tmp_path / "raw"))
    monkeypatch.delenv("ELECTIO_DB_URL", raising=False)
    assert cli.main(["refresh", "--mirror", str(mirror), "--offline", "--no-export", "--no-figures", "--no-models",
                     "--no-report", "--no-powerbi"]) == 0
    out = capsys.readouterr().out
    assert "elections : 13 loaded" in out and "communes  : 266" in out
    assert "figures      skipped: not requested (--no-figures)" in out
    assert "duplicate of the row for commune" in out  # rejected rows by kind, not just a count
    assert f"log       : {tmp_path / 'logs' / 'electio.log'}" in out
    assert (tmp_path / "electio.sqlite").exists()


def test_stages_lists_the_contract(capsys):
    assert cli.main(["stages"]) == 0
    out = capsys.readouterr().out
    for name in ("correlations", "backtest", "train", "forecast", "figures", "exports", "report", "powerbi"):
        assert f"\n{name}" in "\n" + out
    assert "writes: dim_model, fact_backtest, fact_model_metric" in out


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "electio.refresh", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--mirror" in result.stdout and "--departement" in result.stdout


def test_kept_custom_scenario_is_replayed_by_every_refresh(tmp_path, shared_warehouse):
    from electio.forecast.run import store_custom
    from electio.stages import refresh_scenarios
    from electio.warehouse.read import read_tables

    settings = Settings(data_dir=tmp_path / "data")
    tables = read_tables(shared_warehouse.settings.db_url, without=CONTEXT)
    plain = refresh_scenarios(settings, tables)
    assert not any(s.swing == "custom" for s in plain)
    example = PROJECT_ROOT / "data" / "reference" / "scenario_custom_example.csv"
    stored = store_custom(example, settings, fixed=True)
    assert stored == tmp_path / "data" / "scenarios" / "scenario_custom_example.fixed.csv"
    replayed = refresh_scenarios(settings, tables)
    custom = [s for s in replayed if s.swing == "custom"]
    assert custom and all(s.custom_fixed for s in custom)
    assert [s.scenario_id for s in replayed if s.swing != "custom"] == [s.scenario_id for s in plain]


def test_kept_national_intentions_are_replayed_by_every_refresh(tmp_path, shared_warehouse):
    """`electio forecast --national FILE --keep` stores the file; the refresh replays it through the
    national-conditional rule (not as département totals), and the example stays labelled invented."""
    from electio.forecast.run import NATIONAL_SUFFIX, store_national
    from electio.stages import refresh_scenarios
    from electio.warehouse.read import read_tables

    settings = Settings(data_dir=tmp_path / "data")
    tables = read_tables(shared_warehouse.settings.db_url, without=CONTEXT)
    example = PROJECT_ROOT / "data" / "reference" / "scenario_national_example.csv"
    stored = store_national(example, settings)
    assert stored.name == "scenario_national_example" + NATIONAL_SUFFIX
    replayed = refresh_scenarios(settings, tables)
    national = [s for s in replayed if s.swing == "national"]
    assert national and not any(s.swing == "custom" for s in replayed)
    assert all(s.custom_shares["extreme_droite"] == 36 for s in national)
    assert all("(exemple, chiffres inventés)" in s.label_fr for s in national)
