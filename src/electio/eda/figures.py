"""Figures of the exploratory analysis: maps, histograms, heatmaps, scatter plots (PNG).

Written for a non-technical French reader: a title that says what is shown, a legend or
colour bar with its unit, and a source line at the bottom of every figure. Figures are
built on :class:`matplotlib.figure.Figure` directly (Agg canvas, no pyplot): no global
backend switch, nothing left open in memory, safe in a server or a test run.

Maps are drawn in Lambert-93 (EPSG:2154, the official French projection), so the
département keeps its true shape. Commune boundaries come from the COG 2018 layer,
united onto current communes with :func:`electio.transform.communes.commune_shapes`;
every map function also accepts a plain mapping ``commune_code -> shapely geometry``
(already projected), which is what the tests pass.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PathCollection
from matplotlib.colors import LinearSegmentedColormap, LogNorm, Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from electio import forked
from electio.eda.answer import (
    STABILITY_RULE_FR,
    TURNOUT_LABEL_FR,
    redundant_codes,
    relation_summary,
    restrict_to_first_rounds,
    strongest_relations,
    target_labels,
)
from electio.eda.correlation import (
    TURNOUT,
    CorrelationInputs,
    fold_text,
    population_indicator,
    prepare_inputs,
    transformed_unit,
)
from electio.perimeter import departement_name
from electio.settings import Settings
from electio.sources.catalog import load_catalog
from electio.sources.indicators import roles
from electio.warehouse.geometry import geometries_from_table

log = logging.getLogger("electio.eda")

DPI = 150
REFERENCE_ELECTION = "pres_2022_t1"
#: French names of the indicator families (dim_indicator.family holds ASCII codes).
FAMILY_LABELS_FR = {"population": "Population", "revenus": "Revenus", "emploi": "Emploi",
                    "entreprises": "Entreprises", "securite": "Sécurité", "logement": "Logement",
                    "immigration": "Immigration", "recensement": "Recensement", "associations": "Associations"}
MISSING_COLOR = "#d9d9d9"
MAP_SIZE = (10.0, 8.6)  # inches: map plus a legend on its right
SIDE_LEGEND = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0.0)
ABSENT_COLOR = "#efefef"
BOUNDARY_CREDIT = "contours IGN Admin Express COG 2018 (france-geojson) et Etalab API Géo (arrondissements de Lyon)"
#: Key indicators mapped when they exist: (stem, words searched in the code and label without
#: accents, family required or None). Rates and medians are preferred to counts.
KEY_INDICATORS = [
    ("revenu_median", ("median",), "revenus"),
    ("taux_pauvrete", ("pauvrete",), None),
    ("chomage", ("chomage", "chomeur", "demandeur"), None),
    ("densite", ("densite",), None),
]


# --------------------------------------------------------------------------- formatting helpers

def fr_number(value: float, digits: int | None = None) -> str:
    """French number: comma decimals, narrow no-break space between thousands."""
    if value is None or not np.isfinite(value):
        return "n.d."
    strip = digits is None
    if digits is None:
        digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 10 else 2)
    text = f"{value:,.{digits}f}"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    text = text.replace(",", "\u202f").replace(".", ",")
    return "0" if text in ("-0", "\u22120") else text.replace("-", "\u2212")


def _fr_formatter(digits: int | None = None) -> FuncFormatter:
    return FuncFormatter(lambda v, _pos: fr_number(v, digits))


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def departement_label(tables: dict[str, pd.DataFrame]) -> str:
    dim = tables.get("dim_commune")
    codes = sorted(set(dim["departement_code"])) if dim is not None and not dim.empty else []
    if len(codes) != 1:
        return "périmètre d'étude"
    return departement_name(codes[0])


def _publisher(source_id: str) -> str:
    """Short publisher name of a catalogued source, for source lines."""
    try:
        publisher = load_catalog()[source_id].publisher
    except Exception:  # a synthetic or uncatalogued source: show its id
        return source_id
    return re.split(r" \(| / |, ", publisher)[0].strip()


def _file_publisher(file_name: str | None, fallback_source_id: str) -> str:
    """Publisher of the catalogued source holding ``file_name`` (a vintage's own file)."""
    if file_name:
        try:
            for source in load_catalog().values():
                if any(f.name == file_name for f in source.files):
                    return _publisher(source.id)
        except Exception:  # uncatalogued file: fall back to the indicator's source
            pass
    return _publisher(fallback_source_id)


def _figure(width: float, height: float, footer_lines: float = 1) -> Figure:
    """A figure with room at the bottom for the source line (constrained layout)."""
    bottom = _footer_height(footer_lines) / height
    return Figure(figsize=(width, height), dpi=DPI, facecolor="white",
                  layout=ConstrainedLayoutEngine(rect=(0, bottom, 1, 1 - bottom), h_pad=0.06, w_pad=0.06))


#: Source line size (points) as drawn; figures scaled down in print pass a larger one.
FOOTER_PT = 7.5


def _footer_chars(fig_width: float, fontsize: float) -> int:
    return int(fig_width * 15 * FOOTER_PT / fontsize)  # about 15 characters per inch at 7.5 pt


def _footer(fig: Figure, text: str, fontsize: float = FOOTER_PT) -> None:
    width_chars = _footer_chars(fig.get_figwidth(), fontsize)
    lines = [line for part in text.split("\n") for line in (textwrap.wrap(part, width_chars) or [""])]
    fig.text(0.01, 0.06 / fig.get_figheight(), "\n".join(lines), ha="left", va="bottom", fontsize=fontsize,
             color="0.35", linespacing=1.3)


def _footer_height(lines: float, fontsize: float = FOOTER_PT) -> float:
    """Inches kept free at the bottom of a figure for ``lines`` lines of small text."""
    return 0.15 + 0.17 * lines * fontsize / FOOTER_PT


def _footer_lines(fig_width: float, text: str, fontsize: float = FOOTER_PT) -> int:
    width_chars = _footer_chars(fig_width, fontsize)
    return sum(max(1, len(textwrap.wrap(part, width_chars))) for part in text.split("\n"))


def _save(fig: Figure, path: Path) -> Path:
    """The figure as PNG, drawn once: ``savefig`` first draws a figure that has a layout engine with
    rendering disabled (so that the layout runs), then draws it again; the Agg canvas's own drawing
    lays out and renders in one pass. Same pixels, ~10 % less time. Inside :func:`electio.forked.forked`
    (the figure writers) it is drawn in a child process while the next figure is built: the file
    exists once that block has ended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.set_dpi(DPI)
    fig.set_facecolor("white")
    forked.run(_print_png, fig, path, label=f"figure {path.name}")
    fig.clear()
    return path


def _print_png(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig).print_png(path)


def _new(width: float, height: float, footer: str, extra_lines: float = 0, footer_pt: float = FOOTER_PT) -> Figure:
    """A figure whose bottom margin fits the footer text (plus ``extra_lines``, e.g. a legend)."""
    return _figure(width, height, (_footer_lines(width, footer, footer_pt) + extra_lines) * footer_pt / FOOTER_PT)


# --------------------------------------------------------------------------- geometry

@lru_cache(maxsize=1)
def _wgs84_to_lambert93():
    """The transformer, built once: building one costs ~40 ms, more than projecting a commune."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, 2154, always_xy=True).transform


def to_lambert93(geom: BaseGeometry) -> BaseGeometry:
    """WGS84 longitude/latitude geometry -> Lambert-93 metres."""
    transform = _wgs84_to_lambert93()
    return shapely.transform(geom, lambda xy: np.column_stack(transform(xy[:, 0], xy[:, 1])))


#: The last geometry table projected, with its projection: the EDA and forecast maps of one run
#: share it instead of projecting every commune twice (shapely geometries are immutable).
_PROJECTED: dict = {}


def _projected(table: pd.DataFrame | None) -> tuple[dict, dict]:
    hit = _PROJECTED.get("last")
    if hit is not None and hit[0] is table:
        return hit[1], hit[2]
    communes, arrondissements = geometries_from_table(table)
    out = ({code: to_lambert93(geom) for code, geom in sorted(communes.items())},
           {code: to_lambert93(geom) for code, geom in sorted(arrondissements.items())})
    _PROJECTED["last"] = (table, *out)
    return out


def load_commune_shapes(tables: dict[str, pd.DataFrame]) -> dict[str, BaseGeometry]:
    """Current communes' boundaries (Lambert-93), from the warehouse's dim_commune_geometry."""
    communes, _ = _projected(tables.get("dim_commune_geometry"))
    if not communes:
        raise LookupError("the warehouse has no commune boundaries (dim_commune_geometry is empty: no boundary "
                          "file in the perimeter file of this département)")
    return dict(communes)


def load_lyon_arrondissements(tables: dict[str, pd.DataFrame]) -> dict[str, BaseGeometry]:
    """Municipal arrondissements drawn inside their commune (Lyon 69381-69389), Lambert-93."""
    return dict(_projected(tables.get("dim_commune_geometry"))[1])


def _polygons(geom: BaseGeometry) -> list:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    return [g for part in getattr(geom, "geoms", []) for g in _polygons(part)]


def _path(geom: BaseGeometry, *, holes: bool = True) -> MplPath | None:
    verts, codes = [], []
    for poly in _polygons(geom):
        rings = [poly.exterior, *(poly.interiors if holes else [])]
        for ring in rings:
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes.append(np.r_[MplPath.MOVETO, np.full(len(xy) - 2, MplPath.LINETO), MplPath.CLOSEPOLY])
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


@dataclass
class MapContext:
    """Commune shapes plus the overlays drawn on every map."""
    shapes: Mapping[str, BaseGeometry]
    outline: BaseGeometry | None = None
    metropole: BaseGeometry | None = None
    arrondissements: Mapping[str, BaseGeometry] | None = None
    labels: list[tuple[str, BaseGeometry]] | None = None

    def __post_init__(self) -> None:
        # Drawing paths are computed once and reused by every map.
        self.paths = {code: path for code, geom in self.shapes.items() if (path := _path(geom)) is not None}
        self.bounds = _bounds(self.shapes.values())
        self.overlays: list[tuple[MplPath, dict]] = []
        for geom in (self.arrondissements or {}).values():
            if (path := _path(geom, holes=False)) is not None:
                self.overlays.append((path, dict(edgecolor="0.45", linewidth=0.3)))
        if self.metropole is not None and (path := _path(self.metropole, holes=False)) is not None:
            # A white line under the dashes keeps the limit visible on dark and light fills alike.
            self.overlays.append((path, dict(edgecolor="white", linewidth=1.8)))
            self.overlays.append((path, dict(edgecolor="0.1", linewidth=0.9, linestyle=(0, (4, 2)))))
        if self.outline is not None and (path := _path(self.outline, holes=False)) is not None:
            self.overlays.append((path, dict(edgecolor="0.25", linewidth=0.9)))


def _bounds(geoms) -> tuple[float, float, float, float]:
    b = np.array([g.bounds for g in geoms if g is not None and not g.is_empty])
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def _dissolve(geoms: list[BaseGeometry]) -> BaseGeometry | None:
    """Union that closes the slivers left between simplified neighbouring polygons."""
    if not geoms:
        return None
    union = unary_union([g.buffer(0) for g in geoms])
    minx, miny, maxx, maxy = union.bounds
    eps = 0.002 * max(maxx - minx, maxy - miny, 1e-9)
    return union.buffer(eps, join_style="mitre").buffer(-eps, join_style="mitre")


def map_context(tables: dict[str, pd.DataFrame], shapes: Mapping[str, BaseGeometry],
                arrondissements: Mapping[str, BaseGeometry] | None = None) -> MapContext:
    dim = tables.get("dim_commune")
    metropole, labels = None, []
    if dim is not None and not dim.empty:
        metro_codes = set(dim.loc[dim["territory"] == "metropole_lyon", "commune_code"])
        if metro_codes and len(metro_codes) < len(dim):
            metropole = _dissolve([g for c, g in shapes.items() if c in metro_codes])
        # Orientation labels: the largest commune, and the largest one outside the Métropole.
        by_size = dim.assign(_pop=dim["population"].astype(float)).sort_values("_pop", ascending=False)
        picks = by_size.head(1)
        outside = by_size[by_size["territory"] == "rhone"].head(1)
        for row in pd.concat([picks, outside]).drop_duplicates("commune_code").itertuples():
            if row.commune_code in shapes:
                labels.append((row.commune_name, shapes[row.commune_code]))
    return MapContext(shapes=shapes, outline=_dissolve(list(shapes.values())), metropole=metropole,
                      arrondissements=arrondissements or None, labels=labels)


def _draw_map(ax, ctx: MapContext, colors: Mapping[str, object], *, absent: set[str] = frozenset(),
              label_pt: float = 7) -> None:
    """Fill each commune with its colour (MISSING_COLOR where there is none), then the overlays.

    All communes go into one collection: one artist instead of hundreds keeps drawing
    and layout fast.
    """
    codes = [c for c in ctx.paths if c not in absent]
    ax.add_collection(PathCollection([ctx.paths[c] for c in codes],
                                     facecolors=[colors.get(c, MISSING_COLOR) for c in codes],
                                     edgecolors="white", linewidths=0.25), autolim=False)
    hatched = [c for c in ctx.paths if c in absent]
    if hatched:
        ax.add_collection(PathCollection([ctx.paths[c] for c in hatched], facecolors=ABSENT_COLOR,
                                         edgecolors="white", linewidths=0.25, hatch="////"), autolim=False)
    for path, style in ctx.overlays:
        ax.add_patch(PathPatch(path, facecolor="none", **style))
    for name, geom in ctx.labels or []:
        point = geom.representative_point()
        ax.annotate(name, (point.x, point.y), xytext=(0, 0), textcoords="offset points", ha="center", va="center",
                    fontsize=label_pt, color="black",
                    path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
    minx, miny, maxx, maxy = ctx.bounds
    pad = 0.02 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _overlay_handles(ctx: MapContext, *, missing: bool | str = False, absent: bool = False) -> list:
    """Legend entries of the overlays; ``missing`` may be the text of the no-data entry."""
    handles = []
    if ctx.metropole is not None:
        handles.append(Line2D([], [], color="0.15", linewidth=0.8, linestyle=(0, (4, 2)),
                              label="Limite de la Métropole de Lyon"))
    if ctx.arrondissements:
        handles.append(Line2D([], [], color="0.45", linewidth=0.6, label="Arrondissements de Lyon"))
    if missing:
        text = missing if isinstance(missing, str) else "Donnée non disponible"
        handles.append(Patch(facecolor=MISSING_COLOR, edgecolor="0.6", label=text))
    if absent:
        handles.append(Patch(facecolor=ABSENT_COLOR, edgecolor="0.6", hatch="////",
                             label="Pas de candidat de ce bloc"))
    return handles


def _colors(values: pd.Series, cmap, norm) -> dict[str, tuple]:
    values = values.dropna()
    return dict(zip(values.index, cmap(norm(values.to_numpy(dtype=float)))))


def _bloc_cmap(hex_color: str) -> LinearSegmentedColormap:
    rgb = np.array(to_rgb(hex_color))
    light = 1 - 0.1 * (1 - rgb)  # a faint tint of the bloc colour, distinct from the white page
    dark = rgb * 0.55
    return LinearSegmentedColormap.from_list(hex_color, [light, rgb, dark])


def _nice_range(values: pd.Series, step: float = 5.0) -> tuple[float, float]:
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    lo, hi = step * np.floor(lo / step), step * np.ceil(hi / step)
    return (lo, hi if hi > lo else lo + step)


# --------------------------------------------------------------------------- election maps

def map_elections(dim_election: pd.DataFrame, reference: str = REFERENCE_ELECTION) -> list[str]:
    """The latest first round of each election type, plus the reference election."""
    if dim_election is None or dim_election.empty:
        return []
    first = dim_election[dim_election["round_number"] == 1].sort_values("election_date")
    ids = set(first.groupby("election_type")["election_id"].last())
    if reference in set(dim_election["election_id"]):
        ids.add(reference)
    return sorted(ids)


def _election_source(tables: dict[str, pd.DataFrame], election_id: str, *, maps: bool = True) -> str:
    e = tables["dim_election"].set_index("election_id").loc[election_id]
    boundaries = f" ; {BOUNDARY_CREDIT}" if maps else ""
    return (f"Source : {_publisher(e['source_id'])}, résultats {e['label_fr']} par commune{boundaries}. "
            "Traitement electio.")


def election_maps(tables: dict[str, pd.DataFrame], ctx: MapContext, out_dir: Path, election_id: str) -> list[Path]:
    """Bloc shares (one panel per bloc), turnout, and the leading bloc of one election."""
    out_dir = Path(out_dir)
    election = tables["dim_election"].set_index("election_id").loc[election_id]
    where = departement_label(tables)
    source = _election_source(tables, election_id)
    res = tables["fact_election_result"]
    res = res[res["election_id"] == election_id]
    blocs = tables["dim_bloc"].sort_values("sort_order")
    totals = res.groupby("bloc_code")["votes"].sum()
    present = [b for b in blocs["bloc_code"] if totals.get(b, 0) > 0]
    files = []

    # 1. One panel per bloc, each with its own colour scale.
    if present:
        ncols = min(3, len(present))
        nrows = int(np.ceil(len(present) / ncols))
        width, height = 4.4 * ncols, 5.6 * nrows + 0.9
        grid_source = source + " Chaque carte a sa propre échelle de couleurs."
        fig = _new(width, height, grid_source, extra_lines=2)
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        expressed = res.groupby("bloc_code")["votes"].sum().sum()
        legislative = election["election_type"] == "legislatives"
        any_absent = False
        for ax, bloc in zip(axes, present):
            sub = res[res["bloc_code"] == bloc].set_index("commune_code")
            absent = set(sub.index[sub["n_labels"] == 0]) if legislative else set()
            any_absent |= bool(absent)
            shares = sub["share_expressed"].drop(index=list(absent))
            row = blocs.set_index("bloc_code").loc[bloc]
            cmap = _bloc_cmap(row["color_hex"])
            norm = Normalize(*_nice_range(shares))
            _draw_map(ax, ctx, _colors(shares, cmap, norm), absent=absent)
            dep_share = 100 * totals[bloc] / expressed if expressed else np.nan
            ax.set_title(f"{row['label_fr']}\n{fr_number(dep_share, 1)} % dans le département", fontsize=11)
            cbar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, orientation="horizontal", fraction=0.045,
                                pad=0.02, aspect=30)
            cbar.set_label("% des suffrages exprimés", fontsize=8)
            cbar.ax.tick_params(labelsize=7)
            cbar.ax.xaxis.set_major_formatter(_fr_formatter())
        for ax in axes[len(present):]:
            ax.set_axis_off()
        fig.suptitle(f"{election['label_fr']} : score de chaque bloc par commune ({where})", fontsize=14,
                     fontweight="bold")
        handles = _overlay_handles(ctx, missing=bool(set(ctx.shapes) - set(res["commune_code"])), absent=any_absent)
        if handles:
            above_footer = _footer_height(_footer_lines(width, grid_source)) / height
            fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, above_footer), ncols=len(handles),
                       fontsize=9, frameon=False)
        _footer(fig, grid_source)
        files.append(_save(fig, out_dir / f"map_{election_id}_bloc_shares.png"))

    # 2. Turnout.
    turnout = tables["fact_turnout"]
    turnout = turnout[turnout["election_id"] == election_id]
    if not turnout.empty:
        values = turnout.set_index("commune_code")["turnout_pct"]
        fig = _new(MAP_SIZE[0], MAP_SIZE[1], source)
        ax = fig.subplots()
        cmap = LinearSegmentedColormap.from_list("turnout", ["#f7fcf0", "#7bccc4", "#084081"])
        norm = Normalize(*_nice_range(values))
        _draw_map(ax, ctx, _colors(values, cmap, norm))
        rate = 100 * turnout["voters"].sum() / turnout["registered"].sum()
        ax.set_title(f"{election['label_fr']} : participation par commune ({where})\n"
                     f"{fr_number(rate, 1)} % des inscrits ont voté dans le département", fontsize=12)
        cbar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, orientation="horizontal", fraction=0.04, pad=0.02,
                            aspect=35)
        cbar.set_label("Participation (% des inscrits)", fontsize=9)
        cbar.ax.xaxis.set_major_formatter(_fr_formatter())
        handles = _overlay_handles(ctx, missing=bool(set(ctx.shapes) - set(values.index)))
        if handles:
            ax.legend(handles=handles, **SIDE_LEGEND)
        _footer(fig, source)
        files.append(_save(fig, out_dir / f"map_{election_id}_turnout.png"))

    # 3. Leading bloc (categorical colours of blocs.csv).
    if not res.empty:
        order = dict(zip(blocs["bloc_code"], blocs["sort_order"]))
        ranked = res.assign(_o=res["bloc_code"].map(order)).sort_values(
            ["commune_code", "share_expressed", "_o"], ascending=[True, False, True])
        leader = ranked.drop_duplicates("commune_code").set_index("commune_code")["bloc_code"]
        colour = dict(zip(blocs["bloc_code"], blocs["color_hex"]))
        label = dict(zip(blocs["bloc_code"], blocs["label_fr"]))
        fig = _new(MAP_SIZE[0], MAP_SIZE[1], source)
        ax = fig.subplots()
        _draw_map(ax, ctx, {c: colour[b] for c, b in leader.items()})
        counts = leader.value_counts()
        handles = [Patch(facecolor=colour[b], edgecolor="0.5",
                         label=f"{label[b]} ({counts[b]} commune{'s' if counts[b] > 1 else ''})")
                   for b in blocs["bloc_code"] if b in counts]
        handles += _overlay_handles(ctx, missing=bool(set(ctx.shapes) - set(leader.index)))
        ax.legend(handles=handles, title="Bloc arrivé en tête", title_fontsize=9, **SIDE_LEGEND)
        ax.set_title(f"{election['label_fr']} : bloc arrivé en tête dans chaque commune ({where})", fontsize=12)
        _footer(fig, source)
        files.append(_save(fig, out_dir / f"map_{election_id}_leading_bloc.png"))
    return files


