"""French tables for the notebooks: the report's datasets with French headers and labels.

The notebooks show what the report prints, computed by :mod:`electio.report.datasets`;
these functions only rename columns and replace codes (blocs, elections, models,
metrics, territories) by their French labels, so a client reads no internal code.
"""

from __future__ import annotations

import pandas as pd

from electio.report import datasets as ds
from electio.report.labels import MODE_FR, SWING_FR, date_fr, metric_label, plain_fr

TERRITORY_FR = {"metropole_lyon": "Métropole de Lyon", "rhone": "Rhône (hors Métropole)", "departement": "Département"}
PERIMETER_FR = {
    "departement": "Département", "n_communes": "Communes", "population": "Habitants (population municipale)",
    "area_km2": "Superficie (km²)", "density": "Habitants par km²", "n_epci": "Intercommunalités",
    "n_cantons": "Cantons", "cog_vintage": "Millésime du code officiel géographique",
    "largest_name": "Plus grande commune", "largest_share": "Part de la plus grande commune (%)",
    "n_elections": "Élections chargées", "first_year": "Première année", "last_year": "Dernière année",
    "latest_label": "Dernière élection", "latest_registered": "Inscrits à la dernière élection",
    "n_indicators": "Indicateurs", "n_families": "Familles d'indicateurs", "n_indicator_values": "Valeurs d'indicateurs",
    "n_sources": "Sources", "n_files": "Fichiers sources", "mbytes": "Volume des sources (Mo)",
}


