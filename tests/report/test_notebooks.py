"""The three client notebooks run top to bottom against a warehouse built from the mirror."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from electio.settings import PROJECT_ROOT

NOTEBOOKS = ["01_exploration.ipynb", "02_modelisation.ipynb", "03_scenarios.ipynb"]
#: What each notebook must print, on a warehouse without (bare) or with (enriched) the later stages.
EXPECTED = {
    ("01_exploration.ipynb", "bare"): "Les corrélations n'ont pas encore été calculées",
    ("02_modelisation.ipynb", "bare"): "Les backtests n'ont pas encore été calculés",
    ("03_scenarios.ipynb", "bare"): "Les scénarios n'ont pas encore été calculés",
    ("01_exploration.ipynb", "enriched"): "La relation la plus forte",
    ("02_modelisation.ipynb", "enriched"): "lightgbm",
    ("03_scenarios.ipynb", "enriched"): "pres_status_quo_h3",
}


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(str(out.data.get("text/plain", "")) + str(out.data.get("text/html", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_carry_no_outputs(name):
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.parametrize("state", ["bare", "enriched"])
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, state, request, monkeypatch, tmp_path):
    settings = request.getfixturevalue(state)
    monkeypatch.setenv("ELECTIO_DB_URL", settings.db_url)
    monkeypatch.setenv("ELECTIO_MIRROR", str(settings.mirror))
    monkeypatch.setenv("ELECTIO_REPORTS", str(settings.reports_dir))
    monkeypatch.setenv("ELECTIO_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = _text(nb)
    assert "Traceback" not in text
    assert str(settings.data_dir) in text  # it read the warehouse it was given, not the default one
    assert EXPECTED[(name, state)] in text
