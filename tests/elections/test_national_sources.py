"""National inputs: Ministry overseas codes, rejected non-commune rows, the France-wide
European 2024 archive and the official national totals file."""

from __future__ import annotations

import io
import json
import tarfile

import pandas as pd
import pytest

from electio.errors import InputFormatError
from electio.sources.elections import aktiur, euro2024
from electio.sources.elections.national import parse_official
from electio.sources.readers import commune_code, departement_code
from tests.conftest import FIXTURES


def test_ministry_codes_become_insee_codes():
    dep = pd.Series(["69", "69.0", "ZA", "971", "ZP", "ZP", "ZX", "ZX", "977", "ZM", "ZC", "2A", "1.0"])
    com = pd.Series(["123", "1", "101", "101", "011", "711", "701", "801", "801", "501", "352", "004", "4"])
    assert commune_code(dep, com).tolist() == ["69123", "69001", "97101", "97101", "98711", "98711", "97701",
                                               "97801", "97801", "97601", "97352", "2A004", "01004"]
    assert departement_code(pd.Series(["ZA", "99", "ZZ", "ZX", "977", "2a", "1.0"])).tolist() == [
        "971", "ZZ", "ZZ", "ZX", "ZX", "2A", "01"]


def test_whole_file_rejects_abroad_and_non_commune_units_with_their_line():
    staged = aktiur.parse_commune_large(FIXTURES / "aktiur_overseas_commune_large.csv", departement="*")
    assert staged.turnout["source_code"].tolist() == ["69123", "97101", "98711", "97801"]
    assert [(r.line, r.reason.split(":")[0]) for r in staged.rejected] == [
        (7, "French citizens abroad (Ministry département ZZ/99)"), (6, "98601")]
    assert staged.rows_read == 6


def test_overseas_perimeter_keeps_only_its_communes():
    staged = aktiur.parse_commune_large(FIXTURES / "aktiur_overseas_commune_large.csv", departement=["971", "978"])
    assert staged.turnout["source_code"].tolist() == ["97101", "97801"] and not staged.rejected
    # Abroad rows are outside any département perimeter: filtered, not rejected.
    staged = aktiur.parse_commune_large(FIXTURES / "aktiur_overseas_commune_large.csv", departement="69")
    assert staged.turnout["source_code"].tolist() == ["69123"] and not staged.rejected


def _archive(tmp_path, communes: dict[str, dict]) -> str:
    path = tmp_path / "output.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for code, doc in communes.items():
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(f"output/{code}.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _doc(expressed: int, lists: list[tuple[str, int, float]]) -> dict:
    return {"summaryTable": {"Inscrits": expressed * 2, "Abstentions": 0, "Votants": expressed + 3, "Blancs": 2,
                             "Nuls": 1, "Exprimés": expressed},
            "mainTable": [{"name": c, "code": c, "count": n, "percentage1": 0, "percentage2": p} for c, n, p in lists],
            "commune": {"LIBELLE": "X"}}


def test_france_archive_rebuilds_truncated_counts(tmp_path):
    path = _archive(tmp_path, {
        "69123": _doc(100_000, [("LRN", 34, 34.9), ("LENS", 65, 65.1)]),  # truncated thousands
        "01001": _doc(200, [("LRN", 120, 60.0), ("LENS", 80, 40.0)]),
        "97101": _doc(50, [("LRN", 50, 100.0)])})
    staged = euro2024.parse_france_archive(path)
    votes = staged.results.set_index(["source_code", "label"])["votes"]
    assert votes[("69123", "LRN")] == 34_900 and votes[("01001", "LRN")] == 120
    assert staged.votes_rebuilt and staged.rows_read == 3
    only = euro2024.parse_france_archive(path, departement=["971"])
    assert only.turnout["source_code"].tolist() == ["97101"] and only.rows_read == 3


def test_france_archive_bad_json_names_the_member(tmp_path):
    path = _archive(tmp_path, {"01001": {"mainTable": []}})
    with pytest.raises(InputFormatError, match=r"output/01001\.json.*summaryTable"):
        euro2024.parse_france_archive(path)


def test_official_national_file():
    rows = parse_official(FIXTURES / "national_results.csv")
    assert rows.loc[3, "pct_exprimes"] == 33.9 and pd.isna(rows.loc[4, "votes"])
    assert rows.loc[4, "label"] == "RN" and rows["line"].tolist() == [2, 3, 4, 5, 6]


def test_official_national_file_bad_level(tmp_path):
    bad = tmp_path / "n.csv"
    bad.write_text((FIXTURES / "national_results.csv").read_text().replace("candidate,MACRON", "candidat,MACRON"))
    with pytest.raises(InputFormatError, match=r"line 4, column 'level'"):
        parse_official(bad)
