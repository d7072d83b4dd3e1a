"""Administrative geography files: commune lists, EPCI, COG attributes, boundaries.

Staging only: each function returns a tidy frame of what the file says. The
reference list and the code mapping are built in :mod:`electio.transform.communes`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.readers import read_table


def _load_json_array(path: Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFormatError(path, f"not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(data, list):
        raise InputFormatError(path, "expected a JSON array of objects")
    return data


def parse_etalab_communes(path: Path) -> pd.DataFrame:
    """One row per code of @etalab/decoupage-administratif ``communes.json``.

    Columns: code, name, type (commune-actuelle, commune-deleguee,
    arrondissement-municipal...), departement, population, parent (chef-lieu of a
    commune déléguée, or the commune of an arrondissement), former_codes (list).
    """
    rows = []
    for i, item in enumerate(_load_json_array(path)):
        if "code" not in item or "type" not in item:
            raise InputFormatError(path, f"entry {i} has no 'code' or 'type'")
        rows.append({"code": item["code"], "name": item.get("nom"), "type": item["type"],
                     "departement": item.get("departement"), "population": item.get("population"),
                     "parent": item.get("chefLieu") or item.get("commune"),
                     "former_codes": list(item.get("anciensCodes", []))})
    return pd.DataFrame(rows)


def parse_etalab_epci(path: Path) -> pd.DataFrame:
    """Membership: one row per (epci_code, epci_name, commune_code)."""
    rows = [{"epci_code": e["code"], "epci_name": e["nom"], "commune_code": m["code"]}
            for e in _load_json_array(path) for m in e.get("membres", [])]
    return pd.DataFrame(rows, columns=["epci_code", "epci_name", "commune_code"])


def parse_cog_communes(path: Path) -> pd.DataFrame:
    """INSEE COG ``v_commune_<year>.csv``: type, code, département, CTCD, canton."""
    frame = read_table(path, sep=",", required=["TYPECOM", "COM", "DEP", "CTCD", "CAN", "LIBELLE",
                                                 "COMPARENT"])
    return frame.rename(columns={"TYPECOM": "type", "COM": "code", "DEP": "departement",
                                 "CTCD": "ctcd", "CAN": "canton_code", "LIBELLE": "name",
                                 "COMPARENT": "parent"})[
        ["type", "code", "departement", "ctcd", "canton_code", "name", "parent"]]


def parse_geojson_features(path: Path) -> list[tuple[str, dict]]:
    """(code, geometry) for each feature of a GeoJSON with a ``code`` property."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return [(f["properties"]["code"], f["geometry"]) for f in doc["features"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputFormatError(path, f"expected a GeoJSON FeatureCollection with a 'code' property ({exc})") from exc
