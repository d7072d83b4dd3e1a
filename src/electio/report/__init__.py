"""The client deliverables generated from the warehouse: report, diagrams.

- :mod:`electio.report.build`: ``build_report(settings)`` writes ``reports/rapport.html``
  (self-contained, French, printable) and ``reports/rapport_sources.json`` (where every
  printed value comes from); ``main(argv)`` is the ``electio report`` command;
- :mod:`electio.report.datasets`: the report's tables, computed from the warehouse,
  each cell with the SQL that recomputes it (also used by the notebooks);
- :mod:`electio.report.diagram`: conceptual data model (MCD), star-schema and data-flow
  diagrams generated from ``sql/schema.sql``, drawn in pure Python (``docs/*.svg|png``);
- :mod:`electio.report.slides`: the presentation ``reports/soutenance.pptx``;
- :mod:`electio.report.national`: France-wide bloc totals for the representativeness
  of the perimeter;
- :mod:`electio.report.figures`: captions and embedding of the pipeline's figures;
- :mod:`electio.report.registry`: traceability of every printed value.

Importing this package has no side effect beyond importing the report builder.
"""

from __future__ import annotations

from electio.report.build import build_report, main

__all__ = ["build_report", "main"]
