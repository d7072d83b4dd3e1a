"""Small hand-made warehouse tables for the EDA tests (no mirror needed)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from shapely.geometry import box

from electio.transform.politics import load_blocs

BLOCS = ["extreme_gauche", "gauche", "centre", "droite", "extreme_droite", "divers"]
ELECTIONS = [
    # id, type, year, round, date, label
    ("pres_2022_t1", "presidentielle", 2022, 1, date(2022, 4, 10), "Présidentielle 2022, 1er tour"),
    ("pres_2022_t2", "presidentielle", 2022, 2, date(2022, 4, 24), "Présidentielle 2022, 2nd tour"),
    ("leg_2022_t1", "legislatives", 2022, 1, date(2022, 6, 12), "Législatives 2022, 1er tour"),
]
INDICATORS = [
    # code, label, family, unit, aggregation, weight
    ("population", "Population municipale", "population", "habitants", "sum", None),
    ("pop_15_64", "Population de 15 à 64 ans", "population", "habitants", "sum", None),
    ("revenu_median", "Revenu disponible médian par unité de consommation", "revenus", "euros",
     "weighted_mean", "population"),
    ("taux_pauvrete", "Taux de pauvreté", "revenus", "%", "weighted_mean", "population"),
    ("etablissements", "Établissements employeurs", "entreprises", "établissements", "sum", None),
    ("crimes_dept", "Crimes et délits (département)", "securite", "faits", "sum", None),
]
#: (indicator_year, published_on): 2020 is published on the day of pres_2022_t1, so a model
#: of pres_2022_t1 must use 2019; the description (EDA) uses the nearest earlier reference
#: period, 2020, for every election.
VINTAGES = [(2019, date(2021, 6, 1)), (2020, date(2022, 4, 10))]


def commune_codes(n: int) -> list[str]:
    return [f"69{i:03d}" for i in range(1, n + 1)]


def synthetic_tables(n: int = 30, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    codes = commune_codes(n)
    population = np.round(np.exp(rng.uniform(np.log(300), np.log(40000), n)))
    population[0] = 500_000  # a "Lyon" that dominates the weights
    area = rng.uniform(3, 30, n)
    dim_commune = pd.DataFrame({
        "commune_code": codes, "commune_name": [f"Commune {i}" for i in range(1, n + 1)], "departement_code": "69",
        "territory": ["metropole_lyon" if i < n // 3 else "rhone" for i in range(n)], "epci_code": None,
        "epci_name": None, "canton_code": None, "population": population.astype(int), "area_km2": area,
        "latitude": 45.7, "longitude": 4.8, "cog_vintage": 2026})
    dim_election = pd.DataFrame(ELECTIONS, columns=["election_id", "election_type", "election_year", "round_number",
                                                    "election_date", "label_fr"])
    dim_election["source_id"], dim_election["source_file"] = "synthetic", "synthetic.csv"
    blocs = load_blocs()[["bloc_code", "label_fr", "sort_order", "color_hex"]]

    income = rng.normal(22000, 3000, n)
    poverty = np.clip(30 - (income - 22000) / 300 + rng.normal(0, 2, n), 2, 60)
    establishments = np.round(population * rng.uniform(0.02, 0.08, n))
    registered = np.round(population * 0.7).astype(int)

    turnout_rows, result_rows = [], []
    for e_i, (eid, etype, *_rest) in enumerate(ELECTIONS):
        z = (income - income.mean()) / income.std()
        turnout_pct = np.clip(70 + 6 * z + rng.normal(0, 2, n), 30, 95)
        voters = np.round(registered * turnout_pct / 100).astype(int)
        expressed = np.round(voters * 0.97).astype(int)
        weights = np.column_stack([np.full(n, 1.0), 20 - 3 * z, 25 + 4 * z, 15 + 5 * z, 25 - 6 * z, np.full(n, 4.0)])
        weights = np.clip(weights + rng.normal(0, 1, weights.shape), 0.2, None)
        if eid.endswith("t2"):
            weights[:, [0, 1, 3, 5]] = 0
        absent = np.zeros_like(weights, dtype=bool)
        if etype == "legislatives":
            absent[: n // 4, 0] = True  # no far-left candidate in a quarter of the communes
            weights[absent] = 0
        shares = weights / weights.sum(axis=1, keepdims=True)
        votes = np.floor(shares * expressed[:, None]).astype(int)
        votes[:, 2] += expressed - votes.sum(axis=1)
        for c in range(n):
            turnout_rows.append({"election_id": eid, "commune_code": codes[c], "registered": int(registered[c]),
                                 "voters": int(voters[c]), "blank": None, "null_ballots": None,
                                 "blank_and_null": int(voters[c] - expressed[c]), "expressed": int(expressed[c]),
                                 "turnout_pct": 100 * voters[c] / registered[c]})
            for b, bloc in enumerate(BLOCS):
                result_rows.append({"election_id": eid, "commune_code": codes[c], "bloc_code": bloc,
                                    "votes": int(votes[c, b]), "share_expressed": 100 * votes[c, b] / expressed[c],
                                    "n_labels": 0 if votes[c, b] == 0 else 1})

    dim_indicator = pd.DataFrame(INDICATORS, columns=["indicator_code", "label_fr", "family", "unit", "aggregation",
                                                      "weight_indicator"])
    dim_indicator["level"] = np.where(dim_indicator["indicator_code"] == "crimes_dept", "departement", "commune")
    dim_indicator["source_id"], dim_indicator["definition"] = "synthetic", "Indicateur synthétique de test."
    # The size rule declared with the metadata (sources/indicators/*.toml -> dim_indicator).
    role = {"population": ("log10", None, None), "pop_15_64": ("ratio", "population", 1000.0),
            "etablissements": ("ratio", "population", 1000.0), "crimes_dept": ("identity", None, None)}
    dim_indicator["transform"] = [role.get(c, ("identity", None, None))[0] for c in dim_indicator["indicator_code"]]
    dim_indicator["denominator"] = [role.get(c, (None, None, None))[1] for c in dim_indicator["indicator_code"]]
    dim_indicator["scale"] = [role.get(c, (None, None, None))[2] for c in dim_indicator["indicator_code"]]
    dim_indicator["redundant_with"] = None
    fact_rows = []
    for year, published in VINTAGES:
        drift = 1 + 0.01 * (year - 2019)
        values = {"population": population * drift, "pop_15_64": population * 0.6 * drift,
                  "revenu_median": income * drift, "taux_pauvrete": poverty, "etablissements": establishments}
        for code, vals in values.items():
            for c in range(n):
                secret = code == "taux_pauvrete" and c == n - 1
                fact_rows.append({"commune_code": codes[c], "indicator_code": code, "indicator_year": year,
                                  "value": None if secret else float(vals[c]), "is_suppressed": int(secret),
                                  "is_imputed": 0, "is_reaggregated": 0, "published_on": published,
                                  "source_file": "synthetic.csv", "reference_date": date(year, 12, 31),
                                  "available_on": published})
    fact_indicator = pd.DataFrame(fact_rows)  # dates as datetime.date, like the pipeline's frames
    map_commune_code = pd.DataFrame({"source_code": codes, "commune_code": codes, "relation": "same",
                                     "source_name": None})
    return {"dim_commune": dim_commune, "map_commune_code": map_commune_code, "dim_election": dim_election,
            "dim_bloc": blocs, "fact_turnout": pd.DataFrame(turnout_rows),
            "fact_election_result": pd.DataFrame(result_rows), "dim_indicator": dim_indicator,
            "fact_indicator": fact_indicator,
            "fact_indicator_departement": pd.DataFrame(columns=["departement_code", "indicator_code",
                                                                "indicator_year", "value", "published_on",
                                                                "source_file", "reference_date", "available_on"])}


def square_shapes(codes: list[str], size: float = 1000.0) -> dict:
    """One square per commune on a grid (metres, like Lambert-93)."""
    side = int(np.ceil(np.sqrt(len(codes))))
    return {code: box((i % side) * size, (i // side) * size, (i % side + 1) * size, (i // side + 1) * size)
            for i, code in enumerate(codes)}
