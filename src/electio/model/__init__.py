"""Commune-level electoral model: panel, baselines, estimators, rolling-origin backtest.

Reads warehouse tables only (a ``dict[str, DataFrame]`` as :func:`electio.export.read_tables`
returns them) and produces ``dim_model``, ``fact_backtest`` and ``fact_model_metric``.
See ``docs/model.md`` for the method and the definition of accuracy.
"""

from electio.model.panel import Panel, build_panel, assert_no_leakage  # noqa: F401
