"""Each election parser on small hand-written files in the official formats."""

from __future__ import annotations

import gzip
import shutil

import pytest

from electio.errors import InputFormatError
from electio.sources.elections import agregees, aktiur, euro2024, ministere, pres2012
from tests.conftest import FIXTURES


def test_aktiur_commune_large_filters_departement_and_keeps_missing_nuls():
    staged = aktiur.parse_commune_large(FIXTURES / "aktiur_pres_commune_large.csv.gz", departement="69")
    assert staged.rows_read == 4
    assert list(staged.turnout["source_code"]) == ["69001", "69123", "69152"]
    lyon = staged.turnout.set_index("source_code").loc["69123"]
    assert (lyon["registered"], lyon["voters"], lyon["blank"], lyon["expressed"]) == (1000, 800, 10, 780)
    assert lyon["null_ballots"] is None or str(lyon["null_ballots"]) == "<NA>"  # not in the file
    votes = staged.results.set_index(["source_code", "label"])["votes"]
    assert votes[("69123", "MÉLENCHON")] == 280 and len(staged.results) == 9


def test_aktiur_2014_has_neither_blank_nor_null():
    staged = aktiur.parse_commune_large(FIXTURES / "aktiur_euro2014_commune_large.csv", departement="69")
    assert staged.turnout["blank"].isna().all() and staged.turnout["null_ballots"].isna().all()


def test_agregees_rejects_doubled_rows_of_communes_nouvelles():
    staged = agregees.parse(FIXTURES / "agregees_communes.csv", FIXTURES / "agregees_candidates.csv",
                            election_key="2024_euro_t1", label_field="nom", departement="69")
    votes = staged.results.set_index(["source_code", "label"])["votes"]
    assert votes[("69019", "BESOIN D'EUROPE")] == 2300  # not 4600
    assert len(staged.rejected) == 2
    assert {r.line for r in staged.rejected} == {6, 7}
    assert "Belleville-En-Beaujolais" in staged.rejected[0].reason
    assert list(staged.turnout["source_code"]) == ["69001", "69019"]
    assert staged.turnout["null_ballots"].tolist() == [4, 100] and staged.turnout["blank"].isna().all()


def test_agregees_conflicting_duplicates_fail(tmp_path):
    text = (FIXTURES / "agregees_candidates.csv").read_text(encoding="utf-8-sig")
    bad = tmp_path / "cands.csv"
    bad.write_text(text.replace("Belleville-En-Beaujolais;BESOIN D'EUROPE;LENS;Ensemble;Centre;2300",
                                "Belleville-En-Beaujolais;BESOIN D'EUROPE;LENS;Ensemble;Centre;2301"), encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"cands.csv, line 6, column 'voix'"):
        agregees.parse_candidates(bad, label_field="nom")


def test_pres2012_transcription_keeps_merged_blank_and_null():
    staged = pres2012.parse_communes(FIXTURES / "pres2012_communes.csv", departement="69")
    assert staged.turnout["blank_and_null"].tolist() == [17, 100]
    assert staged.results.groupby("label")["votes"].sum().to_dict() == {"Hollande": 1058, "Sarkozy": 1549}


def test_ministere_wide_aggregates_bureaux_to_communes():
    staged = ministere.parse_wide(FIXTURES / "ministere_pres_t1_bureaux.csv", departement="69")
    turnout = staged.turnout.set_index("source_code")
    assert turnout.loc["69123", "registered"] == 1500 and turnout.loc["69123", "null_ballots"] == 10
    assert staged.results.set_index(["source_code", "label"])["votes"][("69123", "LE PEN")] == 475
    assert sorted(staged.bureaux["bureau_code"]) == ["69001_0001", "69123_0101", "69123_0901"]


def test_euro2024_json_rebuilds_truncated_counts():
    turnout, lists = euro2024.parse_commune(FIXTURES / "euro2024" / "69999.json")
    assert turnout["expressed"] == 2375 and turnout["source_code"] == "69999"
    assert lists.set_index("code")["votes"].to_dict() == {"LRN": 950, "LENS": 1425}
    assert lists.set_index("code")["truncated"].to_dict() == {"LRN": False, "LENS": True}


# --- bad input: each fails with file, line/column and what was expected -------------------------

def test_wrong_delimiter_is_named(tmp_path):
    bad = tmp_path / "semicolons.csv"
    bad.write_text((FIXTURES / "aktiur_pres_commune_large.csv").read_text().replace(",", ";"))
    with pytest.raises(InputFormatError, match=r"semicolons.csv, line 1: expected ','-separated.*looks like ';'"):
        aktiur.parse_commune_large(bad, departement="69")


