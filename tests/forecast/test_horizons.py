"""Lead-time error table on synthetic contract tables (several départements, no commune results)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from electio.forecast.horizons import horizon_table, lead_bucket, lead_error_vectors, lead_errors

from ..model.test_national import BLOCS, contract_tables


def test_lead_buckets():
    assert [lead_bucket(x) for x in (0.1, 0.99, 1.0, 2.5, 2.99, 3.0, 7.0)] == ["0-1", "0-1", "1-2", "2-3", "2-3",
                                                                             "3+", "3+"]


def test_every_source_election_gives_one_forecast_per_departement():
    e = lead_errors(contract_tables(noise=0.05), rules=("status_quo",))
    # targets with a same-type election up to the source: euro_2019 from (euro_2014, pres_2017),
    # pres_2022 from (pres_2017, euro_2019), euro_2024 from (euro_2014, pres_2017, euro_2019, pres_2022)
    pairs = set(zip(e["source_election_id"], e["election_id"]))
    assert pairs == {("euro_2014_t1", "euro_2019_t1"), ("pres_2017_t1", "euro_2019_t1"),
                     ("pres_2017_t1", "pres_2022_t1"), ("euro_2019_t1", "pres_2022_t1"),
                     ("euro_2014_t1", "euro_2024_t1"), ("pres_2017_t1", "euro_2024_t1"),
                     ("euro_2019_t1", "euro_2024_t1"), ("pres_2022_t1", "euro_2024_t1")}
    assert e.groupby(["source_election_id", "election_id"])["departement_code"].nunique().eq(4).all()
    assert set(e["target"]) == set(BLOCS)  # turnout unknown in fact_departement_result
    row = e[(e["source_election_id"] == "euro_2014_t1") & (e["election_id"] == "euro_2024_t1")]
    assert (row["lead_bucket"] == "3+").all() and np.isclose(row["lead_years"].iloc[0], 10.04, atol=0.01)


def test_table_and_vectors():
    e = lead_errors(contract_tables(noise=0.05), rules=("status_quo",))
    t = horizon_table(e)
    assert set(t["lead_bucket"]) <= {"1-2", "2-3", "3+"}
    assert (t["n_departements"] == 4).all() and (t["bloc_rms_log"] > 0).all()
    vec, bucket = lead_error_vectors(e, 10.0, BLOCS + ["turnout"])
    assert bucket == "3+" and len(vec) == 4 * e[e["lead_bucket"] == "3+"].groupby(
        ["source_election_id", "election_id"]).ngroups
    empty, code = lead_error_vectors(e, 0.5, BLOCS + ["turnout"])
    assert empty.empty and code == "none"
