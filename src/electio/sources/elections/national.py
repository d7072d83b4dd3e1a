"""Official national (France entière) results, transcribed per election (``national_results``).

One row per total (inscrits, votants, blancs, nuls, blancs_nuls, exprimes) or per
candidate, list or nuance, with ``votes`` and/or ``pct_exprimes`` (either may be
empty: CHECKS.md in the mirror says which elections are partial).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError
from electio.sources.readers import read_table, to_counts

LEVELS = ("total", "candidate", "list", "nuance")
TOTALS = ("inscrits", "votants", "blancs", "nuls", "blancs_nuls", "exprimes")


def parse_official(path: Path) -> pd.DataFrame:
    """Rows with election_id, level, label, votes (Int64, NA if not published),
    pct_exprimes (float, NA if not given), note; labels of nuances are their codes."""
    frame = read_table(path, sep=",", required=["election_id", "level", "label", "nuance_code", "votes",
                                                "pct_exprimes", "note"])
    bad = ~frame["level"].isin(LEVELS)
    if bad.any():
        line = int(bad.idxmax())
        raise InputFormatError(path, f"level {frame.at[line, 'level']!r} not one of {LEVELS}", line=line,
                               column="level")
    totals = frame[frame["level"] == "total"]
    bad = ~totals["label"].isin(TOTALS)
    if bad.any():
        line = int(bad.idxmax())
        raise InputFormatError(path, f"total {totals.at[line, 'label']!r} not one of {TOTALS}", line=line,
                               column="label")
    frame = to_counts(frame, ["votes"], path, allow_missing=True)
    pct = pd.to_numeric(frame["pct_exprimes"].str.replace(",", ".").where(frame["pct_exprimes"] != ""),
                        errors="coerce")
    bad = pct.isna() & (frame["pct_exprimes"] != "") | (pct < 0) | (pct > 100)
    if bad.any():
        line = int(bad.idxmax())
        raise InputFormatError(path, f"expected a percentage, got {frame.at[line, 'pct_exprimes']!r}", line=line,
                               column="pct_exprimes")
    frame["pct_exprimes"] = pct
    # A nuance is named by its code (the label the politics reference knows).
    nuance = (frame["level"] == "nuance") & (frame["nuance_code"] != "")
    frame["label"] = frame["label"].where(~nuance, frame["nuance_code"])
    frame["line"] = frame.index
    dup = frame.duplicated(["election_id", "level", "label"])
    if dup.any():
        line = int(frame.index[dup.argmax()])
        raise InputFormatError(path, "row repeated for the same election, level and label", line=line,
                               column="label")
    return frame[["election_id", "level", "label", "votes", "pct_exprimes", "note", "line"]].reset_index(drop=True)
