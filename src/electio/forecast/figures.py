"""Scenario figures (PNG, French, for a non-technical reader): time curves, heatmaps, probabilities.

* ``forecast_curves_departement.png`` and ``forecast_curves_<code>_<name>.png`` — one panel
  per bloc (and turnout): the observed first rounds, then the expected score and its 80 %
  band for each projected year, one colour per hypothesis;
* ``forecast_heatmap_communes_<scenario>.png`` — expected score of every bloc in the largest
  communes (by registered voters), for one scenario;
* ``forecast_heatmap_horizons_<bloc>.png`` — one bloc, the same communes, every hypothesis
  and projected year;
* ``forecast_probability_first.png`` — probability that each bloc comes first in the
  département, per hypothesis and year (stacked bars);
* ``forecast_map_first_bloc_<scenario>.png`` — the most likely first bloc of every commune,
  shaded by its probability.

Built on :class:`matplotlib.figure.Figure` (no pyplot), with the EDA's map helpers and
French formatting (:mod:`electio.eda.figures`). Every figure says what is shown, in which
unit, and carries a source line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from shapely.geometry.base import BaseGeometry

from electio import forked
from electio.eda.answer import target_labels
from electio.perimeter import departement_file
from electio.eda.figures import (BOUNDARY_CREDIT, MAP_SIZE, _draw_map, _footer, _footer_height, _footer_lines,
                                 _fr_formatter, _new,
                                 _overlay_handles, _save, departement_label, fr_number,
                                 load_commune_shapes, load_lyon_arrondissements, map_context)
from electio.forecast.scenarios import TYPE_LABEL_FR, nominal_election_date
from electio.forecast.simulate import N_DEPARTEMENT, departement_history
from electio.model.panel import TURNOUT
from electio.settings import Settings

log = logging.getLogger("electio.forecast")

#: Default communes of the time curves: Lyon, Villeurbanne, Villefranche-sur-Saône (+ one rural commune).
RURAL_POPULATION = 2_000
TOP_COMMUNES = 25
#: One colour per hypothesis, the same in every figure (history is drawn in the bloc's colour).
SWING_COLORS = {"status_quo": "#7B3294", "trend": "#1B9E77", "custom": "#E7298A"}
SWING_TITLE_FR = {"status_quo": "Statu quo", "trend": "Tendance", "custom": "Hypothèse de l'analyste",
                  "national": "Intention de vote nationale"}
SWING_OFFSET_YEARS = {"status_quo": -0.12, "trend": 0.12, "custom": 0.0}
TYPE_MARKERS = {"presidentielle": "o", "legislatives": "s", "europeennes": "^"}
TYPE_PLURAL_FR = {"presidentielle": "présidentielles", "legislatives": "législatives", "europeennes": "européennes"}
TURNOUT_COLOR = "#2b8cbe"
PROBABILITY_CLASSES = ((0.0, 0.5, "< 50"), (0.5, 0.7, "50-70"), (0.7, 0.9, "70-90"), (0.9, 1.01, "≥ 90"))
CLASS_INTENSITY = (0.28, 0.5, 0.75, 1.0)
READING_FR = ("Lecture : le point est le score médian ; la barre verticale contient le résultat avec 8 "
              "chances sur 10 selon le modèle et l'hypothèse (intervalle à 80 %). Ce sont des scénarios conditionnels, pas des "
              "prédictions certaines.")


# --------------------------------------------------------------------------- data helpers

def slug(text: str) -> str:
    """ASCII file-name part: accents folded ('Villefranche-sur-Saône' -> 'villefranche_sur_saone')."""
    import re
    import unicodedata

    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")


def _years(dates) -> np.ndarray:
    d = pd.to_datetime(pd.Series(list(dates)))
    return (d.dt.year + (d.dt.day_of_year - 1) / 365.25).to_numpy(float)


def scenario_frame(tables: dict[str, pd.DataFrame], election_type: str) -> pd.DataFrame:
    """dim_scenario rows of one election type, with their nominal date (decimal year)."""
    dim = tables.get("dim_scenario")
    if dim is None or dim.empty:
        return pd.DataFrame()
    dim = dim[dim["election_type"] == election_type].copy()
    dim["date"] = [nominal_election_date(t, int(y)) for t, y in zip(dim["election_type"], dim["target_year"])]
    dim["x"] = _years(dim["date"]) if len(dim) else []
    order = {s: i for i, s in enumerate(SWING_COLORS)}
    return dim.sort_values(["swing", "horizon_years"], key=lambda s: s.map(order) if s.name == "swing" else s)


def commune_history(tables: dict[str, pd.DataFrame], code: str, blocs: list[str]) -> pd.DataFrame:
    """First rounds of one commune: bloc shares (NaN where the bloc had no candidate) and turnout."""
    el = tables["dim_election"]
    el = el[el["round_number"] == 1][["election_id", "election_type", "election_date"]]
    res = tables["fact_election_result"]
    res = res[(res["commune_code"] == code) & res["election_id"].isin(el["election_id"])]
    shares = res.pivot(index="election_id", columns="bloc_code", values="share_expressed").reindex(columns=blocs)
    absent = res.pivot(index="election_id", columns="bloc_code", values="n_labels").reindex(columns=blocs) == 0
    legislative = shares.index.map(dict(zip(el["election_id"], el["election_type"]))) == "legislatives"
    shares = shares.mask(absent & legislative[:, None])
    tu = tables["fact_turnout"]
    tu = tu[tu["commune_code"] == code].set_index("election_id")["turnout_pct"]
    out = el.set_index("election_id").join(shares, how="inner").join(tu.rename(TURNOUT), how="left")
    out["election_date"] = pd.to_datetime(out["election_date"])
    return out.sort_values("election_date")


def departement_history_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    h = departement_history(tables)
    out = h.elections.set_index("election_id").join(h.dept)
    out["election_date"] = pd.to_datetime(out["election_date"])
    return out


def largest_communes(tables: dict[str, pd.DataFrame], n: int = TOP_COMMUNES) -> pd.DataFrame:
    """The n communes with the most registered voters at the last first round."""
    el = tables["dim_election"]
    last = el[el["round_number"] == 1].sort_values("election_date")["election_id"]
    tu = tables["fact_turnout"]
    last = [e for e in last if e in set(tu["election_id"])][-1]
    reg = tu[tu["election_id"] == last].set_index("commune_code")["registered"]
    names = tables["dim_commune"].set_index("commune_code")["commune_name"]
    top = reg.sort_values(ascending=False).head(n)
    return pd.DataFrame({"commune_code": top.index, "registered": top.to_numpy(),
                         "name": names.reindex(top.index).to_numpy()})


def rural_commune(tables: dict[str, pd.DataFrame]) -> str | None:
    """A typical rural commune: outside the Métropole, under 2,000 inhabitants, the median one
    by population (ties: the lowest code)."""
    dim = tables["dim_commune"]
    cand = dim[(dim["territory"] != "metropole_lyon") & (dim["population"].astype(float) < RURAL_POPULATION)]
    if cand.empty:
        return None
    med = cand["population"].astype(float).median()
    cand = cand.assign(_d=(cand["population"].astype(float) - med).abs()).sort_values(["_d", "commune_code"])
    return str(cand["commune_code"].iloc[0])


def default_communes(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The perimeter files' default communes (data/perimeters/), else the 3 most populous, plus a rural one."""
    dim = tables["dim_commune"]
    known = set(dim["commune_code"])
    declared = [c for dep in sorted(set(dim["departement_code"])) for c in departement_file(dep).default_communes]
    out = [c for c in declared if c in known] or (
        dim.assign(_p=dim["population"].astype(float)).sort_values(["_p", "commune_code"], ascending=[False, True])
        ["commune_code"].head(3).tolist())
    rural = rural_commune(tables)
    if rural and rural not in out:
        out.append(rural)
    return out


