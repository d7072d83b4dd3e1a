"""Parsers of election result files, one module per published format.

Each parser returns a :class:`StagedElection` in the file's own commune geography:
turnout per source commune code, votes per label (candidate, list or nuance), and
polling-station turnout when the file has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TURNOUT_COLUMNS = ["source_code", "source_name", "registered", "voters", "blank",
                   "null_ballots", "blank_and_null", "expressed"]
RESULT_COLUMNS = ["source_code", "label", "votes"]
BUREAU_COLUMNS = ["source_code", "bureau_code", "registered", "voters", "expressed"]


@dataclass
class Rejection:
    """A row of a source file that was read but not loaded, and why."""

    file_name: str
    line: int
    reason: str


@dataclass
class StagedElection:
    """One election as a source file states it, before harmonisation."""

    turnout: pd.DataFrame
    results: pd.DataFrame
    rows_read: int
    bureaux: pd.DataFrame | None = None
    rejected: list[Rejection] = field(default_factory=list)
    #: Rows of the file within the perimeter (default: one per source commune).
    rows_kept: int | None = None

    def __post_init__(self) -> None:
        self.turnout = self.turnout[TURNOUT_COLUMNS].reset_index(drop=True)
        self.results = self.results[RESULT_COLUMNS].reset_index(drop=True)
        if self.bureaux is not None:
            self.bureaux = self.bureaux[BUREAU_COLUMNS].reset_index(drop=True)
        if self.rows_kept is None:
            self.rows_kept = len(self.turnout)


def given(frame: pd.DataFrame, **columns: str | None) -> pd.DataFrame:
    """Turnout columns as the file gives them: a column the file lacks is NA.

    Nothing is derived here (no nuls = votants - blancs - exprimés): the quality
    checks must see which identities the source itself states, and the
    derivation happens once, in :func:`electio.transform.elections.complete_turnout`.
    """
    out = frame.copy()
    for target, source in columns.items():
        out[target] = out[source] if source else pd.NA
        out[target] = out[target].astype("Int64")
    return out
