"""Validation of a built template, as strictly as Linux allows without Power BI Desktop.

Each check reads the .pbit as written (not the generator's objects) and returns a list of
problems; an empty list means the check passed. The checks:

- ``check_package``: required parts, encodings (UTF-16LE without BOM), JSON, content types,
  static resources present;
- ``check_m``: every Power Query expression parses with Microsoft's parser
  (@microsoft/powerquery-parser, run with Node; a missing parser is a problem, not a skip);
- ``check_dax``: every measure, calculated column and calculated table parses (pbi_parsers)
  and refers only to tables, columns and measures of the model;
- ``check_model_vs_schema``: tables and columns against sql/schema.sql (both ways, with
  compatible types), relationships on existing columns of equal type, one side a key;
- ``check_visuals``: every field a visual, a filter or a formatting rule references exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from electio.powerbi.package import REQUIRED_PARTS, STATIC_PREFIX, UTF16_PARTS
from electio.powerbi.report import VISUAL_ROLES
from electio.powerbi.sqltypes import TYPE_MAP, primary_keys, schema_tables
from electio.settings import PROJECT_ROOT

M_PARSER_PACKAGE = "@microsoft/powerquery-parser"
PARSE_M_SCRIPT = Path(__file__).with_name("parse_m.js")


@dataclass
class Template:
    """The entries of a .pbit, in ZIP order."""

    path: Path
    parts: dict[str, bytes]

    @classmethod
    def read(cls, path: Path | str) -> "Template":
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist()]
            if len(names) != len(set(names)):
                raise ValueError(f"{path}: duplicate ZIP entries")
            return cls(Path(path), {n: zf.read(n) for n in names})

    def json(self, name: str):
        """A JSON part decoded as Desktop writes it (UTF-16LE JSON parts, UTF-8 resources)."""
        data = self.parts[name]
        text = data.decode("utf-16-le") if name in UTF16_PARTS else data.decode("utf-8")
        return json.loads(text)

    @property
    def model(self) -> dict:
        return self.json("DataModelSchema")["model"]

    @property
    def layout(self) -> dict:
        return self.json("Report/Layout")


def write_template(template: Template, path: Path) -> Path:
    """Write (possibly altered) parts back into a .pbit: used to prove checks catch corruption."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in template.parts.items():
            zf.writestr(name, data)
    return Path(path)


def joined(expression) -> str:
    """Expressions are a string or a list of lines."""
    return "\n".join(expression) if isinstance(expression, list) else expression


# --- package ----------------------------------------------------------------------------

