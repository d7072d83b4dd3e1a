"""Checks of the Power BI project (PBIP), offline.

- ``check_schemas``: every JSON file of the project (``.pbip``, ``.pbir``, ``.pbism``,
  ``*.json`` of the report) against the Microsoft schema its ``$schema`` names, read from
  a local copy of Microsoft's ``json-schemas`` folder; any ``$ref`` that is not in that
  copy is refused (nothing is fetched);
- ``parse_tmdl`` reads the TMDL files back (indentation-structured objects, properties,
  descriptions and expressions) and ``model_digest`` reduces a model, parsed or from the
  template's DataModelSchema, to what both must agree on: the round trip;
- ``check_fields``: every field a visual, filter, slicer default, sort or formatting rule
  of the report names exists in the TMDL model; tooltip pages, drill-through filters and
  phone layouts point at things that exist.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from electio.powerbi.pbip import NAME, SCHEMA_ROOT, read_project

JSON_SUFFIXES = (".json", ".pbip", ".pbir", ".pbism")


class NonLocalReference(Exception):
    """A schema $ref outside the local copy: refused rather than fetched."""


# --- JSON schemas -------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def schema_registry(schemas_root: str):
    """A referencing.Registry of every local schema, under its path URL and its $id."""
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource

    root = Path(schemas_root)
    if not (root / "fabric").is_dir():
        raise FileNotFoundError(f"Microsoft's JSON schemas are not at {root} (expected {root}/fabric/...)")
    resources = []
    for path in sorted((root / "fabric").rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(doc)
        url = SCHEMA_ROOT + path.relative_to(root / "fabric").as_posix()
        resources.append((url, resource))
        if isinstance(doc, dict) and doc.get("$id") and doc["$id"] != url:
            resources.append((doc["$id"], resource))

    def refuse(uri: str):
        raise NoSuchResource(ref=uri) from NonLocalReference(f"non-local $ref refused: {uri}")

    return Registry(retrieve=refuse).with_resources(resources)


def schema_for(url: str, schemas_root: str) -> dict:
    if not url.startswith(SCHEMA_ROOT):
        raise NonLocalReference(f"$schema {url!r} is not one of Microsoft's fabric schemas")
    path = Path(schemas_root) / "fabric" / url[len(SCHEMA_ROOT):]
    if not path.is_file():
        raise FileNotFoundError(f"no local copy of {url} (looked for {path})")
    return json.loads(path.read_text(encoding="utf-8"))


def validate_json(doc: dict, schemas_root: str) -> list[str]:
    """Errors of one document against the schema it names (JSON path: message)."""
    from jsonschema.validators import validator_for
    from referencing.exceptions import Unresolvable

    url = doc.get("$schema") if isinstance(doc, dict) else None
    if not url:
        return ["no $schema"]
    try:
        schema = schema_for(url, schemas_root)
    except (NonLocalReference, FileNotFoundError) as exc:
        return [str(exc)]
    cls = validator_for(schema)
    validator = cls(schema, registry=schema_registry(str(schemas_root)))
    try:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    except Unresolvable as exc:
        return [f"unresolvable $ref (refused, schemas are read offline only): {exc}"]
    out = []
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append(f"{where}: {e.message[:300]}")
    return out


def check_schemas(files: dict[str, bytes], schemas_root: Path | str) -> dict[str, list[str]]:
    """File -> schema errors, for every JSON file of the project ({} entries mean valid)."""
    result = {}
    for rel, data in files.items():
        if not rel.endswith(JSON_SUFFIXES) or "/StaticResources/" in rel:
            continue
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            result[rel] = [f"not JSON: {exc}"]
            continue
        result[rel] = validate_json(doc, str(schemas_root))
    return result


def schema_versions(files: dict[str, bytes]) -> dict[str, int]:
    """Schema URL (path after fabric/) -> number of files that follow it."""
    out: dict[str, int] = {}
    for rel, data in files.items():
        if rel.endswith(JSON_SUFFIXES) and "/StaticResources/" not in rel:
            url = json.loads(data.decode("utf-8")).get("$schema", "")
            out[url.removeprefix(SCHEMA_ROOT)] = out.get(url.removeprefix(SCHEMA_ROOT), 0) + 1
    return out


# --- TMDL ---------------------------------------------------------------------------------------

OBJECT_KEYWORDS = {"model", "database", "table", "column", "measure", "partition", "relationship", "expression",
                   "queryGroup", "annotation", "ref", "hierarchy", "level", "role", "culture", "perspective",
                   "calculationGroup", "calculationItem"}
_PROPERTY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):\s?(.*)$")
_EXPR_PROPERTY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class TmdlError(ValueError):
    pass


def read_name(text: str) -> tuple[str, str]:
    """(name, rest) of a TMDL name: 'quoted ''name''' or a plain word."""
    text = text.lstrip()
    if text.startswith("'"):
        i, out = 1, []
        while i < len(text):
            if text[i] == "'":
                if text[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), text[i + 1:]
            out.append(text[i])
            i += 1
        raise TmdlError(f"unterminated quoted name in {text!r}")
    m = re.match(r"[^\s=.]+", text)
    if not m:
        raise TmdlError(f"expected a name in {text!r}")
    return m.group(0), text[m.end():]


def read_text(value: str) -> str:
    """A property value: one in double quotes (inner quotes doubled) is unquoted, any other is as written."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        inner = value[1:-1]
        if re.fullmatch(r'(?:[^"]|"")*', inner):
            return inner.replace('""', '"')
        raise TmdlError(f"badly quoted value {value!r}")
    return value


