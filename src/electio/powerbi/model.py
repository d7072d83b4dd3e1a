"""The tabular model of the templates: sql/schema.sql + model.toml + measures.toml.

``build_model`` resolves the definition against the schema (every column of an exposed
table gets its French name, its type from the DDL, nothing is invented), and
``data_model_schema`` writes the ``DataModelSchema`` part of one variant: same tables,
columns, measures and relationships; only the Power Query of each table and the
parameters differ between the warehouse and the CSV variants.
"""

from __future__ import annotations

import json
import logging
import string
import textwrap
import uuid
from dataclasses import dataclass, field

from electio.powerbi.definition import Definition, DefinitionError
from electio.powerbi.sqltypes import SqlColumn, schema_tables

#: Model compatibility level: the one of the reference template saved by Power BI
#: Desktop 2.114 (February 2023); every later Desktop opens it (and may upgrade it on save).
COMPATIBILITY_LEVEL = 1550
#: Desktop release whose file format the templates follow (see powerbi/README.md).
DESKTOP_VERSION = "2.114.322.0 (23.02)"
PARAMETER_GROUP = "Paramètres"

log = logging.getLogger("electio.powerbi")

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://electio/powerbi")


def stable_uuid(*parts: str) -> str:
    """A GUID derived from names, so that a rebuild gives the same ids."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass
class Column:
    name: str
    data_type: str
    kind: str  # data, calculated, calculatedTableColumn
    source: str | None = None  # SQL column name (data) or "[Name]" (calculated table)
    sql: SqlColumn | None = None
    expression: str | None = None
    format: str | None = None
    hidden: bool = False
    category: str | None = None
    sort_by: str | None = None
    summarize: str = "none"
    description: str | None = None


@dataclass
class Measure:
    name: str
    table: str
    expression: str
    format: str | None = None
    folder: str | None = None
    hidden: bool = False
    description: str | None = None


@dataclass
class Table:
    name: str
    sql_name: str | None
    columns: list[Column]
    measures: list[Measure] = field(default_factory=list)
    expression: str | None = None  # DAX of a calculated table
    hidden: bool = False
    description: str | None = None

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def column_by_source(self, sql_name: str) -> Column:
        return next(c for c in self.columns if c.kind == "data" and c.source == sql_name)


@dataclass(frozen=True)
class Relationship:
    from_table: str
    from_column: str
    to_table: str
    to_column: str


@dataclass
class ModelSpec:
    tables: list[Table]
    relationships: list[Relationship]
    culture: str
    source_query_culture: str

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def measure(self, name: str) -> Measure | None:
        return next((m for t in self.tables for m in t.measures if m.name == name), None)

    @property
    def sql_tables(self) -> list[Table]:
        return [t for t in self.tables if t.sql_name is not None]


def _column_options(col: Column, opts: dict, where: str) -> None:
    known = {"name", "format", "hidden", "category", "sort_by", "summarize", "description", "type", "expression"}
    unknown = set(opts) - known
    if unknown:
        raise DefinitionError(f"{where}: unknown option(s) {sorted(unknown)}")
    col.format = opts.get("format")
    col.hidden = bool(opts.get("hidden", False))
    col.category = opts.get("category")
    col.summarize = opts.get("summarize", "none")
    col.description = opts.get("description")


def build_model(defn: Definition, *, strict: bool = True) -> ModelSpec:
    """Resolve the definition against sql/schema.sql; raise on any gap either way.

    ``strict=False`` (for the refresh) only warns when sql/schema.sql has a table or a
    column the definition does not know yet: the table is left out, the column keeps its
    SQL name. The tests build strictly, so such a gap still fails CI.
    """
    schema = schema_tables()
    declared = defn.model.get("tables", {})
    unknown = set(declared) - set(schema)
    if unknown:
        raise DefinitionError(f"model.toml declares tables absent from sql/schema.sql: {sorted(unknown)}")
    tables: list[Table] = []
    for sql_name, sql_cols in schema.items():
        spec = declared.get(sql_name)
        if spec is None:
            message = (f"table {sql_name} of sql/schema.sql is not in powerbi/definition/model.toml: "
                       "give it a French name and columns, or exclude it with a reason")
            if strict:
                raise DefinitionError(message)
            log.warning("%s; left out of the Power BI model", message)
            continue
        if "exclude" in spec:
            continue
        col_specs = spec.get("columns", {})
        extra = set(col_specs) - {c.name for c in sql_cols}
        if extra:
            raise DefinitionError(f"model.toml, table {sql_name}: columns absent from sql/schema.sql: {sorted(extra)}")
        columns, sorts = [], []
        for sql_col in sql_cols:
            opts = col_specs.get(sql_col.name)
            if opts is None or "name" not in opts:
                message = f"model.toml, table {sql_name}: column {sql_col.name} of sql/schema.sql has no French name"
                if strict:
                    raise DefinitionError(message)
                log.warning("%s; shown under its SQL name", message)
                opts = {"name": sql_col.name, **(opts or {})}
            col = Column(opts["name"], sql_col.data_type, "data", source=sql_col.name, sql=sql_col)
            _column_options(col, opts, f"{sql_name}.{sql_col.name}")
            columns.append(col)
            if "sort_by" in opts:  # a SQL column name
                sorts.append((col, col_specs.get(opts["sort_by"], {}).get("name", opts["sort_by"])))
        for calc in spec.get("calculated", []):
            col = Column(calc["name"], calc["type"], "calculated", expression=calc["expression"].strip())
            _column_options(col, calc, f"{sql_name}: calculated column {calc['name']}")
            columns.append(col)
            if "sort_by" in calc:  # a model column name
                sorts.append((col, calc["sort_by"]))
        table = Table(spec["name"], sql_name, columns, hidden=bool(spec.get("hidden", False)),
                      description=spec.get("description"))
        _resolve_sorts(table, sorts)
        tables.append(table)
    for name, spec in defn.model.get("calculated_tables", {}).items():
        columns, sorts = [], []
        for opts in spec["columns"]:
            col = Column(opts["name"], opts["type"], "calculatedTableColumn", source=f"[{opts['name']}]")
            _column_options(col, opts, f"calculated table {name}")
            columns.append(col)
            if "sort_by" in opts:
                sorts.append((col, opts["sort_by"]))
        table = Table(name, None, columns, expression=spec["expression"].strip(), description=spec.get("description"))
        _resolve_sorts(table, sorts)
        tables.append(table)
    for table in tables:
        names = [c.name for c in table.columns]
        if len(names) != len(set(names)):
            raise DefinitionError(f"model.toml, table {table.name}: duplicate column names")
    if len({t.name for t in tables}) != len(tables):
        raise DefinitionError("model.toml: duplicate table names")
    spec = ModelSpec(tables, [], defn.model["model"]["culture"], defn.model["model"]["source_query_culture"])
    _attach_measures(spec, defn)
    spec.relationships = [_relationship(spec, r) for r in defn.model.get("relationship", [])]
    return spec


def _resolve_sorts(table: Table, sorts: list[tuple[Column, str]]) -> None:
    for col, target in sorts:
        if table.column(target) is None:
            raise DefinitionError(f"model.toml, table {table.name}: sort_by {target!r} of {col.name!r} is unknown")
        col.sort_by = target


def _table_by_key(spec: ModelSpec, key: str) -> Table:
    table = next((t for t in spec.tables if t.sql_name == key), None) or spec.table(key)
    if table is None:
        raise DefinitionError(f"unknown table {key!r} (SQL name of an exposed table, or calculated table name)")
    return table


def _attach_measures(spec: ModelSpec, defn: Definition) -> None:
    column_names = {c.name for t in spec.tables for c in t.columns}
    seen: set[str] = set()
    for m in defn.measures:
        table = _table_by_key(spec, m["table"])
        name = m["name"]
        if name in seen:
            raise DefinitionError(f"measures.toml: measure {name!r} declared twice")
        if name in column_names:
            raise DefinitionError(f"measures.toml: measure {name!r} has the name of a column")
        seen.add(name)
        table.measures.append(Measure(name, table.name, m["expression"].strip(), m.get("format"), m.get("folder"),
                                      bool(m.get("hidden", False)), m.get("description")))


def _relationship(spec: ModelSpec, rel: dict) -> Relationship:
    ends = []
    for key in ("from", "to"):
        text = rel[key]
        table_key, _, rest = text.partition("[")
        col_key = rest.rstrip("]")
        table = _table_by_key(spec, table_key)
        if table.sql_name is not None:
            col = next((c for c in table.columns if c.kind == "data" and c.source == col_key), None)
        else:
            col = table.column(col_key)
        if col is None:
            raise DefinitionError(f"model.toml relationship {text!r}: unknown column")
        ends.append((table.name, col.name))
    return Relationship(ends[0][0], ends[0][1], ends[1][0], ends[1][1])


# --- Power Query -------------------------------------------------------------------------

def m_text(value: str) -> str:
    """An M text literal ("" doubles a quote; M has no backslash escapes)."""
    return '"' + value.replace('"', '""') + '"'


def m_list(values: list[str]) -> str:
    return "{" + ", ".join(m_text(v) for v in values) + "}"


def partition_m(table: Table, template: str) -> str:
    data = [c for c in table.columns if c.kind == "data"]
    values = {
        "table": table.sql_name,
        "file": f"{table.sql_name}.csv",
        "columns": m_list([c.source for c in data]),
        "ncols": str(len(data)),
        "nullable": m_list([c.source for c in data if c.sql.nullable]),
        "types": "{" + ", ".join("{" + m_text(c.source) + ", " + c.sql.m_type + "}" for c in data) + "}",
    }
    return string.Template(textwrap.dedent(template).strip()).substitute(values)


def parameter_m(param: dict) -> str:
    """A parameter query: its value with the metadata that makes Desktop prompt for it."""
    value = m_text(param["default"])
    meta = ["IsParameterQuery=true"]
    if param.get("allowed"):
        meta.append(f"List={m_list(param['allowed'])}")
        meta.append(f"DefaultValue={value}")
    meta.append('Type="Text"')
    meta.append(f"IsParameterQueryRequired={'true' if param.get('required', True) else 'false'}")
    return f"{value} meta [{', '.join(meta)}]"


# --- DataModelSchema ---------------------------------------------------------------------

def _expression(text: str) -> str | list[str]:
    """Multi-line expressions as a list of lines, as Desktop writes them."""
    lines = text.split("\n")
    return lines if len(lines) > 1 else text


def _column_json(table: Table, col: Column) -> dict:
    out: dict = {}
    if col.kind != "data":
        out["type"] = col.kind
    out["name"] = col.name
    out["dataType"] = col.data_type
    if col.kind == "calculated":
        out["isDataTypeInferred"] = True
        out["expression"] = _expression(col.expression)
    elif col.kind == "calculatedTableColumn":
        out["isNameInferred"] = True
        out["isDataTypeInferred"] = True
        out["sourceColumn"] = col.source
    else:
        out["sourceColumn"] = col.source
    if col.format:
        out["formatString"] = col.format
    if col.hidden:
        out["isHidden"] = True
    if col.description:
        out["description"] = col.description
    out["lineageTag"] = stable_uuid("column", table.name, col.name)
    if col.category:
        out["dataCategory"] = col.category
    out["summarizeBy"] = col.summarize
    if col.sort_by:
        out["sortByColumn"] = col.sort_by
    annotations = [{"name": "SummarizationSetBy", "value": "User"}]
    if col.sql is not None and col.sql.sql_type == "DATE":
        annotations.append({"name": "UnderlyingDateTimeDataType", "value": "Date"})
    out["annotations"] = annotations
    return out


def _measure_json(m: Measure) -> dict:
    out: dict = {"name": m.name, "expression": _expression(m.expression)}
    if m.format:
        out["formatString"] = m.format
    if m.hidden:
        out["isHidden"] = True
    if m.folder:
        out["displayFolder"] = m.folder
    if m.description:
        out["description"] = m.description
    out["lineageTag"] = stable_uuid("measure", m.name)
    return out


def variant_parameters(defn: Definition, variant: str) -> list[dict]:
    return [p for p in defn.parameters if variant in p.get("variants", [])]


def data_model_schema(spec: ModelSpec, defn: Definition, variant: str) -> dict:
    """The DataModelSchema JSON (tabular model, enhanced metadata) of one variant."""
    template = defn.variants[variant]["partition"]
    tables = []
    for table in spec.tables:
        out: dict = {"name": table.name}
        if table.description:
            out["description"] = table.description
        if table.hidden:
            out["isHidden"] = True
        out["lineageTag"] = stable_uuid("table", table.name)
        out["columns"] = [_column_json(table, c) for c in table.columns]
        if table.sql_name is not None:
            source = {"type": "m", "expression": _expression(partition_m(table, template))}
        else:
            source = {"type": "calculated", "expression": _expression(table.expression)}
        out["partitions"] = [{"name": f"{table.name}-{stable_uuid('partition', table.name)}", "mode": "import",
                              "source": source}]
        if table.measures:
            out["measures"] = [_measure_json(m) for m in table.measures]
        out["annotations"] = [{"name": "PBI_ResultType", "value": "Table"}]
        tables.append(out)
    relationships = [{"name": stable_uuid("relationship", r.from_table, r.from_column, r.to_table, r.to_column),
                      "fromTable": r.from_table, "fromColumn": r.from_column,
                      "toTable": r.to_table, "toColumn": r.to_column} for r in spec.relationships]
    params = variant_parameters(defn, variant)
    expressions = []
    for p in params:
        expr = {"name": p["name"], "kind": "m", "expression": parameter_m(p),
                "lineageTag": stable_uuid("parameter", p["name"]), "queryGroup": PARAMETER_GROUP}
        if p.get("description"):
            expr["description"] = p["description"]
        expr["annotations"] = [{"name": "PBI_NavigationStepName", "value": "Navigation"},
                               {"name": "PBI_ResultType", "value": "Text"}]
        expressions.append(expr)
    query_order = [p["name"] for p in params] + [t.name for t in spec.sql_tables]
    model = {
        "culture": spec.culture,
        "dataAccessOptions": {"legacyRedirects": True, "returnErrorValuesAsNull": True},
        "defaultPowerBIDataSourceVersion": "powerBI_V3",
        "sourceQueryCulture": spec.source_query_culture,
        "tables": tables,
        "relationships": relationships,
        "expressions": expressions,
        "queryGroups": [{"folder": PARAMETER_GROUP, "annotations": [{"name": "PBI_QueryGroupOrder", "value": "0"}]}],
        "annotations": [
            # No automatic date tables: the model has its own year axis ('Années').
            {"name": "__PBI_TimeIntelligenceEnabled", "value": "0"},
            {"name": "PBIDesktopVersion", "value": DESKTOP_VERSION},
            {"name": "PBI_QueryOrder", "value": json.dumps(query_order, ensure_ascii=False)},
        ],
    }
    return {"name": stable_uuid("model", variant), "compatibilityLevel": COMPATIBILITY_LEVEL, "model": model}
