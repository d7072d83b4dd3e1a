"""The readable definition of the Power BI templates (powerbi/definition/*.toml).

The TOML files are the source; the .pbit files are build outputs. This module only
reads and checks them; model.py and report.py turn them into the template parts.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from electio.errors import ElectioError
from electio.settings import project_file

DEFINITION_DIR = "powerbi/definition"
FILES = ("model.toml", "measures.toml", "pages.toml", "connection.toml")


class DefinitionError(ElectioError):
    """The Power BI definition is inconsistent (unknown column, missing name...)."""


@dataclass(frozen=True)
class Definition:
    model: dict
    measures: list[dict]
    pages: list[dict]
    variants: dict[str, dict]
    parameters: list[dict]
    root: Path = field(compare=False)


def load_definition(root: Path | None = None) -> Definition:
    """Read the four TOML files of the definition folder."""
    root = Path(root) if root is not None else project_file(DEFINITION_DIR)
    docs = {}
    for name in FILES:
        path = root / name
        try:
            docs[name] = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DefinitionError(f"Power BI definition file missing: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise DefinitionError(f"{path}: invalid TOML ({exc})") from exc
    connection = docs["connection.toml"]
    return Definition(model=docs["model.toml"], measures=docs["measures.toml"].get("measure", []),
                      pages=docs["pages.toml"].get("page", []), variants=connection.get("variant", {}),
                      parameters=connection.get("parameter", []), root=root)


_FIELD = re.compile(r"^(?:(?P<agg>Sum|Avg|Min|Max|Count)\()?"
                    r"(?:'(?P<qtable>(?:[^']|'')+)'|(?P<table>[^\[\]'()]+))\[(?P<col>(?:[^\]]|\]\])+)\]"
                    r"(?(agg)\))$")
_MEASURE = re.compile(r"^\[(?P<measure>(?:[^\]]|\]\])+)\]$")

#: Aggregation functions of a report query (QueryAggregateFunction).
AGGREGATIONS = {"Sum": 0, "Avg": 1, "Count": 2, "Min": 3, "Max": 4}


@dataclass(frozen=True)
class FieldRef:
    """A field of a visual: a column (maybe aggregated) or a measure, by model names."""

    table: str | None
    name: str
    kind: str  # column, measure
    aggregation: str | None = None


def parse_field(text: str) -> FieldRef:
    """'Table'[Column], Table[Column], Avg('Table'[Column]) or [Measure]."""
    text = text.strip()
    if m := _MEASURE.match(text):
        return FieldRef(None, m["measure"].replace("]]", "]"), "measure")
    if m := _FIELD.match(text):
        table = m["qtable"].replace("''", "'") if m["qtable"] is not None else m["table"].strip()
        return FieldRef(table, m["col"].replace("]]", "]"), "column", m["agg"])
    raise DefinitionError(f"cannot read field reference {text!r} (expected 'Table'[Column] or [Measure])")
