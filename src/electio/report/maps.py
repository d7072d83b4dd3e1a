"""The report's own map: change of each main bloc since the previous election of the same type.

A diverging scale centred on zero (red: the bloc gained, blue: it lost, same range
for every panel) answers "where did the vote move", which a sequential map of shares
cannot. Each panel carries an inset of the Métropole de Lyon, whose small communes
disappear at the département's scale. Drawn with matplotlib only; legibility on A4
is checked by :func:`electio.report.diagram.smallest_printed_font`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from electio.eda.figures import load_commune_shapes

log = logging.getLogger("electio.report")
FONT_PT = 8.5
#: Territory whose communes get the zoomed inset.
INSET_TERRITORY = "metropole_lyon"


@dataclass
class ChangeMap:
    figure: Figure
    election_id: str
    previous_id: str
    blocs: list[str]


def change_pair(tables: dict[str, pd.DataFrame]) -> tuple[str, str] | None:
    """The latest first round and the previous first round of the same type."""
    el = tables.get("dim_election")
    if el is None or el.empty:
        return None
    first = el[el["round_number"] == 1].sort_values("election_date")
    if first.empty:
        return None
    latest = first.iloc[-1]
    same = first[(first["election_type"] == latest["election_type"]) & (first["election_date"] < latest["election_date"])]
    return (latest["election_id"], same.iloc[-1]["election_id"]) if not same.empty else None


def _path(geom) -> MplPath | None:
    verts, codes = [], []
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    for poly in polys:
        if poly.geom_type != "Polygon":
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            verts += xy.tolist()
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY]
    return MplPath(verts, codes) if verts else None


def change_map(tables: dict[str, pd.DataFrame], shapes: dict, n_blocs: int = 4) -> ChangeMap | None:
    """Maps of the change (points) of the main blocs between the two elections: the département (top row)
    and a zoom on the Métropole de Lyon (bottom row)."""
    pair = change_pair(tables)
    res = tables.get("fact_election_result")
    if pair is None or res is None or res.empty or not shapes:
        return None
    latest, previous = pair
    wide = res[res["election_id"].isin(pair)].pivot_table(index=["commune_code", "bloc_code"], columns="election_id",
                                                          values="share_expressed")
    if latest not in wide or previous not in wide:
        return None
    change = (wide[latest] - wide[previous]).rename("change").reset_index()
    shares = res[res["election_id"] == latest].groupby("bloc_code")["votes"].sum().sort_values(ascending=False)
    blocs = [b for b in shares.index if b in set(change["bloc_code"])][:n_blocs]
    labels = dict(zip(tables["dim_bloc"]["bloc_code"], tables["dim_bloc"]["label_fr"]))
    el = tables["dim_election"].set_index("election_id")["label_fr"]
    com = tables["dim_commune"]
    inset_codes = set(com.loc[com["territory"] == INSET_TERRITORY, "commune_code"])
    limit = float(np.nanpercentile(np.abs(change["change"]), 98)) or 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"]
    paths = {c: _path(g) for c, g in shapes.items()}
    fig = Figure(figsize=(7.0, 6.6))
    axes = fig.subplots(2, n_blocs, gridspec_kw={"height_ratios": [1.55, 1.0]})
    inner = {c: paths[c] for c in sorted(inset_codes) if paths.get(c) is not None}  # drawing order: not hash order
    for col, bloc in enumerate(blocs):
        values = change[change["bloc_code"] == bloc].set_index("commune_code")["change"]
        for ax, drawn in ((axes[0][col], paths), (axes[1][col], inner)):
            for code, path in drawn.items():
                if path is None:
                    continue
                v = values.get(code, np.nan)
                ax.add_patch(PathPatch(path, facecolor=cmap(norm(v)) if pd.notna(v) else "#dddddd",
                                       edgecolor="white", lw=0.15))
            ax.autoscale_view()
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(drawn is inner)
                spine.set_edgecolor("#777777")
        axes[0][col].set_title(labels.get(bloc, bloc), fontsize=FONT_PT + 1, fontweight="bold")
        if inner:
            axes[1][col].set_title("zoom : Métropole de Lyon", fontsize=FONT_PT - 0.5, color="#444444")
        else:
            axes[1][col].axis("off")
    for col in range(len(blocs), n_blocs):
        axes[0][col].axis("off")
        axes[1][col].axis("off")
    cax = fig.add_axes((0.2, 0.12, 0.6, 0.02))
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    bar.ax.tick_params(labelsize=FONT_PT)
    bar.set_label("Évolution de la part des exprimés (points) : rouge = progression, bleu = recul",
                  fontsize=FONT_PT)
    fig.suptitle(f"Évolution des principaux blocs par commune\n{el.get(previous, previous)} → "
                 f"{el.get(latest, latest)}", fontsize=FONT_PT + 2.5, fontweight="bold")
    fig.text(0.5, 0.02, "Source : ministère de l'Intérieur, résultats par commune ; contours des communes : IGN.\n"
             "Gris : commune sans résultat comparable. Échelle commune à tous les blocs.", ha="center",
             fontsize=FONT_PT - 1, color="#444444", linespacing=1.3)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.22, wspace=0.06, hspace=0.12)
    return ChangeMap(fig, latest, previous, blocs)


def shapes_for(tables: dict[str, pd.DataFrame]) -> dict:
    """Commune boundaries (Lambert-93) from the warehouse's dim_commune_geometry; empty if it has none."""
    try:
        return load_commune_shapes(tables)
    except LookupError as exc:  # boundaries are optional: the report goes without the change map
        log.warning("commune boundaries unavailable, change map left out: %s", exc)
        return {}