def _source_line(tables: dict[str, pd.DataFrame], *, maps: bool = False) -> str:
    el = tables["dim_election"]
    first = el[el["round_number"] == 1]
    years = f"{int(first['election_year'].min())}-{int(first['election_year'].max())}" if len(first) else ""
    dim_model = tables.get("dim_model")
    model = ""
    if dim_model is not None and not dim_model.empty and (dim_model["is_chosen"] == 1).any():
        model = f", modèle {dim_model.loc[dim_model['is_chosen'] == 1, 'label_fr'].iloc[0]}"
    n = ""
    dim = tables.get("dim_scenario")
    if dim is not None and not dim.empty:
        m = re.search(r"(\d+) tirages", str(dim["description"].iloc[0]))
        n = (f", {fr_number(float(m.group(1)), 0)} tirages par scénario (valeurs du département : "
             f"{fr_number(N_DEPARTEMENT, 0)} tirages de l'hypothèse)") if m else ""
    text = (f"Sources : ministère de l'Intérieur, résultats des premiers tours {years} par commune ; "
            f"projections{model}{n} (méthode : rapport, section « Scénarios »)")
    if maps:
        text += f" ; {BOUNDARY_CREDIT}"
    return text + "."


def _labels(tables) -> dict[str, str]:
    return target_labels(tables.get("dim_bloc"))


def _colors(tables) -> dict[str, str]:
    dim = tables["dim_bloc"]
    out = dict(zip(dim["bloc_code"], dim["color_hex"]))
    out[TURNOUT] = TURNOUT_COLOR
    return out


def _blocs(tables) -> list[str]:
    return tables["dim_bloc"].sort_values("sort_order")["bloc_code"].tolist()


def _type_of(tables, scenario_ids) -> str:
    dim = tables["dim_scenario"]
    if scenario_ids:
        sub = dim[dim["scenario_id"].isin(scenario_ids)]
        if len(sub):
            return str(sub["election_type"].iloc[0])
    return "presidentielle" if (dim["election_type"] == "presidentielle").any() else str(dim["election_type"].iloc[0])


# --------------------------------------------------------------------------- time curves

