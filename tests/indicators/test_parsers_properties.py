"""Property-based tests over indicator parsers: a valid file in any column order, with or
without BOM and blank lines, gives the same values; a bad cell fails naming file, line, column."""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from electio.errors import InputFormatError
from electio.sources.indicators.entreprises import parse_urssaf_communes
from electio.sources.indicators.revenus import parse_filosofi_cc_s

PROFILE = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ERROR = re.compile(r"\.csv, line \d+, column '[^']+': ")

URSSAF = ["annee", "code_commune", "nom_commune", "nb_etablissements", "effectifs_salaries"]
URSSAF_ROWS = [["2012", "69001", "Affoux", "4.0", "6.0"], ["2017", "69001", "Affoux", "5.0", "7.0"],
               ["2012", "69123", "Lyon", "100.0", "900.0"]]
FILO = ["CODGEO", "NBMENFISC20", "NBPERSMENFISC20", "MED20", "PIMP20", "TP6020", "D120", "D920", "RD20"]
FILO_ROWS = [["69001", "331", "842", "24820", "s", "s", "s", "s", "s"],
             ["69123", "233587", "463732", "24570", "60,0", "15,0", "11610", "47220", "4,1"]]


def write(tmp, name, header, rows, sep=";", bom=False, blank=()):
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    for i in sorted(blank, reverse=True):
        lines.insert(i, "")
    path = tmp / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def values(staged) -> dict:
    v = staged.values
    return {(r.source_code, r.indicator_code, r.year): (None if pd.isna(r.value) else r.value, r.is_suppressed)
            for r in v.itertuples()}


@PROFILE
@given(order=st.permutations(range(len(URSSAF))), bom=st.booleans(), blank=st.sets(st.integers(2, 3), max_size=1))
def test_urssaf_any_column_order(tmp_path_factory, order, bom, blank):
    tmp = tmp_path_factory.mktemp("u")
    base = values(parse_urssaf_communes(write(tmp, "a.csv", URSSAF, URSSAF_ROWS), departement="69"))
    header = [URSSAF[i] for i in order]
    rows = [[r[i] for i in order] for r in URSSAF_ROWS]
    assert values(parse_urssaf_communes(write(tmp, "b.csv", header, rows, bom=bom, blank=blank),
                                        departement="69")) == base


@PROFILE
@given(row=st.integers(0, 2), col=st.sampled_from(["nb_etablissements", "effectifs_salaries"]),
       value=st.sampled_from(["-1", "abc", "1.5.2", "x1"]))
def test_urssaf_bad_count_names_line_and_column(tmp_path_factory, row, col, value):
    rows = [list(r) for r in URSSAF_ROWS]
    rows[row][URSSAF.index(col)] = value
    path = write(tmp_path_factory.mktemp("u"), "bad.csv", URSSAF, rows)
    try:
        parse_urssaf_communes(path, departement="69")
    except InputFormatError as exc:
        assert ERROR.search(str(exc)) and f"line {row + 2}, column '{col}'" in str(exc), str(exc)
    else:
        raise AssertionError(f"{value!r} in {col} was accepted")


@PROFILE
@given(order=st.permutations(range(1, len(FILO))), bom=st.booleans())
def test_filosofi_any_column_order_keeps_secret_cells(tmp_path_factory, order, bom):
    tmp = tmp_path_factory.mktemp("f")
    base = values(parse_filosofi_cc_s(write(tmp, "a.csv", FILO, FILO_ROWS), departement="69"))
    idx = [0] + list(order)
    got = values(parse_filosofi_cc_s(write(tmp, "b.csv", [FILO[i] for i in idx],
                                           [[r[i] for i in idx] for r in FILO_ROWS], bom=bom), departement="69"))
    assert got == base
    secret = [k for k, (v, s) in got.items() if s]
    assert secret and all(got[k][0] is None for k in secret)  # secret = missing, never 0


@PROFILE
@given(row=st.integers(0, 1), col=st.sampled_from(FILO[1:]), value=st.sampled_from(["abc", "12..3", "--"]))
def test_filosofi_bad_value_names_line_and_column(tmp_path_factory, row, col, value):
    rows = [list(r) for r in FILO_ROWS]
    rows[row][FILO.index(col)] = value
    path = write(tmp_path_factory.mktemp("f"), "bad.csv", FILO, rows)
    try:
        parse_filosofi_cc_s(path, departement="69")
    except InputFormatError as exc:
        assert ERROR.search(str(exc)) and f"line {row + 2}, column '{col}'" in str(exc), str(exc)
    else:
        raise AssertionError(f"{value!r} in {col} was accepted")
