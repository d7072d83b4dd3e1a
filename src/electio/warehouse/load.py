"""Loading the star schema: all or nothing, and the same tables every time.

SQLite (default): the warehouse is built in a new file beside the old one and
swapped in with an atomic rename, so readers (Power BI, notebooks) never see a
half-built warehouse and a failure leaves the previous file untouched. Given the
content key of each table (a cached refresh), the new file starts as a copy of the
previous one when a record beside it (``.<name>.keys.json``) says which keys that
file holds and the file has not changed since: only the tables whose key changed
are rewritten (a warm refresh rewrote 1.7 million unchanged rows otherwise).
Other engines (SQL Server): one transaction that empties and refills the tables.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
from datetime import date, datetime
import uuid
from typing import Iterator
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from electio.errors import ElectioError
from electio.warehouse.schema import statements, table_columns, view_statements
from electio.warehouse.secrets import mask_secrets

log = logging.getLogger("electio.warehouse")

#: Tables whose rows are carried over from the previous warehouse (history).
HISTORY_TABLES = ("meta_refresh",)


def make_engine(url: str) -> Engine:
    """Engine for a SQLAlchemy URL; SQL Server gets pyodbc's fast_executemany."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "mssql":
        return create_engine(parsed, fast_executemany=True)
    return create_engine(parsed)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database)
    return None


def read_history(url: str) -> dict[str, pd.DataFrame]:
    """History rows of the current warehouse, if there is one."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return {}
    engine = make_engine(url)
    try:
        existing = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            return {t: pd.read_sql_table(t, conn) for t in HISTORY_TABLES if t in existing}
    except Exception as exc:  # unreadable previous warehouse: rebuild without history
        log.warning("previous warehouse not readable, history not carried over: %s", mask_secrets(exc))
        return {}
    finally:
        engine.dispose()


def _check_frames(tables: dict[str, pd.DataFrame]) -> None:
    schema = table_columns()
    for name, frame in tables.items():
        if name not in schema:
            raise ElectioError(f"table {name!r} is not in sql/schema.sql")
        if list(frame.columns) != schema[name]:
            raise ElectioError(f"table {name}: columns {list(frame.columns)} differ from sql/schema.sql "
                               f"{schema[name]}")


# sqlite3's implicit datetime adapters are deprecated (Python 3.12): be explicit.
sqlite3.register_adapter(datetime, lambda d: d.isoformat(sep=" "))
sqlite3.register_adapter(date, lambda d: d.isoformat())


#: Rows per executemany call: bounded memory, and one round trip per batch on SQL Server.
BATCH_ROWS = 100_000


def _column_values(values: pd.Series) -> list:
    """One column as plain Python values (None for NA), converted in C where possible."""
    if pd.api.types.is_datetime64_any_dtype(values):
        values = pd.Series(values.dt.to_pydatetime(), index=values.index, dtype=object)
    if values.isna().any():
        return values.astype(object).where(values.notna(), None).tolist()
    return values.tolist()


def _records(frame: pd.DataFrame) -> Iterator[list[tuple]]:
    """Rows as batches of Python tuples, built column by column and one batch at a time: Python
    values of a whole 3.7-million-row table (all of France) would hold ~300 MB at once."""
    for start in range(0, len(frame), BATCH_ROWS):
        part = frame.iloc[start:start + BATCH_ROWS]
        yield list(zip(*(_column_values(part[c]) for c in part.columns)))


def _insert_all(conn, tables: dict[str, pd.DataFrame]) -> None:
    """Parameterised INSERTs, executemany per batch (qmark style: sqlite3 and pyodbc).

    Table and column names come from sql/schema.sql, never from input data; values
    are always bound parameters. On SQL Server the engine's fast_executemany sends
    each batch in one round trip.
    """
    schema = table_columns()
    for name in schema:  # creation order = foreign-key order
        frame = tables.get(name)
        if frame is None or frame.empty:
            continue
        cols = schema[name]
        sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        for batch in _records(frame[cols]):
            conn.exec_driver_sql(sql, batch)
        log.info("loaded %s: %d rows", name, len(frame))


def _create_views(conn) -> None:
    """The flat views of sql/views.sql, dropped and recreated (one statement per batch for SQL Server)."""
    for stmt in view_statements():
        conn.exec_driver_sql(stmt)


def write_warehouse(url: str, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the warehouse's content with ``tables``, atomically."""
    prepare_warehouse(url, tables).commit()


