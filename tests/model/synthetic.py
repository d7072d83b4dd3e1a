"""Tiny hand-made warehouse tables for the model tests (no mirror needed)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

BLOCS3 = ["gauche", "centre", "droite"]


def make_tables(elections, votes, registered, voters, *, blocs=BLOCS3, territory=None, indicators=None):
    """Warehouse tables from explicit numbers.

    elections: [(election_id, election_type, date)]; votes: {election_id: {commune: [votes per bloc]}};
    registered / voters: {election_id: {commune: int}}; indicators: optional list of
    (commune, indicator_code, year, value, published_on) with dim rows derived (aggregation
    'weighted_mean', family 'revenus').
    """
    communes = sorted({c for e in votes.values() for c in e})
    dim_commune = pd.DataFrame({
        "commune_code": communes, "commune_name": communes, "departement_code": "69",
        "territory": [(territory or {}).get(c, "rhone") for c in communes], "epci_code": None, "epci_name": None,
        "canton_code": None, "population": 1000, "area_km2": 10.0, "latitude": 45.7, "longitude": 4.8,
        "cog_vintage": 2026})
    dim_election = pd.DataFrame([{
        "election_id": eid, "election_type": etype, "election_year": d.year, "round_number": 1,
        "election_date": d, "label_fr": eid, "source_id": "synthetic", "source_file": "synthetic.csv"}
        for eid, etype, d in elections])
    dim_bloc = pd.DataFrame({"bloc_code": blocs, "label_fr": blocs, "sort_order": range(1, len(blocs) + 1),
                             "color_hex": "#000000"})
    turnout, results = [], []
    for eid, per_commune in votes.items():
        for c, v in per_commune.items():
            expressed = int(sum(v))
            turnout.append({"election_id": eid, "commune_code": c, "registered": registered[eid][c],
                            "voters": voters[eid][c], "blank": 0, "null_ballots": 0,
                            "blank_and_null": voters[eid][c] - expressed, "expressed": expressed,
                            "turnout_pct": 100.0 * voters[eid][c] / registered[eid][c]})
            for b, n in zip(blocs, v):
                results.append({"election_id": eid, "commune_code": c, "bloc_code": b, "votes": int(n),
                                "share_expressed": 100.0 * n / expressed, "n_labels": int(n > 0)})
    tables = {"dim_commune": dim_commune, "dim_election": dim_election, "dim_bloc": dim_bloc,
              "fact_turnout": pd.DataFrame(turnout), "fact_election_result": pd.DataFrame(results)}
    ind_cols = ["commune_code", "indicator_code", "indicator_year", "value", "is_suppressed", "is_imputed",
                "is_reaggregated", "published_on", "source_file"]
    if indicators:
        fact = pd.DataFrame([{"commune_code": c, "indicator_code": code, "indicator_year": y, "value": v,
                              "is_suppressed": int(v is None), "is_imputed": 0, "is_reaggregated": 0,
                              "published_on": pub, "source_file": "x.csv"}
                             for c, code, y, v, pub in indicators], columns=ind_cols)
        codes = sorted(set(fact["indicator_code"]))
        tables["dim_indicator"] = pd.DataFrame({
            "indicator_code": codes, "label_fr": codes, "family": "revenus", "unit": "euros",
            "aggregation": "weighted_mean", "weight_indicator": None, "level": "commune", "source_id": "x",
            "definition": "x"})
        tables["fact_indicator"] = fact
    else:
        tables["dim_indicator"] = pd.DataFrame(columns=["indicator_code", "label_fr", "family", "unit",
                                                        "aggregation", "weight_indicator", "level", "source_id",
                                                        "definition"])
        tables["fact_indicator"] = pd.DataFrame(columns=ind_cols)
    return tables


#: The hand example: 3 communes, a presidential election, a European one, a presidential one.
E1 = ("pres_2017_t1", "presidentielle", date(2017, 4, 23))
E2 = ("euro_2019_t1", "europeennes", date(2019, 5, 26))
E3 = ("pres_2022_t1", "presidentielle", date(2022, 4, 10))
HAND_VOTES = {
    # gauche, centre, droite
    "pres_2017_t1": {"69001": [50, 20, 30], "69002": [20, 20, 60], "69003": [60, 80, 60]},
    "euro_2019_t1": {"69001": [40, 40, 20], "69002": [30, 30, 40], "69003": [40, 100, 60]},
    "pres_2022_t1": {"69001": [40, 20, 40], "69002": [10, 20, 70], "69003": [50, 80, 70]},
}
HAND_REGISTERED = {e: {"69001": 200, "69002": 200, "69003": 400} for e in HAND_VOTES}
HAND_VOTERS = {
    "pres_2017_t1": {"69001": 100, "69002": 100, "69003": 200},
    "euro_2019_t1": {"69001": 100, "69002": 100, "69003": 200},
    "pres_2022_t1": {"69001": 100, "69002": 100, "69003": 200},
}


def hand_tables(**kwargs):
    return make_tables([E1, E2, E3], HAND_VOTES, HAND_REGISTERED, HAND_VOTERS, **kwargs)


def random_tables(n_communes=40, seed=0):
    """A larger random panel: 6 first rounds of 3 types, communes with persistent leanings."""
    rng = np.random.default_rng(seed)
    elections = [("pres_2012_t1", "presidentielle", date(2012, 4, 22)),
                 ("euro_2014_t1", "europeennes", date(2014, 5, 25)),
                 ("pres_2017_t1", "presidentielle", date(2017, 4, 23)),
                 ("leg_2017_t1", "legislatives", date(2017, 6, 11)),
                 ("euro_2019_t1", "europeennes", date(2019, 5, 26)),
                 ("pres_2022_t1", "presidentielle", date(2022, 4, 10))]
    communes = [f"69{i:03d}" for i in range(1, n_communes + 1)]
    leaning = rng.normal(0, 0.5, (n_communes, 3))
    size = np.round(np.exp(rng.uniform(np.log(200), np.log(20000), n_communes))).astype(int)
    votes, reg, vot = {}, {}, {}
    for k, (eid, _, _) in enumerate(elections):
        national = rng.normal(0, 0.4, 3)
        logits = leaning + national + rng.normal(0, 0.1, (n_communes, 3))
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        turnout = np.clip(0.6 + 0.1 * rng.normal(size=n_communes), 0.3, 0.95)
        voters = np.maximum((size * turnout).astype(int), 10)
        expressed = (voters * 0.97).astype(int)
        v = np.floor(p * expressed[:, None]).astype(int)
        votes[eid] = {c: list(v[i]) for i, c in enumerate(communes)}
        reg[eid] = dict(zip(communes, size.tolist()))
        vot[eid] = dict(zip(communes, voters.tolist()))
    territory = {c: ("metropole_lyon" if i % 3 == 0 else "rhone") for i, c in enumerate(communes)}
    return make_tables(elections, votes, reg, vot, territory=territory)
