"""Fixtures: a warehouse refreshed from the mirror in tmp, and both templates built from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from electio.powerbi import build_templates
from electio.powerbi.definition import load_definition
from electio.powerbi.validate import Template, m_parser_problem
from electio.settings import Settings


INSTALL_HINT = "run `python tests/provision.py` (the README's test command does)"


@pytest.fixture(scope="session")
def sqlite_odbc() -> str:
    """The SQLite3 ODBC driver's name; missing, the test fails with what to install (never skips)."""
    try:
        import pyodbc
    except ImportError as exc:
        error = str(exc)
    else:
        error = None
    if error:  # failed outside the except block: one sentence, no chained traceback
        pytest.fail(f"pyodbc cannot load the ODBC driver manager ({error}): install the Debian packages unixodbc "
                    f"and libsqliteodbc, or {INSTALL_HINT}", pytrace=False)
    drivers = [d for d in pyodbc.drivers() if "sqlite3" in d.lower()]
    if not drivers:
        pytest.fail(f"no SQLite3 ODBC driver registered (drivers: {pyodbc.drivers()}): install the Debian package "
                    f"libsqliteodbc, or {INSTALL_HINT}", pytrace=False)
    return drivers[0]


@pytest.fixture(scope="session")
def node_validators() -> None:
    """Node and the pinned parsers of package-lock.json; missing, the test fails with what to install."""
    problem = m_parser_problem()
    if problem is None and not (Path(__file__).parents[2] / "node_modules" / "topojson-client").is_dir():
        problem = "topojson-client is not installed: run `npm ci` at the repository root"
    if problem:
        pytest.fail(f"{problem} (Debian packages nodejs and npm, then `npm ci`; or {INSTALL_HINT})", pytrace=False)


@pytest.fixture(scope="session")
def warehouse(request, tmp_path_factory, mirror: Path) -> Settings:
    """A copy of the session's warehouse (tests/conftest.py) with its exports, plus the model
    stages (backtest, train, forecast): the measure tests check backtests and forecasts."""
    reuse = os.environ.get("ELECTIO_POWERBI_TEST_WAREHOUSE")
    if reuse:  # a folder refreshed earlier with models, for local iterations only
        root = Path(reuse)
        return Settings(mirror=mirror, cache_dir=root / "raw", data_dir=root / "data",
                        exports_dir=root / "exports", reports_dir=root / "reports", allow_download=False,
                        db_url=f"sqlite:///{root / 'electio.sqlite'}")
    return request.getfixturevalue("modelled_warehouse")


@pytest.fixture(scope="session")
def built(tmp_path_factory, warehouse: Settings) -> dict[str, Path]:
    """Both templates built from that warehouse: variant -> .pbit path (and 'map' -> TopoJSON).

    Built leniently, so that a table or column added to sql/schema.sql without a French
    name fails the one test about names (test_model), not every test of the templates.
    """
    out = tmp_path_factory.mktemp("powerbi-build")
    paths = build_templates(out, warehouse, strict=False)
    files = {p.name: p for p in paths}
    result = {variant: files[spec["file"]] for variant, spec in load_definition().variants.items()}
    result["map"] = files["communes.topo.json"]
    result["pbip"] = files["Electio.pbip"].parent
    return result


@pytest.fixture(params=["entrepot", "csv"])
def template(request, built) -> Template:
    """Each variant, read fresh (tests may alter the parts they get)."""
    return Template.read(built[request.param])


@pytest.fixture
def warehouse_template(built) -> Template:
    return Template.read(built["entrepot"])


@pytest.fixture
def csv_template(built) -> Template:
    return Template.read(built["csv"])
