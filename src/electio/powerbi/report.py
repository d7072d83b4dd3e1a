"""Report/Layout: the pages and visuals of pages.toml, resolved against the model.

Each visual's ``config`` is a JSON string holding a semantic query over model names
(``prototypeQuery``) and its formatting (``objects``); Desktop rebuilds the cached
``query``/``dataTransforms`` from it on first render, so they are not written.
Every field is resolved here and an unknown one stops the build; the validation in
``validate.py`` re-checks the written layout independently.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata

from electio.powerbi.definition import AGGREGATIONS, DefinitionError, FieldRef, parse_field
from electio.powerbi.model import ModelSpec
from electio.settings import project_file

PAGE_WIDTH, PAGE_HEIGHT = 1280, 720
#: Layout schema version written by Desktop 2.114 (the reference template).
LAYOUT_VERSION = "5.32"
#: Roles each visual type accepts (Power BI's internal role names).
VISUAL_ROLES: dict[str, set[str]] = {
    "slicer": {"Values"},
    "card": {"Values"},
    "tableEx": {"Values"},
    "pivotTable": {"Rows", "Columns", "Values"},
    "clusteredBarChart": {"Category", "Series", "Y", "Tooltips"},
    "clusteredColumnChart": {"Category", "Series", "Y", "Tooltips"},
    "lineChart": {"Category", "Series", "Y", "Tooltips"},
    "scatterChart": {"Category", "Series", "X", "Y", "Size", "Tooltips"},
    "shapeMap": {"Category", "Series", "Value", "Tooltips"},
    "textbox": set(),
    "actionButton": set(),
}
#: Roles that group (categories): the rest are values.
GROUPING_ROLES = {"Category", "Series", "Rows", "Columns"}
#: Registered resource package of files embedded in the template (images, shape maps).
REGISTERED = "RegisteredResources"
SHAPE_MAP_ITEM_TYPE = 200  # ResourcePackageItemType.ShapeMap
THEME_ITEM_TYPE = 202  # ResourcePackageItemType.CustomTheme
#: Page bindings (pods) of the legacy layout: BindingType.Drillthrough, BindingType.Tooltip.
POD_TYPES = {"drillthrough": 1, "tooltip": 2}
TOOLTIP_SIZE = (320, 240)


def stable_name(*parts: str) -> str:
    """A 20-hex-digit object name derived from ids (Desktop uses random ones)."""
    return hashlib.sha1("/".join(parts).encode("utf-8")).hexdigest()[:20]


def literal(value) -> dict:
    """A query literal: 'text' (quotes doubled), 1L (integer), 1D (number), true."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = f"{value}L"
    elif isinstance(value, float):
        text = f"{value!r}D"
    else:
        text = "'" + str(value).replace("'", "''") + "'"
    return {"Literal": {"Value": text}}


def expr(value) -> dict:
    return {"expr": literal(value)}


def solid(color: str) -> dict:
    return {"solid": {"color": expr(color)}}


