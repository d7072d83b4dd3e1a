"""The in-memory form of warehouse tables: every text value stored once.

A parser or a database driver gives each row its own string object: a million context rows
whose ``commune_code`` takes 35,000 values hold a million strings (~50 bytes each) where
35,000 would do. :func:`share_strings` makes equal values one object: the same values, dtype
and digest, a fraction of the memory (fact_context_result: ~190 MB less), which the pickled
stage cache keeps (pickle stores a shared object once).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _is_text(col: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)


def share_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column's equal values as one object (values and dtypes unchanged)."""
    out = frame
    for name in frame.columns:
        col = frame[name]
        if not _is_text(col) or len(col) < 1000:
            continue
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        if len(uniques) > len(col) // 2:  # mostly distinct values: nothing to share
            continue
        values = np.empty(len(col), dtype=object)
        present = codes >= 0
        values[~present] = col.to_numpy(dtype=object)[~present]  # missing values as they were
        values[present] = np.asarray(uniques, dtype=object)[codes[present]]
        if out is frame:
            out = frame.copy(deep=False)
        out[name] = pd.Series(values, index=col.index, dtype=col.dtype, name=name)
    return out


def share_strings_all(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {n: share_strings(f) if isinstance(f, pd.DataFrame) else f for n, f in tables.items()}