class Labels:
    """French labels of the warehouse's codes."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        def lookup(table, key, value):
            frame = tables.get(table)
            return {} if frame is None or frame.empty else dict(zip(frame[key], frame[value]))

        self.bloc = {**lookup("dim_bloc", "bloc_code", "label_fr"), "turnout": "Participation"}
        self.election = lookup("dim_election", "election_id", "label_fr")
        self.indicator = lookup("dim_indicator", "indicator_code", "label_fr")
        self.model = {k: plain_fr(v) for k, v in lookup("dim_model", "model_id", "label_fr").items()}
        self.scenario = lookup("dim_scenario", "scenario_id", "label_fr")
        self.color = lookup("dim_bloc", "bloc_code", "color_hex")


def perimeter(tables) -> pd.DataFrame:
    values = ds.perimeter(tables)
    return pd.DataFrame({"Valeur": [v.value for v in values.values()]},
                        index=pd.Index([PERIMETER_FR.get(k, k) for k in values], name="Périmètre"))


def territories(tables) -> pd.DataFrame:
    f = ds.territories(tables).frame.copy()
    f["territory"] = f["territory"].map(lambda t: TERRITORY_FR.get(t, t))
    return f.rename(columns={"territory": "Territoire", "communes": "Communes", "population": "Population",
                             "area_km2": "Superficie (km²)"}).set_index("Territoire").round(1)


def election_coverage(tables) -> pd.DataFrame:
    f = ds.election_coverage(tables).frame.copy()
    f["election_date"] = f["election_date"].map(date_fr)
    return (f.drop(columns=["election_id", "source_id", "voters"], errors="ignore")
            .rename(columns={"label_fr": "Élection", "election_date": "Date", "communes": "Communes",
                             "registered": "Inscrits", "expressed": "Exprimés", "turnout_pct": "Participation (%)",
                             "bureaux": "Bureaux de vote"}).set_index("Élection").round(1))


def first_round_shares(tables) -> pd.DataFrame:
    """Département share of each bloc (% of expressed votes), first rounds, one row per election."""
    lab = Labels(tables)
    el = tables["dim_election"].sort_values("election_date")
    first = el.loc[el["round_number"] == 1, "election_id"].tolist()
    shares = ds.bloc_shares(tables).frame
    blocs = tables["dim_bloc"].sort_values("sort_order")["bloc_code"].tolist()
    pivot = (shares[shares["election_id"].isin(first)].pivot(index="election_id", columns="bloc_code", values="share")
             .reindex(index=first, columns=blocs))
    pivot.index = [lab.election[e] for e in pivot.index]
    pivot.columns = [lab.bloc[b] for b in pivot.columns]
    pivot.index.name = "Élection (premier tour)"
    return pivot.round(1)


def representativeness(tables, france) -> tuple[pd.DataFrame, pd.DataFrame]:
    lab = Labels(tables)
    by_bloc, by_el = ds.representativeness(tables, france)
    e = by_el.frame.copy()
    e["election_id"] = e["election_id"].map(lab.election)
    e = e.rename(columns={"election_id": "Élection", "r": "Corrélation avec la France", "mean_abs_gap":
                          "Écart moyen (points)", "turnout_dep": "Participation dép. (%)", "turnout_fr":
                          "Participation France (%)", "weight": "Part des inscrits de France (%)"})
    b = by_bloc.frame.copy()
    b["election_id"] = b["election_id"].map(lab.election)
    b["bloc_code"] = b["bloc_code"].map(lab.bloc)
    b = b.rename(columns={"election_id": "Élection", "bloc_code": "Bloc", "share_dep": "Département (%)",
                          "share_fr": "France (%)", "gap": "Écart (points)"})
    return e.set_index("Élection").round(2), b.set_index(["Élection", "Bloc"]).round(1)


def indicator_catalogue(tables) -> pd.DataFrame:
    f = ds.indicator_catalogue(tables).frame
    return (f.drop(columns=["indicator_code"])
            .rename(columns={"label_fr": "Indicateur", "family": "Famille", "unit": "Unité", "first_year":
                             "Première année", "last_year": "Dernière année", "n_years": "Millésimes",
                             "communes_last": "Communes (dernier millésime)"}).set_index("Indicateur"))


def relations(tables, frame: pd.DataFrame) -> pd.DataFrame:
    """Correlation statistics (top relations or best per target) with French labels."""
    lab = Labels(tables)
    f = frame.copy()
    f["target"] = f["target"].map(lambda t: lab.bloc.get(t, t))
    f["stable"] = f["stable"].map({True: "oui", False: "non"})
    cols = {"indicator_label": "Indicateur", "target": "Résultat", "mean_pearson": "r moyen", "mean_abs_pearson":
            "|r| moyen", "min_pearson": "r minimal", "max_pearson": "r maximal", "n_elections": "Élections",
            "stable": "Stable"}
    return f[list(cols)].rename(columns=cols).set_index(["Indicateur", "Résultat"]).round(2)


def models(tables) -> pd.DataFrame:
    lab = Labels(tables)
    f = ds.models(tables).frame
    return pd.DataFrame({"Modèle": f["model_id"].map(lab.model),
                         "Nature": f["model_kind"].map({"baseline": "référence", "model": "modèle"}),
                         "Retenu": f["is_chosen"].map({1: "oui", 0: ""})}).set_index("Modèle")


def metrics(tables) -> dict[str, pd.DataFrame]:
    """Per mode (French name): metrics (rows, French) x models (columns, French), mean over the test elections."""
    lab = Labels(tables)
    f = ds.metrics_summary(tables).frame
    out = {}
    for mode, sub in f.groupby("mode"):
        pivot = sub.pivot(index="metric", columns="model_id", values="value")
        pivot.index = [metric_label(m) for m in pivot.index]
        pivot.columns = [lab.model.get(m, m) for m in pivot.columns]
        pivot.index.name = "Métrique"
        out[MODE_FR.get(mode, mode)] = pivot.round(2)
    return out


def gains(tables) -> pd.DataFrame:
    lab = Labels(tables)
    f = ds.gain_vs_best_baseline(tables).frame
    return pd.DataFrame({"Mode": f["mode"].map(lambda m: MODE_FR.get(m, m)),
                         "Modèle retenu": f["model_id"].map(lab.model),
                         "Meilleure référence": f["baseline_id"].map(lab.model),
                         "Réduction de l'erreur (%)": f["gain_pct"].round(1)}).set_index("Mode")


def scenarios(tables) -> pd.DataFrame:
    f = ds.scenarios(tables).frame
    return pd.DataFrame({"Scénario": f["label_fr"], "Hypothèse": f["swing"].map(lambda s: SWING_FR.get(s, s)),
                         "Horizon (ans)": f["horizon_years"], "Année cible": f["target_year"]}).set_index("Scénario")


def forecast_departement(tables) -> pd.DataFrame:
    lab = Labels(tables)
    f = ds.forecast_departement(tables).frame
    scale = ds.probability_scale(tables)
    return pd.DataFrame({"Scénario": f["scenario_id"].map(lab.scenario), "Cible": f["target"].map(lab.bloc),
                         "Prévision (%)": f["predicted"].round(1), "Borne basse (%)": f["interval_low"].round(1),
                         "Borne haute (%)": f["interval_high"].round(1),
                         "Probabilité d'arriver en tête (%)": (f["probability_first"] * scale).round(0)}
                        ).set_index(["Scénario", "Cible"])


def first_bloc_counts(tables) -> pd.DataFrame:
    lab = Labels(tables)
    f = ds.first_bloc_counts(tables).frame
    pivot = f.pivot(index="scenario_id", columns="target", values="communes").fillna(0).astype(int)
    pivot.index = [lab.scenario.get(s, s) for s in pivot.index]
    pivot.columns = [lab.bloc.get(b, b) for b in pivot.columns]
    pivot.index.name = "Scénario"
    return pivot
