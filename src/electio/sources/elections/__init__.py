"""Parsers of election result files, one module per published format.

Each parser returns a :class:`StagedElection` in the file's own commune geography:
turnout per source commune code, votes per label (candidate, list or nuance), and
polling-station turnout when the file has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from electio.sources.readers import NON_COMMUNE_UNITS, insee_departement

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
    #: Some votes were rebuilt from rounded percentages (European 2024 site): their
    #: sum may differ from exprimés by rounding, which the checks bound instead of
    #: requiring equality.
    votes_rebuilt: bool = False

    def __post_init__(self) -> None:
        self.turnout = self.turnout[TURNOUT_COLUMNS].reset_index(drop=True)
        self.results = self.results[RESULT_COLUMNS].reset_index(drop=True)
        if self.bureaux is not None:
            self.bureaux = self.bureaux[BUREAU_COLUMNS].reset_index(drop=True)
        if self.rows_kept is None:
            self.rows_kept = len(self.turnout)

    def restricted(self, departements) -> "StagedElection":
        """The same election limited to some départements (a France-wide file parsed once)."""
        keep_t = in_perimeter(self.turnout["source_code"], departements)
        keep_r = in_perimeter(self.results["source_code"], departements)
        return StagedElection(turnout=self.turnout[keep_t], results=self.results[keep_r], rows_read=self.rows_read,
                              rejected=list(self.rejected), votes_rebuilt=self.votes_rebuilt)


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


def in_perimeter(codes: pd.Series, departements) -> pd.Series:
    """Rows whose INSEE commune code lies in the perimeter ("*" = everything in the file)."""
    if departements == "*":
        return pd.Series(True, index=codes.index)
    wanted = {departements} if isinstance(departements, str) else set(departements)
    return insee_departement(codes).isin(wanted)


def reject_non_communes(frame: pd.DataFrame, code_column: str, file_name: str) -> tuple[pd.DataFrame,
                                                                                     list[Rejection]]:
    """Drop, with a reason per line, the rows that are not INSEE communes.

    French citizens abroad (Ministry département ZZ, 99 in 2014) and units the COG
    splits differently (Wallis-et-Futuna) have results but no commune: they are
    rejected and counted, never dropped silently nor forced onto a commune.
    """
    codes = frame[code_column]
    abroad = codes.str.startswith("ZZ")
    unit = codes.isin(list(NON_COMMUNE_UNITS))
    rejected = [Rejection(file_name, int(line), "French citizens abroad (Ministry département ZZ/99): "
                          f"not a commune ({code})") for line, code in codes[abroad].items()]
    rejected += [Rejection(file_name, int(line), f"{code}: {NON_COMMUNE_UNITS[code]}")
                 for line, code in codes[unit].items()]
    return frame[~(abroad | unit)], rejected
