"""Synthetic rows for the model and scenario tables, on the communes of a real warehouse.

The model and scenario stages fill these tables in production; the report must render
them (and trace every number) before they land, so the tests write plausible rows of
the documented shape: fractions for accuracies and probabilities, points for errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.forecast.scenarios import EXAMPLE_LABEL_FR

TEST_ELECTIONS = ["euro_2019_t1", "pres_2022_t1", "leg_2022_t1", "euro_2024_t1", "leg_2024_t1"]
MODELS = [("persistence_same_type", "baseline", "Persistance (même type d'élection)", 0),
          ("persistence_any_type", "baseline", "Persistance (dernière élection)", 0),
          ("uniform_swing", "baseline", "Swing uniforme", 0),
          ("ridge", "model", "Régression ridge sur l'écart au département", 0),
          ("lightgbm", "model", "LightGBM sur l'écart au département", 1)]


def model_and_scenario_tables(tables: dict[str, pd.DataFrame], seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    blocs = tables["dim_bloc"].sort_values("sort_order")["bloc_code"].tolist()
    communes = tables["dim_commune"]["commune_code"].tolist()
    elections = [e for e in TEST_ELECTIONS if e in set(tables["dim_election"]["election_id"])]
    dim_model = pd.DataFrame([{"model_id": m, "model_kind": k, "label_fr": label,
                               "description": f"Modèle de test « {label} » (données synthétiques).", "is_chosen": c}
                              for m, k, label, c in MODELS])
    metrics, backtest = [], []
    level = {"persistence_same_type": 6.0, "persistence_any_type": 6.5, "uniform_swing": 3.5, "ridge": 2.6,
             "lightgbm": 2.2}
    for model_id, *_ in MODELS:
        for election in elections:
            for mode in ("conditional", "national_conditional", "unconditional"):
                if mode == "national_conditional" and election == elections[-1]:
                    continue  # one test election without national data
                base = level[model_id] * {"conditional": 1.0, "national_conditional": 1.2}.get(mode, 1.6)
                if model_id == "uniform_swing" and election == elections[0]:
                    base = level["lightgbm"] * 0.8  # a simple baseline wins somewhere
                values = {"wmae": base + rng.uniform(-0.3, 0.3), "mae": base + rng.uniform(0, 0.8),
                          "rmse": base * 1.4, "first_bloc_accuracy": rng.uniform(0.6, 0.95),
                          "coverage_80": rng.uniform(0.7, 0.88), "width_80": base * 2.5,
                          "mae_size_lt1k": base * 1.5, "mae_size_1k_5k": base, "mae_size_gt20k": base * 0.7,
                          "turnout_coverage_80": rng.uniform(70, 90), "departement_mae": base / 3}
                for b in blocs:  # per-bloc coverage and interval score
                    values[f"coverage_80__{b}"] = rng.uniform(0.5, 1.0)
                    values[f"interval_score_80__{b}"] = rng.uniform(3, 30)
                values["interval_score_80"] = rng.uniform(5, 20)
                metrics += [{"model_id": model_id, "election_id": election, "mode": mode, "metric": k,
                             "value": float(v)} for k, v in values.items()]
    for election in elections[:2]:  # the all-France evaluation (European elections in production)
        for mode in ("france_conditional", "france_national", "france_unconditional"):
            for model_id in ("persistence_same_type", "uniform_swing", "lightgbm"):
                values = {"wmae": level[model_id] + rng.uniform(0, 1), "first_bloc_accuracy": rng.uniform(0.5, 0.9),
                          "departement_mae": rng.uniform(0.1, 5), "n_communes": 34900.0, "n_departements": 101.0}
                metrics += [{"model_id": model_id, "election_id": election, "mode": mode, "metric": k,
                             "value": float(v)} for k, v in values.items()]
    for election in elections:
        actual = tables["fact_election_result"].query("election_id == @election")
        for mode in ("conditional", "unconditional"):
            for r in actual.head(60).itertuples():
                predicted = max(0.0, r.share_expressed + rng.normal(0, 2))
                backtest.append({"model_id": "lightgbm", "election_id": election, "mode": mode,
                                 "commune_code": r.commune_code, "target": r.bloc_code, "predicted": predicted,
                                 "actual": r.share_expressed, "interval_low": max(0.0, predicted - 3),
                                 "interval_high": predicted + 3})
    scenarios = pd.DataFrame([{"scenario_id": f"pres_status_quo_h{h}", "label_fr": f"Présidentielle, statu quo, {h} an(s)",
                               "reference_year": 2025, "horizon_years": h, "target_year": 2025 + h,
                               "election_type": "presidentielle", "swing": "status_quo",
                               "description": "Parts départementales de la dernière élection, intervalles élargis "
                                              "avec l'horizon."} for h in (1, 2, 3)]
                             + [{"scenario_id": "pres_national_h2",
                                 "label_fr": f"Présidentielle, intentions de vote nationales{EXAMPLE_LABEL_FR}",
                                 "reference_year": 2025, "horizon_years": 2, "target_year": 2027,
                                 "election_type": "presidentielle", "swing": "national",
                                 "description": "Intentions de vote nationales (fichier scenario_national_example.csv)."}])
    horizon = pd.DataFrame([{"rule": "status_quo", "lead_bucket": b, "n_election_pairs": n, "n_departements": d,
                             "mean_lead_years": y, "bloc_rms_log": r, "bloc_mean_signed_log": 0.01,
                             "bloc_mae_points": m, "turnout_mae_points": 5.0, "growth_vs_0_1": g}
                            for b, n, d, y, r, m, g in (("0-1", 3, 2, 0.2, 0.40, 2.0, 1.0),
                                                        ("1-2", 4, 100, 1.9, 0.48, 5.1, 1.2),
                                                        ("3+", 12, 100, 6.4, 0.54, 7.0, 1.35))])
    forecast, departement = [], []
    for s in scenarios.itertuples():
        for c in communes:
            shares = rng.dirichlet(np.ones(len(blocs)) * 3) * 100
            probs = rng.dirichlet(np.ones(len(blocs)))
            for b, share, p in zip(blocs, shares, probs):
                forecast.append({"scenario_id": s.scenario_id, "commune_code": c, "target": b, "predicted": share,
                                 "interval_low": max(0.0, share - 4 * s.horizon_years),
                                 "interval_high": share + 4 * s.horizon_years, "probability_first": float(p)})
            forecast.append({"scenario_id": s.scenario_id, "commune_code": c, "target": "turnout", "predicted": 70.0,
                             "interval_low": 60.0, "interval_high": 80.0, "probability_first": None})
        probs = rng.dirichlet(np.ones(len(blocs)))
        for b, p in zip(blocs, probs):
            share = 100 / len(blocs) + rng.uniform(-5, 5)
            departement.append({"scenario_id": s.scenario_id, "target": b, "predicted": share,
                                "interval_low": share - 2 * s.horizon_years, "interval_high": share + 2 * s.horizon_years,
                                "probability_first": float(p)})
        departement.append({"scenario_id": s.scenario_id, "target": "turnout", "predicted": 72.0,
                            "interval_low": 65.0, "interval_high": 79.0, "probability_first": None})
    return {"dim_model": dim_model, "fact_backtest": pd.DataFrame(backtest), "fact_model_metric": pd.DataFrame(metrics),
            "dim_scenario": scenarios, "fact_forecast": pd.DataFrame(forecast),
            "fact_forecast_departement": pd.DataFrame(departement), "fact_horizon_error": horizon}


def draw_stage_figures(figures_dir) -> list:
    """One backtest and one scenario figure, as the model and scenario stages will write them."""
    from matplotlib.figure import Figure

    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, title in (("backtest_mae.png", "MAE par modèle et élection test"),
                        ("forecast_curves_departement.png", "Parts des blocs : historique et scénarios")):
        fig = Figure(figsize=(6, 3), dpi=60)
        ax = fig.subplots()
        ax.plot([0, 1, 2], [3, 1, 2], marker="o")
        ax.set_title(title)
        fig.savefig(figures_dir / name)
        paths.append(figures_dir / name)
    return paths
