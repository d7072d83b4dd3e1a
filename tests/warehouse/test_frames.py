"""Text values stored once in memory: same values, dtypes and digests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.cache import frame_digest
from electio.warehouse.frames import share_strings


def test_equal_text_values_become_one_object_and_nothing_else_changes():
    n = 3000
    codes = [f"{69000 + i % 30:05d}" for i in range(n)]  # a new string object per row, as a parser gives
    frame = pd.DataFrame({"commune_code": pd.array(codes, dtype="str"),
                          "label": pd.Series([None if i % 7 == 0 else f"liste {i % 3}" for i in range(n)], dtype=object),
                          "unique": pd.array([f"row {i}" for i in range(n)], dtype="str"),
                          "votes": np.arange(n)})
    shared = share_strings(frame)
    pd.testing.assert_frame_equal(shared, frame)
    assert (shared.dtypes == frame.dtypes).all() and frame_digest(shared) == frame_digest(frame)
    assert len({id(v) for v in frame["commune_code"].to_numpy()}) == n
    assert len({id(v) for v in shared["commune_code"].to_numpy()}) == 30
    assert shared["label"].isna().sum() == frame["label"].isna().sum()
    assert len({id(v) for v in shared["unique"].to_numpy()}) == n  # mostly distinct: left as it was


def test_small_frames_are_returned_as_they_are():
    frame = pd.DataFrame({"a": ["x", "x"]})
    assert share_strings(frame) is frame