# --------------------------------------------------------------------------- indicator maps

def key_indicators(dim_indicator: pd.DataFrame | None) -> dict[str, str]:
    """Stem -> indicator code for the key indicators present (median income, poverty...)."""
    found: dict[str, str] = {}
    if dim_indicator is None or dim_indicator.empty:
        return found
    dim = dim_indicator[dim_indicator["level"] == "commune"]
    # Rates and medians first: a map of raw counts would mostly show commune size.
    dim = dim.assign(_count=dim["aggregation"] == "sum").sort_values(["_count", "indicator_code"])
    for stem, words, family in KEY_INDICATORS:
        for row in dim.itertuples():
            text = fold_text(f"{row.indicator_code} {row.label_fr}")
            if any(w in text for w in words) and (family is None or fold_text(row.family) == family):
                found[stem] = row.indicator_code
                break
    return found


def latest_values(tables: dict[str, pd.DataFrame], code: str) -> tuple[pd.Series, int | None]:
    """Values of the latest vintage of one indicator (raw, as published), by commune.

    The series' ``attrs['source_file']`` names the vintage's file (for the source line).
    """
    fact = tables.get("fact_indicator")
    if fact is None or fact.empty:
        return pd.Series(dtype=float), None
    f = fact[(fact["indicator_code"] == code) & fact["value"].notna()]
    if f.empty:
        return pd.Series(dtype=float), None
    year = int(f["indicator_year"].max())
    f = f[f["indicator_year"] == year]
    values = f.set_index("commune_code")["value"].astype(float)
    values.attrs["source_file"] = str(f["source_file"].mode().iloc[0]) if "source_file" in f else None
    return values, year


