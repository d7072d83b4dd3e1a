"""Politics reference: every label (nuance, list, candidate) of an election -> bloc.

The mapping is project data (``data/reference/nuances.csv``), reviewed and
versioned; a label the reference does not know stops the load.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from electio.errors import InputFormatError, UnmappedLabelError
from electio.settings import project_file

BLOCS = ["extreme_gauche", "gauche", "centre", "droite", "extreme_droite", "divers"]
NUANCE_COLUMNS = ["election_id", "label", "label_kind", "display_name", "bloc", "rationale"]


def load_blocs(path: Path | None = None) -> pd.DataFrame:
    path = path or project_file("data/reference/blocs.csv")
    blocs = pd.read_csv(path, dtype=str, keep_default_na=False)
    if sorted(blocs["bloc_code"]) != sorted(BLOCS):
        raise InputFormatError(path, f"expected exactly the blocs {BLOCS}", column="bloc_code")
    blocs["sort_order"] = blocs["sort_order"].astype(int)
    return blocs.sort_values("sort_order").reset_index(drop=True)


def load_nuances(path: Path | None = None) -> pd.DataFrame:
    """The reference table, validated: known blocs, no duplicate label, rationale given."""
    path = path or project_file("data/reference/nuances.csv")
    ref = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in NUANCE_COLUMNS if c not in ref.columns]
    if missing:
        raise InputFormatError(path, f"missing column(s) {missing}", line=1, column=missing[0])
    ref.index = range(2, len(ref) + 2)
    for column, ok in (("bloc", ref["bloc"].isin(BLOCS)), ("rationale", ref["rationale"].str.strip() != ""),
                       ("label", ref["label"] != "")):
        if not ok.all():
            line = int(ok.idxmin())
            raise InputFormatError(path, f"invalid value {ref.at[line, column]!r} (blocs: {BLOCS})",
                                   line=line, column=column)
    dup = ref.duplicated(["election_id", "label"])
    if dup.any():
        raise InputFormatError(path, "duplicate (election_id, label)", line=int(dup.idxmax()), column="label")
    return ref


def label_key(name: str) -> str:
    """Labels compared across files ('LePen' ~ 'LE PEN', 'Dupont.Aignan' ~ 'DUPONT-AIGNAN')."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.upper() if ch.isalnum())


def assign_blocs(results: pd.DataFrame, nuances: pd.DataFrame, election_id: str, *,
                 by_key: bool = False) -> pd.DataFrame:
    """Add a ``bloc`` column to label-level results; fail on any unknown label.

    ``by_key`` matches labels spelled differently by another file of the same
    election (case, accents, punctuation: :func:`label_key`); a key shared by labels
    of different blocs is refused rather than guessed.
    """
    ref = nuances[nuances["election_id"] == election_id].set_index("label")["bloc"]
    if by_key:
        keyed = ref.groupby(ref.index.map(label_key)).agg(lambda b: b.iloc[0] if b.nunique() == 1 else None)
        blocs = results["label"].map(label_key).map(keyed.dropna())
    else:
        blocs = results["label"].map(ref)
    if blocs.isna().any():
        unknown = sorted(results.loc[blocs.isna(), "label"].unique())
        raise UnmappedLabelError(
            f"election {election_id}: label(s) {unknown} have no bloc in data/reference/nuances.csv; "
            "add a row (election_id, label, label_kind, display_name, bloc, rationale) and review it")
    return results.assign(bloc=blocs)