def _indent(line: str) -> int:
    n = len(line) - len(line.lstrip("\t"))
    if line[n:n + 1] == " ":
        raise TmdlError(f"indentation with spaces: {line!r}")
    return n


def _expression_body(lines: list[str], start: int, indent: int) -> tuple[str, int]:
    """Lines after ``start`` indented deeper than ``indent`` (blank lines inside kept), dedented."""
    body, i = [], start
    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent_safe(line) <= indent:
            break
        body.append(line)
        i += 1
    while body and not body[-1].strip():
        body.pop()
        i -= 1
    nonblank = [b for b in body if b.strip()]
    if not nonblank:
        raise TmdlError(f"line {start}: '=' with no expression below")
    cut = min(len(b) - len(b.lstrip("\t")) for b in nonblank)
    return "\n".join(b[cut:] if b.strip() else "" for b in body), i


def _indent_safe(line: str) -> int:
    return len(line) - len(line.lstrip("\t"))


def parse_tmdl(text: str, where: str = "tmdl") -> list[dict]:
    """Objects of one TMDL document: {kind, name, value, props, children, description}."""
    lines = text.split("\n")
    root: dict = {"children": [], "indent": -1}
    stack = [root]
    description: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        try:
            indent = _indent(line)
        except TmdlError as exc:
            raise TmdlError(f"{where}, line {i + 1}: {exc}") from None
        content = line.strip()
        while stack[-1]["indent"] >= indent:
            stack.pop()
        parent = stack[-1]
        if "props" in parent and indent != parent["indent"] + 1:
            raise TmdlError(f"{where}, line {i + 1}: indented {indent} under an object at {parent['indent']}")
        if content.startswith("///"):
            description.append(content[3:].strip())
            i += 1
            continue
        word = content.split(None, 1)[0]
        if word in OBJECT_KEYWORDS:
            rest = content[len(word):]
            node = {"kind": word, "name": None, "value": None, "props": {}, "children": [], "indent": indent,
                    "description": "\n".join(description) or None, "line": i + 1}
            description = []
            if word == "ref":
                kind, rest = rest.strip().split(None, 1)
                node["kind"], node["ref"] = kind, True
            if rest.strip():
                node["name"], rest = read_name(rest)
            rest = rest.strip()
            i += 1
            if rest.startswith("="):
                value = rest[1:].strip()
                if value:
                    node["value"] = value
                else:  # the body is deeper than the object's properties
                    node["value"], i = _expression_body(lines, i, indent + 1)
            elif rest:
                raise TmdlError(f"{where}, line {i}: unexpected {rest!r} after the name")
            parent["children"].append(node)
            stack.append(node)
            continue
        if description:
            raise TmdlError(f"{where}, line {i + 1}: a description must precede an object")
        if "props" not in parent:
            raise TmdlError(f"{where}, line {i + 1}: property {content!r} outside an object")
        if m := _PROPERTY.match(content):
            parent["props"][m.group(1)] = read_text(m.group(2))
            i += 1
        elif m := _EXPR_PROPERTY.match(content):
            i += 1
            if m.group(2):
                parent["props"][m.group(1)] = m.group(2)
            else:
                parent["props"][m.group(1)], i = _expression_body(lines, i, indent)
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", content):
            # a flag, or an unnamed object (dataAccessOptions) whose flags follow indented
            node = {"kind": content, "name": None, "value": None, "props": {}, "children": [], "indent": indent,
                    "description": None, "line": i + 1, "flag": True}
            parent["props"][content] = True
            parent["children"].append(node)
            stack.append(node)
            i += 1
        else:
            raise TmdlError(f"{where}, line {i + 1}: cannot read {content!r}")
    return root["children"]


