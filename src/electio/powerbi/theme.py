"""The report theme: bloc colours first (the order of dim_bloc), French-report neutrals.

Power BI gives series without an explicit colour the theme's ``dataColors`` in order, so
putting the blocs' colours there (sorted like dim_bloc) keeps every chart in the blocs'
colours even where a visual does not set them one by one. Validated in the tests against
Microsoft's report theme schema.
"""

from __future__ import annotations

import json

from electio.powerbi.report import bloc_colors

THEME_ITEM = "electio-theme.json"
#: Colours after the blocs' (other series: horizons, models...), colour-blind friendly.
EXTRA_COLORS = ["#1F4E79", "#7F7F7F", "#6A3D9A", "#33A02C", "#B15928", "#A6CEE3"]


def report_theme() -> dict:
    blocs = list(bloc_colors().values())
    return {
        "name": "Electio",
        "dataColors": blocs + [c for c in EXTRA_COLORS if c not in blocs],
        "foreground": "#252423",
        "background": "#FFFFFF",
        "tableAccent": "#1F4E79",
        "good": "#1A9850",
        "neutral": "#F7F7F7",
        "bad": "#D73027",
        "maximum": "#08306B",
        "center": "#F7F7F7",
        "minimum": "#F7FBFF",
        "textClasses": {
            "title": {"fontFace": "Segoe UI Semibold", "fontSize": 12, "color": "#252423"},
            "label": {"fontFace": "Segoe UI", "fontSize": 10, "color": "#252423"},
        },
        "visualStyles": {"*": {"*": {"title": [{"show": True, "fontSize": 12, "titleWrap": True}]}}},
    }


def theme_bytes() -> bytes:
    return json.dumps(report_theme(), ensure_ascii=False, indent=2).encode("utf-8")