def _indicator_norm(values: pd.Series):
    lo, hi = float(values.min()), float(values.max())
    if lo > 0 and hi / lo > 50:
        return LogNorm(lo, hi), True
    return Normalize(lo, hi if hi > lo else lo + 1), False


def _indicator_map(ctx: MapContext, values: pd.Series, *, title: str, unit: str, source: str, path: Path) -> Path:
    fig = _new(MAP_SIZE[0], MAP_SIZE[1], source)
    ax = fig.subplots()
    cmap = LinearSegmentedColormap.from_list("indicator", ["#fff7ec", "#fc8d59", "#7f0000"])
    norm, log_scale = _indicator_norm(values)
    _draw_map(ax, ctx, _colors(values, cmap, norm))
    ax.set_title(title, fontsize=12)
    cbar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, orientation="horizontal", fraction=0.04, pad=0.02,
                        aspect=35)
    cbar.set_label(unit + (", échelle logarithmique" if log_scale else ""), fontsize=9)
    if log_scale:
        cbar.ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    cbar.ax.xaxis.set_major_formatter(_fr_formatter())
    cbar.ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
    missing = bool(set(ctx.shapes) - set(values.dropna().index))
    handles = _overlay_handles(ctx, missing=_wrap("Donnée non disponible (non publiée ou secret statistique)", 30)
                               if missing else False)
    if handles:
        ax.legend(handles=handles, **SIDE_LEGEND)
    _footer(fig, source)
    return _save(fig, path)