def parse_model_folder(files: dict[str, bytes]) -> dict:
    """The semantic model of a project's TMDL files: tables, relationships, expressions, model."""
    prefix = f"{NAME}.SemanticModel/definition/"
    docs = {rel[len(prefix):]: parse_tmdl(data.decode("utf-8"), rel)
            for rel, data in files.items() if rel.startswith(prefix) and rel.endswith(".tmdl")}
    model = {"tables": {}, "relationships": [], "expressions": [], "model": None, "database": None}
    for rel, objects in docs.items():
        owner = None
        for obj in objects:
            kind = obj["kind"]
            if owner is not None:  # model.tmdl: what follows the model declaration belongs to it
                if kind not in ("queryGroup", "annotation", "table") or (kind == "table" and not obj.get("ref")):
                    raise TmdlError(f"{rel}: unexpected {kind} after the model declaration")
                owner["children"].append(obj)
            elif kind == "table" and not obj.get("ref"):
                model["tables"][obj["name"]] = obj
            elif kind == "relationship":
                model["relationships"].append(obj)
            elif kind == "expression":
                model["expressions"].append(obj)
            elif kind in ("model", "database"):
                model[kind] = obj
                owner = obj if kind == "model" else None
            else:
                raise TmdlError(f"{rel}: unexpected top-level {kind}")
    refs = [c["name"] for c in (model["model"] or {"children": []})["children"] if c.get("ref")]
    if sorted(refs) != sorted(model["tables"]):
        raise TmdlError(f"model.tmdl refers to tables {sorted(refs)}, the tables folder has {sorted(model['tables'])}")
    return model


def _split_column_ref(text: str) -> tuple[str, str]:
    table, rest = read_name(text)
    if not rest.startswith("."):
        raise TmdlError(f"expected Table.Column, got {text!r}")
    column, rest = read_name(rest[1:])
    if rest.strip():
        raise TmdlError(f"unexpected {rest!r} after {text!r}")
    return table, column


def _joined(expression) -> str:
    return "\n".join(expression) if isinstance(expression, list) else expression


_COLUMN_KEYS = ("dataType", "formatString", "isHidden", "lineageTag", "dataCategory", "summarizeBy",
                "sourceColumn", "sortByColumn", "description")
_MEASURE_KEYS = ("formatString", "isHidden", "displayFolder", "lineageTag", "description")


def digest_from_schema(schema: dict) -> dict:
    """What the TMDL must say, from a DataModelSchema (the template's model)."""
    model = schema["model"]
    tables = {}
    for t in model["tables"]:
        tables[t["name"]] = {
            "isHidden": bool(t.get("isHidden")), "description": t.get("description"), "lineageTag": t["lineageTag"],
            "columns": {c["name"]: {**{k: c.get(k) for k in _COLUMN_KEYS if k != "isHidden"},
                                    "isHidden": bool(c.get("isHidden")),
                                    "expression": _joined(c["expression"]) if "expression" in c else None,
                                    "annotations": {a["name"]: a["value"] for a in c.get("annotations", [])}}
                        for c in t["columns"]},
            "measures": {m["name"]: {**{k: m.get(k) for k in _MEASURE_KEYS if k != "isHidden"},
                                     "isHidden": bool(m.get("isHidden")), "expression": _joined(m["expression"])}
                         for m in t.get("measures", [])},
            "partitions": [(p["name"], p["source"]["type"], p["mode"], _joined(p["source"]["expression"]))
                           for p in t["partitions"]],
            "annotations": {a["name"]: a["value"] for a in t.get("annotations", [])},
        }
    return {
        "compatibilityLevel": schema["compatibilityLevel"],
        "model": {k: model[k] for k in ("culture", "defaultPowerBIDataSourceVersion", "sourceQueryCulture")},
        "dataAccessOptions": sorted(k for k, v in model["dataAccessOptions"].items() if v),
        "annotations": {a["name"]: a["value"] for a in model["annotations"]},
        "tables": tables,
        "relationships": sorted((r["name"], r["fromTable"], r["fromColumn"], r["toTable"], r["toColumn"])
                                for r in model["relationships"]),
        "expressions": {e["name"]: (e["expression"], e.get("queryGroup"), e.get("description"))
                        for e in model.get("expressions", [])},
    }


