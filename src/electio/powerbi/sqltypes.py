"""Column types and nullability of sql/schema.sql, for the Power BI model.

``electio.warehouse.schema.table_columns`` gives names only; the template also needs
each column's type (to pick the Power BI data type and the Power Query type) and
whether it may be NULL (empty CSV fields must become nulls, not empty strings).
The statements come from the same parser, so there is one reading of the DDL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from electio.warehouse.schema import statements, table_columns

_CREATE = re.compile(r"CREATE\s+TABLE\s+(\w+)\s*\((.*)\)\s*$", re.S | re.I)
_COLUMN = re.compile(r"^(\w+)\s+([A-Za-z]+)(?:\s*\(\s*\d+\s*\))?\s*(NOT\s+NULL|NULL)?", re.I)

#: SQL type -> (tabular model dataType, Power Query type expression).
TYPE_MAP: dict[str, tuple[str, str]] = {
    "NVARCHAR": ("string", "type text"),
    "INT": ("int64", "Int64.Type"),
    "BIGINT": ("int64", "Int64.Type"),
    "FLOAT": ("double", "type number"),
    "DATE": ("dateTime", "type date"),
    "DATETIME": ("dateTime", "type datetime"),
}


@dataclass(frozen=True)
class SqlColumn:
    name: str
    sql_type: str
    nullable: bool

    @property
    def data_type(self) -> str:
        """Data type of the column in the tabular model."""
        return TYPE_MAP[self.sql_type][0]

    @property
    def m_type(self) -> str:
        """Power Query type the column is converted to."""
        return TYPE_MAP[self.sql_type][1]


@lru_cache(maxsize=1)
def schema_tables() -> dict[str, tuple[SqlColumn, ...]]:
    """Every table of sql/schema.sql with typed columns, in DDL order."""
    tables: dict[str, tuple[SqlColumn, ...]] = {}
    for stmt in statements():
        match = _CREATE.match(stmt)
        if not match:
            continue
        cols = []
        for part in match.group(2).split("\n"):
            part = part.strip().rstrip(",")
            if not part or part.upper().startswith(("CONSTRAINT", "PRIMARY", "FOREIGN")):
                continue
            col = _COLUMN.match(part)
            if col is None:
                raise ValueError(f"sql/schema.sql: cannot read column definition {part!r}")
            sql_type = col.group(2).upper()
            if sql_type not in TYPE_MAP:
                raise ValueError(f"sql/schema.sql: type {sql_type} of {match.group(1)}.{col.group(1)} "
                                 "has no Power BI mapping")
            nullable = (col.group(3) or "NULL").upper().replace(" ", "") != "NOTNULL"
            cols.append(SqlColumn(col.group(1), sql_type, nullable))
        tables[match.group(1)] = tuple(cols)
    # Same reading as the warehouse loader, or the template would drift from the tables.
    names = {t: [c.name for c in cols] for t, cols in tables.items()}
    if names != table_columns():
        raise ValueError("sql/schema.sql read differently by electio.powerbi and electio.warehouse")
    return tables


_PK = re.compile(r"PRIMARY\s+KEY\s*\(([^)]*)\)", re.I)


@lru_cache(maxsize=1)
def primary_keys() -> dict[str, tuple[str, ...]]:
    """Primary key columns of every table (the one side of a relationship must be one)."""
    keys: dict[str, tuple[str, ...]] = {}
    for stmt in statements():
        match = _CREATE.match(stmt)
        if match and (pk := _PK.search(match.group(2))):
            keys[match.group(1)] = tuple(c.strip() for c in pk.group(1).split(","))
    return keys