def test_missing_column_is_named(tmp_path):
    bad = tmp_path / "nocol.csv"
    bad.write_text((FIXTURES / "aktiur_pres_commune_large.csv").read_text().replace("exprimes", "expr"))
    with pytest.raises(InputFormatError, match=r"nocol.csv, line 1, column 'exprimes': missing"):
        aktiur.parse_commune_large(bad, departement="69")


@pytest.mark.parametrize("value", ["12a", "-3", "4.5"])
def test_bad_count_is_named_with_line_and_column(tmp_path, value):
    bad = tmp_path / "count.csv"
    text = (FIXTURES / "aktiur_pres_commune_large.csv").read_text()
    bad.write_text(text.replace("69,123,Lyon,1000,800,10,780,400", f"69,123,Lyon,1000,800,10,780,{value}"))
    with pytest.raises(InputFormatError, match=rf"count.csv, line 4, column 'MACRON': expected a non-negative whole number, got '{value}'"):
        aktiur.parse_commune_large(bad, departement="69")


def test_counts_accept_clean_columns_and_name_the_first_bad_cell():
    """Spaces and integer-valued floats are counts; a bad cell is named by its line and column (the
    first one); empty cells only where allowed (whichever path converts the column)."""
    import numpy as np
    import pandas as pd

    from electio.sources.readers import to_counts

    frame = pd.DataFrame({"a": [" 12", "133.0", "0"], "b": ["1", "", "3"], "c": ["1", " 2 ", "1e3"]}, index=[2, 3, 4])
    out = to_counts(frame, ["a", "c"], "f.csv")
    assert out["a"].tolist() == [12, 133, 0] and out["a"].dtype == np.int64 and out["c"].tolist() == [1, 2, 1000]
    assert to_counts(frame, ["b"], "f.csv", allow_missing=True)["b"].tolist() == [1, pd.NA, 3]
    with pytest.raises(InputFormatError, match=r"f.csv, line 3, column 'b': expected a non-negative whole number, got ''"):
        to_counts(frame, ["b"], "f.csv")
    with pytest.raises(InputFormatError, match=r"line 4, column 'a'.*got '-1'"):
        to_counts(frame.assign(a=["1", "2", "-1"]), ["a"], "f.csv")


def test_truncated_gzip_is_refused(tmp_path):
    data = (FIXTURES / "aktiur_pres_commune_large.csv.gz").read_bytes()
    bad = tmp_path / "cut.csv.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match=r"cut.csv.gz: truncated or corrupt gzip"):
        aktiur.parse_commune_large(bad, departement="69")


def test_latin1_file_is_refused_with_line(tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes((FIXTURES / "aktiur_pres_commune_large.csv").read_text().encode("latin-1"))
    with pytest.raises(InputFormatError, match=r"latin1.csv, line 1: not valid utf-8-sig"):
        aktiur.parse_commune_large(bad, departement="69")


def test_blank_lines_keep_line_numbers(tmp_path):
    text = (FIXTURES / "aktiur_pres_commune_large.csv").read_text().replace("\n69,001", "\n\n69,001")
    bad = tmp_path / "blank.csv"
    bad.write_text(text.replace("69,152,Pierre-Bénite,300", "69,152,Pierre-Bénite,x"))
    with pytest.raises(InputFormatError, match=r"line 6, column 'inscrits'"):
        aktiur.parse_commune_large(bad, departement="69")


def test_pres2012_canton_totals_both_layouts():
    t1 = pres2012.parse_canton_totals(FIXTURES / "pres2012_cantons_t1.csv", departement="69")
    assert t1.to_dict() == {"registered": 7424, "voters": 6324, "expressed": 6190, "LE PEN": 1590, "HOLLANDE": 4600}
    t2 = pres2012.parse_canton_totals(FIXTURES / "pres2012_cantons_t2.csv", departement="69")
    assert t2.to_dict() == {"registered": 6424, "voters": 5247, "expressed": 4922, "HOLLANDE": 1905, "SARKOZY": 3017}


def test_aktiur_departement_totals():
    totals = aktiur.parse_departement_totals(FIXTURES / "aktiur_departement_large.csv", departement="69")
    assert totals["inscrits"] == 1_155_604 and totals["MACRON"] == 236_137
    with pytest.raises(ValueError, match="no row for département 75"):
        aktiur.parse_departement_totals(FIXTURES / "aktiur_departement_large.csv", departement="75")