class PendingWarehouse:
    """A new warehouse built but not yet in place: read it at ``url``, then commit or discard.

    SQLite: a new file beside the old one, swapped in by :meth:`commit` (one rename), so
    the refresh can write its exports from the new tables and swap both together.
    Other engines: the load is one transaction, already committed when this is returned
    (``url`` is the target itself and :meth:`discard` cannot undo it).
    """

    def __init__(self, url: str, target: Path | None = None, tmp: Path | None = None,
                 keys: dict[str, str] | None = None) -> None:
        self.url, self.target, self.tmp, self.keys = url, target, tmp, keys

    def commit(self) -> None:
        if self.tmp is not None:
            record = _keys_path(self.target)
            record.unlink(missing_ok=True)  # a record never describes another file
            os.replace(self.tmp, self.target)  # atomic on POSIX and Windows (same folder)
            self.tmp = None
            if self.keys is not None:
                record.write_text(json.dumps({"schema": _schema_digest(), "file": _file_stamp(self.target),
                                              "tables": self.keys}), encoding="utf-8")

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


def prepare_warehouse(url: str, tables: dict[str, pd.DataFrame],
                      keys: dict[str, str] | None = None) -> PendingWarehouse:
    """Build the warehouse ``tables`` (see :class:`PendingWarehouse`). ``keys``: content key of
    each table whose content it identifies (SQLite: unchanged tables are copied from the previous
    file, see the module's docstring); a table without a key is always written."""
    _check_frames(tables)
    path = sqlite_path(url)
    if path is None:
        _write_transaction(url, tables)
        return PendingWarehouse(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    changed = _changed_tables(path, tables, keys) if keys else None
    if changed is None or not _update_copy(path, tmp, tables, changed):
        _build_sqlite(tmp, tables)
    return PendingWarehouse(f"sqlite:///{tmp}", path, tmp, dict(keys) if keys else None)


def _keys_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.keys.json")


def _schema_digest() -> str:
    return hashlib.sha256("\n".join([*statements(), *view_statements()]).encode("utf-8")).hexdigest()


def _file_stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def _changed_tables(path: Path, tables: dict[str, pd.DataFrame], keys: dict[str, str]) -> list[str] | None:
    """Tables to rewrite in a copy of the warehouse at ``path``, or None to build a new file: no
    record of what the file holds, another schema, the file changed since (e.g. a stage run alone
    replaced tables), or most rows changed anyway."""
    try:
        record = json.loads(_keys_path(path).read_text(encoding="utf-8"))
        stamp = _file_stamp(path)
    except (OSError, ValueError):
        return None
    if record.get("schema") != _schema_digest() or record.get("file") != stamp:
        return None
    held = record.get("tables") or {}
    changed = [n for n in table_columns() if (n in tables or n in held)
               and (n not in tables or keys.get(n) is None or held.get(n) != keys[n])]
    rows = sum(len(f) for f in tables.values())
    if sum(len(tables[n]) for n in changed if n in tables) > rows / 2:
        return None
    return changed


def _update_copy(path: Path, tmp: Path, tables: dict[str, pd.DataFrame], changed: list[str]) -> bool:
    """The previous warehouse copied to ``tmp`` with the ``changed`` tables rewritten; False (nothing
    left behind) if the previous file changed while it was copied."""
    stamp = _file_stamp(path)
    shutil.copyfile(path, tmp)
    if _file_stamp(path) != stamp:
        tmp.unlink(missing_ok=True)
        return False

    def rewrite(conn) -> None:
        for name in reversed(changed):  # children first
            conn.execute(text(f"DELETE FROM {name}"))
        _insert_all(conn, {n: tables[n] for n in changed if n in tables})

    _fill_sqlite(tmp, rewrite)
    log.info("warehouse: %d tables rewritten in a copy of the previous file, the others unchanged", len(changed))
    return True


def _build_sqlite(tmp: Path, tables: dict[str, pd.DataFrame]) -> None:
    def create(conn) -> None:
        for stmt in statements():
            if stmt.upper().startswith("CREATE TABLE FACT_"):
                # SQLite only: the primary key is the table (one B-tree instead of
                # table + index); SQL Server clusters on the primary key anyway.
                stmt += " WITHOUT ROWID"
            conn.exec_driver_sql(stmt)
        _insert_all(conn, tables)
        _create_views(conn)

    _fill_sqlite(tmp, create)


def _fill_sqlite(tmp: Path, fill) -> None:
    """``fill(conn)`` on the temporary SQLite file ``tmp`` (a new file or a copy of the previous
    warehouse) in one transaction, foreign keys checked once at the end; ``tmp`` is deleted if
    anything fails."""
    engine = create_engine(f"sqlite:///{tmp}")
    try:
        with engine.connect() as conn:
            # Keys are checked once after the inserts (below) rather than row by row.
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
            # Larger pages: fewer, fuller B-tree pages for the primary-key indexes (a new file only).
            conn.exec_driver_sql("PRAGMA page_size = 16384")
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            # A file that is swapped in only when complete needs no journal: a
            # crash leaves just this temporary file, deleted by the next refresh.
            conn.exec_driver_sql("PRAGMA journal_mode = OFF")
            conn.exec_driver_sql("PRAGMA synchronous = OFF")
            conn.commit()
            with conn.begin():
                fill(conn)
                bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
                if bad:
                    raise ElectioError(f"FOREIGN KEY constraint failed: (table, rowid, parent, key) {bad}")
        engine.dispose()
    except BaseException:
        engine.dispose()
        tmp.unlink(missing_ok=True)
        raise


def _write_transaction(url: str, tables: dict[str, pd.DataFrame]) -> None:
    engine = make_engine(url)
    try:
        existing = set(inspect(engine).get_table_names())
        with engine.begin() as conn:  # rolls back on any error
            for name, stmt in zip(table_columns(), [s for s in statements() if s.upper().startswith("CREATE TABLE")]):
                if name not in existing:
                    conn.exec_driver_sql(stmt)
            for name in reversed(list(table_columns())):
                conn.execute(text(f"DELETE FROM {name}"))
            _insert_all(conn, tables)
            _create_views(conn)
    except Exception as exc:
        raise ElectioError(f"warehouse load failed, previous content kept: {mask_secrets(exc)}") from None
    finally:
        engine.dispose()


def replace_tables(url: str, tables: dict[str, pd.DataFrame]) -> None:
    """Replace the rows of some tables of an existing warehouse, in one transaction.

    Used by the stages that run alone on a built warehouse (``electio eda``,
    ``electio backtest``...): either every listed table is replaced, or none is.
    """
    _check_frames(tables)
    engine = make_engine(url)
    order = [name for name in table_columns() if name in tables]
    try:
        missing = set(order) - set(inspect(engine).get_table_names())
        if missing:
            raise ElectioError(f"the warehouse has no table {sorted(missing)}: run the refresh first")
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            for name in reversed(order):
                conn.execute(text(f"DELETE FROM {name}"))
            _insert_all(conn, tables)
    except ElectioError:
        raise
    except Exception as exc:
        raise ElectioError(f"update of {order} failed, previous content kept: {mask_secrets(exc)}") from None
    finally:
        engine.dispose()