def indicator_maps(tables: dict[str, pd.DataFrame], ctx: MapContext, out_dir: Path) -> list[Path]:
    """Maps of the key indicators found in fact_indicator; population density always.

    Density comes from a density indicator if there is one, else from the population
    indicator's latest vintage, else from the reference list's legal population
    (dim_commune), divided by the commune's area.
    """
    out_dir, where, files = Path(out_dir), departement_label(tables), []
    dim = tables.get("dim_indicator")
    found = key_indicators(dim)
    labels = {} if dim is None or dim.empty else dim.set_index("indicator_code").to_dict("index")
    for stem, code in found.items():
        values, year = latest_values(tables, code)
        if values.empty:
            continue
        info = labels[code]
        publisher = _file_publisher(values.attrs.get("source_file"), info["source_id"])
        source = (f"Source : {publisher}, {info['label_fr']}, millésime {year} ; {BOUNDARY_CREDIT}. "
                  "Traitement electio.")
        files.append(_indicator_map(ctx, values, title=f"{_wrap(info['label_fr'], 60)}\npar commune ({where}, {year})",
                                    unit=_wrap(f"{info['label_fr']} ({info['unit']})", 80), source=source,
                                    path=out_dir / f"map_indicator_{_slug(code)}.png"))
    if "densite" not in found:
        density = _derived_density(tables)
        if density is not None:
            values, origin = density
            source = f"Source : {origin} ; surfaces calculées sur les {BOUNDARY_CREDIT}. Traitement electio."
            files.append(_indicator_map(ctx, values, title=f"Densité de population par commune ({where})",
                                        unit="Densité de population (habitants par km²)", source=source,
                                        path=out_dir / "map_indicator_density.png"))
    return files


