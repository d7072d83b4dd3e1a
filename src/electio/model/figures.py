"""Backtest figure: vote-weighted MAE per model per test election, both modes (French labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MODE_TITLES = {"conditional": "Conditionnel : totaux départementaux réels donnés",
               "national_conditional": "Conditionnel national : seul le résultat de la France entière est donné",
               "unconditional": "Inconditionnel : seulement ce qui était connu avant l'élection"}
ELECTION_LABELS = {"euro_2019_t1": "Européennes\n2019", "pres_2022_t1": "Présidentielle\n2022",
                   "leg_2022_t1": "Législatives\n2022", "euro_2024_t1": "Européennes\n2024",
                   "leg_2024_t1": "Législatives\n2024\n(contrôle final)"}
BASELINE_COLORS = ["#BDBDBD", "#9E9E9E", "#757575", "#424242"]
# Distinct colours for up to 8 models (the backtest compares feature-group and dating variants).
MODEL_COLORS = ["#1F77B4", "#FF7F0E", "#2CA02C", "#9467BD", "#D62728", "#17BECF", "#8C564B", "#E377C2"]


def backtest_figure(fact_model_metric: pd.DataFrame, dim_model: pd.DataFrame, path: Path,
                    metric: str = "wmae") -> Path:
    """Grouped bars (one group per test election, one bar per model; baselines in greys, models
    in colour, the chosen model marked with a star), one panel per mode. Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = fact_model_metric[fact_model_metric["metric"] == metric]
    elections = [e for e in ELECTION_LABELS if e in set(m["election_id"])] + \
        sorted(set(m["election_id"]) - set(ELECTION_LABELS))
    dim = dim_model.set_index("model_id")
    order = [mid for mid in dim.index if mid in set(m["model_id"])]
    baselines = [mid for mid in order if dim.loc[mid, "model_kind"] == "baseline"]
    models = [mid for mid in order if mid not in baselines]
    colors = {mid: BASELINE_COLORS[i % len(BASELINE_COLORS)] for i, mid in enumerate(baselines)}
    colors.update({mid: MODEL_COLORS[i % len(MODEL_COLORS)] for i, mid in enumerate(models)})
    series = baselines + models
    modes = [md for md in MODE_TITLES if md in set(m["mode"])]
    fig, axes = plt.subplots(len(modes), 1, figsize=(12, 3.6 * len(modes) + 2.6), sharey=True, squeeze=False)
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(elections))
    for ax, mode in zip(axes[:, 0], modes):
        sub = m[m["mode"] == mode].pivot_table(index="election_id", columns="model_id", values="value")
        sub = sub.reindex(index=elections, columns=series)
        for i, mid in enumerate(series):
            chosen = int(dim.loc[mid, "is_chosen"]) == 1
            label = dim.loc[mid, "label_fr"] + (" ★ retenu" if chosen else "")
            bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, sub[mid].to_numpy(), width, label=label,
                          color=colors[mid], edgecolor="black" if chosen else "white", linewidth=0.8 if chosen else 0.5,
                          hatch="//" if mid in baselines else None)
            if not chosen:  # one value per group stays legible: the chosen model's
                continue
            for rect, v in zip(bars, sub[mid].to_numpy()):
                if np.isfinite(v):
                    ax.text(rect.get_x() + rect.get_width() / 2, v + 0.05, f"{v:.1f}".replace(".", ","),
                            ha="center", va="bottom", fontsize=8, fontweight="bold")
        ax.set_title(MODE_TITLES[mode], fontsize=11, loc="left")
        ax.set_xticks(x, [ELECTION_LABELS.get(e, e) for e in elections], fontsize=9)
        ax.set_ylabel("Erreur absolue moyenne\npondérée par les votes (points)")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    rows = -(-len(labels) // 2)
    fig.legend(handles, labels, ncol=2, fontsize=8.5, loc="lower center", bbox_to_anchor=(0.5, 0.03),
               frameon=False)
    fig.suptitle("Validation glissante : erreur des parts de blocs par commune (1ers tours)", fontsize=13, y=0.995)
    fig.text(0.01, 0.005, "Erreur = moyenne sur les 6 blocs de l'écart absolu, pondéré par les suffrages exprimés "
             "de la commune. Hachures : références simples ; couleurs : modèles ; valeurs : modèle retenu.",
             fontsize=8, color="#555555")
    fig.tight_layout(rect=(0, 0.05 + 0.2 * rows / fig.get_figheight(), 1, 0.97))
    return _save(fig, path, dpi=130)


CALIBRATION_FILE = "backtest_calibration.png"


def calibration_figure(fact_model_metric: pd.DataFrame, model_id: str, path: Path, model_label: str | None = None) -> Path:
    """Nominal vs observed coverage of ``model_id``'s intervals (50, 80, 90, 95 %), one line per
    test election, one panel per mode; the diagonal is perfect calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = fact_model_metric[fact_model_metric["model_id"] == model_id]
    levels = {"coverage_50": 50, "coverage_80": 80, "coverage_90": 90, "coverage_95": 95}
    modes = [md for md in ("conditional", "national_conditional", "unconditional") if md in set(m["mode"])]
    labels = {"conditional": "département connu", "national_conditional": "résultat national connu",
              "unconditional": "prévision réelle"}
    fig, axes = plt.subplots(1, len(modes), figsize=(4.2 * len(modes), 4.2), squeeze=False)
    for ax, mode in zip(axes[0], modes):
        sub = m[(m["mode"] == mode) & m["metric"].isin(levels)]
        for eid, g in sub.groupby("election_id"):
            g = g.assign(nominal=g["metric"].map(levels)).sort_values("nominal")
            ax.plot(g["nominal"], g["value"], marker="o", label=ELECTION_LABELS.get(eid, eid).replace("\n", " "))
        ax.plot([40, 100], [40, 100], color="grey", linestyle="--", linewidth=1)
        ax.set_xlim(40, 100)
        ax.set_ylim(0, 100)
        ax.set_title(labels[mode])
        ax.set_xlabel("couverture nominale (%)")
        ax.set_ylabel("couverture observée (%)")
        ax.legend(fontsize=7)
    fig.suptitle(f"Calibration des intervalles — {model_label or model_id} : couverture annoncée et observée, "
                 "par scrutin test")
    fig.text(0.01, 0.01, "Source : validation glissante sur les scrutins passés, communes du périmètre", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    return _save(fig, path, dpi=110)


def backtest_figures(fact_model_metric: pd.DataFrame, dim_model: pd.DataFrame, path: Path) -> list[Path]:
    """The error figure at ``path`` and, beside it, the chosen model's calibration figure."""
    files = [backtest_figure(fact_model_metric, dim_model, path)]
    chosen = dim_model.loc[dim_model["is_chosen"] == 1, "model_id"]
    if len(chosen):
        model_id = chosen.iloc[0]
        files.append(calibration_figure(fact_model_metric, model_id, Path(path).with_name(CALIBRATION_FILE),
                                        dim_model.set_index("model_id").loc[model_id, "label_fr"]))
    return files


def _save(fig, path: Path, *, dpi: int) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
