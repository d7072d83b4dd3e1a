"""One reference commune list, and every source code mapped onto it.

Rules (DESIGN.md, harmonisation): the reference is the latest official code list
in the catalog; communes that merged into a commune nouvelle are summed into it;
Lyon's arrondissements (69381-69389) roll up to 69123; in département 69 each
commune keeps its side of the 2015 split (Métropole de Lyon or Rhône).
"""

from __future__ import annotations

import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.ops import unary_union

from electio.errors import ElectioError

LAMBERT_93 = 2154


def build_code_map(etalab: pd.DataFrame) -> pd.DataFrame:
    """Map every known code (current, former, delegated, arrondissement) to a current commune.

    Returns columns source_code, commune_code, relation, source_name.
    """
    current = etalab[etalab["type"] == "commune-actuelle"]
    rows = [(c, c, "same", n) for c, n in zip(current["code"], current["name"])]
    for code, former in zip(current["code"], current["former_codes"]):
        rows += [(old, code, "merged", None) for old in former if old != code]
    others = etalab[etalab["type"] != "commune-actuelle"]
    for code, kind, parent, name in zip(others["code"], others["type"], others["parent"], others["name"]):
        relation = "arrondissement" if kind == "arrondissement-municipal" else "merged"
        rows.append((code, parent, relation, name))
    mapping = pd.DataFrame(rows, columns=["source_code", "commune_code", "relation", "source_name"])
    # A code can appear several times (as a former code and a commune déléguée):
    # keep the current commune's own row first, then the named delegated row.
    mapping["_rank"] = mapping["relation"].map({"same": 0, "arrondissement": 1, "merged": 2})
    mapping = (mapping.sort_values(["source_code", "_rank", "source_name"], na_position="last")
               .drop_duplicates("source_code").drop(columns="_rank"))
    targets = mapping.groupby("source_code")["commune_code"].nunique()
    if (targets > 1).any():
        raise ElectioError(f"ambiguous commune codes in the reference list: {list(targets[targets > 1].index)}")
    unknown = set(mapping["commune_code"]) - set(current["code"])
    if unknown:
        raise ElectioError(f"commune codes mapped to codes absent from the reference list: {sorted(unknown)}")
    return mapping.reset_index(drop=True)


def commune_shapes(features: list[tuple[str, dict]], code_map: pd.DataFrame) -> dict:
    """Union of the (older) boundary polygons of every code mapped to a commune."""
    lookup = dict(zip(code_map["source_code"], code_map["commune_code"]))
    parts: dict[str, list] = {}
    for code, geometry in features:
        if code in lookup:
            parts.setdefault(lookup[code], []).append(shape(geometry))
    return {code: unary_union(shapes) for code, shapes in parts.items()}


def build_dim_commune(etalab: pd.DataFrame, epci: pd.DataFrame, cog: pd.DataFrame,
                      shapes: dict, *, departement, cog_vintage: int,
                      territories: dict | None = None) -> pd.DataFrame:
    """Reference communes of the perimeter (one département code or a list) with their attributes;
    area and position come from ``shapes`` (commune code -> geometry, :func:`commune_shapes`).

    ``territories`` (département -> its perimeter file's territories) splits a
    département into sub-territories, e.g. the Métropole de Lyon and the Rhône.
    """
    wanted = [departement] if isinstance(departement, str) else list(departement)
    dim = etalab[(etalab["type"] == "commune-actuelle") & (etalab["departement"].isin(wanted))]
    if dim.empty:
        raise ElectioError(f"no commune of département {', '.join(wanted)!r} in the reference list")
    dim = dim[["code", "name", "population", "departement"]].rename(
        columns={"code": "commune_code", "name": "commune_name", "departement": "departement_code"})
    dim = dim.merge(epci[["commune_code", "epci_code", "epci_name"]], on="commune_code", how="left")
    cog_com = cog[cog["type"] == "COM"][["code", "ctcd", "canton_code"]]
    dim = dim.merge(cog_com.rename(columns={"code": "commune_code"}), on="commune_code", how="left")
    dim["territory"] = "departement"
    for dep, split in (territories or {}).items():
        if not split:
            continue
        rows = dim["departement_code"] == dep
        default = next(t.code for t in split if t.default)
        side = pd.Series(default, index=dim.index[rows])
        for t in split:
            if t.default:
                continue
            # CTCD is INSEE's own split; EPCI membership is the fallback for a code COG lacks.
            member = dim.loc[rows, "ctcd"].eq(t.ctcd) | (dim.loc[rows, "ctcd"].isna()
                                                        & dim.loc[rows, "epci_code"].eq(t.epci))
            side[member] = t.code
        dim.loc[rows, "territory"] = side
    # COG gives communes outside any canton a pseudo-canton "<dep>99" (the whole
    # Métropole de Lyon is 6999): that is not a canton, so it is stored as missing.
    canton = dim["canton_code"].fillna("")
    dim["canton_code"] = canton.where((canton != "") & ~canton.str.endswith("99"), None)
    to_l93 = Transformer.from_crs(4326, LAMBERT_93, always_xy=True).transform
    area, lat, lon = [], [], []
    for code in dim["commune_code"]:
        geom = shapes.get(code)
        if geom is None:
            area.append(None), lat.append(None), lon.append(None)
            continue
        area.append(round(shapely.transform(geom, to_l93, interleaved=False).area / 1e6, 3))
        point = geom.representative_point()  # inside the commune, unlike a centroid
        lat.append(round(point.y, 5)), lon.append(round(point.x, 5))
    dim["area_km2"], dim["latitude"], dim["longitude"] = area, lat, lon
    dim["cog_vintage"] = cog_vintage
    dim["population"] = dim["population"].astype("Int64")
    return dim[["commune_code", "commune_name", "departement_code", "territory", "epci_code",
                "epci_name", "canton_code", "population", "area_km2", "latitude", "longitude",
                "cog_vintage"]].sort_values("commune_code").reset_index(drop=True)


class UnknownCommuneCode(ElectioError):
    """A source code that is not on, and does not map onto, the reference list."""


def harmonise_communes(frame: pd.DataFrame, code_map: pd.DataFrame, *, counts: list[str],
                       keys: list[str] = (), where: str = "") -> pd.DataFrame:
    """Re-express a frame keyed by ``source_code`` on the reference list.

    Count columns are summed over every source code that maps to the same current
    commune (merged communes, Lyon arrondissements); rates must be recomputed
    from the summed counts afterwards, never averaged.
    """
    lookup = dict(zip(code_map["source_code"], code_map["commune_code"]))
    mapped = frame["source_code"].map(lookup)
    if mapped.isna().any():
        missing = sorted(frame.loc[mapped.isna(), "source_code"].unique())
        raise UnknownCommuneCode(
            f"{where}: commune code(s) {missing[:10]} are neither on the reference list nor "
            "former codes of a current commune")
    out = frame.assign(commune_code=mapped)
    return out.groupby(["commune_code", *keys], as_index=False)[counts].sum(min_count=1)
