"""Freed memory given back to the system between long steps.

glibc keeps what Python and numpy free in its heaps (one per thread that allocated: the
backtest and the forecast run two) for reuse, so the resident size of a refresh only grows:
building the all-France context panel (~450 MB of temporaries) would leave every later stage
starting ~250 MB higher. ``malloc_trim`` hands the free pages back. Elsewhere (macOS, Windows,
musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

try:
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _TRIM = getattr(_LIBC, "malloc_trim", None)
except OSError:
    _TRIM = None


def release_memory() -> None:
    """Collect garbage, then return free heap pages to the system (glibc only)."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
