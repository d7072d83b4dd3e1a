"""``electio powerbi build``: the Power BI templates from powerbi/definition/.

Writes ``Electio.pbit`` (warehouse: SQLite through ODBC, or SQL Server) and
``Electio-csv.pbit`` (CSV extracts), the Power BI project ``Electio.pbip`` (PBIR report
and TMDL model of the warehouse variant), plus ``communes.topo.json`` (the embedded map, for
adding it by hand to another report). Deterministic: same definition, schema and
warehouse communes give the same entries.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from electio.command import add_common_arguments, run_command, settings_from_args
from electio.powerbi.definition import Definition, load_definition
from electio.powerbi.model import DESKTOP_VERSION, build_model, data_model_schema
from electio.powerbi.package import (
    PACKAGE_VERSION,
    STATIC_PREFIX,
    content_types,
    diagram_layout,
    json_part,
    utf16,
    write_pbit,
)
from electio.powerbi.pbip import project_files, write_project
from electio.powerbi.pbip_check import validate_project
from electio.powerbi.report import REGISTERED, report_layout
from electio.powerbi.shapes import communes_topojson
from electio.powerbi.theme import THEME_ITEM, theme_bytes
from electio.powerbi.validate import Template, validate_template
from electio.settings import PROJECT_ROOT, Settings

log = logging.getLogger("electio.powerbi")

DEFAULT_OUT = PROJECT_ROOT / "powerbi"
MAP_ITEM = "communes.topo.json"
#: Release whose format the parts follow (Metadata.CreatedFromRelease).
CREATED_FROM_RELEASE = "2023.02"
#: The variant the Power BI project (PBIP) is made of: the warehouse one.
PBIP_VARIANT = "entrepot"


def template_parts(defn: Definition, variant: str, topojson: bytes, *,
                   strict: bool = True) -> list[tuple[str, bytes]]:
    """Every part of one template, in the order they are written."""
    spec = build_model(defn, strict=strict)
    model = data_model_schema(spec, defn, variant)
    layout = report_layout(spec, defn.pages, MAP_ITEM, THEME_ITEM)
    settings = {"Version": 1, "ReportSettings": {},
                "QueriesSettings": {"TypeDetectionEnabled": False, "RelationshipImportEnabled": False,
                                    "Version": DESKTOP_VERSION.split(" ")[0]}}
    metadata = {"Version": 5, "AutoCreatedRelationships": [],
                "FileDescription": " ".join(defn.variants[variant]["description"].split()),
                "CreatedFromRelease": CREATED_FROM_RELEASE}
    parts = [
        ("Version", utf16(PACKAGE_VERSION)),
        ("DataModelSchema", json_part(model)),
        ("DiagramLayout", json_part(diagram_layout([t.name for t in spec.tables]))),
        ("Report/Layout", json_part(layout)),
        ("Settings", json_part(settings)),
        ("Metadata", json_part(metadata)),
        (f"{STATIC_PREFIX}{REGISTERED}/{MAP_ITEM}", topojson),
        (f"{STATIC_PREFIX}{REGISTERED}/{THEME_ITEM}", theme_bytes()),
    ]
    names = [name for name, _ in parts]
    parts.insert(1, ("[Content_Types].xml", content_types(names)))
    return parts


def pbip_files(defn: Definition, topojson: bytes, *, strict: bool = True) -> dict[str, bytes]:
    """The Power BI project of the warehouse variant, from the same objects as its template."""
    spec = build_model(defn, strict=strict)
    layout = report_layout(spec, defn.pages, MAP_ITEM, THEME_ITEM)
    return project_files(layout, defn.pages, data_model_schema(spec, defn, PBIP_VARIANT),
                         {MAP_ITEM: topojson, THEME_ITEM: theme_bytes()})


def build_templates(out_dir: Path | str = DEFAULT_OUT, settings: Settings | None = None, *,
                    strict: bool = True) -> list[Path]:
    """Write both templates (and the map) into ``out_dir``; return their paths.

    ``settings`` locate the warehouse (its communes key the map) and the boundary source
    file (cache, mirror or download); the default reads the ELECTIO_* environment.
    ``strict=False`` (for the refresh) builds even if sql/schema.sql gained a table or a
    column that powerbi/definition/model.toml does not name yet, with a warning.
    """
    settings = settings if settings is not None else Settings.from_env()
    out_dir = Path(out_dir)
    defn = load_definition()
    topojson = communes_topojson(settings)
    written = []
    for variant, spec in defn.variants.items():
        path = write_pbit(out_dir / spec["file"], template_parts(defn, variant, topojson, strict=strict))
        log.info("wrote %s", path)
        written.append(path)
    written.append(write_project(out_dir, pbip_files(defn, topojson, strict=strict)))
    log.info("wrote %s", written[-1])
    map_path = out_dir / MAP_ITEM
    if not map_path.exists() or map_path.read_bytes() != topojson:
        map_path.write_bytes(topojson)
    written.append(map_path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``electio powerbi build|check``."""
    parser = argparse.ArgumentParser(prog="electio powerbi", description="Power BI templates (powerbi/*.pbit)")
    sub = parser.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="generate powerbi/Electio.pbit and powerbi/Electio-csv.pbit")
    check = sub.add_parser("check", help="validate the templates (package, M, DAX, model vs schema, visuals)")
    for p in (build, check):
        p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of the templates (default powerbi/)")
    build.add_argument("--lenient", action="store_true",
                       help="build even if sql/schema.sql has tables or columns model.toml does not name yet")
    add_common_arguments(build)
    args = parser.parse_args(argv)
    return run_command(f"powerbi {args.action}", lambda: _build_or_check(args), verbose=getattr(args, "verbose", False))


def _build_or_check(args: argparse.Namespace) -> int:
    if args.action == "build":
        for path in build_templates(args.out, settings_from_args(args), strict=not args.lenient):
            print(path)
        return 0
    failed = 0
    for spec in load_definition().variants.values():
        problems = validate_template(args.out / spec["file"])
        for problem in problems:
            print(f"{spec['file']}: {problem}")
        failed += bool(problems)
        if not problems:
            print(f"{spec['file']}: ok")
    failed += _check_project(args.out)
    return 1 if failed else 0


def _check_project(out: Path) -> int:
    """Print the PBIP's problems (schemas only if shared/reference is beside the repo); 1 if any."""
    schemas = PROJECT_ROOT.parent / "shared" / "reference" / "json-schemas"
    model = Template.read(out / load_definition().variants[PBIP_VARIANT]["file"]).json("DataModelSchema")
    problems = validate_project(out, model, schemas if schemas.is_dir() else None)
    for problem in problems:
        print(f"Electio.pbip: {problem}")
    if not problems:
        print("Electio.pbip: ok" + ("" if schemas.is_dir() else " (JSON schemas not found: not validated)"))
    return int(bool(problems))


if __name__ == "__main__":
    sys.exit(main())
