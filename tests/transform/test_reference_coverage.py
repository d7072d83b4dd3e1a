"""data/reference/nuances.csv covers exactly the labels of the mirror's election files."""

from __future__ import annotations

import subprocess
import sys

from electio.settings import PROJECT_ROOT


def test_reference_matches_mirror_labels(mirror):
    script = PROJECT_ROOT / "data" / "reference" / "list_labels.py"
    result = subprocess.run([sys.executable, str(script), str(mirror), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
