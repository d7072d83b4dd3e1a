"""The presentation: slides present, in French, every number a traced value of the report."""

from __future__ import annotations

import json
import re

import pytest
from pptx import Presentation

from electio.report.build import SLIDES_FILE, SOURCES_FILE
from electio.report.slides import MIN_FONT_PT, SOURCES_FILE as SLIDE_REFS, slide_texts
from tests.report.test_report import FORBIDDEN
from tests.report.trace import Recomputer

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
