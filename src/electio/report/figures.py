"""Figures produced by the pipeline (``reports/figures/*.png``): caption, place, embedding.

The report shows whatever PNG files the stages wrote (EDA, backtest, scenarios). Each
file is recognised by its name; the caption is built from the warehouse labels (an
election's ``label_fr``, an indicator's ``label_fr``...), so it is traced like any other
printed text. A file with an unknown name still appears, in the section of its
family, with its file name as caption. Empty, unreadable or blank images are left out
with a warning: the report never shows an empty frame.
"""

from __future__ import annotations

import base64
import io
import logging
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from electio import forked
from electio.cache import file_digest, memo_value, memo_value_known
from electio.report.diagram import smallest_printed_font

log = logging.getLogger("electio.report")

#: Report sections a figure can be placed in.
SECTIONS = ("indicateurs", "modeles", "scenarios", "cartes", "histogrammes", "autres")
GROUP_FR = {
    "cartes": "Cartes",
    "histogrammes": "Histogrammes",
    "indicateurs": "Cartes de chaleur et nuages de points des corrélations",
    "modeles": "Précision des modèles (tests rétrospectifs)",
    "scenarios": "Courbes de scénarios, cartes de chaleur et diagrammes de probabilité",
    "autres": "Autres figures",
}


#: French name of the indicator families (as dim_indicator.family spells them).
FAMILY_FR = {"securite": "sécurité", "emploi": "emploi et chômage", "population": "population", "recensement":
             "recensement", "revenus": "revenus et pauvreté", "entreprises": "entreprises", "associations":
             "associations", "logement": "logement", "education": "éducation", "age": "structure par âge",
             "immigration": "immigration"}
#: Widest embedded image, in pixels.
EMBED_MAX_PX = 1100
#: Embedded width by print place: about 140 dpi across the 18 cm of A4 text (full), 105 dpi across a
#: landscape page (wide: their text is drawn larger), 170 dpi in a half column. Keeps the HTML under 5 MB.
#: A palette version of a figure is used only if at most MAX_MOVED_SHARE of its pixels move by more
#: than MAX_PIXEL_ERROR (out of 255, on any channel); otherwise the figure stays in full colour.
MAX_PIXEL_ERROR, MAX_MOVED_SHARE = 24, 0.0005
EMBED_PX = {"full": 1000, "wide": EMBED_MAX_PX, "half": 600}


@dataclass
class Caption:
    """A caption in parts: plain words and traced values (table, key) resolved by the builder."""

    parts: list = field(default_factory=list)  # str | ("election"|"indicator"|"bloc"|"family"|"file", key)

    def add(self, *parts) -> "Caption":
        self.parts.extend(parts)
        return self


