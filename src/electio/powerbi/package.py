"""The .pbit container: a ZIP of parts, written byte-for-byte reproducibly.

Layout follows a template saved by Power BI Desktop 2.114: ``Version`` first, then
``[Content_Types].xml``, the model, the diagram, the report and its static resources.
JSON parts and ``Version`` are UTF-16LE without byte-order mark; ``[Content_Types].xml``
and static resources are UTF-8. Every entry gets the same timestamp and attributes, so
two builds from the same inputs give identical entries (name, CRC, size).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

#: Container version of the reference template (Desktop 2.114); later releases open it.
PACKAGE_VERSION = "1.25"
#: Timestamp of every entry (the ZIP epoch): no build date leaks into the template.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
#: Parts encoded as UTF-16LE without BOM.
UTF16_PARTS = ("Version", "DataModelSchema", "DiagramLayout", "Report/Layout", "Settings", "Metadata")
REQUIRED_PARTS = ("Version", "[Content_Types].xml", "DataModelSchema", "DiagramLayout", "Report/Layout",
                  "Settings", "Metadata")
STATIC_PREFIX = "Report/StaticResources/"


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def json_part(obj) -> bytes:
    return utf16(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def content_types(parts: list[str]) -> bytes:
    """[Content_Types].xml: a default for each extension, an override for each extensionless part."""
    extensions = sorted({p.rsplit(".", 1)[1] for p in parts if "." in p.rsplit("/", 1)[-1]
                         and p != "[Content_Types].xml"})
    xml = ['<?xml version="1.0" encoding="utf-8"?>',
           '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">']
    xml += [f'<Default Extension="{ext}" ContentType="" />' for ext in extensions]
    for part in parts:
        if part == "[Content_Types].xml" or "." in part.rsplit("/", 1)[-1]:
            continue
        ctype = "application/json" if part in ("Settings", "Metadata") else ""
        xml.append(f'<Override PartName="/{part}" ContentType="{ctype}" />')
    xml.append("</Types>")
    return "".join(xml).encode("utf-8")


def diagram_layout(table_names: list[str]) -> dict:
    nodes = []
    for i, name in enumerate(table_names):
        row, col = divmod(i, 6)
        nodes.append({"location": {"x": 40 + col * 280, "y": 40 + row * 320}, "nodeIndex": name,
                      "size": {"height": 280, "width": 234}, "zIndex": i})
    return {"version": "1.1.0", "diagrams": [{
        "ordinal": 0, "scrollPosition": {"x": 0, "y": 0}, "nodes": nodes, "name": "Toutes les tables",
        "zoomValue": 100, "pinKeyFieldsToTop": False, "showExtraHeaderInfo": False,
        "hideKeyFieldsWhenCollapsed": False, "tablesLocked": False}],
        "selectedDiagram": "Toutes les tables", "defaultDiagram": "Toutes les tables"}


def write_pbit(path: Path, parts: list[tuple[str, bytes]]) -> Path:
    """Write the parts in the given order, atomically (a failed build keeps the old file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name, data in parts:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                info.external_attr = 0o100644 << 16
                zf.writestr(info, data, compresslevel=9)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
