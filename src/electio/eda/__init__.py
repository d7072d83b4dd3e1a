"""Exploratory analysis: which socio-economic indicators go with which vote, commune by commune.

- :mod:`electio.eda.correlation` computes ``fact_correlation`` (weighted Pearson and
  Spearman, bootstrap interval, p-value) from the warehouse tables;
- :mod:`electio.eda.answer` turns it into a machine-readable answer to "which
  indicator is most correlated with election results?";
- :mod:`electio.eda.figures` draws the maps, histograms, heatmaps and scatter plots;
- :mod:`electio.eda.run` orchestrates: read the warehouse, write ``fact_correlation``
  back, write figures and ``eda_answer.json`` (``python -m electio.eda.run``).

Importing this package has no side effect (no backend switch, no file access).
"""