@dataclass
class FigureFile:
    path: Path
    section: str
    caption: Caption
    order: tuple = ()
    size: str = "full"  # full, half (two side by side) or wide (own landscape page when printed)

    @property
    def name(self) -> str:
        return self.path.name


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def describe(path: Path, elections: dict[str, int], indicators: set[str], targets: set[str],
             scenarios: set[str] = frozenset()) -> FigureFile:
    """Section, caption and size of one figure file, from its name.

    ``elections`` maps election ids to their chronological rank (figures of one kind
    are shown in election order).
    """
    stem = path.stem
    by_slug = {_slug(code): code for code in indicators}
    m = re.fullmatch(r"map_(.+)_(bloc_shares|turnout|leading_bloc)", stem)
    if m and m.group(1) in elections:
        what = {"bloc_shares": "Part de chaque bloc dans les suffrages exprimés, par commune — ",
                "turnout": "Participation par commune — ",
                "leading_bloc": "Bloc arrivé en tête dans chaque commune — "}[m.group(2)]
        kind = ["bloc_shares", "leading_bloc", "turnout"].index(m.group(2))
        return FigureFile(path, "cartes", Caption([what, ("election", m.group(1))]),
                          (0, f"{elections[m.group(1)]:03d}", kind), "full" if kind == 0 else "half")
    m = re.fullmatch(r"map_indicator_(.+)", stem)
    if m:
        code = by_slug.get(m.group(1))
        if code:
            return FigureFile(path, "cartes", Caption(["Carte de l'indicateur « ", ("indicator", code), " »"]),
                              (1, code), "half")
        if m.group(1) == "density":
            return FigureFile(path, "cartes", Caption(["Densité de population par commune (habitants par km²)"]),
                              (1, "~density"), "half")
    m = re.fullmatch(r"hist_indicators_(.+)", stem)
    if m:
        return FigureFile(path, "histogrammes",
                          Caption(["Distribution entre communes des indicateurs de la famille « ",
                                   FAMILY_FR.get(m.group(1), m.group(1).replace("_", " ")), " »"]), (0, m.group(1)))
    m = re.fullmatch(r"hist_results_(.+)", stem)
    if m and m.group(1) in elections:
        return FigureFile(path, "histogrammes", Caption(["Distribution entre communes des parts des blocs et de la "
                                                         "participation — ", ("election", m.group(1))]),
                          (1, f"{elections[m.group(1)]:03d}"))
    if stem == "heatmap_correlation_mean":
        return FigureFile(path, "indicateurs", Caption(["Carte de chaleur : corrélation moyenne (premiers tours) "
                                                        "entre indicateurs et résultats"]), (0,))
    if stem == "heatmap_correlation_partial":
        return FigureFile(path, "indicateurs", Caption(["Carte de chaleur : corrélation moyenne (premiers tours) à "
                                                        "taille de commune contrôlée"]), (0, "~partial"))
    m = re.fullmatch(r"heatmap_correlation_(.+)", stem)
    if m and m.group(1) in elections:
        return FigureFile(path, "indicateurs", Caption(["Carte de chaleur des corrélations indicateurs × résultats — ",
                                                        ("election", m.group(1))]),
                          (1, f"{elections[m.group(1)]:03d}"))
    m = re.fullmatch(r"scatter_(\d+)_(.+)_([a-z_]+)", stem)
    if m:
        for target in sorted(targets, key=len, reverse=True):
            if stem.endswith("_" + target):
                code = by_slug.get(stem[len(f"scatter_{m.group(1)}_"):-len(target) - 1])
                if code:
                    return FigureFile(path, "indicateurs", Caption(["Nuage de points entre communes : « ",
                                                                    ("indicator", code), " » et « ",
                                                                    ("target", target), " »"]),
                                      (2, f"{int(m.group(1)):03d}"), "half")
    if stem == "backtest_mae":
        return FigureFile(path, "modeles", Caption(["Précision des modèles et des références : écart moyen entre "
                                                    "parts prévues et observées, par élection test"]), (0, stem))
    if stem.startswith(("backtest", "model", "metric", "calibration", "coverage")):
        return FigureFile(path, "modeles", Caption(["Précision des modèles et des références"]), (1, stem))
    m = re.fullmatch(r"forecast_curves_(\d[0-9ab]\d{3})_.*", stem, re.I)
    if m:
        return FigureFile(path, "scenarios", Caption(["Parts des blocs : historique et prévisions des scénarios — ",
                                                      ("commune", m.group(1).upper())]), (1, m.group(1)))
    if stem == "forecast_curves_departement":
        return FigureFile(path, "scenarios", Caption(["Parts des blocs : historique et prévisions des scénarios — "
                                                      "ensemble du département"]), (0, stem))
    m = re.fullmatch(r"forecast_heatmap_communes_(.+)", stem)
    if m and m.group(1) in scenarios:
        return FigureFile(path, "scenarios", Caption(["Parts attendues des blocs dans les communes qui comptent le plus "
                                                      "d'inscrits — ", ("scenario", m.group(1))]), (2, stem))
    m = re.fullmatch(r"forecast_heatmap_horizons_(.+)", stem)
    if m and m.group(1) in targets:
        return FigureFile(path, "scenarios", Caption(["Part attendue du bloc « ", ("target", m.group(1)),
                                                      " » selon l'hypothèse et l'année, par commune"]), (3, stem))
    m = re.fullmatch(r"forecast_map_first_bloc_(.+)", stem)
    if m and m.group(1) in scenarios:
        return FigureFile(path, "scenarios", Caption(["Bloc le plus probablement en tête dans chaque commune — ",
                                                      ("scenario", m.group(1))]), (4, stem), "wide")
    if stem == "forecast_probability_first":
        return FigureFile(path, "scenarios", Caption(["Probabilité de chaque bloc d'arriver en tête dans le "
                                                      "département, par scénario"]), (5, stem))
    if stem.startswith(("scenario", "forecast", "proba", "prevision", "timeline", "heatmap_forecast")):
        return FigureFile(path, "scenarios", Caption(["Scénarios de prévision"]), (9, stem))
    if stem.startswith("map_"):
        return FigureFile(path, "cartes", Caption(["Carte complémentaire"]), (9, stem))
    if stem.startswith("hist"):
        return FigureFile(path, "histogrammes", Caption(["Histogramme complémentaire"]), (9, stem))
    if stem.startswith(("heatmap", "scatter")):
        return FigureFile(path, "indicateurs", Caption(["Figure complémentaire des corrélations"]), (9, stem))
    return FigureFile(path, "autres", Caption(["Figure complémentaire"]), (9, stem))


#: Figures drawn wider than this (inches) print on a landscape A4 page.
WIDE_INCHES = 12.0
#: Box (inches, width x height) an image fills in the printed report, by its place (rapport.css:
#: A4 portrait text width 182 mm and images up to 235 mm high; half: 48.5 % of that width, up to
#: 120 mm high; wide: a landscape page, 273 mm x 165 mm).
PRINT_BOX_IN = {"full": (7.17, 9.25), "half": (3.48, 4.72), "wide": (10.75, 6.5)}
#: Smallest text (points) a printed figure may carry: an A4 page is read at arm's length.
MIN_PRINTED_PT = 6.5