def digest_from_tmdl(parsed: dict) -> dict:
    """The same digest, from the parsed TMDL files."""
    def flag(props, key):
        return props.get(key) is True

    tables = {}
    for name, t in parsed["tables"].items():
        columns, measures, partitions, annotations = {}, {}, [], {}
        for c in t["children"]:
            if c["kind"] == "column":
                p = c["props"]
                columns[c["name"]] = {**{k: p.get(k) for k in _COLUMN_KEYS if k not in ("isHidden", "description")},
                                      "description": c["description"], "isHidden": flag(p, "isHidden"),
                                      "expression": c["value"],
                                      "annotations": {a["name"]: a["value"] for a in c["children"]
                                                      if a["kind"] == "annotation"}}
            elif c["kind"] == "measure":
                p = c["props"]
                measures[c["name"]] = {**{k: p.get(k) for k in _MEASURE_KEYS if k not in ("isHidden", "description")},
                                       "description": c["description"], "isHidden": flag(p, "isHidden"),
                                       "expression": c["value"]}
            elif c["kind"] == "partition":
                partitions.append((c["name"], c["value"], c["props"].get("mode"), c["props"].get("source")))
            elif c["kind"] == "annotation":
                annotations[c["name"]] = c["value"]
        for c in columns.values():  # numbers and flags are read as text
            for key in ("dataType", "formatString", "summarizeBy", "sourceColumn", "dataCategory", "sortByColumn",
                        "lineageTag"):
                c[key] = c[key] if c[key] is None else str(c[key])
            c["sortByColumn"] = _unquote(c["sortByColumn"])
        tables[name] = {"isHidden": flag(t["props"], "isHidden"), "description": t["description"],
                        "lineageTag": t["props"].get("lineageTag"), "columns": columns, "measures": measures,
                        "partitions": partitions, "annotations": annotations}
    model = parsed["model"]
    relationships = []
    for r in parsed["relationships"]:
        ft, fc = _split_column_ref(r["props"]["fromColumn"])
        tt, tc = _split_column_ref(r["props"]["toColumn"])
        relationships.append((r["name"], ft, fc, tt, tc))
    dao = next((c for c in model["children"] if c["kind"] == "dataAccessOptions"), {"props": {}})
    return {
        "compatibilityLevel": int(parsed["database"]["props"]["compatibilityLevel"]),
        "model": {k: model["props"].get(k) for k in ("culture", "defaultPowerBIDataSourceVersion",
                                                     "sourceQueryCulture")},
        "dataAccessOptions": sorted(k for k, v in dao["props"].items() if v is True),
        "annotations": {c["name"]: c["value"] for c in model["children"] if c["kind"] == "annotation"},
        "tables": tables,
        "relationships": sorted(relationships),
        "expressions": {e["name"]: (e["value"], _unquote(e["props"].get("queryGroup")), e["description"])
                        for e in parsed["expressions"]},
    }


def _unquote(text: str | None) -> str | None:
    return None if text is None else read_name(text)[0]


def _normalise_schema_digest(d: dict) -> dict:
    """DataModelSchema keeps numbers/bools typed; TMDL has text: compare on text."""
    for t in d["tables"].values():
        for c in t["columns"].values():
            for key in ("dataType", "formatString", "summarizeBy", "sourceColumn", "dataCategory", "sortByColumn",
                        "lineageTag"):
                c[key] = c[key] if c[key] is None else str(c[key])
    return d


def roundtrip_differences(files: dict[str, bytes], schema: dict) -> list[str]:
    """Where the parsed TMDL and the template's model disagree ([] when they agree)."""
    try:
        parsed = digest_from_tmdl(parse_model_folder(files))
    except TmdlError as exc:
        return [f"TMDL does not parse: {exc}"]
    expected = _normalise_schema_digest(digest_from_schema(schema))
    out = []
    for key in expected:
        if key == "tables":
            continue
        if parsed[key] != expected[key]:
            out.append(f"{key}: TMDL {parsed[key]!r} != model {expected[key]!r}"[:500])
    if set(parsed["tables"]) != set(expected["tables"]):
        out.append(f"tables differ: {sorted(set(parsed['tables']) ^ set(expected['tables']))}")
    for name in set(parsed["tables"]) & set(expected["tables"]):
        a, b = parsed["tables"][name], expected["tables"][name]
        for key in b:
            if key in ("columns", "measures"):
                for item in set(a[key]) | set(b[key]):
                    if a[key].get(item) != b[key].get(item):
                        out.append(f"table {name!r}, {key[:-1]} {item!r}: TMDL {a[key].get(item)!r} "
                                   f"!= model {b[key].get(item)!r}"[:600])
            elif a[key] != b[key]:
                out.append(f"table {name!r}, {key}: TMDL {a[key]!r} != model {b[key]!r}"[:600])
    return out


# --- fields of the report against the model ------------------------------------------------------

