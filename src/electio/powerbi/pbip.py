"""The Power BI project (PBIP) beside the templates: report in PBIR, semantic model in TMDL.

Generated from the same objects as ``Electio.pbit``: the report pages are converted from
the legacy ``Report/Layout`` that report.py builds (same visuals, queries, formatting,
filters, drill-through and tooltip bindings), and the semantic model from the warehouse
variant's ``DataModelSchema``. What only PBIR can say (the phone layout) is added here.
Every JSON file names the Microsoft schema it follows in ``$schema``; the tests validate
them offline against the copy in ``shared/reference/json-schemas``.

Layout (the PBIP convention; ``.pbi/`` local files are git-ignored)::

    Electio.pbip
    Electio.Report/definition.pbir, definition/{version,report}.json,
        definition/pages/pages.json, definition/pages/<page>/page.json,
        definition/pages/<page>/visuals/<visual>/{visual,mobile}.json, StaticResources/...
    Electio.SemanticModel/definition.pbism, definition/{database,model,expressions,
        relationships}.tmdl, definition/tables/<table>.tmdl
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from electio.powerbi.report import POD_TYPES, REGISTERED

SCHEMA_ROOT = "https://developer.microsoft.com/json-schemas/fabric/"
#: Schema of each kind of file: the oldest versions the project is valid against (August
#: 2025: report 3.0.0 changed the theme's version stamp this project writes), so that every
#: Desktop since then opens it; the tests also validate it against the newest ones (May
#: 2026). A Desktop older than these refuses the project; the .pbit stays for those.
SCHEMAS = {
    "pbip": "pbip/pbipProperties/1.0.0/schema.json",
    "pbir": "item/report/definitionProperties/2.0.0/schema.json",
    "version": "item/report/definition/versionMetadata/1.0.0/schema.json",
    "report": "item/report/definition/report/3.0.0/schema.json",
    "pages": "item/report/definition/pagesMetadata/1.0.0/schema.json",
    "page": "item/report/definition/page/2.0.0/schema.json",
    "visual": "item/report/definition/visualContainer/2.2.0/schema.json",
    "mobile": "item/report/definition/visualContainerMobileState/2.2.0/schema.json",
    "pbism": "item/semanticModel/definitionProperties/1.0.0/schema.json",
}
PBIR_FORMAT_VERSION = "2.0.0"
#: The newest versions published (May 2026), which the project must also satisfy.
NEWEST = {"report": "3.3.0", "pages": "1.1.0", "page": "2.1.0", "visual": "2.9.0", "mobile": "2.4.0"}
NAME = "Electio"
PHONE_WIDTH = 320
PHONE_MARGIN = 8
GITIGNORE = "**/.pbi/localSettings.json\n**/.pbi/cache.abf\n"


def schema_url(kind: str) -> str:
    return SCHEMA_ROOT + SCHEMAS[kind]


def _version(kind: str) -> str:
    return SCHEMAS[kind].split("/")[-2]


def _json(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# --- report (PBIR) ----------------------------------------------------------------------------

_HOW_CREATED = {1: "User", 5: "Drillthrough"}
_BINDING = {v: k.capitalize() for k, v in POD_TYPES.items()}


def _entity_refs(node, aliases: dict[str, str]):
    """A query expression with every alias SourceRef replaced by its entity (PBIR fields)."""
    if isinstance(node, dict):
        if set(node) == {"Source"} and node["Source"] in aliases:
            return {"Entity": aliases[node["Source"]]}
        return {k: _entity_refs(v, aliases) for k, v in node.items()}
    if isinstance(node, list):
        return [_entity_refs(v, aliases) for v in node]
    return node


def _filters(filters: list[dict]) -> list[dict]:
    out = []
    for f in filters:
        item = {"name": f["name"], "field": f["expression"], "type": f["type"]}
        if "filter" in f:
            item["filter"] = f["filter"]
        item["howCreated"] = _HOW_CREATED[f["howCreated"]]
        out.append(item)
    return out


def visual_json(container: dict) -> dict:
    config = json.loads(container["config"])
    single = config["singleVisual"]
    pos = config["layouts"][0]["position"]
    visual: dict = {"visualType": single["visualType"]}
    if "prototypeQuery" in single:
        proto = single["prototypeQuery"]
        aliases = {f["Name"]: f["Entity"] for f in proto["From"]}
        selects = {s["Name"]: _entity_refs({k: v for k, v in s.items() if k != "Name"}, aliases)
                   for s in proto["Select"]}
        state = {}
        for role, items in single["projections"].items():
            projections = []
            for item in items:
                p = {"field": selects[item["queryRef"]], "queryRef": item["queryRef"],
                     "nativeQueryRef": item["queryRef"].split(".", 1)[-1]}
                if item.get("active"):
                    p["active"] = True
                projections.append(p)
            state[role] = {"projections": projections}
        visual["query"] = {"queryState": state}
        if proto.get("OrderBy"):
            visual["query"]["sortDefinition"] = {"sort": [
                {"field": _entity_refs(o["Expression"], aliases),
                 "direction": "Ascending" if o["Direction"] == 1 else "Descending"} for o in proto["OrderBy"]],
                "isDefaultSort": False}
    if "objects" in single:
        visual["objects"] = single["objects"]
    if "vcObjects" in single:
        visual["visualContainerObjects"] = single["vcObjects"]
    if "syncGroup" in single:
        visual["syncGroup"] = single["syncGroup"]
    visual["drillFilterOtherVisuals"] = single.get("drillFilterOtherVisuals", True)
    out = {"$schema": schema_url("visual"), "name": config["name"],
           "position": {k: pos[k] for k in ("x", "y", "z", "height", "width", "tabOrder")}, "visual": visual}
    filters = json.loads(container.get("filters") or "[]")
    if filters:
        out["filterConfig"] = {"filters": _filters(filters)}
    return out


def phone_positions(page: dict) -> dict[str, dict]:
    """Visual id -> its position on the phone canvas: stacked, full width, same aspect."""
    width = PHONE_WIDTH - 2 * PHONE_MARGIN
    visuals = {v["id"]: v for v in page["visual"]}
    y, out = PHONE_MARGIN, {}
    for z, vid in enumerate(page.get("phone", [])):
        _, _, w, h = visuals[vid]["position"]
        height = max(48, round(h * width / w)) if visuals[vid]["type"] != "textbox" else 72
        out[vid] = {"x": PHONE_MARGIN, "y": y, "z": (z + 1) * 1000, "width": width, "height": height,
                    "tabOrder": (z + 1) * 1000}
        y += height + PHONE_MARGIN
    return out


def page_json(section: dict, pod: dict | None) -> dict:
    config = json.loads(section["config"])
    out = {"$schema": schema_url("page"), "name": section["name"], "displayName": section["displayName"],
           "displayOption": "FitToPage", "height": section["height"], "width": section["width"]}
    filters = json.loads(section["filters"])
    if filters:
        out["filterConfig"] = {"filters": _filters(filters)}
    if pod is not None:
        binding = {"name": pod["name"], "type": _BINDING[pod["type"]]}
        if "parameters" in pod:
            binding["parameters"] = json.loads(pod["parameters"])
        out["pageBinding"] = binding
        out["type"] = _BINDING[pod["type"]]
    if "objects" in config:
        out["objects"] = config["objects"]
    if config.get("visibility") == 1:
        out["visibility"] = "HiddenInViewMode"
    return out


def report_files(layout: dict, pages: list[dict], resources: dict[str, bytes]) -> dict[str, bytes]:
    """Relative path (under Electio.Report/) -> content."""
    config = json.loads(layout["config"])
    files: dict[str, bytes] = {}
    files["definition.pbir"] = _json({"$schema": schema_url("pbir"), "version": "4.0",
                                      "datasetReference": {"byPath": {"path": f"../{NAME}.SemanticModel"}}})
    files["definition/version.json"] = _json({"$schema": schema_url("version"), "version": PBIR_FORMAT_VERSION})
    items = [{"name": i["name"], "path": i["path"], "type": {200: "ShapeMap", 202: "CustomTheme"}[i["type"]]}
             for pkg in layout["resourcePackages"] for i in pkg["resourcePackage"]["items"]]
    report = {"$schema": schema_url("report")}
    if "themeCollection" in config:
        theme = config["themeCollection"]["customTheme"]["name"]
        report["themeCollection"] = {"customTheme": {
            "name": theme, "type": "RegisteredResources",
            "reportVersionAtImport": {"visual": _version("visual"), "page": _version("page"),
                                      "report": _version("report")}}}
    else:
        report["themeCollection"] = {}
    report["objects"] = {"outspacePane": [{"properties": {"expanded": {"expr": {"Literal": {"Value": "false"}}}}}]}
    report["resourcePackages"] = [{"name": REGISTERED, "type": "RegisteredResources", "items": items}]
    report["settings"] = {"useStylableVisualContainerHeader": True, "exportDataMode": "AllowSummarized",
                          "defaultDrillFilterOtherVisuals": True, "allowChangeFilterTypes": True,
                          "useEnhancedTooltips": True}
    files["definition/report.json"] = _json(report)
    pods = {pod["boundSection"]: pod for pod in layout.get("pods", [])}
    names = []
    for section, page in zip(layout["sections"], pages, strict=True):
        base = f"definition/pages/{section['name']}"
        names.append(section["name"])
        files[f"{base}/page.json"] = _json(page_json(section, pods.get(section["name"])))
        phone = phone_positions(page)
        for container, visual in zip(section["visualContainers"], page["visual"], strict=True):
            vj = visual_json(container)
            files[f"{base}/visuals/{vj['name']}/visual.json"] = _json(vj)
            if visual["id"] in phone:
                files[f"{base}/visuals/{vj['name']}/mobile.json"] = _json(
                    {"$schema": schema_url("mobile"), "position": phone[visual["id"]]})
    files["definition/pages/pages.json"] = _json({"$schema": schema_url("pages"), "pageOrder": names,
                                                  "activePageName": names[0]})
    for name, data in resources.items():
        files[f"StaticResources/{REGISTERED}/{name}"] = data
    return files


# --- semantic model (TMDL) -----------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tmdl_name(name: str) -> str:
    return name if _PLAIN.match(name) else "'" + name.replace("'", "''") + "'"


def _lines(expression) -> list[str]:
    return expression if isinstance(expression, list) else expression.split("\n")


def _description(text: str | None, indent: str) -> list[str]:
    return [f"{indent}/// {line}".rstrip() for line in text.split("\n")] if text else []


def _with_expression(head: str, expression, indent: str, body_indent: str) -> list[str]:
    """``head = expr`` on one line, or ``head =`` then the expression indented below."""
    lines = _lines(expression)
    if len(lines) == 1 and lines[0].strip():
        return [f"{indent}{head} = {lines[0]}"]
    return [f"{indent}{head} ="] + [f"{body_indent}{line}" if line.strip() else "" for line in lines]


_COLUMN_PROPS = ("dataType", "formatString", "isHidden", "isNameInferred", "isDataTypeInferred", "lineageTag",
                 "dataCategory", "summarizeBy", "sourceColumn", "sortByColumn")
_MEASURE_PROPS = ("formatString", "isHidden", "displayFolder", "lineageTag")


def tmdl_text(value: str) -> str:
    """A text property value: bare, or in double quotes (inner ones doubled) when it has
    quotes or outer spaces, which TMDL would otherwise strip or misread."""
    if '"' in value or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _prop(key: str, value, indent: str) -> str:
    if value is True:
        return f"{indent}{key}"
    value = tmdl_name(value) if key == "sortByColumn" else tmdl_text(str(value))
    return f"{indent}{key}: {value}"


def _annotations(items: list[dict], indent: str) -> list[str]:
    return [f"{indent}annotation {tmdl_name(a['name'])} = {a['value']}" for a in items]


def table_tmdl(table: dict) -> str:
    out = _description(table.get("description"), "")
    out.append(f"table {tmdl_name(table['name'])}")
    if table.get("isHidden"):
        out.append("\tisHidden")
    out.append(f"\tlineageTag: {table['lineageTag']}")
    for m in table.get("measures", []):
        out.append("")
        out += _description(m.get("description"), "\t")
        out += _with_expression(f"measure {tmdl_name(m['name'])}", m["expression"], "\t", "\t\t\t")
        out += [_prop(k, m[k], "\t\t") for k in _MEASURE_PROPS if k in m]
    for c in table["columns"]:
        out.append("")
        out += _description(c.get("description"), "\t")
        head = f"column {tmdl_name(c['name'])}"
        if c.get("type") == "calculated":
            out += _with_expression(head, c["expression"], "\t", "\t\t\t")
        else:
            out.append(f"\t{head}")
        out += [_prop(k, c[k], "\t\t") for k in _COLUMN_PROPS if k in c]
        if c.get("annotations"):
            out.append("")
            out += _annotations(c["annotations"], "\t\t")
    for p in table["partitions"]:
        out.append("")
        out.append(f"\tpartition {tmdl_name(p['name'])} = {p['source']['type']}")
        out.append(f"\t\tmode: {p['mode']}")
        out += _with_expression("source", p["source"]["expression"], "\t\t", "\t\t\t\t")
    if table.get("annotations"):
        out.append("")
        out += _annotations(table["annotations"], "\t")
    return "\n".join(out) + "\n"


def model_files(schema: dict) -> dict[str, bytes]:
    """Relative path (under Electio.SemanticModel/) -> content, from a DataModelSchema."""
    model = schema["model"]
    files = {"definition.pbism": _json({"$schema": schema_url("pbism"), "version": "4.0", "settings": {}})}
    files["definition/database.tmdl"] = f"database\n\tcompatibilityLevel: {schema['compatibilityLevel']}\n"
    lines = ["model Model", f"\tculture: {model['culture']}",
             f"\tdefaultPowerBIDataSourceVersion: {model['defaultPowerBIDataSourceVersion']}",
             f"\tsourceQueryCulture: {model['sourceQueryCulture']}", "\tdataAccessOptions"]
    lines += [f"\t\t{k}" for k, v in model["dataAccessOptions"].items() if v]
    for group in model.get("queryGroups", []):
        lines += ["", f"queryGroup {tmdl_name(group['folder'])}", ""]
        lines += _annotations(group.get("annotations", []), "\t")
    lines.append("")
    lines += _annotations(model["annotations"], "")
    lines.append("")
    lines += [f"ref table {tmdl_name(t['name'])}" for t in model["tables"]]
    files["definition/model.tmdl"] = "\n".join(lines) + "\n"
    expr_lines = []
    for e in model.get("expressions", []):
        expr_lines += _description(e.get("description"), "")
        expr_lines += _with_expression(f"expression {tmdl_name(e['name'])}", e["expression"], "", "\t\t")
        expr_lines += [f"\tlineageTag: {e['lineageTag']}", f"\tqueryGroup: {tmdl_name(e['queryGroup'])}", ""]
        expr_lines += _annotations(e.get("annotations", []), "\t")
        expr_lines.append("")
    files["definition/expressions.tmdl"] = "\n".join(expr_lines)
    rel_lines = []
    for r in model["relationships"]:
        rel_lines += [f"relationship {r['name']}",
                      f"\tfromColumn: {tmdl_name(r['fromTable'])}.{tmdl_name(r['fromColumn'])}",
                      f"\ttoColumn: {tmdl_name(r['toTable'])}.{tmdl_name(r['toColumn'])}", ""]
    files["definition/relationships.tmdl"] = "\n".join(rel_lines)
    for t in model["tables"]:
        files[f"definition/tables/{_file_name(t['name'])}.tmdl"] = table_tmdl(t)
    return {k: v if isinstance(v, bytes) else v.encode("utf-8") for k, v in files.items()}


def _file_name(name: str) -> str:
    """A table's file name: its name, minus characters Windows forbids in file names."""
    return re.sub(r'[<>:"/\\|?*]', "_", name)


