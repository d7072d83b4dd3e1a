"""The presentation support: ``reports/soutenance.pptx`` (PowerPoint, 16:9, in French).

Built from the report's own context: every number on a slide is a value the report
registered (same :class:`~electio.report.registry.Registry`, same traced query), so
the slides and the dossier cannot disagree. The references of the values used are
written beside the deck (``soutenance_sources.json``) for the tests and the reader.

python-pptx writes the file (pure Python); diagrams and figures are embedded as PNG.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

from markupsafe import Markup
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.util import Emu, Inches, Pt

from electio.report.diagram import conceptual_model, data_flow, render, schema_tables
from electio.report.labels import fr_float, french_spacing, points_fr

SOURCES_FILE = "soutenance_sources.json"
INK = RGBColor(0x1F, 0x2A, 0x37)
ACCENT = RGBColor(0x2F, 0x6F, 0x9F)
MUTED = RGBColor(0x5F, 0x6B, 0x7A)
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
#: Smallest font on a slide (points): readable from the back of a meeting room.
MIN_FONT_PT = 14

_REF = re.compile(r'data-ref="(v\d+)"')
#: The core of the conceptual model shown on the slide (the full MCD is in the dossier).
SLIDE_MCD_TABLES = {"dim_commune", "dim_election", "dim_bloc", "dim_nuance", "dim_indicator", "dim_model",
                    "dim_scenario", "map_commune_code", "fact_turnout", "fact_election_result", "fact_label_result",
                    "fact_indicator", "fact_correlation", "fact_backtest", "fact_model_metric", "fact_forecast",
                    "fact_forecast_departement"}
#: The backtest modes (by their French name) in words a client reads without a glossary.
MODE_PLAIN = {"conditionnel": "Quand le résultat du département est connu",
              "conditionnel national": "Quand seul le résultat national est connu",
              "inconditionnel": "Sans rien connaître du scrutin (vraie prévision)"}


class Deck:
    """A presentation under construction, remembering the traced values it prints."""
    def __init__(self) -> None:
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = WIDTH, HEIGHT
        self.refs: list[str] = []

    def text(self, value) -> str:
        """Plain text of a registered value (or of French text holding registered values)."""
        if value is None:
            return "—"
        if isinstance(value, Markup):
            self.refs += _REF.findall(str(value))
            # not Markup.striptags(): it would turn the narrow no-break spaces of French numbers into spaces
            return html.unescape(re.sub(r"<[^>]+>", "", str(value))).strip()
        return str(value)

    def slide(self, title: str, kicker: str = ""):
        s = self.prs.slides.add_slide(self.prs.slide_layouts[6])  # blank
        bar = s.shapes.add_shape(1, 0, 0, WIDTH, Inches(0.12))
        bar.fill.solid()
        bar.fill.fore_color.rgb = ACCENT
        bar.line.fill.background()
        if kicker:
            self._box(s, Inches(0.6), Inches(0.3), Inches(12), Inches(0.4), [kicker], size=14, color=MUTED)
        self._box(s, Inches(0.6), Inches(0.62), Inches(12.1), Inches(0.9), [title], size=28 if len(title) < 48 else 24,
                  bold=True, color=INK)
        return s

    def _box(self, s, x, y, w, h, lines, *, size=18, bold=False, color=INK, bullets=False):
        tf = s.shapes.add_textbox(x, y, w, h).text_frame
        tf.word_wrap = True
        for i, line in enumerate(lines):
            para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            run = para.add_run()
            run.text = ("• " if bullets else "") + french_spacing(line)
            run.font.size = Pt(size)
            run.font.bold = bold
            run.font.color.rgb = color
            para.space_after = Pt(8 if bullets else 2)
        return tf

    def bullets(self, s, lines, *, x=Inches(0.6), y=Inches(1.65), w=Inches(12.1), h=Inches(5.4), size=20):
        return self._box(s, x, y, w, h, [line for line in lines if line], size=size, bullets=True)

    def table(self, s, headers, rows, *, x=Inches(0.6), y=Inches(1.7), w=Inches(12.1), size=16, first_col=None):
        shape = s.shapes.add_table(len(rows) + 1, len(headers), x, y, w, Inches(0.45) * (len(rows) + 1))
        tbl = shape.table
        if first_col is not None and len(headers) > 1:  # a wider label column, the rest shared equally
            tbl.columns[0].width = first_col
            for j in range(1, len(headers)):
                tbl.columns[j].width = Emu(int((w - first_col) / (len(headers) - 1)))
        for j, h in enumerate(headers):
            self._cell(tbl.cell(0, j), h, size, bold=True)
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row):
                self._cell(tbl.cell(i, j), value, size)
        return tbl

    @staticmethod
    def _cell(cell, text, size, bold=False):
        cell.text = french_spacing(text)
        for para in cell.text_frame.paragraphs:
            for run in para.runs:
                run.font.size = Pt(size)
                run.font.bold = bold

    def picture(self, s, png: bytes, *, x=Inches(0.6), y=Inches(1.6), w=None, h=Inches(5.6)):
        from PIL import Image

        with Image.open(io.BytesIO(png)) as img:
            ratio = img.width / img.height
        w = Inches(12.1) if w is None else w  # the box the picture must fit in, keeping its proportions
        if w / h > ratio:
            w = Emu(int(h * ratio))
        else:
            h = Emu(int(w / ratio))
        s.shapes.add_picture(io.BytesIO(png), x + (Inches(12.1) - w) // 2 if x == Inches(0.6) else x, y, w, h)

    def probability_chart(self, s, groups, colors, *, y=Inches(2.6), h=None):
        """Stacked bars, one per hypothesis: each bloc's probability (%) of coming first, as printed in the
        report (``groups``: [(hypothesis, [(bloc, "60"), ...])]). Blocs that never lead are left out."""
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION

        blocs = list(dict.fromkeys(b for _, rows in groups for b, _ in rows))
        value = {(g, b): fr_float(v) for g, rows in groups for b, v in rows}
        blocs = [b for b in blocs if any(value.get((g, b), 0) > 0 for g, _ in groups)]
        data = CategoryChartData(number_format='0" %"')
        data.categories = [f"Hypothèse {g}" for g, _ in groups]
        for b in blocs:
            data.add_series(b, [value.get((g, b), 0.0) for g, _ in groups])
        h = Inches(6.7) - y if h is None else h
        chart = s.shapes.add_chart(XL_CHART_TYPE.BAR_STACKED, Inches(0.6), y, Inches(12.1), h, data).chart
        chart.font.size = Pt(MIN_FONT_PT)
        chart.has_legend = True
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
        chart.legend.include_in_layout = False
        chart.legend.font.size = Pt(16)
        chart.value_axis.maximum_scale = 100
        chart.value_axis.has_major_gridlines = False
        chart.value_axis.tick_labels.font.size = Pt(MIN_FONT_PT)
        chart.value_axis.tick_labels.number_format = '0" %"'
        chart.value_axis.tick_labels.number_format_is_linked = False
        chart.category_axis.tick_labels.font.size = Pt(16)
        chart.plots[0].gap_width = 40
        chart.plots[0].overlap = 100
        for series, b in zip(chart.series, blocs):
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = RGBColor.from_string(colors.get(b, "#7F7F7F").lstrip("#").upper())
            for k, (g, _) in enumerate(groups):
                v = value.get((g, b), 0.0)
                if v >= 8:  # label inside the bar when it fits
                    label = series.points[k].data_label
                    run = label.text_frame.paragraphs[0].add_run()
                    run.text = f"{fmt_pct(v)}\u202f%"
                    run.font.size = Pt(18)
                    run.font.bold = True
                    run.font.color.rgb = _ink_on(colors.get(b, "#7F7F7F"))
        return chart

    def note(self, s, text: str):
        self._box(s, Inches(0.6), Inches(6.85), Inches(12.1), Inches(0.5), [text], size=14, color=MUTED)


def fmt_pct(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def _ink_on(hex_color: str) -> RGBColor:
    r, g, b = (int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return RGBColor(0xFF, 0xFF, 0xFF) if 0.299 * r + 0.587 * g + 0.114 * b < 0.55 else INK


def _bloc_colors(tables) -> dict[str, str]:
    """Bloc label (as printed) -> its colour, for the chart."""
    dim = tables.get("dim_bloc") if hasattr(tables, "get") else None
    if dim is None or dim.empty:
        return {}
    return dict(zip(dim["label_fr"], dim["color_hex"]))


def _count(number: str, noun: str) -> str:
    """'1 commune', '12 communes' (French plural from 2 on)."""
    return f"{number} {noun}{'' if number in ('0', '1') else 's'}"


def build_deck(ctx: dict, tables, settings) -> Deck:
    """The deck's slides, in the order of a defence: context, data, answer, accuracy, scenarios, limits, actions."""
    d = Deck()
    t = d.text
    P, I, M, MO, S, SY = (ctx["perimetre"], ctx["indicateurs"], ctx["methode"], ctx["modeles"], ctx["scenarios"],
                          ctx["synthese"])
    v = P["v"]
    dep = f"département {t(v['departement'])}" + (f" ({ctx['departement_name']})" if ctx["departement_name"] else "")

    # 1. Title
    s = d.slide("Tendances électorales à l'échelle des communes", "Présentation du dossier de synthèse")
    d.bullets(s, [f"Périmètre : {dep}, {t(v['n_communes'])} communes",
                  f"{t(v['n_elections'])} élections de {t(v['first_year'])} à {t(v['last_year'])}, "
                  f"{t(v['n_indicators'])} indicateurs socio-économiques publics",
                  f"Résultats calculés le {t(M['refresh'].get('finished_at'))}"], y=Inches(2.2), h=Inches(4.6), size=24)

    # 2. Context and perimeter
    s = d.slide("Contexte et périmètre", "Pourquoi ce département")
    d.bullets(s, [f"{t(v['n_communes'])} communes, {t(v['population'])} habitants"
                  + (f", {t(v['area_km2'])} km²" if v.get("area_km2") else ""),
                  f"Une grande ville, {t(v['largest_name'])}, qui rassemble {t(v['largest_share'])} % de la population, "
                  "des communes périurbaines et rurales : des situations sociales contrastées",
                  "Toutes les élections chargées couvrent toutes les communes de référence" if P["complete"] else
                  "Certaines élections ne couvrent pas toutes les communes",
                  "Le périmètre est un paramètre : la même chaîne s'applique à tout autre département"])

    # 3. Data and method
    s = d.slide("Données et méthode", "Des sources publiques à l'entrepôt, dans un seul sens")
    d.bullets(s, [f"{t(v['n_files'])} fichiers publics tracés, vérifiés par leur empreinte",
                  "Contrôles qualité : " + ", ".join(t(x) for x in M["quality_totals"]),
                  "Communes et nuances harmonisées sur une seule grille"],
              w=Inches(5.2), size=18)
    d.picture(s, render(data_flow(), "png", dpi=130), x=Inches(6.0), y=Inches(1.7), w=Inches(7.0), h=Inches(4.9))

    # 4. Data model: the core of the MCD, names and identifiers only (the full model, with every
    # property, is in the dossier; at slide size its text would be unreadable).
    s = d.slide("Modèle conceptuel des données", "Entités, associations, cardinalités (notation Merise)")
    core = [tb for tb in schema_tables() if tb.name in SLIDE_MCD_TABLES]
    d.picture(s, render(conceptual_model(core, compact=True), "png", dpi=110), y=Inches(1.45), h=Inches(5.3))
    d.note(s, "Vue simplifiée, générée à partir du script de l'entrepôt ; le modèle complet, avec les propriétés "
              "de chaque entité, figure dans le dossier.")

    # 5. Answer on indicators
    s = d.slide("Quel indicateur est le plus lié au vote ?", "Corrélations entre communes, premiers tours")
    a = I.get("answer_top_cells")
    if a:
        d.bullets(s, [f"Relation la plus forte à taille de commune égale : « {t(a['indicator'])} » et "
                      f"« {t(a['target'])} », r partiel moyen {t(a['r_partial'])} (r brut {t(a['r'])} ; relation "
                      f"{a['sign']}, sur {t(a['n'])} élections)"], h=Inches(1.0), size=18)
        best = I["best"]["rows"][:6]
        d.table(s, ["Résultat", "Indicateur le plus corrélé", "r brut moyen", "r partiel (taille égale)"],
                [[t(r[0]), t(r[1]), t(r[3]), t(r[4])] for r in best], y=Inches(2.9), size=15)
        d.note(s, f"{t(I['n_correlations'])} corrélations calculées sur les premiers tours. "
                  "Une corrélation décrit des territoires, pas une cause. « — » : la taille de la commune "
                  "elle-même, qui ne peut pas être contrôlée.")
    else:
        d.bullets(s, ["Les corrélations n'ont pas encore été calculées."])

    # 6. Accuracy in plain words
    s = d.slide("Quelle précision ?", "Tests rétrospectifs : chaque élection prédite avec les seules élections d'avant")
    if MO["chosen_wmae"]:
        lines = [f"Modèle retenu : {t(MO['chosen'])}"]
        for a in MO["plain"]:  # the report's plain-French sentences, same registered numbers
            first = (f" ; bloc en tête correct dans {t(a['first_in_ten'])} communes sur dix"
                     if a["first_in_ten"] else "")
            lines.append(f"{MODE_PLAIN.get(str(a['mode']), 'Mode ' + str(a['mode']))} : écart moyen de "
                         f"{points_fr(t(a['wmae']))} par bloc et par commune{first}")
        for g in MO["gains"]:
            lines.append(f"{MODE_PLAIN.get(g['mode'], 'Mode ' + g['mode'])} : erreur "
                         f"{'réduite' if g['better'] else 'non réduite'} de {t(g['gain'])} % par rapport à la "
                         f"meilleure méthode simple ({t(g['baseline'])})")
        d.bullets(s, lines, size=15)
        d.note(s, "Écart moyen : moyenne des écarts absolus entre part prévue et part observée, pondérée par les "
                  "voix ; ce n'est pas une borne. Objectifs de précision atteints ou non : voir le dossier.")
    else:
        d.bullets(s, ["Les tests rétrospectifs n'ont pas encore été calculés."])

    # 7. Next election
    heads = SY["headline"]
    s = d.slide("Prochaine échéance : le résultat attendu",
                (f"{t(SY['election'])} · " if heads else "") + "prévision départementale, avec son incertitude")
    if heads:
        h = heads[0]
        d.bullets(s, [f"{t(h['lead'])} en tête le plus probable : {t(h['lead_predicted'])} % "
                      f"(de {t(h['lead_low'])} à {t(h['lead_high'])} %), {t(h['lead_probability'])} % de chances "
                      f"d'arriver en tête (hypothèse {t(h['swing'])})"], h=Inches(1.0), size=20)
        d.table(s, [t(x) for x in h["table"]["headers"]],
                [[re.sub(r"^\s+", "", t(c)) for c in row] for row in h["table"]["rows"]], y=Inches(2.75), size=15)
    else:
        d.bullets(s, ["Les scénarios n'ont pas encore été calculés."])

    # 8. Scenarios of the next election: who comes first, per hypothesis (a native chart: legible, editable)
    s = d.slide("Scénarios : qui peut arriver en tête ?",
                (f"{t(SY['election'])} · " if heads else "") + "probabilité d'arriver en tête selon l'hypothèse")
    lines = []
    for o in heads:
        lines.append(f"Hypothèse {t(o['swing'])} : {t(o['lead'])} en tête le plus probable "
                     f"({t(o['lead_probability'])} % de chances), {_count(t(o['n_contenders']), 'bloc')} "
                     f"{'a' if t(o['n_contenders']) in ('0', '1') else 'ont'} au moins une chance sur vingt "
                     "d'arriver en tête")
    d.bullets(s, lines or ["Les scénarios n'ont pas encore été calculés."], h=Inches(1.2), size=18)
    if heads:
        d.probability_chart(s, [(t(o["swing"]), [(t(row[0]), t(row[3])) for row in o["table"]["rows"]])
                                for o in heads], _bloc_colors(tables), y=Inches(1.75 + 0.75 * len(heads)))

    # 9. Every scheduled election, first hypothesis (the report has the others)
    per = S.get("per_scenario") or []
    s = d.slide("Scénarios : toutes les échéances", (f"Hypothèse {t(per[0]['label'])} · " if per else "")
                + "résultat attendu dans le département")
    if per:
        tb = per[0]["table"]
        d.table(s, [t(x) for x in tb["headers"]], [[re.sub(r"\s+", " ", t(c)) for c in row] for row in tb["rows"]],
                y=Inches(1.7), size=16, first_col=Inches(2.3))
        d.note(s, "Chaque case : part attendue en % des exprimés (participation : en % des inscrits), intervalle "
                  f"de prévision à {t(S['level'])} % entre parenthèses, puis probabilité d'arriver en tête."
                  + (" Les autres hypothèses figurent dans le dossier." if len(per) > 1 else ""))
    else:
        d.bullets(s, ["Les scénarios n'ont pas encore été calculés."])

    # 9. Limits
    s = d.slide("Limites", "Ce que les données ne peuvent pas dire")
    d.bullets(s, [f"Un seul département, et {t(v['n_elections'])} élections de types différents : chaque élection test "
                  "pèse lourd dans la moyenne",
                  f"{t(v['largest_name'])} pèse {t(v['largest_share'])} % de la population : les statistiques "
                  "pondérées en dépendent",
                  "Des résultats agrégés par commune : rien sur le vote d'une personne, et une corrélation n'est pas "
                  "une cause",
                  "Candidatures, alliances et campagne inconnues : le niveau départemental dépend de l'hypothèse"])

    # 10. Strategic recommendations
    s = d.slide("Recommandations stratégiques", "Pour décider")
    d.bullets(s, ["Raisonner en probabilités : préparer un plan pour chaque bloc qui peut arriver en tête",
                  "Concentrer l'effort sur les communes nombreuses en inscrits où les blocs sont proches",
                  "Mettre à jour le niveau départemental avec les sondages nationaux dès qu'ils sont fiables",
                  "Utiliser les indicateurs pour comprendre les territoires, jamais pour cibler des personnes"])

    # 11. Technical recommendations and data protection
    s = d.slide("Recommandations techniques et RGPD", "Pour durer, dans le respect des données sensibles")
    rg = ctx["rgpd"]
    d.bullets(s, ["Rafraîchir après chaque élection ou publication, comparer les métriques avant tout changement de "
                  "modèle",
                  "Compléter la délinquance communale (détail par type), les associations, l'éducation ; étendre à "
                  "d'autres départements",
                  "Opinions politiques = données sensibles (RGPD, " + t(ctx["fixed"]["rgpd_article"]) + ") : uniquement "
                  "des résultats publics agrégés, aucun fichier nominatif",
                  (f"{_count(t(rg['n_small']), 'commune')} de moins de {t(rg['threshold'])} inscrits : parts et "
                   "probabilités seulement, jamais de nombre de voix" if rg.get("n_small") else ""),
                  "Accès en lecture seule pour Power BI et les analystes, aucun mot de passe dans le code"], size=18)
    return d


def write_slides(ctx: dict, tables, settings, path: Path) -> Path:
    """Write the deck and, beside it, the references of the traced values it prints."""
    deck = build_deck(ctx, tables, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    deck.prs.save(str(tmp))
    tmp.replace(path)
    (path.parent / SOURCES_FILE).write_text(json.dumps({"refs": sorted(set(deck.refs), key=lambda r: int(r[1:]))},
                                                       indent=1) + "\n", encoding="utf-8")
    return path


def slide_texts(path: Path) -> list[list[str]]:
    """Text of each slide (kicker, title, boxes, table cells; empty shapes left out), for the tests."""
    out = []
    for slide in Presentation(str(path)).slides:
        texts = []
        for shape in slide.shapes:
            if shape.has_text_frame and shape.text_frame.text.strip():
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [c.text for row in shape.table.rows for c in row.cells]
        out.append(texts)
    return out