def _derived_density(tables: dict[str, pd.DataFrame]) -> tuple[pd.Series, str] | None:
    dim = tables.get("dim_commune")
    if dim is None or dim.empty or "area_km2" not in dim:
        return None
    area = dim.set_index("commune_code")["area_km2"].astype(float)

    pop_code = population_indicator(tables.get("dim_indicator"), tables.get("fact_indicator"))
    if pop_code is not None:
        population, year = latest_values(tables, pop_code)
        info = tables["dim_indicator"].set_index("indicator_code").loc[pop_code]
        publisher = _file_publisher(population.attrs.get("source_file"), info["source_id"])
        origin = f"{publisher}, {info['label_fr']}, millésime {year}"
    else:
        population = dim.set_index("commune_code")["population"].astype(float)
        origin = (f"population légale du référentiel communal (COG {int(dim['cog_vintage'].iloc[0])}, "
                  "découpage administratif Etalab)")
    density = (population / area.where(area > 0)).dropna()
    return (density, origin) if not density.empty else None


# --------------------------------------------------------------------------- histograms

def comparable_latest_values(tables: dict[str, pd.DataFrame]) -> dict[str, tuple[pd.Series, int, object]]:
    """Latest vintage of each analysed commune indicator, made comparable across commune sizes by
    the one declared rule (:mod:`electio.sources.indicators.roles`): code -> (values by commune,
    year, role). Population and density are returned as published (positive), to be drawn on a
    logarithmic axis; counts come back as ratios (per 1,000 inhabitants, per 100 dwellings...)."""
    dim, fact = tables.get("dim_indicator"), tables.get("fact_indicator")
    if dim is None or dim.empty or fact is None or fact.empty:
        return {}
    role_map = roles.indicator_roles(dim)
    f = fact[fact["value"].notna() & fact["indicator_code"].isin(role_map)]
    latest_year = f.groupby("indicator_code")["indicator_year"].transform("max")
    latest = f[f["indicator_year"] == latest_year][["commune_code", "indicator_code", "indicator_year", "value"]]
    pool = f[["commune_code", "indicator_code", "indicator_year", "value"]]
    x = roles.transform_values(latest, role_map, [], pool=pool)
    out = {}
    for code, g in x.groupby("indicator_code", sort=True):
        role = role_map[code]
        if role.transform == roles.NONE:
            continue
        v = g.set_index("commune_code")["value"].astype(float)
        if role.transform in (roles.LOG10, roles.LOG10_DENSITY):
            v = 10 ** v
        files = fact.loc[(fact["indicator_code"] == code) & (fact["indicator_year"] == int(g["indicator_year"].iloc[0])),
                         "source_file"]
        v.attrs["source_file"] = str(files.mode().iloc[0]) if len(files) else None
        out[code] = (v, int(g["indicator_year"].iloc[0]), role)
    return out


def _histogram_unit(unit: str, role) -> str:
    if role.transform == roles.LOG10:
        return unit
    if role.transform == roles.LOG10_DENSITY:
        return "habitants par km²"
    return roles.transformed_unit(unit, role)


def indicator_histograms(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """One small-multiple figure per indicator family: distribution over communes of each
    indicator made comparable across commune sizes (counts as rates per inhabitant or per
    their natural denominator; population and density on a logarithmic axis; any skewed
    positive distribution on a logarithmic axis too, so that no bar holds nearly every commune)."""
    dim = tables.get("dim_indicator")
    if dim is None or dim.empty:
        return []
    where, files = departement_label(tables), []
    dim = dim[dim["level"] == "commune"]
    comparable = comparable_latest_values(tables)
    for family, group in dim.sort_values(["family", "indicator_code"]).groupby("family", sort=True):
        panels = []
        for row in group.itertuples():
            if row.indicator_code in comparable:
                values, year, role = comparable[row.indicator_code]
                if len(values) >= 2:
                    panels.append((row, values, year, role))
        if not panels:
            continue
        sources = sorted({_file_publisher(v.attrs.get("source_file"), r.source_id) for r, v, _, _ in panels})
        source = (f"Source : {', '.join(sources)} (dernier millésime disponible ; comptages rapportés à la population "
                  "ou à leur dénominateur). Traitement electio.")
        ncols = min(3, len(panels))
        nrows = int(np.ceil(len(panels) / ncols))
        fig = _new(max(4.6 * ncols, 9.0), 3.6 * nrows + 1.0, source)
        axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
        for ax, (row, values, year, role) in zip(axes, panels):
            positive = values[values > 0]
            lo, hi = (float(positive.min()), float(positive.max())) if len(positive) else (0.0, 0.0)
            always_log = role.transform in (roles.LOG10, roles.LOG10_DENSITY)
            log_scale = len(positive) >= 2 and hi > lo and (always_log or hi / lo > 30)
            shown = positive if log_scale else values
            # A constant indicator (e.g. a fixed share) gets one bar rather than an error.
            spread = float(shown.max() - shown.min())
            varies = spread > 1e-9 * max(abs(float(shown.max())), 1.0)
            bins = np.geomspace(lo, hi, 21) if log_scale else (20 if varies else 1)
            ax.hist(shown, bins=bins, color="#4C72B0", edgecolor="white", linewidth=0.5)
            if log_scale:
                ax.set_xscale("log")
            zeros = len(values) - len(shown)
            note = f", {zeros} à 0 non montrées" if zeros else ""
            title = "Densité de population" if role.transform == roles.LOG10_DENSITY else row.label_fr
            ax.set_title(f"{_wrap(title, 45)}\n({year}, {len(values)} communes{note})", fontsize=9)
            ax.set_xlabel(_wrap(_histogram_unit(row.unit, role) + (" (échelle logarithmique)" if log_scale else ""),
                                50), fontsize=8)
            ax.set_ylabel("Nombre de communes", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_formatter(_fr_formatter())
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _p: ""))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.spines[["top", "right"]].set_visible(False)
        for ax in axes[len(panels):]:
            ax.set_axis_off()
        family_fr = FAMILY_LABELS_FR.get(family, str(family).capitalize())
        fig.suptitle(f"Indicateurs « {family_fr} » : répartition des communes ({where})", fontsize=13,
                     fontweight="bold")
        _footer(fig, source)
        files.append(_save(fig, Path(out_dir) / f"hist_indicators_{_slug(family)}.png"))
    return files