#: Font sizes (points) of the time curves as drawn; printed on a landscape A4 page at about 0.82 of that.
CURVES_PT = {"title": 12.5, "panel": 11.0, "text": 9.0, "footer": 8.5}
#: The projected years get this many times more room on the time axis than the observed ones.
PROJECTION_STRETCH = 2.5


def _time_axis(last_observed: float):
    """Piecewise time axis: observed years as they are, projected years stretched (readability)."""
    split = last_observed + 0.5

    def to_plot(x):
        x = np.asarray(x, dtype=float)
        return np.where(x <= split, x, split + PROJECTION_STRETCH * (x - split))

    return to_plot, split


def curves_figure(tables: dict[str, pd.DataFrame], history: pd.DataFrame, forecasts: pd.DataFrame,
                  scenarios: pd.DataFrame, *, where: str, path: Path) -> Path:
    """One panel per bloc and one for turnout: observed first rounds, then each hypothesis's
    expected value and 80 % interval per projected year. ``forecasts``: scenario_id, target,
    predicted, interval_low, interval_high."""
    blocs = _blocs(tables)
    labels, colors = _labels(tables), _colors(tables)
    etype = str(scenarios["election_type"].iloc[0])
    years_f = sorted(set(int(y) for y in scenarios["target_year"]))
    source = (_source_line(tables) + "\n" + READING_FR + " Les années projetées sont dilatées sur l'axe du temps "
              "pour la lisibilité.")
    targets = blocs + [TURNOUT]
    # Two rows of panels (and the legend) on a landscape page: drawn near the printed size, so that
    # the text keeps its size on paper (CURVES_PT).
    ncols = int(np.ceil((len(targets) + 1) / 2))
    nrows = int(np.ceil((len(targets) + 1) / ncols))
    width, height = max(12.5, 3.1 * ncols), 3.0 * nrows + 1.0
    height += _footer_height(_footer_lines(width, source, CURVES_PT["footer"]), CURVES_PT["footer"])
    fig = _new(width, height, source, footer_pt=CURVES_PT["footer"])
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    hx = _years(history["election_date"])
    last_x = float(hx.max()) if len(hx) else float(scenarios["reference_year"].iloc[0])
    to_plot, split = _time_axis(last_x)
    same_type = history["election_type"].to_numpy() == etype
    swings = list(scenarios["swing"].drop_duplicates())
    offsets = {s: (i - (len(swings) - 1) / 2) * 0.16 for i, s in enumerate(swings)}
    hist_ticks = sorted({int(round(v)) for v in hx})
    for ax, target in zip(axes, targets):
        y = history[target].to_numpy(float) if target in history else np.full(len(history), np.nan)
        color = colors.get(target, "0.3")
        ok = np.isfinite(y)
        line = ok & same_type
        ax.plot(to_plot(hx[line]), y[line], color=color, alpha=0.8, linewidth=1.4, zorder=2)
        for etype_h, marker in TYPE_MARKERS.items():
            m = ok & (history["election_type"].to_numpy() == etype_h)
            ax.scatter(to_plot(hx[m]), y[m], marker=marker, s=30 if etype_h == etype else 22, color=color,
                       edgecolor="white", linewidth=0.6, zorder=3, alpha=1.0 if etype_h == etype else 0.45)
        top = np.nanmax(y) if ok.any() else 0.0
        for swing, sc in scenarios.groupby("swing", sort=False):
            sc = sc.sort_values("horizon_years")
            f = forecasts[(forecasts["target"] == target)].set_index("scenario_id").reindex(sc["scenario_id"])
            x = to_plot(sc["x"].to_numpy(float) + offsets[swing])
            mid, lo, hi = (f[c].to_numpy(float) for c in ("predicted", "interval_low", "interval_high"))
            c = SWING_COLORS.get(swing, "0.3")
            ax.errorbar(x, mid, yerr=[mid - lo, hi - mid], fmt="-o", color=c, markersize=4, linewidth=1.5,
                        elinewidth=2.0, capsize=2.5, alpha=0.95, zorder=4)
            top = max(top, np.nanmax(hi))
        right = float(to_plot(max(years_f) + 0.75))
        ax.axvspan(split, right, color="0.95", zorder=0, linewidth=0)
        ax.axvline(split, color="0.6", linewidth=0.8, linestyle=(0, (2, 2)), zorder=1)
        ax.set_xlim(float(hx.min()) - 0.7 if len(hx) else split - 10, right)
        ax.set_ylim(0, max(1.5, top * 1.08))
        ax.set_title(labels.get(target, target), fontsize=CURVES_PT["panel"], fontweight="bold", color="0.1")
        ax.set_ylabel("% des inscrits" if target == TURNOUT else "% des exprimés", fontsize=CURVES_PT["text"])
        ax.yaxis.set_major_formatter(_fr_formatter())
        ticks = hist_ticks + years_f
        ax.set_xticks(to_plot(ticks), [str(t) for t in ticks], fontsize=CURVES_PT["text"], rotation=90)
        ax.tick_params(axis="y", labelsize=CURVES_PT["text"])
        ax.grid(axis="y", color="0.9", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
    # Legend panel.
    leg_ax = axes[len(targets)]
    leg_ax.set_axis_off()
    handles = [Line2D([], [], marker=m, linestyle="-" if t == etype else "none", color="0.35", markersize=7,
                      label=f"Observé : {TYPE_PLURAL_FR[t]}" + (" (relié)" if t == etype else ""))
               for t, m in TYPE_MARKERS.items() if (history["election_type"] == t).any()]
    for swing in swings:
        handles.append(Line2D([], [], color=SWING_COLORS.get(swing, "0.3"), marker="o", markersize=5, linewidth=1.6,
                              label=f"Projection, {SWING_TITLE_FR.get(swing, swing).lower()} :\n"
                                    "score médian et intervalle à 80 %"))
    handles.append(Patch(facecolor="0.95", edgecolor="0.85", label="Années projetées"))
    leg_ax.legend(handles=handles, loc="center left", fontsize=CURVES_PT["text"], frameon=False, labelspacing=0.8,
                  borderaxespad=0.0)
    for ax in axes[len(targets) + 1:]:
        ax.set_axis_off()
    names = [SWING_TITLE_FR.get(s, s).lower() for s in swings]
    hyps = " et ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)  # a, b et c
    first_year = int(history["election_date"].dt.year.min()) if len(history) else ""
    when = (f"en {', '.join(map(str, years_f[:-1]))} ou {years_f[-1]}" if len(years_f) > 1 else f"en {years_f[0]}")
    fig.suptitle(f"{where} : scores aux premiers tours depuis {first_year}, puis projetés pour une "
                 f"{TYPE_LABEL_FR[etype].lower()} {when}\n(hypothèses : {hyps} ; blocs en % des suffrages "
                 "exprimés, participation en % des inscrits)", fontsize=CURVES_PT["title"], fontweight="bold")
    _footer(fig, source, CURVES_PT["footer"])
    return _save(fig, path)


def curve_figures(tables: dict[str, pd.DataFrame], out_dir: Path, election_type: str,
                  communes: list[str] | None = None) -> list[Path]:
    scenarios = scenario_frame(tables, election_type)
    if scenarios.empty:
        return []
    files = []
    dep = tables["fact_forecast_departement"]
    dep = dep[dep["scenario_id"].isin(scenarios["scenario_id"])]
    files.append(curves_figure(tables, departement_history_frame(tables), dep, scenarios,
                               where=departement_label(tables), path=Path(out_dir) / "forecast_curves_departement.png"))
    names = tables["dim_commune"].set_index("commune_code")["commune_name"]
    fc = tables["fact_forecast"]
    fc = fc[fc["scenario_id"].isin(scenarios["scenario_id"])]
    blocs = _blocs(tables)
    for code in communes if communes is not None else default_communes(tables):
        if code not in names.index:
            log.warning("commune %s is not in dim_commune: no time curve", code)
            continue
        sub = fc[fc["commune_code"] == code]
        if sub.empty:
            continue
        name = names[code]
        files.append(curves_figure(tables, commune_history(tables, code, blocs), sub, scenarios,
                                   where=f"{name} ({code})",
                                   path=Path(out_dir) / f"forecast_curves_{code}_{slug(name)}.png"))
    return files


# --------------------------------------------------------------------------- heatmaps

def tint(hex_color: str, intensity: float) -> tuple:
    """The bloc's hue at a given intensity (0: near white, 1: the colour itself). Lightness
    is raised in HLS space with the saturation kept, so that the light shades of a dark
    colour (navy) stay recognisably blue instead of turning grey."""
    import colorsys

    h, light, sat = colorsys.rgb_to_hls(*to_rgb(hex_color))
    target_light = 0.93
    new_light = target_light + intensity * (light - target_light)
    new_sat = sat if sat < 0.05 else max(sat, 0.45) + intensity * (sat - max(sat, 0.45))
    return colorsys.hls_to_rgb(h, new_light, new_sat)


def _bloc_cmap(hex_color: str) -> LinearSegmentedColormap:
    return LinearSegmentedColormap.from_list(hex_color, [tint(hex_color, i) for i in np.linspace(0.08, 1.0, 8)])


def _text_color(rgb) -> str:
    r, g, b = rgb[:3]
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.55 else "black"


#: A4 boxes (inches) a figure fills once printed: text width of a portrait page, or a landscape page
#: for figures wider than 12 inches (the report's print layout).
A4_PORTRAIT_IN, A4_LANDSCAPE_IN, WIDE_IN = (7.17, 9.25), (10.75, 6.5), 12.0
#: Smallest text on paper (points) the heatmaps are drawn for.
PRINTED_PT = 7.0


def _drawn_pt(width: float, height: float, printed: float = PRINTED_PT) -> float:
    """Font size to draw so that text prints at ``printed`` points once the figure is fitted to its A4 box."""
    box = A4_LANDSCAPE_IN if width > WIDE_IN else A4_PORTRAIT_IN
    return printed / min(1.0, box[0] / width, box[1] / height)


def _cell_text(ax, x, y, value, low, high, color, *, big=9.5, small=6.8):
    ax.text(x, y - 0.12, fr_number(value, 1), ha="center", va="center", fontsize=big, color=color,
            fontweight="bold")
    ax.text(x, y + 0.25, f"{fr_number(low, 0)} – {fr_number(high, 0)}", ha="center", va="center", fontsize=small,
            color=color)


def commune_bloc_heatmap(tables: dict[str, pd.DataFrame], scenario_id: str, out_dir: Path,
                         n: int = TOP_COMMUNES) -> Path | None:
    """Expected share of every bloc (columns) in the n largest communes (rows), one scenario."""
    fc = tables["fact_forecast"]
    fc = fc[fc["scenario_id"] == scenario_id]
    if fc.empty:
        return None
    scen = tables["dim_scenario"].set_index("scenario_id").loc[scenario_id]
    blocs, labels, colors = _blocs(tables), _labels(tables), _colors(tables)
    top = largest_communes(tables, n)
    top = top[top["commune_code"].isin(fc["commune_code"])]
    piv = {c: fc[fc["target"] != TURNOUT].pivot(index="commune_code", columns="target", values=c)
           .reindex(index=top["commune_code"], columns=blocs) for c in ("predicted", "interval_low",
                                                                       "interval_high", "probability_first")}
    values = piv["predicted"].to_numpy(float)
    rgb = np.ones(values.shape + (3,))
    norm = Normalize(0.0, max(10.0, float(np.nanmax(values))))  # one scale for every bloc: sizes compare
    for j, b in enumerate(blocs):
        rgb[:, j, :] = _bloc_cmap(colors[b])(norm(values[:, j]))[:, :3]
    source = (_source_line(tables) + " Plus la couleur est foncée, plus le score est élevé (même échelle pour "
              "tous les blocs). Sous le score médian : l'intervalle à 80 %. Case encadrée et dernière colonne : "
              "bloc le plus souvent en tête dans les simulations, avec cette probabilité.")
    nrows, ncols = values.shape
    # Printed on an A4 portrait page: rows of two lines (score, interval) at about 7 points on paper.
    width, height = 10.0, 2.6 + 0.36 * nrows
    pt = _drawn_pt(width, height)
    fig = _new(width, height, source, footer_pt=pt)
    ax = fig.subplots()
    ax.imshow(rgb, aspect="auto", extent=(-0.5, ncols - 0.5, nrows - 0.5, -0.5))
    for i in range(nrows):
        for j in range(ncols):
            _cell_text(ax, j, i, values[i, j], piv["interval_low"].iat[i, j], piv["interval_high"].iat[i, j],
                       _text_color(rgb[i, j]), big=pt * 1.15, small=pt)
        probs = piv["probability_first"].iloc[i]
        lead = probs.idxmax()
        for lw, col in ((3.0, "black"), (1.0, "white")):
            ax.add_patch(Rectangle((blocs.index(lead) - 0.44, i - 0.42), 0.88, 0.84, fill=False, edgecolor=col,
                                   linewidth=lw, zorder=5))
        ax.text(ncols - 0.35, i, f"{labels[lead]}\n({fr_number(100 * probs.max(), 0)} %)", ha="left", va="center",
                fontsize=pt, color="0.15", linespacing=1.0)
    ax.set_xticks(list(range(ncols)) + [ncols + 0.55], [labels[b].replace(" ", "\n", 1) for b in blocs]
                  + ["En tête le plus\nprobable"], fontsize=pt)
    ax.xaxis.tick_top()
    ax.set_yticks(range(nrows), [f"{name} ({fr_number(reg, 0)} inscrits)" for name, reg in
                                 zip(top["name"], top["registered"])], fontsize=pt)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(-0.5, ncols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, nrows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlim(-0.5, ncols + 1.6)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.suptitle(f"{scen['label_fr']}\nscore médian de chaque bloc (% des suffrages exprimés) dans les {nrows} "
                 f"communes\nqui comptent le plus d'inscrits ({departement_label(tables)})", fontsize=pt * 1.45,
                 fontweight="bold")
    _footer(fig, source, pt)
    return _save(fig, Path(out_dir) / f"forecast_heatmap_communes_{scenario_id}.png")


def commune_horizon_heatmap(tables: dict[str, pd.DataFrame], bloc: str, election_type: str, out_dir: Path,
                            n: int = TOP_COMMUNES) -> Path | None:
    """Expected share of one bloc in the n largest communes, per hypothesis and projected year."""
    scenarios = scenario_frame(tables, election_type)
    if scenarios.empty:
        return None
    fc = tables["fact_forecast"]
    fc = fc[fc["scenario_id"].isin(scenarios["scenario_id"]) & (fc["target"] == bloc)]
    if fc.empty:
        return None
    labels, colors = _labels(tables), _colors(tables)
    top = largest_communes(tables, n)
    top = top[top["commune_code"].isin(fc["commune_code"])]
    cols = list(scenarios["scenario_id"])
    piv = {c: fc.pivot(index="commune_code", columns="scenario_id", values=c).reindex(index=top["commune_code"],
                                                                                      columns=cols)
           for c in ("predicted", "interval_low", "interval_high")}
    values = piv["predicted"].to_numpy(float)
    cmap = _bloc_cmap(colors.get(bloc, "#444444"))
    norm = Normalize(0.0, max(5.0, float(np.nanmax(values))))
    rgb = cmap(norm(values))[:, :, :3]
    source = (_source_line(tables) + " Sous le score médian : l'intervalle à 80 %. L'incertitude du statu quo "
              "est celle des erreurs passées de la même règle à la même avance depuis le dernier scrutin.")
    nrows, ncols = values.shape
    # Printed on an A4 portrait page (landscape beyond 12 inches), text at about 7 points on paper.
    width, height = max(8.0, 3.6 + 0.95 * ncols), 2.8 + 0.36 * nrows
    pt = _drawn_pt(width, height)
    fig = _new(width, height, source, footer_pt=pt)
    ax = fig.subplots()
    image = ax.imshow(rgb, aspect="auto", extent=(-0.5, ncols - 0.5, nrows - 0.5, -0.5))
    for i in range(nrows):
        for j in range(ncols):
            _cell_text(ax, j, i, values[i, j], piv["interval_low"].iat[i, j], piv["interval_high"].iat[i, j],
                       _text_color(rgb[i, j]), big=pt * 1.15, small=pt)
    xl = [f"{SWING_TITLE_FR.get(s, s)}\n{y}".replace("Hypothèse de l'analyste", "Hypothèse\nde l'analyste")
          for s, y in zip(scenarios["swing"], scenarios["target_year"])]
    ax.set_xticks(range(ncols), xl, fontsize=pt)
    ax.xaxis.tick_top()
    ax.set_yticks(range(nrows), [f"{name}" for name in top["name"]], fontsize=pt)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(-0.5, ncols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, nrows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    swings = list(scenarios["swing"])
    for j in range(1, ncols):
        if swings[j] != swings[j - 1]:
            ax.axvline(j - 0.5, color="black", linewidth=2.0)
    for side in ax.spines.values():
        side.set_visible(False)
    from matplotlib.cm import ScalarMappable

    cbar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, fraction=0.04, pad=0.02, shrink=0.6)
    cbar.set_label("Score médian (% des suffrages exprimés)", fontsize=pt)
    cbar.ax.yaxis.set_major_formatter(_fr_formatter())
    cbar.ax.tick_params(labelsize=pt)
    del image
    rnd = " (1er tour)" if election_type == "presidentielle" else ""
    fig.suptitle(f"{TYPE_LABEL_FR[election_type]}{rnd} : score médian du bloc « {labels.get(bloc, bloc)} »\nselon "
                 f"l'hypothèse et l'année, dans les {nrows} communes\nqui comptent le plus d'inscrits "
                 f"({departement_label(tables)})", fontsize=pt * 1.45, fontweight="bold")
    _footer(fig, source, pt)
    return _save(fig, Path(out_dir) / f"forecast_heatmap_horizons_{bloc}.png")


# --------------------------------------------------------------------------- probabilities

#: Font sizes (points) of the probability bars as drawn.
PROBA_PT = {"title": 12.0, "text": 9.5, "footer": 8.5}


def probability_bars(tables: dict[str, pd.DataFrame], election_type: str, out_dir: Path) -> Path | None:
    """Probability that each bloc comes first in the département: one stacked bar per scenario."""
    scenarios = scenario_frame(tables, election_type)
    if scenarios.empty:
        return None
    dep = tables["fact_forecast_departement"]
    dep = dep[dep["scenario_id"].isin(scenarios["scenario_id"]) & (dep["target"] != TURNOUT)]
    blocs, labels, colors = _blocs(tables), _labels(tables), _colors(tables)
    prob = dep.pivot(index="scenario_id", columns="target", values="probability_first").reindex(
        index=scenarios["scenario_id"], columns=blocs).fillna(0.0)
    shown = [b for b in blocs if prob[b].max() >= 0.005]
    hidden = [labels[b] for b in blocs if b not in shown]
    source = _source_line(tables) + (" Probabilité = part des tirages de l'hypothèse où le bloc obtient le plus de "
                                     "voix dans le département.")
    if hidden:
        source += f" Blocs jamais en tête (moins de 0,5 % des tirages) : {', '.join(hidden)}."
    rows = [f"{SWING_TITLE_FR.get(s, s)} – {y}" for s, y in zip(scenarios["swing"], scenarios["target_year"])]
    n = len(rows)
    # Small segments, unreadable inside the bar, are spelled out right of it, one line per bloc
    # ("dont" on the first): each bar gets the height of its longest list.
    small = [[f"{labels[b]} {fr_number(100 * prob[b].iloc[k], 0)} %" for b in shown
              if 0.005 <= prob[b].iloc[k] < 0.045] for k in range(n)]
    line_in = PROBA_PT["text"] * 1.25 / 72  # one line of that text, in inches
    per_bar = max(0.5, line_in * max(map(len, small), default=0) + 0.1)
    # Printed across an A4 portrait page (7.2 in) at about 0.8 of its drawn size.
    fig = _new(9.0, 2.4 + per_bar * n, source, footer_pt=PROBA_PT["footer"])
    ax = fig.subplots()
    ypos = np.arange(n)[::-1].astype(float)
    swings = list(scenarios["swing"])
    for k in range(1, n):  # a gap between hypotheses
        if swings[k] != swings[k - 1]:
            ypos[k:] -= 0.5
    left = np.zeros(n)
    for b in shown:
        p = 100 * prob[b].to_numpy(float)
        ax.barh(ypos, p, left=left, color=colors[b], edgecolor="white", height=0.72, label=labels[b])
        for y, l, v in zip(ypos, left, p):
            if v >= 4.5:
                ax.text(l + v / 2, y, f"{fr_number(v, 0)} %", ha="center", va="center", fontsize=PROBA_PT["text"],
                        color=_text_color(to_rgb(colors[b])), fontweight="bold")
        left += p
    for y, names in zip(ypos, small):
        if names:
            ax.text(101, y, "dont " + "\n".join(names), ha="left", va="center", fontsize=PROBA_PT["text"],
                    color="0.25", clip_on=False)
    ax.set_yticks(ypos, rows, fontsize=PROBA_PT["text"])
    ax.set_xlim(0, 100)
    ax.set_xlabel("Probabilité d'arriver en tête dans le département (%)", fontsize=PROBA_PT["text"])
    ax.tick_params(axis="x", labelsize=PROBA_PT["text"])
    ax.xaxis.set_major_formatter(_fr_formatter(0))
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    # Legend above the bars, under the title: below them it ran into the axis label when there are few bars.
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=min(len(shown), 4), fontsize=PROBA_PT["text"],
              frameon=False, borderaxespad=0.3)
    fig.suptitle(f"{departement_label(tables)} : probabilité que chaque bloc arrive en tête\nau premier tour d'une "
                 f"{TYPE_LABEL_FR[election_type].lower()}, selon l'hypothèse et l'année", fontsize=PROBA_PT["title"],
                 fontweight="bold")
    _footer(fig, source, PROBA_PT["footer"])
    return _save(fig, Path(out_dir) / "forecast_probability_first.png")


#: Smallest font (points) of the first-bloc map as drawn.
MAP_PT = 8.7


def first_bloc_map(tables: dict[str, pd.DataFrame], scenario_id: str, ctx, out_dir: Path) -> Path | None:
    """Most likely first bloc of every commune, shaded by its probability (4 classes)."""
    fc = tables["fact_forecast"]
    fc = fc[(fc["scenario_id"] == scenario_id) & (fc["target"] != TURNOUT)]
    if fc.empty:
        return None
    scen = tables["dim_scenario"].set_index("scenario_id").loc[scenario_id]
    blocs, labels, colors = _blocs(tables), _labels(tables), _colors(tables)
    order = {b: i for i, b in enumerate(blocs)}
    ranked = fc.assign(_o=fc["target"].map(order)).sort_values(["commune_code", "probability_first", "_o"],
                                                               ascending=[True, False, True])
    lead = ranked.drop_duplicates("commune_code").set_index("commune_code")
    cls = np.digitize(lead["probability_first"].to_numpy(float), [c[1] for c in PROBABILITY_CLASSES[:-1]])
    fill = {c: tint(colors[b], CLASS_INTENSITY[k]) for c, b, k in zip(lead.index, lead["target"], cls)}
    source = _source_line(tables, maps=True) + (" Probabilité = part des simulations où le bloc arrive en tête "
                                                "dans la commune. Chaque commune compte pour une surface, pas pour "
                                                "son nombre d'électeurs : Lyon et sa banlieue pèsent bien plus dans "
                                                "le total départemental que les nombreuses communes rurales.")
    # Printed on a landscape A4 page at about 0.75 of its drawn size.
    fig = _new(MAP_SIZE[0] + 1.6, MAP_SIZE[1], source, footer_pt=MAP_PT)
    ax = fig.subplots()
    _draw_map(ax, ctx, fill, label_pt=MAP_PT)
    present = [b for b in blocs if (lead["target"] == b).any()]
    counts = lead["target"].value_counts()
    table = pd.crosstab(lead["target"], cls).reindex(index=present, columns=range(len(PROBABILITY_CLASSES)),
                        fill_value=0)
    # Legend: a small grid, one row per leading bloc, one column per probability class, the
    # number of communes in each cell.
    n_rows = len(present)
    leg = ax.inset_axes([1.03, 0.97 - 0.075 * (n_rows + 2.4), 0.5, 0.075 * (n_rows + 2.4)])
    leg.set_xlim(-3.2, len(PROBABILITY_CLASSES))
    leg.set_ylim(n_rows + 1.6, -0.9)
    leg.set_axis_off()
    leg.text(-3.2, -0.75, "Bloc le plus probablement en tête,\net probabilité de l'être (%) :", fontsize=9,
             fontweight="bold", va="bottom")
    for k, (_, _, label) in enumerate(PROBABILITY_CLASSES):
        leg.text(k + 0.5, 0.35, label, ha="center", va="bottom", fontsize=MAP_PT)
    for i, b in enumerate(present):
        y = i + 0.5
        leg.text(-0.15, y + 0.5, f"{labels[b]} ({counts[b]})", ha="right", va="center", fontsize=MAP_PT + 0.5)
        for k in range(len(PROBABILITY_CLASSES)):
            color = tint(colors[b], CLASS_INTENSITY[k])
            leg.add_patch(Rectangle((k + 0.05, y + 0.05), 0.9, 0.9, facecolor=color, edgecolor="0.6", linewidth=0.5))
            n = int(table.loc[b, k])
            if n:
                leg.text(k + 0.5, y + 0.5, str(n), ha="center", va="center", fontsize=MAP_PT,
                         color=_text_color(color))
    leg.text(-3.2, n_rows + 1.3, "Nombre de communes entre parenthèses\net dans les cases. Plus la teinte est "
             "foncée,\nplus le bloc est sûr d'être en tête.", fontsize=MAP_PT, color="0.3", va="center")
    handles = _overlay_handles(ctx, missing=bool(set(ctx.shapes) - set(lead.index)))
    if handles:
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(1.03, 0.0), fontsize=MAP_PT, frameon=False,
                  borderaxespad=0.0)
    ax.set_title(f"{scen['label_fr']}\nbloc le plus probablement en tête dans chaque commune, et sa probabilité",
                 fontsize=12)
    _footer(fig, source, MAP_PT)
    return _save(fig, Path(out_dir) / f"forecast_map_first_bloc_{scenario_id}.png")