def print_place(size: str, width_in: float) -> str:
    """Where a figure of this size class and width prints: full, half or wide (landscape page)."""
    return "wide" if size == "full" and width_in > WIDE_INCHES else size


def printed_font_pt(fig, size: str = "full") -> float:
    """Smallest font (points) of a matplotlib figure once printed in the report at its place."""
    return smallest_printed_font(fig, *PRINT_BOX_IN[print_place(size, fig.get_figwidth())])


def width_inches(path: Path) -> float:
    """Width of a PNG as drawn (pixels / dpi; 100 dpi when the file does not say)."""
    from PIL import Image

    with Image.open(path) as img:
        return img.width / float((img.info.get("dpi") or (100,))[0] or 100)


def is_usable_png(path: Path) -> bool:
    """A readable PNG with some content (not a single colour)."""
    try:
        if path.stat().st_size == 0:
            return False
    except OSError as exc:
        log.warning("figure %s is not readable: %s", path, exc)
        return False
    return memo_value("usable_png", file_digest(path), lambda: _has_content(path))


def _has_content(path: Path) -> bool:
    try:
        from PIL import Image

        with Image.open(path) as img:
            img.load()
            small = np.asarray(img.convert("L").resize((64, 64)))
        return bool(small.max() != small.min())
    except Exception as exc:  # unreadable image: leave it out, say why
        log.warning("figure %s is not a readable PNG: %s", path, exc)
        return False


def collect(figures_dir: Path, elections: dict[str, int], indicators: set[str], targets: set[str],
            scenarios: set[str] = frozenset()) -> list[FigureFile]:
    """Usable figures of the folder, described and ordered within their section."""
    if not figures_dir.is_dir():
        return []
    found = []
    for path in sorted(figures_dir.glob("*.png")):
        if not is_usable_png(path):
            log.warning("figure %s is empty or blank: left out of the report", path.name)
            continue
        figure = describe(path, elections, indicators, targets, scenarios)
        # a wide figure prints on a landscape page: its text would be too small across A4 portrait
        figure.size = print_place(figure.size, width_inches(path))
        found.append(figure)
    return sorted(found, key=lambda f: (SECTIONS.index(f.section), tuple(map(str, f.order)), f.name))


def embedded_pngs(items: list[tuple[Path, int]]) -> list[bytes]:
    """PNG bytes of each ``(path, max_px)`` for the report: no wider than ``max_px`` (what A4 print
    shows), then reduced to a 128- or 256-colour palette when that keeps the picture (charts and maps
    use few colours; photos would not). Reused for an unchanged file in a cached refresh (a new
    scenario redraws a few figures, not all); the others are computed in forked child processes,
    several at once (decoding, resizing and the palette search are CPU work under the GIL,
    independent from one figure to the next)."""
    keys = [(file_digest(path), max_px) for path, max_px in items]
    with forked.forked():
        pending = {i: forked.run(_embedded_png, path, max_px, label=f"report version of figure {path.name}")
                   for i, ((path, max_px), key) in enumerate(zip(items, keys))
                   if not memo_value_known("embedded_png", key)}
    return [memo_value("embedded_png", key, pending[i].result if i in pending else partial(_embedded_png, *item))
            for i, (item, key) in enumerate(zip(items, keys))]


def _embedded_png(path: Path, max_px: int) -> bytes:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.width > max_px:
            img = img.resize((max_px, round(img.height * max_px / img.width)), Image.LANCZOS)
        chosen, pixels = img, np.asarray(img, dtype=np.int16)
        # 256 colours by octree refined by one k-means round (~10 ms; enough for 30 of the Rhône's 41
        # figures), else by median cut refined by two rounds (~0.5 s); mean error per channel out of 255
        for method, kmeans in ((Image.Quantize.FASTOCTREE, 1), (Image.Quantize.MEDIANCUT, 2)):
            quant = img.quantize(colors=256, method=method, dither=Image.Dither.NONE, kmeans=kmeans)
            error = np.abs(np.asarray(quant.convert("RGB"), dtype=np.int16) - pixels)
            # The mean alone let a thin line change colour (the left's red curve drawn magenta: 0.5 % of
            # the pixels off by up to 113, mean 0.5): no more than 0.05 % of pixels may move by > 24.
            if error.mean() < 2.0 and (error.max(axis=2) > MAX_PIXEL_ERROR).mean() < MAX_MOVED_SHARE:
                chosen = quant
                break
        out = io.BytesIO()
        chosen.save(out, format="PNG", optimize=True)
    return out.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