def result_histograms(tables: dict[str, pd.DataFrame], out_dir: Path, election_id: str) -> list[Path]:
    """Distribution over communes of each bloc's share and of turnout, for one election."""
    res = tables["fact_election_result"]
    res = res[res["election_id"] == election_id]
    turnout = tables["fact_turnout"]
    turnout = turnout[turnout["election_id"] == election_id]
    if res.empty or turnout.empty:
        return []
    election = tables["dim_election"].set_index("election_id").loc[election_id]
    blocs = tables["dim_bloc"].sort_values("sort_order")
    totals = res.groupby("bloc_code")["votes"].sum()
    panels = [(row.label_fr, res.loc[res["bloc_code"] == row.bloc_code, "share_expressed"], row.color_hex,
               "% des suffrages exprimés") for row in blocs.itertuples() if totals.get(row.bloc_code, 0) > 0]
    panels.append((TURNOUT_LABEL_FR, turnout["turnout_pct"], "#2b8cbe", "% des inscrits"))
    source = _election_source(tables, election_id, maps=False)
    ncols = 4
    nrows = int(np.ceil(len(panels) / ncols))
    fig = _new(4.0 * ncols, 3.2 * nrows + 1.0, source)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, (label, values, color, unit) in zip(axes, panels):
        ax.hist(values, bins=20, color=color, edgecolor="white", linewidth=0.5)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(unit, fontsize=8)
        ax.set_ylabel("Nombre de communes", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_formatter(_fr_formatter())
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    fig.suptitle(f"{election['label_fr']} : répartition des communes selon le score de chaque bloc "
                 f"({departement_label(tables)})", fontsize=13, fontweight="bold")
    _footer(fig, source)
    return [_save(fig, Path(out_dir) / f"hist_results_{election_id}.png")]


# --------------------------------------------------------------------------- heatmaps and scatter plots

def _indicator_row_labels(tables: dict[str, pd.DataFrame], codes: list[str], transforms: dict[str, str]) -> list[str]:
    dim = tables.get("dim_indicator")
    info = {} if dim is None or dim.empty else dim.set_index("indicator_code").to_dict("index")
    labels = []
    for code in codes:
        label = info.get(code, {}).get("label_fr", code)
        t = transforms.get(code)
        if t is not None and t.startswith("ratio:"):
            role = roles.role_from_key(t)
            suffix = f" (pour {roles.fmt_scale(role.scale)} {roles.DENOMINATOR_FR.get(role.denominator, role.denominator)})"
        else:
            suffix = {"log10": " (log)", "per_1000_population": " (pour 1 000 hab.)",
                      "log10_density": " : densité de population (log)"}.get(t, "")
        labels.append(_wrap(label + suffix, 42))
    return labels


def _heatmap(matrix: pd.DataFrame, row_labels: list[str], col_labels: list[str], *, title: str, source: str,
             path: Path, marks: pd.DataFrame | None = None) -> Path:
    nrows, ncols = matrix.shape
    label_lines = sum(label.count("\n") + 1 for label in row_labels)
    width = 4.2 + 1.05 * ncols
    height = 2.6 + max(0.42 * nrows, 0.2 * label_lines)
    fig = _new(width, height, source)
    ax = fig.subplots()
    cmap = LinearSegmentedColormap.from_list("div", ["#b35806", "#f1a340", "#f7f7f7", "#998ec3", "#542788"]
                                             ).with_extremes(bad="#e0e0e0")
    values = matrix.to_numpy(dtype=float)
    masked = np.ma.masked_invalid(values)
    image = ax.imshow(masked, cmap=cmap, vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(ncols), col_labels, rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(nrows), row_labels, fontsize=8)
    ax.tick_params(length=0)
    for i in range(nrows):
        for j in range(ncols):
            v = values[i, j]
            text = "–" if not np.isfinite(v) else fr_number(v, 2)
            if marks is not None and np.isfinite(v) and bool(marks.iat[i, j]):
                text += "*"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if np.isfinite(v) and abs(v) > 0.6 else "black")
    ax.set_xticks(np.arange(-0.5, ncols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, nrows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=12, fontweight="bold")
    cbar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02, shrink=0.8)
    cbar.set_label("r de Pearson pondéré par les inscrits", fontsize=9)
    cbar.set_ticks([-1, -0.5, 0, 0.5, 1])
    cbar.ax.yaxis.set_major_formatter(_fr_formatter(1))
    _footer(fig, source)
    return _save(fig, path)


READING_GUIDE_FR = ("Lecture : proche de +1 (violet), le bloc fait de meilleurs scores dans les communes où "
                    "l'indicateur est élevé ; proche de −1 (orange), c'est l'inverse ; proche de 0, pas de lien "
                    "linéaire. Corrélation ne veut pas dire causalité.")


