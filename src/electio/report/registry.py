"""Traceability of every value the report prints.

The report never contains a hand-typed figure. Each number (and each piece of text
taken from the data: election labels, indicator names, check details...) goes
through a :class:`Registry`, which prints it inside ``<span class="v" data-ref=...>``
and remembers where it comes from:

- ``sql`` + ``params``: a query on the warehouse that returns the value as one
  scalar. The builder computes its values with pandas from the tables; the test
  suite re-runs the query and compares, so a wrong computation or a typed number
  is caught.
- ``recipe``: for values that do not come from one query (national totals read
  from the source files, method texts defined in code, figure files...), a small
  dict naming how to recompute it (see :data:`RECIPES`).

The registry is also written beside the report (``rapport_sources.json``), so a
reader can check any figure of the report against the warehouse.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

#: Kinds of non-SQL provenance and what they mean (documented in the JSON).
RECIPES = {
    "national": "France-wide totals of the aktiur département file of the election (mirror/cache), "
                "labels mapped to blocs with data/reference/nuances.csv",
    "code": "a constant of the electio package (method text or rule), named module:attribute",
    "json": "a key of a JSON file written by the pipeline under reports/",
    "file": "a figure file produced by the pipeline under reports/figures/",
    "catalog": "a field of the source catalog (src/electio/sources/catalog.toml)",
}

NARROW_NBSP = "\u202f"
MINUS = "\u2212"


def fr_number(value: float | int | None, digits: int = 0, signed: bool = False) -> str:
    """French formatting: comma decimals, narrow no-break space between thousands, true minus.

    ``signed`` prints a plus sign on positive values (gaps, differences).
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n.d."
    text = f"{float(value):,.{digits}f}" if digits else f"{round(float(value)):,d}"
    text = text.replace(",", NARROW_NBSP).replace(".", ",")
    if text.lstrip("-").strip("0,") == "":  # -0 or -0,0
        text = text.lstrip("-")
    elif signed and not text.startswith("-"):
        text = "+" + text
    return text.replace("-", MINUS)


@dataclass
class Entry:
    ref: str
    kind: str  # number, text
    value: Any
    display: str
    source: str
    sql: str | None = None
    params: dict = field(default_factory=dict)
    recipe: dict | None = None
    digits: int = 0
    scale: float = 1.0
    signed: bool = False
    derive: str | None = None  # name of a function of electio.report.labels applied to the SQL result
    fact: str | None = None  # name of the fact this number states: one fact, one printed value everywhere


class Registry:
    """Collects the printed values with their provenance and renders them as HTML spans."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.facts: dict[str, str] = {}

    def _add(self, **kw) -> Entry:
        entry = Entry(ref=f"v{len(self.entries) + 1}", **kw)
        self.entries.append(entry)
        return entry

    @staticmethod
    def _span(entry: Entry) -> Markup:
        return Markup('<span class="v {}" data-ref="{}" title="{}">{}</span>').format(
            "n" if entry.kind == "number" else "t", entry.ref, f"Source : {entry.source}", entry.display)

    def number(self, value, *, source: str, sql: str | None = None, params: dict | None = None,
               recipe: dict | None = None, digits: int = 0, scale: float = 1.0, signed: bool = False,
               fact: str | None = None) -> Markup:
        """A number printed in French; ``scale`` multiplies the recomputed value (e.g. 100 for %).

        ``fact`` names what the number states (e.g. ``n_communes``): every section, and the
        slides, print a named fact identically, or the build fails."""
        if sql is None and recipe is None:
            raise ValueError("a printed number needs a query or a recipe")
        shown = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value) * scale
        display = fr_number(shown, digits, signed)
        if fact is not None and self.facts.setdefault(fact, display) != display:
            raise ValueError(f"fact {fact!r} printed as {self.facts[fact]!r} and as {display!r}")
        entry = self._add(kind="number", value=shown, display=display, source=source, sql=sql,
                          params=dict(params or {}), recipe=recipe, digits=digits, scale=scale, signed=signed,
                          fact=fact)
        return self._span(entry)

    def text(self, value, *, source: str, sql: str | None = None, params: dict | None = None,
             recipe: dict | None = None, derive: str | None = None) -> Markup:
        """Text that comes from the data (labels, details); escaped."""
        if sql is None and recipe is None:
            raise ValueError("printed data text needs a query or a recipe")
        value = "" if value is None else str(value)
        entry = self._add(kind="text", value=value, display=value, source=source, sql=sql,
                          params=dict(params or {}), recipe=recipe, derive=derive)
        return self._span(entry)

    def to_json(self) -> list[dict]:
        return [asdict(e) for e in self.entries]

    def write(self, path: Path) -> Path:
        payload = {"recipes": RECIPES, "entries": self.to_json()}
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
        return path
