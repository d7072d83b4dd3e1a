"""RNA (vie associative) parser on a hand-written extract in the official RNA Waldec format."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest

from electio.errors import InputFormatError
from electio.sources.indicators.associations import parse_rna_waldec
from tests.conftest import FIXTURES

RNA = FIXTURES / "indicators" / "rna_waldec_20241201_dpt_69.csv"


def counts(staged) -> dict:
    return dict(zip(staged.values["source_code"], staged.values["value"]))


def test_active_associations_per_commune_at_the_snapshot():
    s = parse_rna_waldec(RNA, departement="69", year=2024, snapshot=date(2024, 12, 1))
    # Affoux: 2 active (the dissolved one is not counted); Lyon 1er: 1 (the 2025 creation is after
    # the snapshot); Ambérieu (01) is another département; the row without commune is rejected.
    assert counts(s) == {"69001": 2.0, "69381": 1.0}
    assert s.rows_read == 7
    assert [r.reason for r in s.rejected] == ["adrs_codeinsee is not a 5-character INSEE commune code"]
    assert set(s.values["year"]) == {2024} and set(s.values["indicator_code"]) == {"associations_actives"}


def test_monthly_zip_is_read_by_departement(tmp_path):
    z = tmp_path / "rna_waldec_20241201.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.write(RNA, "rna_waldec_20241201_dpt_69.csv")
    assert counts(parse_rna_waldec(z, departement="69", year=2024, snapshot=date(2024, 12, 1))) == {
        "69001": 2.0, "69381": 1.0}
    with pytest.raises(InputFormatError, match="dpt_01"):
        parse_rna_waldec(z, departement="01", year=2024, snapshot=date(2024, 12, 1))


def test_unknown_position_fails_with_its_line(tmp_path):
    bad = tmp_path / "rna.csv"
    bad.write_text(RNA.read_text(encoding="utf-8").replace(";A;2020-05-12", ";X;2020-05-12"), encoding="utf-8")
    with pytest.raises(InputFormatError, match="position"):
        parse_rna_waldec(bad, departement="69", year=2024, snapshot=date(2024, 12, 1))