def correlation_heatmaps(corr: pd.DataFrame, tables: dict[str, pd.DataFrame], out_dir: Path, *,
                         reference: str = REFERENCE_ELECTION, transforms: dict[str, str] | None = None) -> list[Path]:
    """Indicators x targets: one reference election, and the mean over first rounds."""
    if corr is None or corr.empty:
        return []
    transforms = transforms or {}
    targets = target_labels(tables.get("dim_bloc"))
    dim = tables.get("dim_indicator")
    family = {} if dim is None or dim.empty else dict(zip(dim["indicator_code"], dim["family"]))
    label = {} if dim is None or dim.empty else dict(zip(dim["indicator_code"], dim["label_fr"]))
    sources_of = {} if dim is None or dim.empty else dict(zip(dim["indicator_code"], dim["source_id"]))
    fact = tables.get("fact_indicator")
    files_of = ({} if fact is None or fact.empty else
                fact.groupby(["indicator_code", "indicator_year"])["source_file"].first().to_dict())

    def sources(rows: pd.DataFrame) -> str:
        """Publishers of the vintages actually used in ``rows``."""
        keys = rows[["indicator_code", "indicator_year"]].drop_duplicates().itertuples(index=False)
        return ", ".join(sorted({_file_publisher(files_of.get((c, y)), sources_of.get(c, c)) for c, y in keys}))

    files = []

    def layout(frame: pd.DataFrame) -> pd.DataFrame:
        codes = sorted(frame.index, key=lambda c: (family.get(c, ""), label.get(c, c)))
        cols = [t for t in targets if t in frame.columns]
        return frame.reindex(index=codes, columns=cols)

    elections = tables["dim_election"].set_index("election_id")
    ref = corr[corr["election_id"] == reference]
    if not ref.empty:
        matrix = layout(ref.pivot(index="indicator_code", columns="target", values="pearson"))
        n = int(ref["n_communes"].max())
        source = (f"Source : indicateurs {sources(ref)} (millésime dont la période de référence précède le scrutin) ; "
                  f"résultats {_publisher(elections.loc[reference, 'source_id'])}. Calcul electio sur {n} "
                  f"communes au plus.\n{READING_GUIDE_FR}")
        files.append(_heatmap(matrix, _indicator_row_labels(tables, list(matrix.index), transforms),
                              [targets[t] for t in matrix.columns],
                              title=f"Corrélations indicateurs × résultats\n{elections.loc[reference, 'label_fr']}",
                              source=source, path=Path(out_dir) / f"heatmap_correlation_{reference}.png"))
    used = restrict_to_first_rounds(corr, tables.get("dim_election"))
    if used["election_id"].nunique() >= 1:
        summary = relation_summary(used)
        matrix = layout(summary.pivot(index="indicator_code", columns="target", values="mean_pearson"))
        stable = layout(summary.pivot(index="indicator_code", columns="target", values="stable")).fillna(False)
        n_el = used["election_id"].nunique()
        coverage = used.groupby("indicator_code")["election_id"].nunique()
        source = (f"Source : indicateurs {sources(used)} ; résultats du ministère de l'Intérieur. Moyenne des r "
                  f"pondérés sur les premiers tours dont un millésime de l'indicateur précède la date (entre "
                  f"crochets : nombre d'élections, sur {n_el}). * {STABILITY_RULE_FR}\n{READING_GUIDE_FR}")
        row_labels = [f"{label} [{coverage.get(code, 0)}]" for code, label in
                      zip(matrix.index, _indicator_row_labels(tables, list(matrix.index), transforms))]
        files.append(_heatmap(matrix, row_labels,
                              [targets[t] for t in matrix.columns],
                              title=("Corrélations indicateurs × résultats\n"
                                     f"moyenne des premiers tours (jusqu'à {n_el} élections)"),
                              source=source, path=Path(out_dir) / "heatmap_correlation_mean.png", marks=stable))
        partial = summary[summary["mean_partial"].notna() & ~summary["indicator_code"].isin(redundant_codes(dim))]
        if not partial.empty:
            matrix = layout(partial.pivot(index="indicator_code", columns="target", values="mean_partial"))
            source = (f"Source : indicateurs {sources(used)} ; résultats du ministère de l'Intérieur. Corrélation "
                      "partielle à la taille (logarithme de la population) : ce qui reste de la relation une fois "
                      "l'effet de la taille des communes retiré ; moyenne sur les premiers tours. Les indicateurs "
                      f"redondants (compléments, ventilations) ne sont pas repris.\n{READING_GUIDE_FR}")
            files.append(_heatmap(matrix, _indicator_row_labels(tables, list(matrix.index), transforms),
                                  [targets[t] for t in matrix.columns],
                                  title=("Corrélations à taille de commune contrôlée\n"
                                         f"moyenne des premiers tours (jusqu'à {n_el} élections)"),
                                  source=source, path=Path(out_dir) / "heatmap_correlation_partial.png"))
    return files


