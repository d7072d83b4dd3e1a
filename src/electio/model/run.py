"""Where the model stages put their files: the saved model under <data>/models, the backtest
figure under the reports folder. (``electio backtest`` / ``electio train`` run the stages of
:mod:`electio.stages` alone.)"""

from __future__ import annotations

from pathlib import Path

from electio.settings import Settings, beside_warehouse

FIGURE = Path("figures") / "backtest_mae.png"


def models_dir(settings: Settings) -> Path:
    """Where the trained model is saved: a model belongs to the warehouse it was trained on (a
    forecast run alone loads it), so that two warehouses never share one model file.

    - the default SQLite warehouse (``<data>/electio.sqlite``): ``<data>/models``;
    - another SQLite file: beside it, ``<file stem>-models``;
    - a server warehouse: ``<data>/models/<its outputs folder name>`` (perimeter, host, database).
    """
    beside = beside_warehouse(settings, "models")
    if beside is not None:
        return beside
    if settings.db_url.startswith("sqlite:///"):
        return Path(settings.data_dir) / "models"
    return Path(settings.data_dir) / "models" / Path(settings.outputs_dir).name


def figure_path(settings: Settings) -> Path:
    return Path(settings.reports_dir) / FIGURE
