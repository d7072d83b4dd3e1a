"""France-wide bloc shares, to judge how representative the perimeter is.

Read from the warehouse (``fact_national_result``, ``fact_national_turnout``, built
by the pipeline for every election with national data, whatever the perimeter):
the report never parses source files. An election whose national shares do not
cover every bloc (partial official figures, e.g. legislative 2024 published as
percentages of the main nuances only) is left out of the comparison, with a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.transform.elections import load_election_specs

log = logging.getLogger("electio.report")

#: Bloc shares summing to 100 within this many points are a complete national result.
COMPLETE_TOLERANCE = 0.01


@dataclass(frozen=True)
class NationalFile:
    election_id: str
    source_id: str
    file_name: str


def national_files() -> list[NationalFile]:
    """Elections with a declared France-wide file (elections.toml ``national``), in order."""
    return [NationalFile(spec.id, spec.national[0]["source"], spec.national[0]["file"])
            for spec in load_election_specs() if spec.national]


def _float(value) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)


def france_bloc_table(tables: dict[str, pd.DataFrame], election_ids: set[str] | None = None) -> dict[str, dict]:
    """France totals per election: registered, voters, expressed (NaN if not published),
    bloc_share (percent of expressed, every bloc), source_id and file_name (lineage)."""
    result, turnout = tables.get("fact_national_result"), tables.get("fact_national_turnout")
    if result is None or result.empty:
        return {}
    turnout = turnout.set_index("election_id") if turnout is not None else pd.DataFrame()
    files = {}
    meta = tables.get("meta_source")
    if meta is not None and not meta.empty:
        for r in meta.itertuples():
            if r.purpose.startswith("national "):
                files[(r.purpose.split(" ", 1)[1], r.source_id)] = r.file_name
            elif r.purpose == "official national totals":
                files[("*", r.source_id)] = r.file_name
    out: dict[str, dict] = {}
    for eid, group in result.groupby("election_id", sort=False):
        if election_ids is not None and eid not in election_ids:
            continue
        shares = dict(zip(group["bloc_code"], group["share_expressed"].astype(float)))
        if abs(sum(shares.values()) - 100) > COMPLETE_TOLERANCE:
            log.info("national shares of %s cover %.2f %% of expressed votes (partial): left out of the "
                     "representativeness comparison", eid, sum(shares.values()))
            continue
        sid = group["source_id"].iloc[0]
        t = turnout.loc[eid] if eid in turnout.index else {}
        out[eid] = {"registered": _float(t.get("registered")), "voters": _float(t.get("voters")),
                    "expressed": _float(t.get("expressed")), "bloc_share": shares, "source_id": sid,
                    "file_name": files.get((eid, sid), files.get(("*", sid), ""))}
    return out


def pearson(x, y) -> float:
    """Plain Pearson correlation of two equal-length sequences (NaN if undefined)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
