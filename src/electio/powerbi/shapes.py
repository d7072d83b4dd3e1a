"""The communes' TopoJSON embedded in the template for the Shape Map visual.

Read from the warehouse's ``dim_commune_geometry`` (boundaries united onto the
reference communes by the pipeline, exactly as ``dim_commune`` was built), so that the
map keys are the model's ``Code commune``. Coordinates stay in WGS84 longitude/latitude
(the Shape Map projects them itself) and exterior rings are clockwise, the winding d3
(which draws the Shape Map) expects for polygons smaller than a hemisphere.
"""

from __future__ import annotations

import json
import logging

import pandas as pd
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.polygon import orient
from sqlalchemy import inspect

from electio.errors import ElectioError
from electio.settings import Settings
from electio.warehouse.geometry import read_commune_geometries
from electio.warehouse.load import make_engine, sqlite_path

log = logging.getLogger("electio.powerbi")

OBJECT_NAME = "communes"
#: Quantization of the TopoJSON (1e5 steps across the département: about 1 m).
QUANTIZATION = 100_000


def _clockwise(geom):
    """Exterior rings clockwise, holes counter-clockwise (d3's spherical convention)."""
    if isinstance(geom, Polygon):
        return orient(geom, sign=-1.0)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(p, sign=-1.0) for p in geom.geoms])
    raise ElectioError(f"commune boundary of unexpected type {geom.geom_type}")


def warehouse_communes(db_url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(dim_commune, map_commune_code) of the warehouse the template is built for."""
    path = sqlite_path(db_url)
    if path is not None and not path.exists():
        raise ElectioError(f"no warehouse at {path}: run `electio refresh` before `electio powerbi build` "
                           "(the communes' map is built from its map_commune_code table)")
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        if not {"dim_commune", "map_commune_code"} <= tables:
            raise ElectioError("the warehouse has no dim_commune/map_commune_code: run `electio refresh` first")
        with engine.connect() as conn:
            dim = pd.read_sql_table("dim_commune", conn)[["commune_code", "commune_name", "departement_code"]]
            code_map = pd.read_sql_table("map_commune_code", conn)
    finally:
        engine.dispose()
    return dim.sort_values("commune_code").reset_index(drop=True), code_map


def communes_topojson(settings: Settings) -> bytes:
    """UTF-8 TopoJSON of the warehouse's communes (object ``communes``, key = code)."""
    import topojson

    dim, _ = warehouse_communes(settings.db_url)
    shapes, _ = read_commune_geometries(settings.db_url)
    if not shapes:
        log.warning("the warehouse has no commune boundaries (dim_commune_geometry) for département(s) %s: the "
                    "Shape Map will be empty (the latitude/longitude map still works)",
                    ", ".join(sorted(set(dim["departement_code"]))))
    missing = sorted(set(dim["commune_code"]) - set(shapes))
    if missing and shapes:
        log.warning("%d communes without boundary in the Shape Map: %s", len(missing), ", ".join(missing[:10]))
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": code, "properties": {"code": code, "nom": name},
         "geometry": mapping(_clockwise(shapes[code]))}
        for code, name in zip(dim["commune_code"], dim["commune_name"]) if code in shapes]}
    if not collection["features"]:
        topo = {"type": "Topology", "objects": {OBJECT_NAME: {"type": "GeometryCollection", "geometries": []}},
                "arcs": []}
    else:
        topo = topojson.Topology(collection, object_name=OBJECT_NAME, prequantize=QUANTIZATION,
                                 topology=True).to_dict()
    return json.dumps(topo, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
