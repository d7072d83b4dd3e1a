"""France-wide bloc totals, to judge how representative the perimeter is.

The warehouse holds the perimeter only. National results exist in the mirror for the
elections of the aktiur files (2014-2019): one row per département, one column per
label. The elections and files are those declared as ``aktiur_departement`` checks in
``electio/sources/elections.toml``; labels are mapped to blocs with the same reviewed
reference as the warehouse (``data/reference/nuances.csv``), so the national shares
are comparable with the perimeter's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from electio.errors import ElectioError
from electio.settings import Settings
from electio.sources.readers import read_table, to_counts
from electio.sources.resolve import resolve_source
from electio.transform.elections import load_election_specs
from electio.transform.politics import assign_blocs, load_nuances

log = logging.getLogger("electio.report")

NATIONAL_CHECK_KIND = "aktiur_departement"
_TURNOUT = ("inscrits", "votants", "blancs", "nuls", "exprimes", "abstentions")


@dataclass(frozen=True)
class NationalFile:
    election_id: str
    source_id: str
    file_name: str


def national_files() -> list[NationalFile]:
    """Elections with a France-wide département file, in elections.toml order."""
    files = []
    for spec in load_election_specs():
        for check in spec.checks:
            if check.get("kind") == NATIONAL_CHECK_KIND:
                files.append(NationalFile(spec.id, check["source"], check["file"]))
                break
    return files


def france_totals(path, election_id: str, nuances: pd.DataFrame | None = None) -> dict:
    """Registered, voters, expressed and votes per bloc summed over every row of the file.

    Every row counts: metropolitan and overseas départements and French citizens abroad,
    i.e. the whole electorate of the election.
    """
    frame = read_table(path, sep=",", required=["departement", "inscrits", "votants", "exprimes"])
    labels = [c for c in frame.columns if c != "departement" and c not in _TURNOUT]
    frame = to_counts(frame, ["inscrits", "votants", "exprimes"] + labels, path)
    votes = pd.DataFrame({"label": labels, "votes": [int(frame[c].sum()) for c in labels]})
    nuances = load_nuances() if nuances is None else nuances
    by_bloc = assign_blocs(votes, nuances, election_id).groupby("bloc")["votes"].sum()
    return {"registered": int(frame["inscrits"].sum()), "voters": int(frame["votants"].sum()),
            "expressed": int(frame["exprimes"].sum()), "bloc_votes": {k: int(v) for k, v in by_bloc.items()}}


def france_bloc_table(settings: Settings, election_ids: set[str] | None = None) -> dict[str, dict]:
    """France totals per election for the elections with a national file.

    A file that cannot be resolved or read is skipped with a warning (the report says
    which comparison is missing); it never stops the report.
    """
    out: dict[str, dict] = {}
    nuances = load_nuances()
    for nf in national_files():
        if election_ids is not None and nf.election_id not in election_ids:
            continue
        try:
            path = resolve_source(nf.source_id, nf.file_name, settings=settings).path
            totals = france_totals(path, nf.election_id, nuances)
        except (ElectioError, OSError, ValueError) as exc:
            log.warning("national totals of %s unavailable: %s", nf.election_id, exc)
            continue
        totals["source_id"], totals["file_name"] = nf.source_id, nf.file_name
        out[nf.election_id] = totals
    return out


def pearson(x, y) -> float:
    """Plain Pearson correlation of two equal-length sequences (NaN if undefined)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])
