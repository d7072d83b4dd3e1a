"""Reading the warehouse: the one way downstream stages get their input tables.

Also the pre-flight check of a ``--db`` target, done before any long work: the URL
parses, its driver is installed, and a server answers (SQLite: the folder exists).
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from electio.errors import ElectioError
from electio.warehouse.frames import share_strings
from electio.warehouse.load import make_engine, sqlite_path
from electio.warehouse.schema import table_columns, view_names
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio.warehouse")

URL_EXAMPLES = "sqlite:///data/electio.sqlite or mssql+pyodbc://user@server/electio?driver=ODBC+Driver+18+for+SQL+Server"


def _require_warehouse(db_url: str) -> None:
    """A SQLite file that does not exist is an error (reading would create an empty one)."""
    path = sqlite_path(db_url)
    if path is not None and not path.exists():
        raise ElectioError(f"no warehouse at {path}: run `python -m electio.refresh` first")


def read_tables(db_url: str, names: list[str] | tuple[str, ...] | None = None, *,
                without: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Tables of the warehouse (all of sql/schema.sql, or ``names``; none of ``without``), columns
    in DDL order. ``without=CONTEXT`` (electio.warehouse.schema): everything but the results of every
    commune of France, 85 % of the reading time of a département's warehouse, which only the
    cross-département model reads.

    Tables absent from the warehouse are left out; a SQLite file that does not exist
    is an error (reading would create an empty one).
    """
    _require_warehouse(db_url)
    wanted = {t: c for t, c in table_columns().items() if (names is None or t in names) and t not in without}
    engine = make_engine(db_url)
    try:
        present = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {t: share_strings(pd.read_sql_table(t, conn)[cols]) for t, cols in wanted.items()
                    if t in present}
    finally:
        engine.dispose()


#: Row order of the flat views (SQL views have none of their own).
VIEW_ORDER = {
    "v_resultats_communes": ["election_date", "commune_code", "bloc_code"],
    "v_participation_communes": ["election_date", "commune_code"],
    "v_indicateurs_communes": ["commune_code", "indicator_code", "indicator_year"],
    "v_previsions_communes": ["scenario_id", "commune_code", "target"],
}


def read_views(db_url: str, names: list[str] | tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """The flat views of sql/views.sql (or ``names``) present in the warehouse, typed by reflection and sorted."""
    engine = make_engine(db_url)
    try:
        present = set(inspect(engine).get_view_names())
        missing = [v for v in view_names() if v not in present]
        if missing and names is None:
            log.warning("views %s are not in the warehouse (built before sql/views.sql): run the refresh", missing)
        with engine.connect() as conn:
            views = {v: pd.read_sql_table(v, conn) for v in view_names() if v in present
                     and (names is None or v in names)}
    finally:
        engine.dispose()
    return {v: f.sort_values(VIEW_ORDER.get(v, list(f.columns[:1])), kind="stable").reset_index(drop=True)
            for v, f in views.items()}


def check_target(db_url: str) -> None:
    """Fail in one sentence if ``db_url`` cannot be a warehouse: malformed, no driver, unreachable."""
    shown = mask_secrets(db_url)
    try:
        url = make_url(db_url)
    except Exception:
        raise ElectioError(f"--db {shown!r} is not a database URL (expected e.g. {URL_EXAMPLES})") from None
    try:
        dialect = url.get_dialect()
    except Exception:
        raise ElectioError(f"--db {shown!r}: unknown database type {url.drivername!r} "
                           f"(expected e.g. {URL_EXAMPLES})") from None
    try:
        dialect.import_dbapi() if hasattr(dialect, "import_dbapi") else dialect.dbapi()
    except ImportError as exc:
        raise ElectioError(f"--db {shown!r}: the Python driver for {url.drivername} is not usable ({exc}); "
                           "install it (SQL Server: pip install pyodbc, plus unixODBC and Microsoft's ODBC "
                           "driver on Linux)") from None
    if url.get_backend_name() == "sqlite":
        return  # a file: its folder is created and checked for writing by the caller
    engine = make_engine(db_url)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        first = mask_secrets(str(getattr(exc, "orig", None) or exc)).splitlines()[0][:300]
        if "Can't open lib" in first:  # unixODBC: the ODBC driver named in the URL is not installed
            first = (f"the ODBC driver {url.query.get('driver', '?')!r} is not installed on this machine "
                     f"(unixODBC says: {first})")
        raise ElectioError(f"cannot connect to the warehouse {shown}: {first}") from None
    finally:
        engine.dispose()


def present_names(db_url: str) -> tuple[list[str], list[str]]:
    """The tables of sql/schema.sql and the views of sql/views.sql the warehouse holds, in file order."""
    _require_warehouse(db_url)
    engine = make_engine(db_url)
    try:
        found = inspect(engine)
        tables, views = set(found.get_table_names()), set(found.get_view_names())
    finally:
        engine.dispose()
    return [t for t in table_columns() if t in tables], [v for v in view_names() if v in views]


def count_rows(db_url: str, name: str) -> int:
    """Rows of one table or view of the warehouse (``name`` from sql/schema.sql or sql/views.sql)."""
    if name not in table_columns() and name not in view_names():
        raise ValueError(f"{name!r} is not a table or view of the warehouse")
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {name}").scalar())
    finally:
        engine.dispose()
