"""The report's embedded version of a figure keeps its colours (a palette only where it is faithful)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from electio.report.figures import MAX_MOVED_SHARE, MAX_PIXEL_ERROR, _embedded_png

BLOC_COLOURS = ["#A50026", "#E4572E", "#F3C13A", "#2B6CC4", "#1B1F3B", "#9E9E9E", "#1F78B4"]


def _curves_and_map(path) -> None:
    """Thin coloured lines on white beside a continuous colour scale: a palette must serve both."""
    fig = Figure(figsize=(10, 5), dpi=100, facecolor="white")
    left, right = fig.subplots(1, 2)
    x = np.linspace(0, 10, 200)
    for k, colour in enumerate(BLOC_COLOURS):
        left.plot(x, np.sin(x + k) + 3 * k, color=colour, linewidth=1.5)
    right.imshow(np.add.outer(np.linspace(0, 1, 300), np.linspace(0, 1, 300)), cmap="viridis")
    FigureCanvasAgg(fig).print_png(path)


def test_embedded_figure_keeps_its_line_and_scale_colours(tmp_path):
    path = tmp_path / "figure.png"
    _curves_and_map(path)
    original = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    embedded = np.asarray(Image.open(io.BytesIO(_embedded_png(path, 1100))).convert("RGB"), dtype=np.int16)
    moved = (np.abs(embedded - original).max(axis=2) > MAX_PIXEL_ERROR).mean()
    assert moved <= MAX_MOVED_SHARE, f"{moved:.4%} of the pixels changed colour"


def test_a_plain_chart_still_gets_a_small_palette(tmp_path):
    path = tmp_path / "bars.png"
    fig = Figure(figsize=(6, 3), dpi=100, facecolor="white")
    fig.subplots().bar(range(3), [3, 5, 2], color=BLOC_COLOURS[:3])
    FigureCanvasAgg(fig).print_png(path)
    assert Image.open(io.BytesIO(_embedded_png(path, 1100))).mode == "P"
