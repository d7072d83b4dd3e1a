"""European election 2024: one JSON per commune from the Ministry results site.

Used as an independent cross-check of the aggregated file. ``summaryTable`` is
exact; ``mainTable[].count`` is truncated at the thousands separator for lists
with 1,000 votes or more (mirror caveat 7), so list votes are rebuilt as
``percentage2 / 100 x Exprimés`` and the truncated cells are counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError

_SUMMARY = {"Inscrits": "registered", "Votants": "voters", "Blancs": "blank",
            "Nuls": "null_ballots", "Exprimés": "expressed"}


def parse_commune(path: Path) -> tuple[dict, pd.DataFrame]:
    """Turnout dict and list votes (code, name, votes, truncated flag) of one commune."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        summary, main = doc["summaryTable"], doc["mainTable"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputFormatError(path, f"expected JSON with summaryTable and mainTable ({exc})") from exc
    missing = [k for k in _SUMMARY if k not in summary]
    if missing:
        raise InputFormatError(path, f"summaryTable lacks {missing}", column=missing[0])
    turnout = {v: int(summary[k]) for k, v in _SUMMARY.items()}
    turnout["source_code"] = Path(path).stem
    lists = pd.DataFrame(main, columns=["name", "code", "count", "percentage1", "percentage2"])
    lists["votes"] = (lists["percentage2"].astype(float) / 100 * turnout["expressed"]).round().astype(int)
    lists["truncated"] = (lists["votes"] >= 1000) & (lists["count"] != lists["votes"])
    return turnout, lists[["code", "name", "votes", "count", "truncated"]]