# --- the project ---------------------------------------------------------------------------------

def project_files(layout: dict, pages: list[dict], schema: dict, resources: dict[str, bytes]) -> dict[str, bytes]:
    """Every file of the PBIP, relative to its folder (powerbi/)."""
    files = {f"{NAME}.pbip": _json({"$schema": schema_url("pbip"), "version": "1.0",
                                    "artifacts": [{"report": {"path": f"{NAME}.Report"}}],
                                    "settings": {"enableAutoRecovery": True}}),
             ".gitignore": GITIGNORE.encode("utf-8")}
    files.update({f"{NAME}.Report/{k}": v for k, v in report_files(layout, pages, resources).items()})
    files.update({f"{NAME}.SemanticModel/{k}": v for k, v in model_files(schema).items()})
    return files


def write_project(out_dir: Path, files: dict[str, bytes]) -> Path:
    """Replace the project folders in ``out_dir`` by ``files`` (a stale page or table goes away)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".pbip.", dir=out_dir))
    try:
        for rel, data in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for top in sorted({rel.split("/", 1)[0] for rel in files}):
            target = out_dir / top
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(tmp / top, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir / f"{NAME}.pbip"


def read_project(root: Path) -> dict[str, bytes]:
    """The files of a written project (for the checks), relative to ``root``."""
    root = Path(root)
    out = {}
    for top in (f"{NAME}.pbip", ".gitignore", f"{NAME}.Report", f"{NAME}.SemanticModel"):
        path = root / top
        if path.is_file():
            out[top] = path.read_bytes()
        elif path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and ".pbi" not in f.relative_to(root).parts:
                    out[f.relative_to(root).as_posix()] = f.read_bytes()
    return out
