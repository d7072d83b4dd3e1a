"""The presentation: slides present, in French, every number a traced value of the report."""

from __future__ import annotations

import json
import re

import pytest
from pptx import Presentation

from electio.report.build import SLIDES_FILE, SOURCES_FILE
from electio.report.slides import MIN_FONT_PT, SOURCES_FILE as SLIDE_REFS, slide_texts
from tests.report.test_report import FORBIDDEN
from tests.report.trace import Recomputer, plain

#: A number as the report prints it: sign, thousands with narrow no-break spaces, decimal comma.
NUMBER = re.compile(r"[−+-]?\d+(?:\u202f\d{3})*(?:,\d+)?")
TOPICS = ["Contexte et périmètre", "Données et méthode", "Modèle conceptuel", "Quel indicateur", "Quelle précision",
          "Prochaine échéance", "Scénarios", "Limites", "Recommandations stratégiques", "Recommandations techniques"]


@pytest.fixture(scope="module")
def deck(full_report):
    settings, _ = full_report
    return settings, settings.reports_dir / SLIDES_FILE


def test_deck_has_the_defence_outline(deck):
    _, path = deck
    texts = slide_texts(path)
    assert 10 <= len(texts) <= 12
    titles = [t[1] for t in texts]  # kicker, then title
    for topic in TOPICS:
        assert any(title.startswith(topic) for title in titles), (topic, titles)


def test_every_number_on_the_slides_is_a_traced_value_of_the_report(deck, mirror):
    settings, path = deck
    entries = {e["ref"]: e for e in json.loads((settings.reports_dir / SOURCES_FILE).read_text("utf-8"))["entries"]}
    refs = json.loads((settings.reports_dir / SLIDE_REFS).read_text("utf-8"))["refs"]
    assert refs and set(refs) <= set(entries)
    recompute = Recomputer(settings, mirror)
    problems = [f"{r} {msg}" for r in refs if (msg := recompute.check(entries[r]))]
    assert problems == []
    allowed = {tok for r in refs for tok in NUMBER.findall(entries[r]["display"])}
    # Pictures aside (figures and diagrams carry their own sources), every number of the text is a traced value.
    typed = [tok for texts in slide_texts(path) for tok in NUMBER.findall(" ".join(texts)) if tok not in allowed]
    assert typed == []


def test_slides_are_french_and_legible(deck):
    _, path = deck
    text = " ".join(" ".join(t) for t in slide_texts(path))
    assert sorted({m.group(0) for m in FORBIDDEN.finditer(text)}) == []
    for texts in slide_texts(path):  # French typography: a no-break space before : ; ? ! %
        assert [t for t in texts if re.search(r" [:;?!%]", t)] == []
    sizes = [run.font.size.pt for slide in Presentation(str(path)).slides for shape in slide.shapes
             if shape.has_text_frame for para in shape.text_frame.paragraphs for run in para.runs if run.font.size]
    sizes += [run.font.size.pt for slide in Presentation(str(path)).slides for shape in slide.shapes
              if shape.has_table for row in shape.table.rows for cell in row.cells
              for para in cell.text_frame.paragraphs for run in para.runs if run.font.size]
    assert sizes and min(sizes) >= MIN_FONT_PT


def test_deck_is_written_on_a_warehouse_without_models(bare_report):
    settings, _ = bare_report
    texts = slide_texts(settings.reports_dir / SLIDES_FILE)
    joined = " ".join(" ".join(t) for t in texts)
    assert "Les tests rétrospectifs n'ont pas encore été calculés" in joined
    assert "Les scénarios n'ont pas encore été calculés" in joined


def _shapes(path):
    prs = Presentation(str(path))
    return prs, [(i, shape) for i, slide in enumerate(prs.slides, 1) for shape in slide.shapes]


def test_pictures_and_charts_are_large_and_inside_the_slide(deck):
    """The MCD is legible on its slide (its text at >= 9 pt once fitted), and nothing leaves the slide."""
    from pptx.util import Emu

    from electio.report.diagram import conceptual_model, schema_tables
    from electio.report.slides import SLIDE_MCD_TABLES

    _, path = deck
    prs, shapes = _shapes(path)
    outside = [(i, s.name) for i, s in shapes if s.left < 0 or s.top < 0 or s.left + s.width > prs.slide_width
               or s.top + s.height > prs.slide_height]
    assert outside == []
    titles = [t[1] for t in slide_texts(path)]
    mcd_slide = next(i for i, t in enumerate(titles, 1) if t.startswith("Modèle conceptuel"))
    pictures = [s for i, s in shapes if i == mcd_slide and s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE
    assert len(pictures) == 1
    fig = conceptual_model([t for t in schema_tables() if t.name in SLIDE_MCD_TABLES], compact=True)
    font = min(t.get_fontsize() for t in fig.findobj(lambda o: hasattr(o, "get_fontsize") and hasattr(o, "get_text"))
               if t.get_text().strip())
    assert font * Emu(pictures[0].width).inches / fig.get_figwidth() >= 9.0
    assert pictures[0].width * pictures[0].height >= 0.5 * prs.slide_width * prs.slide_height


def test_scenario_chart_is_native_with_a_legible_legend(deck):
    _, path = deck
    prs, shapes = _shapes(path)
    titles = [t[1] for t in slide_texts(path)]
    k = next(i for i, t in enumerate(titles, 1) if plain(t).startswith("Scénarios : qui peut"))
    charts = [s.chart for i, s in shapes if i == k and s.has_chart]
    assert len(charts) == 1
    chart = charts[0]
    assert chart.has_legend and not chart.legend.include_in_layout and chart.legend.font.size.pt >= MIN_FONT_PT
    names = [s.name for s in chart.plots[0].series]
    assert names and len(names) == len(set(names))
    totals = [sum(v) for v in zip(*(s.values for s in chart.plots[0].series))]
    assert all(95 <= t <= 105 for t in totals)  # probabilities of coming first, in %, add up per hypothesis


def test_text_boxes_hold_their_text(deck):
    """No text runs into the shape below it (or off the slide): a box's lines, wrapped at its width
    (about 0.55 em per character), fit between its top and the next shape underneath."""
    import math

    from pptx.util import Emu

    _, path = deck
    prs, shapes = _shapes(path)
    over = []
    for i, s in shapes:
        if not s.has_text_frame or not s.text_frame.text.strip():
            continue
        width_pt = Emu(s.width).pt - 14  # default insets
        height = 0.0
        for para in s.text_frame.paragraphs:
            size = max((r.font.size.pt for r in para.runs if r.font.size), default=18)
            chars = max(1, int(width_pt / (0.55 * size)))
            height += math.ceil(max(1, len(para.text)) / chars) * size * 1.2 + 2
        below = [o.top for j, o in shapes if j == i and o is not s and o.top > s.top
                 and o.left < s.left + s.width and s.left < o.left + o.width]
        room = Emu(min(below, default=prs.slide_height) - s.top).pt
        if height > room:
            over.append((i, s.text_frame.text[:50], round(height), round(room)))
    assert over == []
