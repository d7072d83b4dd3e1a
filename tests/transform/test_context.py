"""Context tables (every commune of France) from harmonised facts: electio.transform.context."""

from __future__ import annotations

import pandas as pd

from electio.transform.context import context_rows, departement_gaps, france_source
from electio.transform.elections import ElectionFacts, load_election_specs

TOML = """
[[election]]
id = "euro_2019_t1"
type = "europeennes"
year = 2019
round = 1
date = 2019-05-26
label_fr = "x"
  [[election.source]]
  parser = "agregees"
  source = "a"
  file = "rhone.csv"
  departements = ["69"]
  [[election.source]]
  parser = "aktiur_commune_large"
  source = "b"
  file = "france.csv.gz"
  departements = ["*"]

[[election]]
id = "pres_2017_t2"
type = "presidentielle"
year = 2017
round = 2
date = 2017-05-07
label_fr = "x"
  [[election.source]]
  parser = "aktiur_commune_large"
  source = "b"
  file = "t2.csv.gz"
  departements = ["*"]

[[election]]
id = "pres_2022_t1"
type = "presidentielle"
year = 2022
round = 1
date = 2022-04-10
label_fr = "x"
  [[election.source]]
  parser = "ministere_wide"
  source = "c"
  file = "rhone.csv"
  departements = ["69"]
"""


def test_france_source_is_the_france_wide_file_of_a_first_round():
    euro, t2, pres = load_election_specs(TOML)
    assert france_source(euro)["file"] == "france.csv.gz"  # not the Rhône file listed first
    assert france_source(t2) is None  # second rounds are not modelled
    assert france_source(pres) is None  # no France-wide commune file


def _facts():
    turnout = pd.DataFrame({"commune_code": ["01001", "2A004", "69123"], "registered": [100, 200, 1000],
                            "voters": [60, 120, 500], "expressed": [50, 100, 480]})
    blocs = pd.DataFrame({"commune_code": ["01001", "01001", "2A004", "2A004", "69123", "69123"],
                          "bloc": ["gauche", "droite"] * 3, "votes": [20, 30, 40, 60, 300, 180],
                          "n_labels": 1, "share_expressed": 0.0})
    return ElectionFacts(turnout=turnout, labels=pd.DataFrame(), blocs=blocs, bureaux=None)


def test_context_rows_carry_departement_and_counts():
    result, turnout = context_rows("euro_2019_t1", _facts())
    assert list(result.columns) == ["election_id", "commune_code", "bloc_code", "votes"]
    assert turnout["departement_code"].tolist() == ["01", "2A", "69"]
    assert (result["election_id"] == "euro_2019_t1").all() and result["votes"].sum() == 630


def test_departement_gaps_against_departement_result():
    result, turnout = context_rows("euro_2019_t1", _facts())
    dep = pd.DataFrame({"election_id": "euro_2019_t1", "departement_code": ["01", "01", "2A", "2A"],
                        "bloc_code": ["gauche", "droite"] * 2, "votes": [20, 30, 40, 55],
                        "expressed": [50, 50, 100, 100]})
    gaps = departement_gaps(turnout, result, dep).set_index("departement_code")
    assert gaps.loc["01", "expressed_gap"] == 0 and gaps.loc["01", "max_bloc_vote_gap"] == 0
    assert gaps.loc["2A", "max_bloc_vote_gap"] == 5
    assert pd.isna(gaps.loc["69", "expressed_gap"])  # absent from fact_departement_result: reported


def test_a_row_rejected_by_two_builds_is_recorded_once(tmp_path):
    """All of France: the perimeter's build and the context build read the same national files;
    meta_rejected_row's key (source, file, row) must hold (the national refresh failed on it)."""
    from electio.pipeline import Lineage
    from electio.settings import Settings

    lineage = Lineage(Settings(data_dir=tmp_path))
    lineage.reject("aktiur", "2014.csv.gz", 36764, "French citizens abroad: not a commune (ZZ001)")
    lineage.reject("aktiur", "2014.csv.gz", 36764, "context euro_2014_t1: French citizens abroad")
    lineage.reject("aktiur", "2014.csv.gz", 36765, "another row")
    assert [(r["row_number"], r["reason"][:6]) for r in lineage.rejected] == [(36764, "French"), (36765, "anothe")]
