"""Shared fixtures. The real mirror is required: a missing mirror fails, never skips."""

from __future__ import annotations

import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from _pytest.nodes import Node
from filelock import FileLock

from electio.cache import CACHE_DIR
from electio.outputs import atomic_write
from electio.refresh import run_refresh
from electio.settings import PROJECT_ROOT, Settings
from electio.stages import run_alone

FIXTURES = Path(__file__).parent / "fixtures"


def mirror_path() -> Path:
    env = os.environ.get("ELECTIO_MIRROR")
    return Path(env) if env else (PROJECT_ROOT.parent / "shared" / "electio-mirror").resolve()


#: xdist groups: the tests of a group run on one worker, so its session fixtures are built once.
MODELLED, REPORT = "modelled_warehouse", "report"


def _group(item) -> str | None:
    if "modelled_warehouse" in item.fixturenames or "tests/powerbi/" in item.nodeid:
        return MODELLED
    if "tests/report/" in item.nodeid:  # the report warehouses (tests/report/conftest.py), some by getfixturevalue
        return REPORT
    return None


def _rank(item) -> tuple[int, bool]:
    """Order of the work queue (``--no-loadscope-reorder`` keeps it): the modelled group first, for
    the first worker, while the other runs the tests that need no session warehouse, which the
    first worker builds meanwhile (:func:`build_once`); then the report group, then the rest.
    Within a rank, the tests marked ``long`` first: a 35 s test queued last kept one worker busy
    alone at the end."""
    group = _group(item)
    short = item.get_closest_marker("long") is None
    if group == MODELLED:
        return 0, short
    if group is None and "shared_warehouse" not in item.fixturenames:
        return 1, short
    return (2 if group == REPORT else 3), short


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items) -> None:
    for item in items:
        group = _group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_rank)  # stable: the order within a rank is the collection's


class _GroupsApplied:
    """pytest-xdist's ``--dist loadgroup`` keeps a group on one worker by suffixing its tests' nodeids
    with ``@group``. A pytest that ignores the suffix (9.2 computes ``nodeid`` from another attribute)
    would silently let both workers queue the modelled group: the second then waits ~150 s on the
    first one's warehouse build (measured: 335 s instead of 261 s). Fail at collection instead."""

    @pytest.hookimpl(trylast=True)  # after pytest-xdist's own hook, which adds the suffix
    def pytest_collection_modifyitems(self, config, items) -> None:
        if not os.environ.get("PYTEST_XDIST_WORKER") or not config.getvalue("loadgroup"):
            return
        lost = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if lost:
            raise pytest.UsageError(
                f"pytest-xdist's loadgroup did not mark {len(lost)} grouped tests (e.g. {lost[0]}): this pytest "
                f"({pytest.__version__}) ignores the nodeid suffix, so the session warehouses would be built "
                "on both workers; install the versions pyproject.toml pins (pip install -e '.[dev]')")


def _nodeid_suffix_kept() -> bool:
    """Whether this pytest's ``nodeid`` still reads the ``_nodeid`` that pytest-xdist 3.8 suffixes."""
    try:
        return Node.nodeid.fget(SimpleNamespace(_nodeid="probe@group")) == "probe@group"
    except AttributeError:
        return False


def pytest_configure(config) -> None:
    if config.getoption("dist", "no") == "loadgroup" and not _nodeid_suffix_kept():
        raise pytest.UsageError(
            f"pytest {pytest.__version__} ignores the nodeid suffix with which pytest-xdist's --dist loadgroup keeps "
            "a group on one worker: the session warehouses would be built on both workers. Install the versions "
            "pyproject.toml pins (pip install -e '.[dev]': pytest<9.2)")
    config.pluginmanager.register(_GroupsApplied(), "electio-xdist-groups-check")


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


def build_once(tmp_path_factory, name: str, build):
    """``build(folder)`` run once per test session: by the first xdist worker that asks, while the
    others wait on a file lock and then reuse its folder and (pickled) result. The folder lies in
    the workers' common temporary root, so it must be treated as read-only."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, result = root / name, root / f"{name}.pickle"
    with FileLock(str(root / f"{name}.lock")):
        if not result.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                value = build(folder)
            except Exception as exc:  # recorded: the other workers fail at once, not after a build of their own
                atomic_write(result, pickle.dumps(RuntimeError(f"building {name} failed in another test worker: "
                                                               f"{exc!r}")))
                raise
            atomic_write(result, pickle.dumps(value))
    value = pickle.loads(result.read_bytes())
    if isinstance(value, BaseException):
        raise value
    return value


@pytest.fixture(scope="session")
def shared_warehouse(tmp_path_factory, mirror: Path) -> SharedWarehouse:
    """The default perimeter (69) refreshed ONCE from the mirror for the whole test session (all
    workers): warehouse, correlations and exports (no models, figures, report or Power BI).

    Read-only: a test that changes the warehouse works on :func:`copy_warehouse`. Read the tables a
    test checks (``read_tables(url, names)``, or ``without=CONTEXT``): a full read takes ~5 s, most of
    it the context rows (every commune of France).
    """
    def build(root: Path) -> SharedWarehouse:
        settings = settings_under(root, mirror)
        # with the stage cache: tests that refresh a copy again start from it (copy_warehouse(cache=True))
        return SharedWarehouse(settings, run_refresh(settings, cache=True))

    return build_once(tmp_path_factory, "shared_warehouse", build)


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
