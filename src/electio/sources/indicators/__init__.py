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
from datetime import date, timedelta
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
    #: How analyses make the value comparable across communes of different sizes (one rule for
    #: the EDA and the models, :mod:`electio.sources.indicators.roles`): 'identity' (rates,
    #: medians), 'log10' (population), 'ratio' (scale x value / denominator, same commune and
    #: year), 'log10_density' (log10 of the denominator per unit of this area) or 'none' (a
    #: weight or size proxy, not analysed).
    transform: str = "identity"
    denominator: str | None = None
    scale: float | None = None
    #: Code of an indicator this one duplicates or complements (e.g. non-immigrants vs
    #: immigrants): still analysed, never ranked as a separate finding.
    redundant_with: str | None = None


#: The population every per-inhabitant ratio is computed with.
POPULATION_CODE = "population_municipale"


@dataclass(frozen=True)
class CalendarRule:
    """When a value of reference year N would have been available under the publisher's
    regular calendar (``[[calendar]]`` entries of the family TOML files).

    reference: 'year_end' (flows and end-of-year stocks: 31 December N) or 'jan1' (census
    and legal populations, dated 1 January N). available = reference date + ``lag_months``
    months + ``lag_days`` days, and never before ``not_before`` (first release of a series
    that did not exist yet).
    """

    source_id: str
    reference: str
    lag_months: int
    lag_days: int
    not_before: date | None
    rule_fr: str
    rule_source_url: str

    def reference_date(self, year: int) -> date:
        return date(int(year), 12, 31) if self.reference == "year_end" else date(int(year), 1, 1)

    def available_on(self, year: int) -> date:
        ref = self.reference_date(year)
        months = ref.month - 1 + self.lag_months
        y, m = ref.year + months // 12, months % 12 + 1
        last = [31, 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31,
                30, 31][m - 1]
        out = date(y, m, min(ref.day, last)) + timedelta(days=self.lag_days)
        return max(out, self.not_before) if self.not_before else out


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
    #: An optional source (e.g. the RNA, not in the mirror): missing, it is skipped with a warning.
    optional: bool = False


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
                level=item.get("level", "commune"), source_id=item["source"], definition=item["definition"],
                **_role(item, entry.name)))
        for item in doc.get("vintage", []):
            known = {"source", "file", "parser", "years", "published_on", "published_note", "lyon", "optional"}
            vintages.append(VintageSpec(
                family=family, source_id=item["source"], file=item["file"], parser=item["parser"],
                years=tuple(item["years"]), published_on=item["published_on"],
                published_note=item["published_note"], lyon=item["lyon"],
                options={k: v for k, v in item.items() if k not in known}, optional=bool(item.get("optional"))))
    codes = [i.code for i in indicators]
    for spec in indicators:
        for other in (spec.denominator, spec.redundant_with):
            if other is not None and other not in codes:
                raise ValueError(f"indicator {spec.code}: refers to unknown indicator {other!r}")
    if len(codes) != len(set(codes)):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise ValueError(f"indicator codes defined twice: {dup}")
    return indicators, vintages


TRANSFORMS = ("identity", "log10", "ratio", "log10_density", "none")


def _role(item: dict, where: str) -> dict:
    """transform / denominator / scale of one [[indicator]] entry; defaults: a commune count
    ('sum') per 1,000 inhabitants, a rate or median ('weighted_mean') as published."""
    commune = item.get("level", "commune") == "commune"
    default = "ratio" if commune and item["aggregation"] == "sum" else "identity"
    transform = item.get("transform", default)
    if transform not in TRANSFORMS:
        raise ValueError(f"{where}: indicator {item['code']}: transform {transform!r} not in {TRANSFORMS}")
    denominator = item.get("denominator")
    scale = item.get("scale")
    if transform == "ratio":
        denominator = denominator or POPULATION_CODE
        scale = float(scale if scale is not None else 1000)
    elif transform == "log10_density":
        denominator = denominator or POPULATION_CODE
    return {"transform": transform, "denominator": denominator, "scale": scale,
            "redundant_with": item.get("redundant_with")}


def load_calendar_rules() -> dict[str, CalendarRule]:
    """Publication calendar of every source (``[[calendar]]`` of the family TOML files)."""
    rules: dict[str, CalendarRule] = {}
    folder = resources.files("electio.sources.indicators")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for item in tomllib.loads(entry.read_text(encoding="utf-8")).get("calendar", []):
            if item["reference"] not in ("year_end", "jan1"):
                raise ValueError(f"{entry.name}: calendar {item['source']}: reference must be 'year_end' or 'jan1'")
            if item["source"] in rules:
                raise ValueError(f"{entry.name}: calendar for {item['source']} defined twice")
            rules[item["source"]] = CalendarRule(
                source_id=item["source"], reference=item["reference"], lag_months=int(item.get("lag_months", 0)),
                lag_days=int(item.get("lag_days", 0)), not_before=item.get("not_before"), rule_fr=item["rule_fr"],
                rule_source_url=item["rule_source_url"])
    return rules
