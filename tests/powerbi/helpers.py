"""Helpers to alter a template's parts, to prove each validation catches corruption."""

from __future__ import annotations

import copy
import json

from electio.powerbi.package import UTF16_PARTS
from electio.powerbi.validate import Template


def altered(t: Template) -> Template:
    return Template(t.path, dict(t.parts))


def set_json(t: Template, part: str, obj) -> Template:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    t.parts[part] = text.encode("utf-16-le") if part in UTF16_PARTS else text.encode("utf-8")
    return t


def with_model(t: Template, change) -> Template:
    """A copy of the template whose DataModelSchema is changed by change(model)."""
    doc = copy.deepcopy(t.json("DataModelSchema"))
    change(doc["model"])
    return set_json(altered(t), "DataModelSchema", doc)


def with_layout(t: Template, change) -> Template:
    doc = copy.deepcopy(t.layout)
    change(doc)
    return set_json(altered(t), "Report/Layout", doc)


def table(model: dict, name: str) -> dict:
    return next(tb for tb in model["tables"] if tb["name"] == name)


def measure(model: dict, name: str) -> dict:
    return next(m for tb in model["tables"] for m in tb.get("measures", []) if m["name"] == name)


def visual(layout: dict, page: str, visual_type: str) -> tuple[dict, dict]:
    """(container, parsed config) of the first visual of a type on a page."""
    section = next(s for s in layout["sections"] if s["displayName"] == page)
    for container in section["visualContainers"]:
        config = json.loads(container["config"])
        if config["singleVisual"]["visualType"] == visual_type:
            return container, config
    raise LookupError(f"no {visual_type} on page {page}")


def partition_m(model: dict, name: str) -> str:
    expr = table(model, name)["partitions"][0]["source"]["expression"]
    return "\n".join(expr) if isinstance(expr, list) else expr


def set_partition_m(model: dict, name: str, text: str) -> None:
    table(model, name)["partitions"][0]["source"]["expression"] = text.split("\n")
