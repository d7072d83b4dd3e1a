"""Scenario forecasts: 1, 2 and 3-year scenarios per commune, with intervals and probabilities.

- :mod:`electio.forecast.scenarios` defines the scenarios (``dim_scenario``) and validates
  the analyst's custom file of département shares;
- :mod:`electio.forecast.projection` projects the indicators the model uses to the
  scenario date (in memory only, never into ``fact_indicator``);
- :mod:`electio.forecast.simulate` draws the département swing and the commune errors
  together and summarises the draws (``fact_forecast``, ``fact_forecast_departement``);
- :mod:`electio.forecast.figures` draws the time curves, heatmaps and probability diagrams;
- :mod:`electio.forecast.run` is the entry point (``forecast_tables`` for the refresh,
  ``run_forecast`` / ``main`` for ``electio forecast``).

Method: docs/scenarios.md. Importing this package has no side effect.
"""
