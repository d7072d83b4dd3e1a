"""sql/schema.sql: the single source of truth for table and column names."""

from __future__ import annotations

import re
from functools import lru_cache

from electio.settings import project_file

_CREATE = re.compile(r"CREATE\s+TABLE\s+(\w+)\s*\((.*)\)\s*$", re.S | re.I)


def schema_sql() -> str:
    return project_file("sql/schema.sql").read_text(encoding="utf-8")


def statements(sql: str | None = None) -> list[str]:
    """The DDL statements, comments removed (drivers differ on comment handling)."""
    sql = schema_sql() if sql is None else sql
    text = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


@lru_cache(maxsize=1)
def table_columns() -> dict[str, list[str]]:
    """Columns of every table, in DDL order, in the order tables are created.

    Creation order respects foreign keys, so it is also the load order.
    """
    tables: dict[str, list[str]] = {}
    for stmt in statements():
        match = _CREATE.match(stmt)
        if not match:
            continue
        cols = []
        for part in match.group(2).split("\n"):
            part = part.strip().rstrip(",")
            if part and not part.upper().startswith(("CONSTRAINT", "PRIMARY", "FOREIGN")):
                cols.append(part.split()[0])
        tables[match.group(1)] = cols
    return tables
