"""Final model: the chosen model retrained on every first round, saved for the scenario issue.

:func:`train_final` fits the model chosen by the backtest's rule (``dim_model.is_chosen``) on
all first rounds that have an earlier election, calibrates its intervals on its out-of-fold
residuals, and :func:`save_model` writes ``data/models/electio_model.joblib`` plus
``electio_model.json`` (features, training window, library versions, selection rule, backtest
metrics). :func:`load_model` and :func:`predict_election` are what the scenario code calls to
predict a future election from département shares and an indicator cut-off date.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from electio import __version__
from electio.errors import ElectioError
from electio.model.backtest import model_catalog, training_elections
from electio.model.intervals import IntervalCalibrator
from electio.model.panel import (
    DEPARTEMENT_FORECAST_RULE,
    assert_no_leakage,
    build_panel,
    departement_forecast,
    first_rounds,
)
from electio.model.selection import SELECTION_RULE, selection_scores

MODEL_FILE = "electio_model.joblib"
METADATA_FILE = "electio_model.json"
FORMAT_VERSION = 1


@dataclass
class TrainedModel:
    model: object
    calibrator: IntervalCalibrator
    metadata: dict = field(default_factory=dict)


def library_versions() -> dict[str, str]:
    import joblib
    import lightgbm
    import scipy
    import sklearn


    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__, "scipy": scipy.__version__,
            "joblib": joblib.__version__, "electio": __version__}


def chosen_model_id(tables: dict[str, pd.DataFrame]) -> str:
    dim = tables.get("dim_model")
    if dim is None or dim.empty or not (dim["is_chosen"] == 1).any():
        raise ElectioError("no chosen model in dim_model: run the backtest first (electio backtest)")
    return str(dim.loc[dim["is_chosen"] == 1, "model_id"].iloc[0])


def _metrics_metadata(fact_model_metric: pd.DataFrame | None, model_id: str) -> dict:
    if fact_model_metric is None or fact_model_metric.empty:
        return {}
    m = fact_model_metric[fact_model_metric["model_id"] == model_id]
    out: dict = {}
    for r in m.itertuples(index=False):
        value = None if pd.isna(r.value) else round(float(r.value), 4)
        out.setdefault(r.mode, {}).setdefault(r.election_id, {})[r.metric] = value
    return out


def train_final(tables: dict[str, pd.DataFrame], model_id: str | None = None) -> TrainedModel:
    """Fit ``model_id`` (default: the chosen one in dim_model) on every usable first round."""
    from threadpoolctl import threadpool_limits

    model_id = model_id or chosen_model_id(tables)
    catalog = model_catalog()
    if model_id not in catalog:
        raise ElectioError(f"unknown model {model_id!r} (known: {', '.join(catalog)})")
    panel = build_panel(tables)
    assert_no_leakage(panel)
    train_ids = training_elections(panel, pd.Timestamp.max)
    if not train_ids:
        raise ElectioError("no first round with an earlier election to train on")
    ptr = panel.for_elections(train_ids)
    with threadpool_limits(limits=1):
        model = catalog[model_id].for_tables(tables).fit(ptr)
        calibrator = IntervalCalibrator().fit(ptr, model.oof_predict(ptr))
    dates = ptr.rows.groupby("election_id")["election_date"].first().sort_values()
    fmm = tables.get("fact_model_metric")
    scores = selection_scores(fmm) if fmm is not None and not fmm.empty else pd.Series(dtype=float)
    metadata = {
        "format_version": FORMAT_VERSION,
        "model_id": model_id,
        "label_fr": model.label_fr,
        "description": model.description,
        "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "training_elections": list(dates.index),
        "training_window": {"first": str(dates.iloc[0].date()), "last": str(dates.iloc[-1].date())},
        "n_training_rows": len(ptr),
        "targets": ptr.targets,
        "features": getattr(model, "feature_names_", sorted(ptr.X.columns)),
        "indicator_transforms": panel.transforms,
        "hyper_parameters": model.params(),
        "departement_sensitive": model.departement_sensitive,
        "interval_level": calibrator.level,
        "selection_rule": SELECTION_RULE,
        "selection_scores": {k: round(float(v), 4) for k, v in scores.items()},
        "backtest_metrics": _metrics_metadata(fmm, model_id),
        "departement_forecast_rule": DEPARTEMENT_FORECAST_RULE,
        "library_versions": library_versions(),
    }
    return TrainedModel(model=model, calibrator=calibrator, metadata=metadata)


def save_model(trained: TrainedModel, models_dir: Path) -> tuple[Path, Path]:
    """Write the joblib bundle and its JSON metadata (replacing earlier files atomically)."""
    import joblib

    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    bundle, meta = models_dir / MODEL_FILE, models_dir / METADATA_FILE
    tmp_bundle, tmp_meta = bundle.with_suffix(".joblib.tmp"), meta.with_suffix(".json.tmp")
    joblib.dump({"model": trained.model, "calibrator": trained.calibrator, "metadata": trained.metadata},
                tmp_bundle)
    tmp_meta.write_text(json.dumps(trained.metadata, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp_bundle.replace(bundle)
    tmp_meta.replace(meta)
    return bundle, meta


def load_model(path: Path) -> TrainedModel:
    """Load a bundle written by :func:`save_model` (``path``: the folder or the .joblib file)."""
    import joblib

    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise ElectioError(f"no trained model at {path}: run `electio train` first")
    data = joblib.load(path)
    return TrainedModel(model=data["model"], calibrator=data["calibrator"], metadata=data["metadata"])


def predict_election(trained: TrainedModel, tables: dict[str, pd.DataFrame], *, election_type: str,
                     election_date, departement_shares: Mapping[str, float] | None = None,
                     indicator_cutoff=None, election_id: str = "future",
                     departement_uncertainty: bool = False) -> pd.DataFrame:
    """Commune predictions for an election that has not happened.

    ``departement_shares``: target -> percent (the 6 blocs, optionally 'turnout'); missing
    targets take the unconditional département forecast (same rule as the backtest). Features
    use first rounds before ``election_date`` and indicators published before
    ``indicator_cutoff`` (default: the election date). Intervals (80 %) are the commune
    term only, as for given totals, unless ``departement_uncertainty`` adds the
    département forecast error term of the training elections.
    Returns commune_code, target, predicted, interval_low, interval_high.
    """
    target = pd.DataFrame([{"election_id": election_id, "election_type": election_type,
                            "election_date": pd.Timestamp(election_date)}])
    panel = build_panel(tables, targets=target, indicator_cutoff=indicator_cutoff)
    assert_no_leakage(panel)
    history = first_rounds(tables)
    forecast, _, _ = departement_forecast(panel.dept, history, election_type, election_date)
    given = dict(departement_shares or {})
    unknown = set(given) - set(panel.targets)
    if unknown:
        raise ElectioError(f"unknown targets in departement_shares: {sorted(unknown)} (known: {panel.targets})")
    values = {t: float(given.get(t, forecast.get(t, np.nan))) for t in panel.targets}
    blocs_given = [b for b in panel.blocs if b in given]
    if blocs_given and abs(sum(values[b] for b in panel.blocs) - 100.0) > 0.5:
        raise ElectioError("département bloc shares must sum to 100 (percent of expressed votes)")
    D = pd.DataFrame([values] * len(panel), columns=panel.targets)
    mode = "unconditional" if departement_uncertainty else "conditional"
    pred = trained.model.predict(panel, D)
    low, high = trained.calibrator.intervals(panel, pred, mode=mode,
                                             departement_sensitive=trained.model.departement_sensitive)
    frames = [pd.DataFrame({"commune_code": panel.rows["commune_code"].to_numpy(), "target": t,
                            "predicted": pred[t].to_numpy(float), "interval_low": low[t].to_numpy(float),
                            "interval_high": high[t].to_numpy(float)}) for t in panel.targets]
    return pd.concat(frames, ignore_index=True)

