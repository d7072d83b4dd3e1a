"""The three client notebooks run top to bottom and show what they announce, in French, without warnings."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

from electio.settings import PROJECT_ROOT

NOTEBOOKS = ["01_exploration.ipynb", "02_modelisation.ipynb", "03_scenarios.ipynb"]
#: What each notebook must print, on a warehouse without (bare) or with (enriched) the later stages.
EXPECTED = {
    ("01_exploration.ipynb", "bare"): ["Les corrélations n'ont pas encore été calculées", "Métropole de Lyon",
                                       "Participation (%)"],
    ("02_modelisation.ipynb", "bare"): ["Les tests rétrospectifs n'ont pas encore été calculés"],
    ("03_scenarios.ipynb", "bare"): ["Les scénarios n'ont pas encore été calculés",
                                     "Figures des scénarios (courbes, cartes de chaleur, probabilités) : pas encore "
                                     "produites"],
    ("01_exploration.ipynb", "enriched"): ["La relation la plus forte", "r moyen", "Carte de chaleur des corrélations : 1 "
                                           "figure(s)"],
    ("02_modelisation.ipynb", "enriched"): ["LightGBM sur l'écart au département", "MAE pondérée par les voix (points)",
                                            "Mode conditionnel", "Réduction de l'erreur (%)"],
    ("03_scenarios.ipynb", "enriched"): ["Présidentielle, statu quo, 1 an(s)", "Probabilité d'arriver en tête (%)",
                                         "Figures des scénarios (courbes, cartes de chaleur, probabilités) : 1 figure(s)"],
}
#: Pictures (charts drawn or figures shown) each notebook must display on the enriched warehouse.
IMAGES = {"01_exploration.ipynb": 3, "02_modelisation.ipynb": 2, "03_scenarios.ipynb": 2}
#: Internal codes a client must not read in the outputs (English column names, bloc codes, model ids).
CODES = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\bbacktests?\b|\bswings?\b|\bforecasts?\b")


def _outputs(nb) -> tuple[str, list[str], int]:
    """Visible text, stderr texts and number of images of an executed notebook."""
    parts, errors, images = [], [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                (errors if out.name == "stderr" else parts).append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(str(out.data.get("text/plain", "")))
                images += "image/png" in out.data
            elif out.output_type == "error":
                errors.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts), errors, images


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_carry_no_outputs(name):
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.parametrize("state", ["bare", "enriched"])
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_shows_what_it_announces(name, state, request, monkeypatch, tmp_path):
    settings = request.getfixturevalue(state)
    monkeypatch.setenv("ELECTIO_DB_URL", settings.db_url)
    monkeypatch.setenv("ELECTIO_MIRROR", str(settings.mirror))
    monkeypatch.setenv("ELECTIO_REPORTS", str(settings.reports_dir))
    monkeypatch.setenv("ELECTIO_OFFLINE", "1")
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text, errors, images = _outputs(nb)
    assert errors == []  # no traceback, no warning printed on stderr
    assert not re.search(r"warning|avertissement|traceback", text, re.I)
    assert str(settings.data_dir) in text  # it read the warehouse it was given, not the default one
    for expected in EXPECTED[(name, state)]:
        assert expected in text, expected
    client = "\n".join(line for line in text.splitlines() if not line.startswith("Entrepôt lu"))
    assert sorted(set(CODES.findall(client))) == []
    if state == "enriched":
        assert images >= IMAGES[name]
