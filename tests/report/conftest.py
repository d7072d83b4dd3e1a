"""Warehouses for the report and notebook tests, built from the mirror into tmp folders.

- ``refreshed``: the main job as it runs today (warehouse and correlations, no figures);
- ``bare``: a copy without correlations either, the state in which every later section
  must say plainly that it is not computed yet;
- ``enriched``: a copy plus the exploratory analysis (correlations, figures) and
  synthetic model and scenario rows and figures, so every section renders numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from electio.eda import figures as eda_figures
from electio.eda.run import run_eda
from electio.settings import Settings
from electio.warehouse.load import replace_tables
from electio.warehouse.read import read_tables
from electio.warehouse.schema import CONTEXT
from tests.conftest import copy_warehouse as copy_shared
from tests.report.synthetic import draw_stage_figures, model_and_scenario_tables


def make_settings(root: Path, mirror: Path) -> Settings:
    return Settings(mirror=mirror, cache_dir=root / "raw", data_dir=root / "data", exports_dir=root / "exports",
                    reports_dir=root / "reports", allow_download=False)


@pytest.fixture(scope="session")
def refreshed(tmp_path_factory, shared_warehouse) -> Settings:
    # A copy of the session's shared warehouse (report tests write into its reports folder).
    root = tmp_path_factory.mktemp("report_refreshed")
    copy_shared(shared_warehouse.settings, root)
    return make_settings(root, shared_warehouse.settings.mirror)


def copy_warehouse(source: Settings, root: Path, mirror: Path) -> Settings:
    (root / "data").mkdir()
    shutil.copy2(source.data_dir / "electio.sqlite", root / "data" / "electio.sqlite")
    return make_settings(root, mirror)


@pytest.fixture(scope="session")
def bare(tmp_path_factory, refreshed, mirror) -> Settings:
    settings = copy_warehouse(refreshed, tmp_path_factory.mktemp("report_bare"), mirror)
    empty = read_tables(settings.db_url, ["fact_correlation"])["fact_correlation"].iloc[0:0]
    replace_tables(settings.db_url, {"fact_correlation": empty})
    return settings


@pytest.fixture(scope="session")
def enriched(tmp_path_factory, refreshed, mirror) -> Settings:
    settings = copy_warehouse(refreshed, tmp_path_factory.mktemp("report_enriched"), mirror)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(eda_figures, "DPI", 40)  # figure quality is the EDA's business; here only their presence
        run_eda(settings, n_boot=50)
    replace_tables(settings.db_url, model_and_scenario_tables(read_tables(settings.db_url, without=CONTEXT)))
    draw_stage_figures(Path(settings.reports_dir) / "figures")
    return settings


@pytest.fixture(scope="session")
def bare_report(bare):
    """The report (and slides) built on the bare warehouse: (settings, HTML text)."""
    from electio.report import build_report

    path = build_report(bare)
    return bare, path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def full_report(enriched):
    """The report (and slides) built on the enriched warehouse: (settings, HTML text)."""
    from electio.report import build_report

    path = build_report(enriched)
    return enriched, path.read_text(encoding="utf-8")