def relation_scatters(corr: pd.DataFrame, tables: dict[str, pd.DataFrame], out_dir: Path, *, top: int = 5,
                      inputs: CorrelationInputs | None = None, reference: str = REFERENCE_ELECTION) -> list[Path]:
    """Scatter plot of each of the ``top`` strongest relations, points sized by registered voters.

    Drawn for the reference election when the relation exists there, else for the
    latest election where it does.
    """
    if corr is None or corr.empty:
        return []
    inputs = inputs or prepare_inputs(tables)
    relations = strongest_relations(corr, top, dim_indicator=tables.get("dim_indicator"),
                                    dim_election=tables.get("dim_election"), dim_bloc=tables.get("dim_bloc"),
                                    transforms=inputs.transforms)
    elections = tables["dim_election"].sort_values("election_date")
    order = {e: i for i, e in enumerate(elections["election_id"])}
    names = tables["dim_commune"].set_index("commune_code")["commune_name"] if "dim_commune" in tables else {}
    colours = dict(zip(tables["dim_bloc"]["bloc_code"], tables["dim_bloc"]["color_hex"]))
    dim = tables["dim_indicator"].set_index("indicator_code")
    fact = tables.get("fact_indicator")
    files_of = fact.groupby(["indicator_code", "indicator_year"])["source_file"].first().to_dict()
    files = []
    for rel in relations:
        code, target = rel["indicator_code"], rel["target"]
        rows = corr[(corr["indicator_code"] == code) & (corr["target"] == target)]
        if rows.empty:
            continue
        if reference in set(rows["election_id"]):
            eid = reference
        else:
            eid = max(rows["election_id"], key=lambda e: order.get(e, -1))
        stats_row = rows[rows["election_id"] == eid].iloc[0]
        data = inputs.pair(eid, code, target)
        if data.empty:
            continue
        info = dim.loc[code]
        e = elections.set_index("election_id").loc[eid]
        unit = transformed_unit(info["unit"], inputs.transforms.get(code, "identity"))
        target_label = rel["target_label_fr"]
        publisher = _file_publisher(files_of.get((code, int(stats_row["indicator_year"]))), info["source_id"])
        source = (f"Source : {publisher} ({info['label_fr']}, millésime "
                  f"{int(stats_row['indicator_year'])}) ; {_publisher(e['source_id'])} (résultats). Chaque point est "
                  "une commune ; sa surface est proportionnelle au nombre d'inscrits.")
        n_all = len(tables["dim_commune"]) if "dim_commune" in tables else len(data)
        if n_all > len(data):
            source += (f" {n_all - len(data)} commune(s) sans valeur publiée (secret statistique, donnée absente) "
                       "ou sans candidat du bloc ne sont pas représentées.")
        if pd.notna(stats_row.get("available_before")) and int(stats_row["available_before"]) == 0:
            source += (" Ce millésime n'était pas encore publié le jour du scrutin : la figure décrit une "
                       "association, elle ne montre pas ce qu'une prévision aurait pu utiliser.")
        source += " Traitement electio."
        fig = _new(8.5, 6.6, source)
        ax = fig.subplots()
        w = data["weight"].to_numpy(dtype=float)
        sizes = 4 + 500 * w / w.max()
        ax.scatter(data["x"], data["y"], s=sizes, color=colours.get(target, "#2b8cbe"), alpha=0.55,
                   edgecolor="white", linewidth=0.5)
        if len(data) >= 3 and data["x"].nunique() > 1:
            slope, intercept = np.polyfit(data["x"], data["y"], 1, w=np.sqrt(w))
            xs = np.linspace(data["x"].min(), data["x"].max(), 50)
            ax.plot(xs, intercept + slope * xs, color="0.2", linewidth=1.2, linestyle="--")
        biggest = data.sort_values("weight", ascending=False).head(2)
        for row in biggest.itertuples():
            ax.annotate(names.get(row.commune_code, row.commune_code), (row.x, row.y), xytext=(6, 6),
                        textcoords="offset points", fontsize=8,
                        path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])
        ref_sizes = [v for v in (1_000, 10_000, 100_000) if v <= w.max()]
        handles = [ax.scatter([], [], s=4 + 500 * v / w.max(), color="0.6", alpha=0.55,
                              label=f"{fr_number(v, 0)} inscrits") for v in ref_sizes]
        handles.append(Line2D([], [], color="0.2", linestyle="--", label="Tendance (régression pondérée)"))
        ax.legend(handles=handles, loc="best", fontsize=8, frameon=True, framealpha=0.9)
        ax.set_xlabel(_wrap(f"{info['label_fr']} ({unit})", 80), fontsize=9)
        y_unit = "% des inscrits" if target == TURNOUT else "% des suffrages exprimés"
        ax.set_ylabel(f"{target_label} ({y_unit})", fontsize=9)
        ax.xaxis.set_major_formatter(_fr_formatter())
        ax.yaxis.set_major_formatter(_fr_formatter(0))
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(color="0.92", linewidth=0.6)
        ci = (f" [IC 95 % : {fr_number(stats_row['pearson_ci_low'], 2)} ; "
              f"{fr_number(stats_row['pearson_ci_high'], 2)}]") if np.isfinite(stats_row["pearson_ci_low"]) else ""
        what = "participation" if target == TURNOUT else f"score du bloc « {target_label} »"
        ax.set_title(f"{_wrap(info['label_fr'], 60)} et {what}\n"
                     f"{e['label_fr']} : r pondéré = {fr_number(stats_row['pearson'], 2)}{ci}, "
                     f"{int(stats_row['n_communes'])} communes", fontsize=11)
        _footer(fig, source)
        files.append(_save(fig, Path(out_dir) / f"scatter_{rel['rank']}_{_slug(code)}_{target}.png"))
    return files


# --------------------------------------------------------------------------- entry point

def write_figures(tables: dict[str, pd.DataFrame], corr: pd.DataFrame | None, settings: Settings, *,
                  shapes: Mapping[str, BaseGeometry] | None = None,
                  arrondissements: Mapping[str, BaseGeometry] | None = None, out_dir: Path | None = None,
                  reference: str = REFERENCE_ELECTION, inputs: CorrelationInputs | None = None) -> list[Path]:
    """Every EDA figure into ``out_dir`` (default ``settings.reports_dir / 'figures'``).

    ``shapes`` (commune code -> projected geometry) defaults to the catalogued boundary
    file resolved with ``settings``; if it cannot be found the maps are skipped with a
    warning and the other figures are still drawn. Returns the files written.
    """
    out_dir = Path(out_dir) if out_dir is not None else Path(settings.reports_dir) / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(out_dir)
    files: list[Path] = []
    if shapes is None:
        try:
            shapes = load_commune_shapes(tables)
            arrondissements = load_lyon_arrondissements(tables) if arrondissements is None else arrondissements
        except Exception as exc:  # maps are optional: the analysis stands without them
            log.warning("commune boundaries unavailable, maps skipped: %s", exc)
            shapes = None
    with forked.forked():  # each figure drawn in a child process while the next is built
        if shapes:
            ctx = map_context(tables, shapes, arrondissements)
            for election_id in map_elections(tables.get("dim_election"), reference):
                files += election_maps(tables, ctx, out_dir, election_id)
            files += indicator_maps(tables, ctx, out_dir)
        files += indicator_histograms(tables, out_dir)
        if reference in set(tables["dim_election"]["election_id"]):
            files += result_histograms(tables, out_dir, reference)
        if corr is not None and not corr.empty:
            inputs = inputs or prepare_inputs(tables)
            files += correlation_heatmaps(corr, tables, out_dir, reference=reference, transforms=inputs.transforms)
            files += relation_scatters(corr, tables, out_dir, inputs=inputs, reference=reference)
    _write_manifest(out_dir, files, previous)
    log.info("%d figures written to %s", len(files), out_dir)
    return files


#: Files written by the last run, so that the next run removes its own stale figures
#: (e.g. a scatter plot of a relation that left the top 5) and nothing else: other
#: steps may write their figures to the same folder.
MANIFEST = ".eda-figures.txt"


def _read_manifest(out_dir: Path) -> set[str]:
    path = out_dir / MANIFEST
    return set(path.read_text(encoding="utf-8").split()) if path.exists() else set()


def _write_manifest(out_dir: Path, files: list[Path], previous: set[str]) -> None:
    names = {f.name for f in files}
    for stale in sorted(previous - names):
        if "/" not in stale and stale.endswith(".png"):
            (out_dir / stale).unlink(missing_ok=True)
    (out_dir / MANIFEST).write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")
