"""Where the model stages put their files: the saved model under <data>/models, the backtest
figure under the reports folder. (``electio backtest`` / ``electio train`` run the stages of
:mod:`electio.stages` alone.)"""

from __future__ import annotations

from pathlib import Path

from electio.settings import Settings

FIGURE = Path("figures") / "backtest_mae.png"


def models_dir(settings: Settings) -> Path:
    """Where the trained model is saved: <data>/models (git-ignored)."""
    return Path(settings.data_dir) / "models"


def figure_path(settings: Settings) -> Path:
    return Path(settings.reports_dir) / FIGURE
