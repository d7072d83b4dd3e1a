"""Shared fixtures. The real mirror is required: a missing mirror fails, never skips."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from electio.cache import CACHE_DIR
from electio.refresh import run_refresh
from electio.settings import PROJECT_ROOT, Settings
from electio.stages import run_alone

FIXTURES = Path(__file__).parent / "fixtures"


def mirror_path() -> Path:
    env = os.environ.get("ELECTIO_MIRROR")
    return Path(env) if env else (PROJECT_ROOT.parent / "shared" / "electio-mirror").resolve()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items) -> None:
    """Tests that read the modelled warehouse run on one xdist worker, which builds it once."""
    for item in items:
        if "modelled_warehouse" in item.fixturenames or "tests/powerbi/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("modelled_warehouse"))


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_path()
    if not (path / "MANIFEST.csv").exists():
        pytest.fail(f"the electio mirror is required for this test and was not found at {path} "
                    "(set ELECTIO_MIRROR or put shared/electio-mirror beside the repository)")
    return path


@pytest.fixture
def tmp_settings(tmp_path: Path, mirror: Path) -> Settings:
    """Settings that read the real mirror and write only under tmp_path."""
    return Settings(mirror=mirror, cache_dir=tmp_path / "raw", data_dir=tmp_path / "data",
                    exports_dir=tmp_path / "exports", reports_dir=tmp_path / "reports", allow_download=False)


def settings_under(root: Path, mirror: Path, **kw) -> Settings:
    """Settings that read the mirror and write only under ``root`` (warehouse in root/data)."""
    return Settings(mirror=mirror, cache_dir=root / "raw", data_dir=root / "data", exports_dir=root / "exports",
                    reports_dir=root / "reports", powerbi_dir=root / "powerbi", allow_download=False, **kw)


@dataclass(frozen=True)
class SharedWarehouse:
    settings: Settings
    summary: dict


@pytest.fixture(scope="session")
def shared_warehouse(tmp_path_factory, mirror: Path) -> SharedWarehouse:
    """The default perimeter (69) refreshed ONCE from the mirror for the whole test session:
    warehouse, correlations and exports (no models, figures, report or Power BI).

    Read-only: a test that changes the warehouse works on :func:`copy_warehouse`.
    """
    root = tmp_path_factory.mktemp("shared_warehouse")
    settings = settings_under(root, mirror)
    # with the stage cache: tests that refresh a copy again start from it (copy_warehouse(cache=True))
    summary = run_refresh(settings, cache=True)
    return SharedWarehouse(settings, summary)


@pytest.fixture(scope="session")
def modelled_warehouse(tmp_path_factory, shared_warehouse: SharedWarehouse) -> Settings:
    """The session's warehouse with its exports plus the model stages (backtest, train, forecast),
    run ONCE for the whole session: the backtest is the slowest stage, and the model, Power BI
    and report tests all read its tables. Read-only: copy it (:func:`copy_warehouse`) to change it."""
    settings = copy_warehouse(shared_warehouse.settings, tmp_path_factory.mktemp("modelled_warehouse"), exports=True)
    for stage in ("backtest", "train", "forecast"):
        run = run_alone(stage, settings)
        assert run.status == "done", (stage, run)
    return settings


def copy_warehouse(source: Settings, root: Path, *, exports: bool = False, cache: bool = False) -> Settings:
    """A private copy of a built warehouse (its trained model, and its exports if asked) under ``root``.

    ``cache``: with the source's stage cache too, so that a cached refresh of the copy (the command
    line's default; ``run_refresh(cache=True)``) reuses the table build and the unchanged stages
    instead of rebuilding them from the mirror: for tests about what happens around them."""
    settings = settings_under(root, source.mirror)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.data_dir / "electio.sqlite", settings.data_dir / "electio.sqlite")
    if (source.data_dir / "models").is_dir():
        shutil.copytree(source.data_dir / "models", settings.data_dir / "models")
    if exports:
        shutil.copytree(source.exports_dir, settings.exports_dir)
    if cache:
        seed_stage_cache(source.data_dir, settings.data_dir)
    return settings


def seed_stage_cache(source_data: Path, data_dir: Path) -> None:
    """Hard links of a data folder's stage cache (entries are replaced by rename, never edited)."""
    shutil.copytree(Path(source_data) / CACHE_DIR, Path(data_dir) / CACHE_DIR, copy_function=os.link,
                    dirs_exist_ok=True)
