"""Column types and nullability of sql/schema.sql, for the Power BI model.

``electio.warehouse.schema.table_columns`` gives names only; the template also needs
each column's type (to pick the Power BI data type and the Power Query type) and
whether it may be NULL (empty CSV fields must become nulls, not empty strings).
Both come from :func:`electio.warehouse.schema.schema_tables`, the one reading of the DDL.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from electio.warehouse import schema as warehouse_schema

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
    for table in warehouse_schema.schema_tables():
        for col in table.columns:
            if col.base_type not in TYPE_MAP:
                raise ValueError(f"sql/schema.sql: type {col.base_type} of {table.name}.{col.name} "
                                 "has no Power BI mapping")
        tables[table.name] = tuple(SqlColumn(c.name, c.base_type, c.nullable) for c in table.columns)
    return tables


@lru_cache(maxsize=1)
def primary_keys() -> dict[str, tuple[str, ...]]:
    """Primary key columns of every table (the one side of a relationship must be one)."""
    return {t.name: tuple(t.primary_key) for t in warehouse_schema.schema_tables() if t.primary_key}
