"""Prototype loaders measured by bench_national_load.py (``--variant NAME``): NOT product code.

They keep every guarantee of ``electio.warehouse.load.write_warehouse`` on SQLite
(tables from sql/schema.sql unchanged, new journal-less file + atomic swap, one
transaction, parameterised qmark INSERTs, foreign keys enforced) and change only
how rows reach the driver:

* ``chunked``: rows are built column-wise (``Series.tolist()``, NA -> None only in
  columns that have NA) and zipped into tuples lazily, then sent by
  ``exec_driver_sql`` in batches of CHUNK rows. Same SQLAlchemy path as today, so
  it applies unchanged to SQL Server (pyodbc fast_executemany per batch), and
  memory no longer holds a whole table as Python tuples (nor two object copies
  of the frame).
* ``chunked_page16k``: ``chunked`` + ``PRAGMA page_size = 16384`` (set on the
  empty file, before the first CREATE TABLE) and a 256 MB page cache: fewer,
  fuller B-tree pages for the primary-key indexes.
* ``chunked_fkcheck``: ``chunked`` with the foreign keys checked once after the
  inserts (see below), default page size.
* ``chunked_page16k_fkcheck``: ``chunked_page16k`` with the foreign keys checked
  once after the inserts (``PRAGMA foreign_key_check``, any violation aborts and
  nothing is swapped in) instead of row by row.
* ``chunked_page16k_fkcheck_worowid``: the above, and the fact tables created
  ``WITHOUT ROWID`` on SQLite (the DDL of sql/schema.sql + that suffix, added by
  the loader for SQLite only; SQL Server already clusters on the primary key):
  one B-tree per fact table instead of table + primary-key index, so about half
  the pages (national warehouse ~435 MB -> ~236 MB).

Tried and dropped (not kept as variants): INSERT ... SELECT FROM json_each(?)
with pandas to_json payloads (slower: JSON parsing in SQLite costs more than the
binding it saves); loading fact_label_result in a second thread into a side file
merged by INSERT ... SELECT (no gain: CPython's sqlite3 releases the GIL only
around each sqlite3_step, so the two threads convoy on the GIL); pre-sorting
rows in primary-key order (the sort costs more than it saves: rows already come
sorted per election).
"""

from __future__ import annotations

import os
import uuid
from itertools import islice
from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine

from electio.errors import ElectioError
from electio.warehouse.load import _check_frames
from electio.warehouse.schema import statements, table_columns

CHUNK = 100_000


def _column_values(s: pd.Series) -> list:
    if pd.api.types.is_datetime64_any_dtype(s):
        s = pd.Series(s.dt.to_pydatetime(), index=s.index, dtype=object)
    if s.isna().any():
        return s.astype(object).where(s.notna(), None).tolist()
    return s.tolist()  # numpy ints/floats -> Python int/float, in C


def _row_batches(frame: pd.DataFrame, size: int = CHUNK):
    rows = zip(*(_column_values(frame[c]) for c in frame.columns))
    while batch := list(islice(rows, size)):
        yield batch


def _write(path: Path, tables: dict[str, pd.DataFrame], *, page_size: int | None = None,
           cache_mb: int | None = None, fk_after: bool = False, without_rowid: bool = False) -> None:
    _check_frames(tables)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    engine = create_engine(f"sqlite:///{tmp}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA foreign_keys = {'OFF' if fk_after else 'ON'}")
            if page_size:
                conn.exec_driver_sql(f"PRAGMA page_size = {int(page_size)}")
            if cache_mb:
                conn.exec_driver_sql(f"PRAGMA cache_size = {-1024 * int(cache_mb)}")
            conn.exec_driver_sql("PRAGMA journal_mode = OFF")
            conn.exec_driver_sql("PRAGMA synchronous = OFF")
            conn.commit()
            with conn.begin():
                for stmt in statements():
                    if without_rowid and stmt.upper().startswith("CREATE TABLE FACT_"):
                        stmt += " WITHOUT ROWID"  # SQLite only: the primary key is the table (clustered)
                    conn.exec_driver_sql(stmt)
                schema = table_columns()
                for name, cols in schema.items():
                    frame = tables.get(name)
                    if frame is None or frame.empty:
                        continue
                    sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                    for batch in _row_batches(frame[cols]):
                        conn.exec_driver_sql(sql, batch)
                if fk_after:
                    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
                    if bad:
                        raise ElectioError(f"foreign key violations (table, rowid, parent, fk): {bad}")
        engine.dispose()
        os.replace(tmp, path)
    except BaseException:
        engine.dispose()
        tmp.unlink(missing_ok=True)
        raise


def load_chunked(db: Path, tables) -> None:
    _write(Path(db), tables)


def load_chunked_page16k(db: Path, tables) -> None:
    _write(Path(db), tables, page_size=16384, cache_mb=256)


def load_chunked_fkcheck(db: Path, tables) -> None:
    _write(Path(db), tables, fk_after=True)


def load_chunked_page16k_fkcheck(db: Path, tables) -> None:
    _write(Path(db), tables, page_size=16384, cache_mb=256, fk_after=True)


def load_chunked_page16k_fkcheck_worowid(db: Path, tables) -> None:
    _write(Path(db), tables, page_size=16384, cache_mb=256, fk_after=True, without_rowid=True)


VARIANTS = {"chunked": load_chunked, "chunked_page16k": load_chunked_page16k,
            "chunked_fkcheck": load_chunked_fkcheck, "chunked_page16k_fkcheck": load_chunked_page16k_fkcheck,
            "chunked_page16k_fkcheck_worowid": load_chunked_page16k_fkcheck_worowid}
