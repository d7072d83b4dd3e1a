"""sql/schema.sql: the single source of truth for tables, columns, types and keys.

The one reader of the DDL: the loader (names, creation order), the data dictionary
(comments), the Power BI model (types, nullability, keys) and the schema diagram all
use :func:`schema_tables`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from electio.settings import project_file

_CREATE = re.compile(r"^CREATE\s+TABLE\s+(\w+)\s*\(", re.I)
_COLUMN = re.compile(r"^(\w+)\s+([A-Za-z]+(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?)\s*(NOT\s+NULL|NULL)?", re.I)
_PK = re.compile(r"PRIMARY\s+KEY\s*\(([^)]*)\)", re.I)
_FK = re.compile(r"CONSTRAINT\s+(\w+)\s+FOREIGN\s+KEY\s*\(([^)]*)\)\s*REFERENCES\s+(\w+)\s*\(([^)]*)\)", re.I)
_CONSTRAINT_WORDS = ("CONSTRAINT", "PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "INDEX")
#: Table name prefixes (anything else is grouped with the metadata tables).
GROUPS = ("dim", "fact", "map", "meta")
#: The refresh's own journal: new rows or values on every run, whatever the data.
JOURNAL = ("meta_refresh", "meta_stage_run")

# Groups of tables the analysis stages declare as their inputs (electio.stages), and that the
# commands running one of them alone read (e.g. ``electio forecast``), so that the big tables (the
# context results, the backtest rows) are read only where they are needed. The report stage and
# the exports still read every table (the report alone: all but the context rows, which it counts).
BASE = ("dim_commune", "dim_election", "dim_bloc", "dim_indicator", "fact_turnout", "fact_election_result",
        "fact_indicator", "fact_indicator_departement", "map_commune_code")
GEOMETRY = ("dim_commune_geometry",)  # the maps
NATIONAL = ("fact_national_result", "fact_national_turnout", "fact_departement_result")
CONTEXT = ("fact_context_result", "fact_context_turnout")
MODEL = ("dim_model", "fact_backtest", "fact_model_metric")
FORECAST = ("dim_scenario", "fact_forecast", "fact_forecast_departement", "fact_horizon_error")


@dataclass(frozen=True)
class Column:
    name: str
    type: str          # as written, e.g. NVARCHAR(20)
    nullable: bool
    comment: str = ""  # the inline -- comment

    @property
    def base_type(self) -> str:
        """The type without its length: NVARCHAR, INT, FLOAT..."""
        return self.type.split("(")[0].strip().upper()


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    table: str
    ref_columns: list[str]


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    comment: str = ""  # the comment block just above CREATE TABLE

    @property
    def group(self) -> str:
        prefix = self.name.split("_", 1)[0]
        return prefix if prefix in GROUPS else "meta"

    def fk_columns(self) -> set[str]:
        return {c for fk in self.foreign_keys for c in fk.columns}


def schema_sql() -> str:
    return project_file("sql/schema.sql").read_text(encoding="utf-8")


def statements(sql: str | None = None) -> list[str]:
    """The DDL statements, comments removed (drivers differ on comment handling)."""
    sql = schema_sql() if sql is None else sql
    text = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def _names(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def parse_schema(sql: str) -> list[Table]:
    """Tables of a DDL script (the portable subset sql/schema.sql uses), in file order.

    One definition per line inside CREATE TABLE (column or constraint), as sql/schema.sql
    is written; comments are kept (table: the block above; column: the inline one).
    """
    tables: list[Table] = []
    comment: list[str] = []
    table: Table | None = None
    for line in sql.splitlines():
        code, _, note = line.partition("--")
        code, note = " ".join(code.split()), note.strip()
        if table is None:
            if match := _CREATE.match(code):
                table = Table(match.group(1), comment=" ".join(c for c in comment if c))
                tables.append(table)
                comment = []
            elif code or not line.strip():
                comment = []
            else:
                comment.append(note.lstrip("-").strip())
            continue
        if code.startswith(")"):
            table = None
            continue
        part = code.rstrip(",").strip()
        if not part:
            continue
        if part.split()[0].upper() in _CONSTRAINT_WORDS:
            if (fk := _FK.search(part)) is not None:
                table.foreign_keys.append(ForeignKey(fk.group(1), _names(fk.group(2)), fk.group(3),
                                                     _names(fk.group(4))))
            elif (pk := _PK.search(part)) is not None:
                table.primary_key = _names(pk.group(1))
            continue
        col = _COLUMN.match(part)
        if col is None:
            raise ValueError(f"sql/schema.sql, table {table.name}: cannot read column definition {part!r}")
        null = (col.group(3) or "NULL").upper().replace(" ", "")
        table.columns.append(Column(col.group(1), "".join(col.group(2).split()), null != "NOTNULL", note))
    return tables


@lru_cache(maxsize=1)
def schema_tables() -> tuple[Table, ...]:
    """Every table of sql/schema.sql, in creation order (which respects foreign keys)."""
    return tuple(parse_schema(schema_sql()))


@lru_cache(maxsize=1)
def table_columns() -> dict[str, list[str]]:
    """Columns of every table, in DDL order, in the order tables are created.

    Creation order respects foreign keys, so it is also the load order.
    """
    return {t.name: [c.name for c in t.columns] for t in schema_tables()}


def view_statements() -> list[str]:
    """sql/views.sql: the analysts' flat views, (re)created by the load after the tables."""
    return statements(project_file("sql/views.sql").read_text(encoding="utf-8"))


def view_names() -> list[str]:
    return [re.match(r"CREATE\s+VIEW\s+(\w+)", s, re.I).group(1) for s in view_statements()
            if re.match(r"CREATE\s+VIEW", s, re.I)]


def view_tables() -> dict[str, list[str]]:
    """The tables each view of sql/views.sql reads (FROM / JOIN), in order: a view's content
    is a function of theirs."""
    out = {}
    for s in view_statements():
        if match := re.match(r"CREATE\s+VIEW\s+(\w+)", s, re.I):
            out[match.group(1)] = list(dict.fromkeys(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", s, re.I)))
    return out
