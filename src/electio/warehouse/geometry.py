"""Commune boundaries stored in the warehouse (``dim_commune_geometry``).

Written by the pipeline from the perimeter's boundary files; maps and the Power BI
Shape Map read them back here, never from the files.
"""

from __future__ import annotations

import json

import pandas as pd
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import inspect

from electio.warehouse.load import make_engine

COLUMNS = ["geometry_code", "commune_code", "part_number", "geojson_part"]
#: Longest NVARCHAR that SQL Server accepts without MAX (which SQLite cannot parse).
PART_CHARS = 4000


def geometry_rows(geometries: dict[str, BaseGeometry], parents: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of dim_commune_geometry for {geometry code: WGS84 geometry}; ``parents`` maps an
    arrondissement code to its commune (default: the geometry is its own commune)."""
    parents = parents or {}
    rows = []
    for code in sorted(geometries):
        text = json.dumps(mapping(shapely.set_precision(geometries[code], 1e-6)), separators=(",", ":"))
        for i in range(0, len(text), PART_CHARS):
            rows.append((code, parents.get(code, code), i // PART_CHARS + 1, text[i:i + PART_CHARS]))
    return pd.DataFrame(rows, columns=COLUMNS)


def geometries_from_table(frame: pd.DataFrame | None) -> tuple[dict[str, BaseGeometry], dict[str, BaseGeometry]]:
    """(commune geometries, arrondissement geometries), WGS84, keyed by code."""
    communes: dict[str, BaseGeometry] = {}
    arrondissements: dict[str, BaseGeometry] = {}
    if frame is None or frame.empty:
        return communes, arrondissements
    ordered = frame.sort_values(["geometry_code", "part_number"])
    for (code, commune), parts in ordered.groupby(["geometry_code", "commune_code"], sort=True):
        geom = shape(json.loads("".join(parts["geojson_part"])))
        (communes if code == commune else arrondissements)[code] = geom
    return communes, arrondissements


def read_commune_geometries(db_url: str) -> tuple[dict[str, BaseGeometry], dict[str, BaseGeometry]]:
    """The warehouse's geometries (empty when the table is absent or empty)."""
    engine = make_engine(db_url)
    try:
        if "dim_commune_geometry" not in set(inspect(engine).get_table_names()):
            return {}, {}
        with engine.connect() as conn:
            frame = pd.read_sql_table("dim_commune_geometry", conn)
    finally:
        engine.dispose()
    return geometries_from_table(frame)