def _fields(node, found: list, path: str = "") -> None:
    if isinstance(node, dict):
        for key in ("Column", "Measure"):
            if key in node and isinstance(node[key], dict) and "Property" in node[key]:
                ref = node[key].get("Expression", {}).get("SourceRef", {})
                found.append((key, ref.get("Entity"), ref.get("Source"), node[key]["Property"], path))
        for k, v in node.items():
            _fields(v, found, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _fields(v, found, f"{path}/{i}")


def check_fields(files: dict[str, bytes]) -> list[str]:
    """Every field reference of the report exists in the TMDL model; bindings point at real things."""
    try:
        parsed = parse_model_folder(files)
    except TmdlError as exc:
        return [f"TMDL does not parse: {exc}"]
    columns = {(t, c["name"]) for t, obj in parsed["tables"].items() for c in obj["children"] if c["kind"] == "column"}
    measures = {(t, c["name"]) for t, obj in parsed["tables"].items() for c in obj["children"]
                if c["kind"] == "measure"}
    report = f"{NAME}.Report/definition/"
    docs = {rel: json.loads(data.decode("utf-8")) for rel, data in files.items()
            if rel.startswith(report) and rel.endswith(".json")}
    problems = []
    pages = {rel.split("/")[-2]: doc for rel, doc in docs.items() if rel.endswith("/page.json")}
    order = docs.get(f"{report}pages/pages.json", {}).get("pageOrder", [])
    if sorted(order) != sorted(pages):
        problems.append(f"pages.json lists {order}, the pages folder has {sorted(pages)}")
    for name, page in pages.items():
        if page["name"] != name:
            problems.append(f"page folder {name} holds page {page['name']}")
    for rel, doc in docs.items():
        found: list = []
        _fields(doc, found)
        for key, entity, source, prop, path in found:
            if source is not None and entity is None:
                continue  # inside a filter's own From/Where: checked through its entity below
            if entity is None:
                problems.append(f"{rel}{path}: field {prop!r} without an entity")
            elif key == "Column" and (entity, prop) not in columns:
                problems.append(f"{rel}{path}: unknown column '{entity}'[{prop}]")
            elif key == "Measure" and (entity, prop) not in measures:
                problems.append(f"{rel}{path}: unknown measure '{entity}'[{prop}]")
        for flt in _filter_definitions(doc):
            aliases = {f["Name"]: f["Entity"] for f in flt.get("From", [])}
            inner: list = []
            _fields(flt.get("Where", []), inner)
            for key, entity, source, prop, path in inner:
                table = entity or aliases.get(source)
                known = columns if key == "Column" else measures
                if (table, prop) not in known:
                    problems.append(f"{rel}: filter on unknown {key.lower()} '{table}'[{prop}]")
        if rel.endswith("/visual.json"):
            tooltip = doc["visual"].get("visualContainerObjects", {}).get("visualTooltip", [])
            for t in tooltip:
                section = t["properties"]["section"]["expr"]["Literal"]["Value"].strip("'")
                if section not in pages or pages[section].get("type") != "Tooltip":
                    problems.append(f"{rel}: tooltip page {section!r} is not a tooltip page of the report")
            mobile = rel[:-len("visual.json")] + "mobile.json"
            if mobile in docs and docs[mobile]["position"]["width"] > 360:
                problems.append(f"{mobile}: wider than a phone")
    for name, page in pages.items():
        filters = {f["name"] for f in page.get("filterConfig", {}).get("filters", [])}
        for param in page.get("pageBinding", {}).get("parameters", []):
            if param.get("boundFilter") not in filters:
                problems.append(f"page {name}: drill-through parameter bound to missing filter {param.get('boundFilter')}")
    return problems


def _filter_definitions(node) -> list[dict]:
    """Every semantic-query filter ({Version, From, Where}) inside a document."""
    out = []
    if isinstance(node, dict):
        if "Where" in node and "From" in node:
            out.append(node)
        for v in node.values():
            out += _filter_definitions(v)
    elif isinstance(node, list):
        for v in node:
            out += _filter_definitions(v)
    return out


def validate_project(root: Path | str, model_schema: dict, schemas_root: Path | str | None) -> list[str]:
    """Every check of a written project; schemas only where a local copy is given."""
    files = read_project_files(root)
    if not files:
        return [f"no Power BI project in {root}"]
    problems = [f"TMDL: {d}" for d in roundtrip_differences(files, model_schema)]
    problems += [f"fields: {p}" for p in check_fields(files)]
    if schemas_root is not None:
        for rel, errors in check_schemas(files, schemas_root).items():
            problems += [f"{rel}: {e}" for e in errors]
    return problems


def read_project_files(root: Path | str) -> dict[str, bytes]:
    return read_project(Path(root))
