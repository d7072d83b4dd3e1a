"""Parsers of socio-economic indicator files, one module per source family.

Staging only: a parser returns :class:`StagedIndicators` in the file's own
geography (source commune codes, Lyon possibly as 69123 and/or 69381-69389),
one row per (source_code, indicator_code, year). It never fills gaps, never
turns a secret cell into 0, and never sums Lyon's arrondissements with 69123:
those rules live in :mod:`electio.transform.indicators`.

Each family also ships a TOML file beside its module (``<family>.toml``)
describing its indicators and vintages; see :func:`load_indicator_specs`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from importlib import resources

import pandas as pd

from electio.sources.elections import Rejection

VALUE_COLUMNS = ["source_code", "indicator_code", "year", "value", "is_suppressed", "is_imputed"]


@dataclass
class StagedIndicators:
    """Indicator values as one file states them.

    values: source_code (5-char INSEE code, or a département code for
    département-level files), indicator_code, year (int), value (float, NaN when
    not published), is_suppressed (bool: the publisher withheld the value,
    e.g. 's' or an empty secret cell), is_imputed (bool: estimated by the
    publisher or a third party rather than observed).
    """

    values: pd.DataFrame
    rows_read: int
    rejected: list[Rejection] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = self.values[VALUE_COLUMNS].reset_index(drop=True)


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator (dim_indicator row)."""

    code: str
    label_fr: str
    family: str
    unit: str
    aggregation: str           # 'sum' or 'weighted_mean'
    weight_indicator: str | None
    level: str                 # 'commune' or 'departement'
    source_id: str
    definition: str


@dataclass(frozen=True)
class VintageSpec:
    """One file to parse: which parser, which indicator years, when it was published."""

    family: str
    source_id: str
    file: str
    parser: str                # function name in electio.sources.indicators.<family>
    years: tuple[int, ...]
    published_on: date         # first publication of this vintage
    published_note: str        # where the date comes from, or why it is an estimate
    lyon: str                  # 'commune' (file has 69123), 'arrondissements' (only 6938x), 'both'
    options: dict = field(default_factory=dict)


def load_indicator_specs() -> tuple[list[IndicatorSpec], list[VintageSpec]]:
    """All ``<family>.toml`` files of this package."""
    indicators: list[IndicatorSpec] = []
    vintages: list[VintageSpec] = []
    folder = resources.files("electio.sources.indicators")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        family = entry.name[:-5]
        doc = tomllib.loads(entry.read_text(encoding="utf-8"))
        for item in doc.get("indicator", []):
            indicators.append(IndicatorSpec(
                code=item["code"], label_fr=item["label_fr"], family=item.get("family", family),
                unit=item["unit"], aggregation=item["aggregation"], weight_indicator=item.get("weight"),
                level=item.get("level", "commune"), source_id=item["source"], definition=item["definition"]))
        for item in doc.get("vintage", []):
            known = {"source", "file", "parser", "years", "published_on", "published_note", "lyon"}
            vintages.append(VintageSpec(
                family=family, source_id=item["source"], file=item["file"], parser=item["parser"],
                years=tuple(item["years"]), published_on=item["published_on"],
                published_note=item["published_note"], lyon=item["lyon"],
                options={k: v for k, v in item.items() if k not in known}))
    codes = [i.code for i in indicators]
    if len(codes) != len(set(codes)):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise ValueError(f"indicator codes defined twice: {dup}")
    return indicators, vintages
