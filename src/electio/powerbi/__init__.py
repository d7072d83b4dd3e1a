"""Power BI templates generated from the readable definition in powerbi/definition/.

``build_templates(out_dir)`` writes ``Electio.pbit`` (warehouse) and ``Electio-csv.pbit``
(CSV extracts); ``main`` is the ``electio powerbi`` command (build, check).
"""

from electio.powerbi.build import build_templates, main

__all__ = ["build_templates", "main"]