def bloc_colors() -> dict[str, str]:
    """French bloc label -> colour, from the politics reference (same as dim_bloc)."""
    path = project_file("data/reference/blocs.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["sort_order"]))
    return {r["label_fr"]: r["color_hex"] for r in rows}


class _Query:
    """Builds one visual's semantic query: aliases, selects, resolved fields."""

    def __init__(self, model: ModelSpec, where: str):
        self.model, self.where = model, where
        self.aliases: dict[str, str] = {}
        self.selects: list[dict] = []
        self.names: dict[str, str] = {}  # field text -> queryRef

    def alias(self, entity: str) -> str:
        if entity not in self.aliases:
            base = unicodedata.normalize("NFKD", entity)[0].lower()
            base = base if base.isalpha() and base.isascii() else "t"
            name, n = base, 1
            while name in self.aliases.values():
                name, n = f"{base}{n}", n + 1
            self.aliases[entity] = name
        return self.aliases[entity]

    def resolve(self, ref: FieldRef) -> tuple[str, str]:
        """(entity, property) of a field, checked against the model."""
        if ref.kind == "measure":
            measure = self.model.measure(ref.name)
            if measure is None:
                raise DefinitionError(f"{self.where}: unknown measure [{ref.name}]")
            return measure.table, measure.name
        table = self.model.table(ref.table)
        if table is None or table.column(ref.name) is None:
            raise DefinitionError(f"{self.where}: unknown column '{ref.table}'[{ref.name}]")
        return table.name, ref.name

    def field_expr(self, ref: FieldRef, *, source: str | None = None) -> dict:
        """The query expression of a field, by alias (source) or by entity name."""
        entity, prop = self.resolve(ref)
        source_ref = {"Source": source} if source else {"Entity": entity}
        key = "Measure" if ref.kind == "measure" else "Column"
        inner = {key: {"Expression": {"SourceRef": source_ref}, "Property": prop}}
        if ref.aggregation:
            return {"Aggregation": {"Expression": inner, "Function": AGGREGATIONS[ref.aggregation]}}
        return inner

    def select(self, text: str) -> str:
        """Add a field to the query's Select; return its queryRef."""
        if text in self.names:
            return self.names[text]
        ref = parse_field(text)
        entity, prop = self.resolve(ref)
        item = self.field_expr(ref, source=self.alias(entity))
        query_ref = f"{entity}.{prop}"
        if ref.aggregation:
            query_ref = f"{ref.aggregation}({query_ref})"
        item["Name"] = query_ref
        self.selects.append(item)
        self.names[text] = query_ref
        return query_ref

    def prototype(self, order_by: list[dict] | None = None) -> dict:
        query = {"Version": 2, "From": [{"Name": a, "Entity": e, "Type": 0} for e, a in self.aliases.items()],
                 "Select": self.selects}
        if order_by:
            query["OrderBy"] = order_by
        return query


def _filter(model: ModelSpec, spec: dict, where: str, name: str) -> dict:
    """A visual-level filter: a field equal to one value."""
    q = _Query(model, where)
    ref = parse_field(spec["field"])
    entity, _ = q.resolve(ref)
    alias = q.alias(entity)
    value = spec["equals"]
    if ref.kind == "measure":
        condition = {"Comparison": {"ComparisonKind": 0, "Left": q.field_expr(ref, source=alias),
                                    "Right": literal(value)}}
        kind = "Advanced"
    else:
        condition = {"In": {"Expressions": [q.field_expr(ref, source=alias)], "Values": [[literal(value)]]}}
        kind = "Categorical"
    return {"name": name, "expression": q.field_expr(ref),
            "filter": {"Version": 2, "From": [{"Name": alias, "Entity": entity, "Type": 0}],
                       "Where": [{"Condition": condition}]},
            "type": kind, "howCreated": 1}


def _in_filter(model: ModelSpec, field: str, values: list, where: str) -> dict:
    """A semantic-query filter: a column in a list of values (a slicer's default selection)."""
    q = _Query(model, where)
    ref = parse_field(field)
    if ref.kind != "column":
        raise DefinitionError(f"{where}: a default selection needs a column, not {field}")
    entity, _ = q.resolve(ref)
    alias = q.alias(entity)
    return {"Version": 2, "From": [{"Name": alias, "Entity": entity, "Type": 0}],
            "Where": [{"Condition": {"In": {"Expressions": [q.field_expr(ref, source=alias)],
                                            "Values": [[literal(v)] for v in values]}}}]}


def _title(text: str) -> dict:
    return {"title": [{"properties": {"show": expr(True), "text": expr(text)}}]}


def _textbox(paragraphs: list[str]) -> dict:
    out = []
    for i, text in enumerate(paragraphs):
        style = {"fontWeight": "bold", "fontSize": "16pt"} if i == 0 else {"fontSize": "10pt", "color": "#605E5C"}
        out.append({"textRuns": [{"value": text, "textStyle": style}]})
    return {"general": [{"properties": {"paragraphs": out}}]}


def _bloc_data_points(q: _Query) -> list[dict]:
    ref = parse_field("'Blocs'[Bloc]")
    column = q.field_expr(ref)
    points = []
    for label, color in bloc_colors().items():
        scope = {"Comparison": {"ComparisonKind": 0, "Left": column, "Right": literal(label)}}
        points.append({"properties": {"fill": solid(color)}, "selector": {"data": [{"scopeId": scope}]}})
    return points


def page_size(page: dict) -> tuple[int, int]:
    return TOOLTIP_SIZE if page.get("type") == "tooltip" else (PAGE_WIDTH, PAGE_HEIGHT)


def section_name(page_id: str) -> str:
    return "ReportSection" + stable_name("page", page_id)


def visual_config(model: ModelSpec, page: dict, visual: dict, z: int, map_item: str | None,
                  pages: list[dict] | None = None) -> tuple[dict, list]:
    """(config, filters) of one visual container."""
    where = f"pages.toml, page {page['id']}, visual {visual['id']}"
    vtype = visual["type"]
    if vtype not in VISUAL_ROLES:
        raise DefinitionError(f"{where}: unsupported visual type {vtype!r}")
    x, y, w, h = visual["position"]
    width, height = page_size(page)
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise DefinitionError(f"{where}: position {visual['position']} outside the {width}x{height} page")
    name = stable_name(page["id"], visual["id"])
    single: dict = {"visualType": vtype}
    q = _Query(model, where)
    fields = visual.get("fields", {})
    unknown_roles = set(fields) - VISUAL_ROLES[vtype]
    if unknown_roles:
        raise DefinitionError(f"{where}: roles {sorted(unknown_roles)} do not exist on a {vtype}")
    if fields:
        projections = {}
        for role, texts in fields.items():
            items = []
            for text in texts:
                item = {"queryRef": q.select(text)}
                if role in GROUPING_ROLES or vtype == "slicer":
                    item["active"] = True
                items.append(item)
            projections[role] = items
        single["projections"] = projections
        order_by = None
        if "sort" in visual:
            ref = parse_field(visual["sort"])
            q.select(visual["sort"])
            entity, _ = q.resolve(ref)
            order_by = [{"Direction": 1 if visual.get("sort_ascending") else 2,
                         "Expression": q.field_expr(ref, source=q.alias(entity))}]
        single["prototypeQuery"] = q.prototype(order_by)
    single["drillFilterOtherVisuals"] = True
    objects: dict = {}
    vc_objects: dict = {}
    if vtype == "textbox":
        objects.update(_textbox(visual["text"]))
    if vtype == "actionButton":  # only the back button of a drill-through page
        objects["icon"] = [{"properties": {"shapeType": expr("back")}, "selector": {"id": "default"}}]
        vc_objects["visualLink"] = [{"properties": {"show": expr(True), "type": expr("Back")}}]
    elif "title" in visual and vtype != "slicer":  # slicer headers name their field
        vc_objects.update(_title(visual["title"]))
    if vtype == "slicer":
        mode = {"dropdown": "Dropdown", "list": "Basic"}[visual.get("slicer_style", "list")]
        objects["data"] = [{"properties": {"mode": expr(mode)}}]
        objects["selection"] = [{"properties": {"singleSelect": expr(bool(visual.get("single", False)))}}]
        if "default" not in visual and "empty" not in visual:
            raise DefinitionError(f"{where}: a slicer needs a default selection (default = [...]) or the meaning "
                                  "of no selection (empty = \"...\")")
        if "default" in visual:
            objects["general"] = [{"properties": {"filter": {"filter": _in_filter(model, fields["Values"][0],
                                                                                   visual["default"], where)}}}]
        if "sync" in visual:
            single["syncGroup"] = {"groupName": visual["sync"], "fieldChanges": True, "filterChanges": True}
    if vtype == "card":
        objects["categoryLabels"] = [{"properties": {"show": expr(False)}}]
    if visual.get("bloc_colors"):
        objects["dataPoint"] = _bloc_data_points(q)
    if "gradient" in visual:
        grad = visual["gradient"]
        if "mid" in grad:  # diverging scale, pinned values (an evolution centred on zero)
            rule = {"linearGradient3": {
                name: {"color": expr(grad[name]), "value": expr(float(grad[f"{name}_value"]))}
                for name in ("min", "mid", "max")}}
        else:
            rule = {"linearGradient2": {"min": {"color": expr(grad["min"])}, "max": {"color": expr(grad["max"])}}}
        next(iter(rule.values()))["nullColoringStrategy"] = {"strategy": expr("noColor")}
        objects.setdefault("dataPoint", []).append({"properties": {"fillRule": rule}})
    if visual.get("band"):  # first and last Y are the interval's bounds: thin grey dotted lines
        refs = [q.names[text] for text in fields["Y"]]
        if len(refs) != 3:
            raise DefinitionError(f"{where}: band = true needs Y = [upper bound, value, lower bound]")
        objects["lineStyles"] = [{"properties": {"strokeWidth": expr(3)}}]
        objects["dataPoint"] = [{"properties": {"fill": solid("#1F4E79")}, "selector": {"metadata": refs[1]}}]
        for ref in (refs[0], refs[2]):
            objects["lineStyles"].append({"properties": {"lineStyle": expr("dotted"), "strokeWidth": expr(1)},
                                          "selector": {"metadata": ref}})
            objects["dataPoint"].append({"properties": {"fill": solid("#8C8C8C")}, "selector": {"metadata": ref}})
    if "heatmap" in visual:
        objects["values"] = [_heatmap(q, visual["heatmap"], where)]
    if vtype == "shapeMap":
        if visual.get("map") != "communes" or map_item is None:
            raise DefinitionError(f"{where}: a shape map needs map = \"communes\" and the embedded TopoJSON")
        content = {"expr": {"ResourcePackageItem": {"PackageName": REGISTERED, "PackageType": 1, "ItemName": map_item}}}
        objects["shape"] = [{"properties": {
            "map": {"geoJson": {"type": expr("packaged"), "name": expr(map_item), "content": content}},
            "projectionEnum": expr("mercator")}}]
    if vtype != "textbox":
        alt = visual.get("alt") or visual.get("title")
        if not alt:
            raise DefinitionError(f"{where}: no alt text (alt) nor title")
        vc_objects["general"] = [{"properties": {"altText": expr(alt)}}]
    if "tooltip_page" in visual:
        target = next((p for p in pages or [] if p["id"] == visual["tooltip_page"]), None)
        if target is None or target.get("type") != "tooltip":
            raise DefinitionError(f"{where}: tooltip_page {visual['tooltip_page']!r} is not a tooltip page")
        vc_objects["visualTooltip"] = [{"properties": {"type": expr("Canvas"),
                                                       "section": expr(section_name(target["id"]))}}]
    if objects:
        single["objects"] = objects
    if vc_objects:
        single["vcObjects"] = vc_objects
    config = {"name": name,
              "layouts": [{"id": 0, "position": {"x": x, "y": y, "z": z, "width": w, "height": h, "tabOrder": z}}],
              "singleVisual": single}
    filters = [_filter(model, f, where, "Filter" + stable_name(page["id"], visual["id"], str(i)))
               for i, f in enumerate(visual.get("filters", []))]
    return config, filters


def _heatmap(q: _Query, spec: dict, where: str) -> dict:
    """Background colour scale on a measure of a matrix (a heatmap)."""
    query_ref = q.names.get(spec["measure"])
    if query_ref is None:
        raise DefinitionError(f"{where}: heatmap measure {spec['measure']} is not a field of the visual")
    colors = spec["colors"]
    stops = {"min": (colors[0], spec["min"]), "max": (colors[-1], spec["max"])}
    if len(colors) == 3:
        stops["mid"] = (colors[1], spec["mid"])
    rule = {name: {"color": literal(c), "value": literal(float(v))} for name, (c, v) in stops.items()}
    rule["nullColoringStrategy"] = {"strategy": literal("noColor")}
    gradient = "linearGradient3" if len(colors) == 3 else "linearGradient2"
    fill = {"FillRule": {"Input": q.field_expr(parse_field(spec["measure"])), "FillRule": {gradient: rule}}}
    return {"properties": {"backColor": {"solid": {"color": {"expr": fill}}}},
            "selector": {"data": [{"dataViewWildcard": {"matchingOption": 1}}], "metadata": query_ref}}


def drillthrough_filter(model: ModelSpec, page: dict) -> dict:
    """The page filter a drill-through page is bound to (no value: the source visual gives it)."""
    q = _Query(model, f"pages.toml, page {page['id']}")
    ref = parse_field(page["drillthrough"])
    if ref.kind != "column":
        raise DefinitionError(f"pages.toml, page {page['id']}: drillthrough needs a column")
    q.resolve(ref)
    return {"name": "Filter" + stable_name(page["id"], "drillthrough"), "expression": q.field_expr(ref),
            "type": "Categorical", "howCreated": 5}


def page_objects(page: dict) -> dict:
    objects = {}
    if page.get("type") == "tooltip":
        objects["pageInformation"] = [{"properties": {"pageInformationType": expr("Tooltip")}}]
        objects["pageSize"] = [{"properties": {"pageSizeTypes": expr("Tooltip")}}]
    return objects


def report_layout(model: ModelSpec, pages: list[dict], map_item: str | None, theme_item: str | None = None) -> dict:
    """The Report/Layout JSON."""
    sections, pods = [], []
    for ordinal, page in enumerate(pages):
        containers = []
        for index, visual in enumerate(page["visual"]):
            z = (index + 1) * 1000
            config, filters = visual_config(model, page, visual, z, map_item, pages)
            x, y, w, h = visual["position"]
            containers.append({"x": x, "y": y, "z": z, "width": w, "height": h,
                               "config": json.dumps(config, ensure_ascii=False, separators=(",", ":")),
                               "filters": json.dumps(filters, ensure_ascii=False, separators=(",", ":")),
                               "tabOrder": z})
        width, height = page_size(page)
        section_filters, section_config = [], {}
        if page.get("type") in POD_TYPES:
            section_config["visibility"] = 1  # hidden in view mode: reached by drill-through or hover
            pod = {"name": "Pod" + stable_name("pod", page["id"]), "boundSection": section_name(page["id"]),
                   "config": "{}", "type": POD_TYPES[page["type"]]}
            if page["type"] == "drillthrough":
                flt = drillthrough_filter(model, page)
                section_filters.append(flt)
                pod["parameters"] = json.dumps([{"name": "Param_" + flt["name"], "boundFilter": flt["name"],
                                                 "fieldExpr": flt["expression"]}],
                                               ensure_ascii=False, separators=(",", ":"))
            pods.append(pod)
        if objects := page_objects(page):
            section_config["objects"] = objects
        sections.append({"id": ordinal, "name": section_name(page["id"]),
                         "displayName": page["title"],
                         "filters": json.dumps(section_filters, ensure_ascii=False, separators=(",", ":")),
                         "ordinal": ordinal, "visualContainers": containers,
                         "config": json.dumps(section_config, ensure_ascii=False, separators=(",", ":")),
                         "displayOption": 1, "width": width, "height": height})
    config = {
        "version": LAYOUT_VERSION,
        "activeSectionIndex": 0,
        "defaultDrillFilterOtherVisuals": True,
        "settings": {"useStylableVisualContainerHeader": True, "exportDataMode": 1,
                     "useNewFilterPaneExperience": True, "allowChangeFilterTypes": True},
        "objects": {"section": [{"properties": {"verticalAlignment": expr("Top")}}],
                    "outspacePane": [{"properties": {"expanded": expr(False)}}]},
    }
    items = []
    if map_item is not None:
        items.append({"type": SHAPE_MAP_ITEM_TYPE, "path": map_item, "name": map_item})
    if theme_item is not None:
        items.append({"type": THEME_ITEM_TYPE, "path": theme_item, "name": theme_item})
        config["themeCollection"] = {"customTheme": {"name": theme_item, "version": LAYOUT_VERSION, "type": 1}}
    resources = [{"resourcePackage": {"name": REGISTERED, "type": 1, "disabled": False, "items": items}}] if items else []
    layout = {"id": 0, "filters": "[]", "resourcePackages": resources, "sections": sections,
              "config": json.dumps(config, ensure_ascii=False, separators=(",", ":")),
              "layoutOptimization": 0, "publicCustomVisuals": []}
    if pods:
        layout["pods"] = pods
    return layout
