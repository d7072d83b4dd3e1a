"""Politics reference: every label maps to a bloc, or the load stops."""

from __future__ import annotations

import pandas as pd
import pytest

from electio.errors import InputFormatError, UnmappedLabelError
from electio.transform.politics import BLOCS, assign_blocs, load_blocs, load_nuances

REF = pd.DataFrame({"election_id": ["e1", "e1"], "label": ["MACRON", "LE PEN"], "label_kind": ["candidate"] * 2,
                    "display_name": ["M", "L"], "bloc": ["centre", "extreme_droite"], "rationale": ["x", "y"]})


def test_assign_blocs():
    out = assign_blocs(pd.DataFrame({"label": ["LE PEN", "MACRON"], "votes": [1, 2]}), REF, "e1")
    assert out["bloc"].tolist() == ["extreme_droite", "centre"]


def test_unmapped_label_names_label_and_election():
    with pytest.raises(UnmappedLabelError, match=r"election e1: label\(s\) \['ZEMMOUR'\]"):
        assign_blocs(pd.DataFrame({"label": ["MACRON", "ZEMMOUR"], "votes": [1, 2]}), REF, "e1")


def test_label_of_another_election_does_not_count():
    with pytest.raises(UnmappedLabelError, match="election e2"):
        assign_blocs(pd.DataFrame({"label": ["MACRON"], "votes": [1]}), REF, "e2")


def test_reference_file_validation(tmp_path):
    bad = tmp_path / "nuances.csv"
    REF.assign(bloc=["centre", "far_right"]).to_csv(bad, index=False)
    with pytest.raises(InputFormatError, match=r"nuances.csv, line 3, column 'bloc'"):
        load_nuances(bad)


def test_project_reference_is_valid():
    ref = load_nuances()
    assert set(ref["bloc"]) <= set(BLOCS)
    assert load_blocs()["bloc_code"].tolist() == BLOCS
