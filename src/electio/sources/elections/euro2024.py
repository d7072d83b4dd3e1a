"""European election 2024: one JSON per commune from the Ministry results site.

The Rhône files cross-check the aggregated file; the France-wide archive is the
commune source outside the Rhône and the national/département totals. ``summaryTable`` is
exact; ``mainTable[].count`` is truncated at the thousands separator for lists
with 1,000 votes or more (mirror caveat 7), so list votes are rebuilt as
``percentage2 / 100 x Exprimés`` and the truncated cells are counted.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import StagedElection, given

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


def _rebuilt_votes(count: int, percentage2: float, expressed: int) -> int:
    """Exact count where the site could show it (< 1000), else percentage2 x exprimés."""
    estimate = percentage2 / 100 * expressed
    return int(count) if estimate < 999.5 else int(round(estimate))


def parse_france_archive(path: Path, *, departement="*") -> StagedElection:
    """Every commune JSON of the France-wide tar.gz, as a staged election.

    Labels are the Ministry list codes (LRN, LENS...; ``list_code`` rows of the
    politics reference). Votes are the exact ``count`` below 1,000 and
    ``percentage2 / 100 x Exprimés`` above (the site truncates those counts,
    caveat 7): a commune's list votes may then differ from exprimés by a few
    votes, which the quality checks report. ``departement`` filters the communes
    ("*" = all of France; the archive has no French citizens abroad).
    """
    wanted = None if departement == "*" else ({departement} if isinstance(departement, str) else set(departement))
    turnouts, codes, labels, votes, rows_read = [], [], [], [], 0
    try:
        archive = tarfile.open(path, mode="r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise InputFormatError(path, f"not a readable tar.gz archive ({exc})") from exc
    with archive:
        for member in archive:
            if not (member.isfile() and member.name.endswith(".json")):
                continue
            code = Path(member.name).stem
            rows_read += 1
            if wanted is not None and (code[:3] if code.startswith(("97", "98")) else code[:2]) not in wanted:
                continue
            where = f"{path}!{member.name}"
            try:
                doc = json.loads(archive.extractfile(member).read().decode("utf-8"))
                summary = doc["summaryTable"]
                turnout = {v: int(summary[k]) for k, v in _SUMMARY.items()}
                for entry in doc["mainTable"]:
                    codes.append(code)
                    labels.append(str(entry["code"]))
                    votes.append(_rebuilt_votes(entry["count"], float(entry["percentage2"]), turnout["expressed"]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
                raise InputFormatError(where, f"expected JSON with summaryTable {list(_SUMMARY)} and "
                                       f"mainTable entries with code, count, percentage2 ({exc!r})") from exc
            turnout["source_code"] = code
            turnout["source_name"] = (doc.get("commune") or {}).get("LIBELLE")
            turnouts.append(turnout)
    if not turnouts:
        raise InputFormatError(path, f"no commune JSON for département(s) {departement}")
    turnout = given(pd.DataFrame(turnouts), blank="blank", null_ballots="null_ballots", blank_and_null=None)
    results = (pd.DataFrame({"source_code": codes, "label": labels, "votes": votes})
               .groupby(["source_code", "label"], as_index=False)["votes"].sum())
    return StagedElection(turnout=turnout, results=results, rows_read=rows_read, votes_rebuilt=True)