def check_package(t: Template) -> list[str]:
    problems = []
    names = list(t.parts)
    for part in REQUIRED_PARTS:
        if part not in t.parts:
            problems.append(f"required part {part} is missing")
    if names and names[0] != "Version":
        problems.append(f"first entry is {names[0]}, expected Version")
    for part in UTF16_PARTS:
        data = t.parts.get(part)
        if data is None:
            continue
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:3] == b"\xef\xbb\xbf":
            problems.append(f"{part} starts with a byte-order mark")
            continue
        if len(data) % 2 or (len(data) >= 2 and data[1] != 0):
            problems.append(f"{part} is not UTF-16LE (odd length or no zero high byte)")
            continue
        try:
            text = data.decode("utf-16-le")
        except UnicodeDecodeError as exc:
            problems.append(f"{part} does not decode as UTF-16LE: {exc}")
            continue
        if part == "Version":
            if not re.fullmatch(r"\d+\.\d+", text):
                problems.append(f"Version is {text!r}, expected a version number")
            continue
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(f"{part} is not valid JSON: {exc}")
    problems += _check_content_types(t)
    for name, data in t.parts.items():
        if name.startswith(STATIC_PREFIX) and name.endswith(".json"):
            if data[:3] == b"\xef\xbb\xbf":
                problems.append(f"{name} starts with a byte-order mark")
            try:
                json.loads(data.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(f"{name} is not UTF-8 JSON: {exc}")
    if not problems:
        for section in t.layout.get("resourcePackages", []):
            package = section["resourcePackage"]
            for item in package.get("items", []):
                if package.get("type") == 0:  # a custom visual's files
                    entry = f"Report/CustomVisuals/{package['name']}/resources/{item['path']}"
                else:
                    entry = f"{STATIC_PREFIX}{package['name']}/{item['path']}"
                if entry not in t.parts:
                    problems.append(f"resource {item.get('name', item['path'])} of package {package['name']} "
                                    f"has no entry {entry}")
        for key in ("sections", "config"):
            if key not in t.layout:
                problems.append(f"Report/Layout has no {key}")
        model_doc = t.json("DataModelSchema")
        if not isinstance(model_doc.get("compatibilityLevel"), int) or "model" not in model_doc:
            problems.append("DataModelSchema has no compatibilityLevel/model")
    return problems


def _check_content_types(t: Template) -> list[str]:
    data = t.parts.get("[Content_Types].xml")
    if data is None:
        return []
    if data[:3] == b"\xef\xbb\xbf":
        return ["[Content_Types].xml starts with a byte-order mark"]
    try:
        root = ET.fromstring(data.decode("utf-8"))
    except (UnicodeDecodeError, ET.ParseError) as exc:
        return [f"[Content_Types].xml is not valid XML: {exc}"]
    ns = "{http://schemas.openxmlformats.org/package/2006/content-types}"
    if root.tag != f"{ns}Types":
        return [f"[Content_Types].xml root is {root.tag}, expected Types"]
    defaults = {e.get("Extension", "").lower() for e in root.findall(f"{ns}Default")}
    overrides = {e.get("PartName") for e in root.findall(f"{ns}Override")}
    problems = [f"[Content_Types].xml overrides a missing part {p}" for p in sorted(overrides)
                if p.lstrip("/") not in t.parts]
    for name in t.parts:
        if name == "[Content_Types].xml" or name.startswith("_rels/"):  # OPC relationship parts
            continue
        leaf = name.rsplit("/", 1)[-1]
        ext = leaf.rsplit(".", 1)[1].lower() if "." in leaf else None
        if f"/{name}" not in overrides and ext not in defaults:
            problems.append(f"part {name} has no content type")
    return problems


# --- Power Query (M) --------------------------------------------------------------------

def m_expressions(model: dict) -> dict[str, str]:
    """Every M expression of the model: table partitions and shared expressions (parameters)."""
    out = {}
    for table in model["tables"]:
        for partition in table.get("partitions", []):
            if partition["source"].get("type") == "m":
                out[f"table {table['name']}"] = joined(partition["source"]["expression"])
    for expression in model.get("expressions", []):
        if expression.get("kind", "m") == "m":
            out[f"expression {expression['name']}"] = joined(expression["expression"])
    return out


def m_parser_problem() -> str | None:
    """Why the M parser cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed: the M expressions cannot be parsed"
    if not (PROJECT_ROOT / "node_modules" / M_PARSER_PACKAGE / "package.json").exists():
        return (f"{M_PARSER_PACKAGE} is not installed in {PROJECT_ROOT / 'node_modules'}: "
                "run `npm ci` at the repository root")
    return None


def parse_m(texts: dict[str, str]) -> dict[str, str | None]:
    """Parse M texts with Microsoft's parser: id -> None (parsed) or the error message."""
    problem = m_parser_problem()
    if problem:
        raise RuntimeError(problem)
    payload = json.dumps([{"id": k, "text": v} for k, v in texts.items()])
    env = dict(os.environ, NODE_PATH=str(PROJECT_ROOT / "node_modules"))
    proc = subprocess.run(["node", str(PARSE_M_SCRIPT)], input=payload.encode("utf-8"), capture_output=True,
                          env=env, cwd=PROJECT_ROOT, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the M parser failed: {proc.stderr.decode('utf-8', 'replace')[-2000:]}")
    results = json.loads(proc.stdout.decode("utf-8"))
    return {r["id"]: None if r["ok"] else f"{r['stage']}: {r['error']}" for r in results}


def check_m(t: Template) -> list[str]:
    texts = m_expressions(t.model)
    if not texts:
        return ["the model has no M expression"]
    try:
        results = parse_m(texts)
    except RuntimeError as exc:
        return [str(exc)]
    missing = set(texts) - set(results)
    problems = [f"{k}: not parsed" for k in sorted(missing)]
    problems += [f"{k}: M does not parse ({err})" for k, err in results.items() if err]
    return problems


# --- DAX ---------------------------------------------------------------------------------

def dax_expressions(model: dict) -> list[tuple[str, str, str | None]]:
    """(where, DAX, table for row context) of every measure, calculated column and table."""
    out = []
    for table in model["tables"]:
        for m in table.get("measures", []):
            out.append((f"measure [{m['name']}]", joined(m["expression"]), None))
        for c in table.get("columns", []):
            if c.get("type") == "calculated":
                out.append((f"calculated column '{table['name']}'[{c['name']}]", joined(c["expression"]),
                            table["name"]))
        for p in table.get("partitions", []):
            if p["source"].get("type") == "calculated":
                out.append((f"calculated table '{table['name']}'", joined(p["source"]["expression"]), None))
    return out


@lru_cache(maxsize=4096)
def parse_dax(text: str) -> str | None:
    """None if the DAX parses to the end, else the error."""
    from pbi_parsers.dax import Lexer, Parser, TokenType
    from pbi_parsers.dax.main import remove_non_executing_tokens

    try:
        parser = Parser(remove_non_executing_tokens(Lexer(text).scan()))
        ast = parser.to_ast()
    except AssertionError:
        return "unexpected text after the expression"
    except Exception as exc:  # the parser raises ValueError and others on bad input
        return f"{type(exc).__name__}: {exc}"
    if ast is None:
        return "no expression"
    if parser.peek().tok_type != TokenType.EOF:
        return f"unexpected text after the expression: {parser.peek().text!r}"
    return None


@lru_cache(maxsize=4096)
def dax_references(text: str) -> tuple[list[tuple[str, str]], list[str], list[str], set[str]]:
    """(qualified column refs, bare [refs], table refs, names declared in string literals)."""
    from pbi_parsers.dax import Lexer, TokenType
    from pbi_parsers.dax.main import remove_non_executing_tokens

    tokens = remove_non_executing_tokens(Lexer(text).scan())
    qualified, bare, tables, declared = [], [], [], set()
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.tok_type == TokenType.STRING_LITERAL:
            declared.add(tok.text[1:-1].replace('""', '"'))
        elif tok.tok_type in (TokenType.SINGLE_QUOTED_IDENTIFIER, TokenType.UNQUOTED_IDENTIFIER):
            name = tok.text[1:-1].replace("''", "'") if tok.tok_type == TokenType.SINGLE_QUOTED_IDENTIFIER else tok.text
            if nxt is not None and nxt.tok_type == TokenType.BRACKETED_IDENTIFIER:
                qualified.append((name, nxt.text[1:-1].replace("]]", "]")))
            elif tok.tok_type == TokenType.SINGLE_QUOTED_IDENTIFIER:
                tables.append(name)
        elif tok.tok_type == TokenType.BRACKETED_IDENTIFIER:
            prev = tokens[i - 1] if i else None
            if prev is None or prev.tok_type not in (TokenType.SINGLE_QUOTED_IDENTIFIER, TokenType.UNQUOTED_IDENTIFIER):
                bare.append(tok.text[1:-1].replace("]]", "]"))
    return qualified, bare, tables, declared


def check_dax(t: Template) -> list[str]:
    model = t.model
    columns = {tb["name"]: {c["name"] for c in tb.get("columns", [])} for tb in model["tables"]}
    measures = {m["name"]: tb["name"] for tb in model["tables"] for m in tb.get("measures", [])}
    problems = []
    expressions = dax_expressions(model)
    if not expressions:
        return ["the model has no DAX expression"]
    for where, text, row_table in expressions:
        error = parse_dax(text)
        if error:
            problems.append(f"{where}: DAX does not parse ({error})")
            continue
        qualified, bare, tables, declared = dax_references(text)
        for table, col in qualified:
            if table not in columns:
                problems.append(f"{where}: unknown table '{table}'")
            elif col not in columns[table] and measures.get(col) != table:
                problems.append(f"{where}: unknown column '{table}'[{col}]")
        for table in tables:
            if table not in columns:
                problems.append(f"{where}: unknown table '{table}'")
        for name in bare:
            own = row_table is not None and name in columns[row_table]
            if name not in measures and name not in declared and name != "Value" and not own:
                problems.append(f"{where}: unknown measure [{name}]")
    return problems


# --- model vs sql/schema.sql -------------------------------------------------------------

_ITEM = re.compile(r'(?:Item|Name)\s*=\s*"(\w+)"')
_FROM = re.compile(r"\bFROM\s+(\w+)", re.I)
_CSV = re.compile(r'"\\(\w+)\.csv"')
_TYPE_PAIR = re.compile(r'\{"((?:[^"]|"")+)",\s*(type \w+|Int64\.Type)\}')
_ODBC_ITEM = re.compile(r'Odbc\.DataSource\([^{}]*\)\{\[Name = "(\w+)", Kind = "Table"\]\}\[Data\]')
_NATIVE = re.compile(r"Odbc\.Query\s*\(|Value\.NativeQuery\s*\(|\bQuery\s*=")
_SELECT_COLUMNS = re.compile(r"Table\.SelectColumns\(\s*\w+\s*,\s*\{([^}]*)\}\s*\)")


def source_table(m: str) -> str | None:
    """The warehouse table a partition reads (navigation item, native query or CSV file)."""
    found = {x for rx in (_ITEM, _FROM, _CSV) for x in rx.findall(m)}
    return found.pop() if len(found) == 1 else None


def odbc_navigation(model: dict) -> dict[str, str]:
    """Model table -> the warehouse table its Odbc.DataSource navigation step opens."""
    out = {}
    for table in model["tables"]:
        for p in table.get("partitions", []):
            if p["source"].get("type") == "m" and (m := _ODBC_ITEM.search(joined(p["source"]["expression"]))):
                out[table["name"]] = m.group(1)
    return out


def native_query_problems(model: dict) -> list[str]:
    """Every M expression that would send a native query (Odbc.Query, Value.NativeQuery, Query=)."""
    problems = []
    for name, text in m_expressions(model).items():
        if (m := _NATIVE.search(text)) is not None:
            problems.append(f"{name}: sends a native query ({m.group(0).strip()}), which Desktop asks to approve")
    return problems


def selected_columns(m: str) -> list[str] | None:
    """The column list of the partition's Table.SelectColumns step."""
    match = _SELECT_COLUMNS.search(m)
    if not match:
        return None
    return [c.replace('""', '"') for c in re.findall(r'"((?:[^"]|"")*)"', match.group(1))]


def csv_files(model: dict) -> dict[str, tuple[str, list[str]]]:
    """Model table -> (CSV file, columns it selects) in the CSV variant."""
    out = {}
    for table in model["tables"]:
        for p in table.get("partitions", []):
            m = joined(p["source"].get("expression", "")) if p["source"].get("type") == "m" else ""
            if (file := _CSV.search(m)) is not None:
                out[table["name"]] = (f"{file.group(1)}.csv", selected_columns(m) or [])
    return out


def check_model_vs_schema(t: Template) -> list[str]:
    schema = schema_tables()
    keys = primary_keys()
    model = t.model
    problems = []
    sql_of: dict[str, str] = {}
    m_types = {sql: m for sql, (_, m) in TYPE_MAP.items()}
    for table in model["tables"]:
        partitions = table.get("partitions", [])
        kinds = {p["source"].get("type") for p in partitions}
        cols = table.get("columns", [])
        if kinds == {"calculated"}:
            for c in cols:
                if c.get("type") != "calculatedTableColumn":
                    problems.append(f"calculated table '{table['name']}': column {c['name']} is not a table column")
            continue
        if kinds != {"m"}:
            problems.append(f"table '{table['name']}': partitions of kinds {sorted(kinds)}")
            continue
        m = joined(partitions[0]["source"]["expression"])
        sql = source_table(m)
        if sql is None or sql not in schema:
            problems.append(f"table '{table['name']}': reads {sql!r}, not a table of sql/schema.sql")
            continue
        sql_of[table["name"]] = sql
        sql_cols = {c.name: c for c in schema[sql]}
        data_cols = [c for c in cols if c.get("type") in (None, "data")]
        for c in data_cols:
            src = c.get("sourceColumn")
            if src not in sql_cols:
                problems.append(f"'{table['name']}'[{c['name']}]: source column {src!r} is not in {sql}")
            elif c["dataType"] != sql_cols[src].data_type:
                problems.append(f"'{table['name']}'[{c['name']}]: type {c['dataType']} incompatible with "
                                f"{sql}.{src} {sql_cols[src].sql_type}")
        missing = set(sql_cols) - {c.get("sourceColumn") for c in data_cols}
        if missing:
            problems.append(f"table '{table['name']}': columns of {sql} missing from the model: {sorted(missing)}")
        selected = selected_columns(m)
        if selected != [c.name for c in schema[sql]]:
            problems.append(f"table '{table['name']}': Power Query selects {selected}, sql/schema.sql has "
                            f"{[c.name for c in schema[sql]]}")
        typed = {name.replace('""', '"'): mtype for name, mtype in _TYPE_PAIR.findall(m)}
        for name, col in sql_cols.items():
            if typed.get(name) != m_types[col.sql_type]:
                problems.append(f"table '{table['name']}': Power Query types {sql}.{name} as {typed.get(name)}, "
                                f"expected {m_types[col.sql_type]}")
        if '"en-US"' not in m:
            problems.append(f"table '{table['name']}': types are converted without an explicit culture")
    tables = {tb["name"]: {c["name"]: c for c in tb.get("columns", [])} for tb in model["tables"]}
    for tb in model["tables"]:
        for c in tb.get("columns", []):
            if c.get("sortByColumn") and c["sortByColumn"] not in tables[tb["name"]]:
                problems.append(f"'{tb['name']}'[{c['name']}]: sort column {c['sortByColumn']!r} does not exist")
    for rel in model.get("relationships", []):
        ends = []
        for side in ("from", "to"):
            table, col = rel[f"{side}Table"], rel[f"{side}Column"]
            if table not in tables or col not in tables[table]:
                problems.append(f"relationship {rel['name']}: '{table}'[{col}] does not exist")
            else:
                ends.append(tables[table][col])
        if len(ends) == 2:
            if ends[0]["dataType"] != ends[1]["dataType"]:
                problems.append(f"relationship '{rel['fromTable']}'[{rel['fromColumn']}] -> '{rel['toTable']}'"
                                f"[{rel['toColumn']}]: types {ends[0]['dataType']} and {ends[1]['dataType']}")
            to_sql = sql_of.get(rel["toTable"])
            if to_sql is not None and keys.get(to_sql) != (ends[1].get("sourceColumn"),):
                problems.append(f"relationship to '{rel['toTable']}'[{rel['toColumn']}]: not the primary key "
                                f"of {to_sql} {keys.get(to_sql)}")
    return problems


# --- visuals -----------------------------------------------------------------------------

def _walk(node, found: list) -> None:
    """Collect every Column/Measure/Aggregation reference and every ResourcePackageItem."""
    if isinstance(node, dict):
        for key in ("Column", "Measure", "Hierarchy"):
            if key in node and isinstance(node[key], dict) and "Property" in node[key]:
                found.append((key, node[key]))
        if "ResourcePackageItem" in node:
            found.append(("Resource", node["ResourcePackageItem"]))
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _check_refs(obj, aliases: dict[str, str], model_fields: dict, resources: set, where: str) -> list[str]:
    columns, measures = model_fields["columns"], model_fields["measures"]
    found: list = []
    _walk(obj, found)
    problems = []
    for kind, ref in found:
        if kind == "Resource":
            if (ref.get("PackageName"), ref.get("ItemName")) not in resources:
                problems.append(f"{where}: resource {ref.get('ItemName')!r} is not in the report's packages")
            continue
        source = ref.get("Expression", {}).get("SourceRef", {})
        entity = source.get("Entity") or aliases.get(source.get("Source"))
        if entity is None:
            problems.append(f"{where}: reference to {ref.get('Property')!r} with unknown source {source}")
            continue
        prop = ref["Property"]
        if kind == "Measure":
            if measures.get(prop) != entity:
                problems.append(f"{where}: unknown measure {entity}.{prop}")
        elif entity not in columns or prop not in columns[entity]:
            problems.append(f"{where}: unknown column {entity}.{prop}")
    return problems


def _aliases(query: dict | None) -> dict[str, str]:
    return {f["Name"]: f["Entity"] for f in (query or {}).get("From", [])}


def _filter_problems(filters, model_fields, resources, where) -> list[str]:
    problems = []
    for f in filters:
        problems += _check_refs(f.get("expression", {}), {}, model_fields, resources, where)
        problems += _check_refs(f.get("filter", {}).get("Where", []), _aliases(f.get("filter")), model_fields,
                                resources, where)
    return problems


def _layout_problems(section: dict, page: str) -> list[str]:
    """Visuals inside the page and not on top of each other."""
    width, height = section.get("width", 0), section.get("height", 0)
    boxes, problems = [], []
    for c in section.get("visualContainers", []):
        name = json.loads(c["config"]).get("name")
        x, y, w, h = c["x"], c["y"], c["width"], c["height"]
        if x < 0 or y < 0 or x + w > width or y + h > height:
            problems.append(f"page {page!r}: visual {name} outside the {width}x{height} page")
        for other, (ox, oy, ow, oh) in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                problems.append(f"page {page!r}: visuals {other} and {name} overlap")
        boxes.append((name, (x, y, w, h)))
    return problems


def check_visuals(t: Template) -> list[str]:
    model, layout = t.model, t.layout
    model_fields = {"columns": {tb["name"]: {c["name"] for c in tb.get("columns", [])} for tb in model["tables"]},
                    "measures": {m["name"]: tb["name"] for tb in model["tables"] for m in tb.get("measures", [])}}
    resources = {(p["resourcePackage"]["name"], i.get(key)) for p in layout.get("resourcePackages", [])
                 for i in p["resourcePackage"].get("items", []) for key in ("name", "path")}
    problems = _filter_problems(json.loads(layout.get("filters", "[]")), model_fields, resources, "report filters")
    if not layout.get("sections"):
        problems.append("the report has no page")
    for section in layout.get("sections", []):
        page = section.get("displayName", section.get("name"))
        problems += _filter_problems(json.loads(section.get("filters", "[]")), model_fields, resources,
                                     f"page {page!r} filters")
        problems += _layout_problems(section, page)
        for container in section.get("visualContainers", []):
            config = json.loads(container["config"])
            visual = config.get("singleVisual", {})
            where = f"page {page!r}, visual {config.get('name')} ({visual.get('visualType')})"
            vtype = visual.get("visualType")
            if vtype not in VISUAL_ROLES:
                problems.append(f"{where}: unknown visual type")
                continue
            query = visual.get("prototypeQuery")
            aliases = _aliases(query)
            for alias, entity in aliases.items():
                if entity not in model_fields["columns"]:
                    problems.append(f"{where}: unknown table {entity!r}")
            names = {s.get("Name") for s in (query or {}).get("Select", [])}
            problems += _check_refs(query or {}, aliases, model_fields, resources, where)
            for role, items in visual.get("projections", {}).items():
                if role not in VISUAL_ROLES[vtype]:
                    problems.append(f"{where}: role {role!r} does not exist on a {vtype}")
                for item in items:
                    if item.get("queryRef") not in names:
                        problems.append(f"{where}: projection {item.get('queryRef')!r} is not selected")
            if VISUAL_ROLES[vtype] and not visual.get("projections"):  # textbox, button: no data
                problems.append(f"{where}: no field")
            for key in ("objects", "vcObjects"):
                problems += _check_refs(visual.get(key, {}), aliases, model_fields, resources, where)
                for rules in visual.get(key, {}).values():
                    for rule in rules:
                        meta = rule.get("selector", {}).get("metadata")
                        if meta is not None and meta not in names:
                            problems.append(f"{where}: formatting targets {meta!r}, not a field of the visual")
            problems += _filter_problems(json.loads(container.get("filters", "[]")), model_fields, resources, where)
    return problems


# --- shape map --------------------------------------------------------------------------

DECODE_TOPOJSON_SCRIPT = Path(__file__).with_name("decode_topojson.js")


def _node(script: Path, payload: dict) -> dict:
    problem = m_parser_problem()
    if problem is None and not (PROJECT_ROOT / "node_modules" / "topojson-client" / "package.json").exists():
        problem = "topojson-client is not installed: run `npm ci` at the repository root"
    if problem:
        raise RuntimeError(problem)
    env = dict(os.environ, NODE_PATH=str(PROJECT_ROOT / "node_modules"))
    proc = subprocess.run(["node", str(script)], input=json.dumps(payload).encode("utf-8"), capture_output=True,
                          env=env, cwd=PROJECT_ROOT, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace")[-2000:])
    return json.loads(proc.stdout.decode("utf-8"))


def _signed_area(ring: list) -> float:
    """Shoelace area in lon/lat: positive for a counter-clockwise ring."""
    return sum(x1 * y2 - x2 * y1 for (x1, y1, *_), (x2, y2, *_) in zip(ring, ring[1:])) / 2


def shape_map_features(t: Template) -> dict[str, list[dict]]:
    """Resource item -> GeoJSON features decoded with topojson-client, for every shape map."""
    out = {}
    for section in t.layout["sections"]:
        for container in section["visualContainers"]:
            visual = json.loads(container["config"]).get("singleVisual", {})
            if visual.get("visualType") != "shapeMap":
                continue
            found: list = []
            _walk(visual.get("objects", {}).get("shape", []), found)
            for kind, ref in found:
                if kind == "Resource" and ref["ItemName"] not in out:
                    entry = f"{STATIC_PREFIX}{ref['PackageName']}/{ref['ItemName']}"
                    topology = json.loads(t.parts[entry].decode("utf-8"))
                    objects = list(topology.get("objects", {}))
                    if len(objects) != 1:
                        raise ValueError(f"{entry}: expected one object, found {objects}")
                    decoded = _node(DECODE_TOPOJSON_SCRIPT, {"topology": topology, "object": objects[0]})
                    out[ref["ItemName"]] = decoded["features"]
    return out


def check_shape_map(t: Template, expected_codes: set[str] | None = None) -> list[str]:
    """Shape Map TopoJSON: decodes, one feature per commune code, d3 winding, WGS84 coordinates."""
    try:
        maps = shape_map_features(t)
    except (RuntimeError, ValueError, KeyError, json.JSONDecodeError) as exc:
        return [f"shape map: {exc}"]
    if not maps:
        return ["the report has no shape map"]
    problems = []
    for item, features in maps.items():
        codes = [f.get("properties", {}).get("code") for f in features]
        if len(codes) != len(set(codes)) or None in codes:
            problems.append(f"{item}: commune codes missing or repeated")
        if expected_codes is not None and set(codes) != expected_codes:
            problems.append(f"{item}: {len(set(codes) ^ expected_codes)} codes differ from the communes "
                            f"(e.g. {sorted(set(codes) ^ expected_codes)[:5]})")
        for f in features:
            code, geom = f.get("properties", {}).get("code"), f.get("geometry") or {}
            if f.get("id") != code:
                problems.append(f"{item}: feature {code} has id {f.get('id')!r}")
            polygons = {"Polygon": [geom.get("coordinates")], "MultiPolygon": geom.get("coordinates")}.get(
                geom.get("type"))
            if not polygons:
                problems.append(f"{item}: feature {code} is a {geom.get('type')}, not a polygon")
                continue
            for polygon in polygons:
                for i, ring in enumerate(polygon):
                    if any(not (-180 <= p[0] <= 180 and -90 <= p[1] <= 90) for p in ring):
                        problems.append(f"{item}: feature {code} has coordinates outside WGS84 longitude/latitude")
                        break
                    area = _signed_area(ring)
                    if (i == 0 and area >= 0) or (i > 0 and area <= 0):
                        problems.append(f"{item}: feature {code} ring {i} is wound the wrong way for d3 "
                                        "(exterior rings must be clockwise)")
                        break
    return problems


# --- data sources: SQLite through ODBC, CSV extracts -------------------------------------

def sqlite_odbc_driver() -> str:
    """Name of the installed SQLite3 ODBC driver (Debian libsqliteodbc registers SQLite3)."""
    import pyodbc

    drivers = [d for d in pyodbc.drivers() if "sqlite3" in d.lower()]
    if not drivers:
        raise RuntimeError(f"no SQLite3 ODBC driver among {pyodbc.drivers()}: install unixodbc and libsqliteodbc "
                           "(bash .ci/run does)")
    return drivers[0]


_PY_TYPES = {"string": (str,), "int64": (int,), "double": (float, int)}


def check_sqlite_odbc(t: Template, sqlite_file: Path | str) -> list[str]:
    """Replay the SQLite variant through pyodbc and the SQLite3 ODBC driver, as Power Query would.

    Each table's navigation item must be a table of the driver's catalog (SQLTables), the
    columns its SelectColumns step keeps must be the model's, in order, and exist in the
    driver's SQLColumns; the SELECT that Power Query folds those steps into must return every
    row of the table with values of the model's types. No native query anywhere.
    """
    import sqlite3
    from datetime import date, datetime

    import pyodbc

    model = t.model
    items = odbc_navigation(model)
    problems = native_query_problems(model)
    data_tables = [tb for tb in model["tables"] if any(p["source"].get("type") == "m" for p in tb["partitions"])]
    for tb in data_tables:
        if tb["name"] not in items:
            problems.append(f"table '{tb['name']}': no Odbc.DataSource navigation step")
    try:
        driver = sqlite_odbc_driver()
        conn = pyodbc.connect(f"Driver={{{driver}}};Database={sqlite_file}", autocommit=True)
    except (RuntimeError, pyodbc.Error) as exc:
        return problems + [f"cannot connect through ODBC: {exc}"]
    try:
        catalog = {r.table_name for r in conn.cursor().tables(tableType="TABLE").fetchall()}
        with sqlite3.connect(sqlite_file) as lite:
            for tb in data_tables:
                item = items.get(tb["name"])
                if item is None:
                    continue
                if item not in catalog:
                    problems.append(f"table '{tb['name']}': navigation item {item!r} is not a table of the ODBC source")
                    continue
                cols = [c for c in tb["columns"] if c.get("type") in (None, "data")]
                expected = [c["sourceColumn"] for c in cols]
                m = joined(tb["partitions"][0]["source"]["expression"])
                selected = selected_columns(m)
                if selected != expected:
                    problems.append(f"table '{tb['name']}': the query keeps {selected}, the model expects {expected}")
                    continue
                odbc_cols = [r.column_name for r in conn.cursor().columns(table=item).fetchall()]
                missing = [c for c in expected if c not in odbc_cols]
                if missing:
                    problems.append(f"table '{tb['name']}': columns {missing} are not in {item} through ODBC")
                    continue
                sql = f"SELECT {', '.join(expected)} FROM {item}"
                cursor = conn.cursor()
                try:
                    cursor.execute(sql)
                    rows = cursor.fetchall()
                except pyodbc.Error as exc:
                    problems.append(f"table '{tb['name']}': {sql!r} fails through ODBC: {exc}")
                    continue
                count = lite.execute(f"SELECT COUNT(*) FROM {item}").fetchone()[0]
                if len(rows) != count:
                    problems.append(f"table '{tb['name']}': {len(rows)} rows through ODBC, {count} in {item}")
                for i, c in enumerate(cols):
                    allowed = (date, datetime) if c["dataType"] == "dateTime" else _PY_TYPES[c["dataType"]]
                    bad = next((r[i] for r in rows if r[i] is not None and not isinstance(r[i], allowed)), None)
                    if bad is not None:
                        problems.append(f"'{tb['name']}'[{c['name']}]: ODBC value {bad!r} is not a {c['dataType']}")
    finally:
        conn.close()
    return problems


def _whole_number(text: str) -> float:
    """What Int64.Type with culture en-US accepts: '12' and '12.0' (pandas writes nullable ints so)."""
    value = float(text)
    if not value.is_integer():
        raise ValueError(text)
    return value


def _iso_date(text: str):
    """ISO dates and date-times, as culture en-US reads them."""
    from datetime import date, datetime

    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


def check_csv_exports(t: Template, exports_dir: Path | str) -> list[str]:
    """The CSV variant reads files that exist, with the exported headers, in convertible formats."""
    import csv

    model = t.model
    files = csv_files(model)
    problems = []
    exports_dir = Path(exports_dir)
    for tb in model["tables"]:
        if not any(p["source"].get("type") == "m" for p in tb["partitions"]):
            continue
        if tb["name"] not in files:
            problems.append(f"table '{tb['name']}': no CSV file")
            continue
        file, selected = files[tb["name"]]
        cols = [c for c in tb["columns"] if c.get("type") in (None, "data")]
        path = exports_dir / file
        if not path.exists():
            problems.append(f"table '{tb['name']}': {path} does not exist")
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = [row for _, row in zip(range(5000), reader)]
        m = next(joined(p["source"]["expression"]) for p in tb["partitions"])
        ncols = re.search(r"Columns\s*=\s*(\d+)", m)
        if header != selected or header != [c["sourceColumn"] for c in cols]:
            problems.append(f"{file}: header {header} differs from the model's columns {selected}")
            continue
        if ncols is None or int(ncols.group(1)) != len(header):
            problems.append(f"{file}: Csv.Document reads {ncols and ncols.group(1)} columns, "
                            f"the file has {len(header)}")
        parse = {"int64": _whole_number, "double": float, "string": str, "dateTime": _iso_date}
        for i, c in enumerate(cols):
            for row in rows:
                value = row[i]
                if value == "":
                    continue
                try:
                    parse[c["dataType"]](value)
                except ValueError:
                    problems.append(f"{file}: {c['sourceColumn']} value {value!r} does not convert to {c['dataType']}")
                    break
    return problems


def validate_template(path: Path | str) -> list[str]:
    """Every check on one .pbit; an empty list means it passed them all."""
    t = Template.read(path)
    problems = check_package(t)
    if problems:
        return problems
    for check in (check_m, check_dax, check_model_vs_schema, check_visuals):
        problems += [f"{check.__name__}: {p}" for p in check(t)]
    problems += [f"native queries: {p}" for p in native_query_problems(t.model)]
    return problems