# --------------------------------------------------------------------------- entry point

MANIFEST = ".forecast-figures.txt"


def write_forecast_figures(tables: dict[str, pd.DataFrame], settings: Settings, *, communes: list[str] | None = None,
                           heatmap_bloc: str | None = None, scenario_ids: list[str] | None = None,
                           map_horizons: tuple[int, ...] | None = None, shapes: Mapping[str, BaseGeometry] | None = None,
                           arrondissements: Mapping[str, BaseGeometry] | None = None,
                           out_dir: Path | None = None) -> list[Path]:
    """Every scenario figure of one election type (the type of ``scenario_ids``, else
    presidential) into ``out_dir`` (default ``<reports>/figures``). Maps need the commune
    boundaries (resolved with ``settings``); without them they are skipped with a warning."""
    dim = tables.get("dim_scenario")
    if dim is None or dim.empty:
        return []
    out_dir = Path(out_dir) if out_dir is not None else Path(settings.reports_dir) / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(out_dir)
    etype = _type_of(tables, scenario_ids)
    scenarios = scenario_frame(tables, etype)
    files: list[Path] = []
    if shapes is None:
        try:
            shapes = load_commune_shapes(tables)
            arrondissements = load_lyon_arrondissements(tables) if arrondissements is None else arrondissements
        except Exception as exc:  # maps are optional: the other figures stand without them
            log.warning("commune boundaries unavailable, forecast maps skipped: %s", exc)
            shapes = None
    with forked.forked():  # each figure drawn in a child process while the next is built
        files += curve_figures(tables, out_dir, etype, communes)
        first_h = scenarios[scenarios["horizon_years"] == scenarios["horizon_years"].min()]
        main = first_h[first_h["swing"] == "trend"]["scenario_id"].tolist() or first_h["scenario_id"].tolist()
        if main:
            files.append(commune_bloc_heatmap(tables, main[0], out_dir))
        bloc = heatmap_bloc
        if bloc is None and main:
            dep = tables["fact_forecast_departement"]
            dep = dep[(dep["scenario_id"] == main[0]) & (dep["target"] != TURNOUT)]
            bloc = str(dep.sort_values("probability_first", ascending=False)["target"].iloc[0]) if len(dep) else None
        if bloc and len(scenarios) > 1:  # with a single scenario it would repeat a column of the heatmap above
            files.append(commune_horizon_heatmap(tables, bloc, etype, out_dir))
        files.append(probability_bars(tables, etype, out_dir))
        if shapes:
            ctx = map_context(tables, shapes, arrondissements)
            # default: the nearest election's scenarios (every hypothesis)
            horizons = map_horizons if map_horizons is not None else (int(scenarios["horizon_years"].min()),)
            for sid in scenarios[scenarios["horizon_years"].isin(horizons)]["scenario_id"]:
                files.append(first_bloc_map(tables, sid, ctx, out_dir))
    files = [f for f in files if f is not None]
    _write_manifest(out_dir, files, previous)
    log.info("%d forecast figures written to %s", len(files), out_dir)
    return files


def _read_manifest(out_dir: Path) -> set[str]:
    path = out_dir / MANIFEST
    return set(path.read_text(encoding="utf-8").split()) if path.exists() else set()


def _write_manifest(out_dir: Path, files: list[Path], previous: set[str]) -> None:
    """Remove this step's own stale figures (e.g. a commune no longer selected), nothing else."""
    names = {Path(f).name for f in files}
    for stale in sorted(previous - names):
        if "/" not in stale and stale.startswith("forecast_") and stale.endswith(".png"):
            (out_dir / stale).unlink(missing_ok=True)
    (out_dir / MANIFEST).write_text("\n".join(sorted(names)) + "\n", encoding="utf-8")
