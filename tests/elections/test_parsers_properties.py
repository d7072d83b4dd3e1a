"""Property-based tests: any variation of a valid file either loads the same
figures or fails with a message naming the file and the line or column."""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from electio.errors import InputFormatError
from electio.sources.elections import agregees, aktiur, pres2012

HEADER = ["departement", "commune", "commune_libelle", "inscrits", "votants", "blancs", "exprimes", "MACRON", "LE PEN"]
ROWS = [["69", "001", "Affoux", 250, 200, 5, 190, 100, 90], ["69", "123", "Lyon", 1000, 800, 10, 780, 500, 280],
        ["69", "152", "Pierre-Bénite", 300, 250, 5, 240, 140, 100], ["01", "001", "Ain", 10, 9, 1, 8, 4, 4]]
EXPECTED = {"69001": 190, "69123": 780, "69152": 240}
ERROR = re.compile(r"\.csv(\.gz)?(, line \d+)?(, column '[^']+')?: ")

PROFILE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def render(header, rows, sep, blank_lines) -> str:
    lines = [sep.join(header)] + [sep.join(str(c) for c in r) for r in rows]
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i in blank_lines:
            out.append("")
    return "\n".join(out) + "\n"


@PROFILE
@given(order=st.permutations(range(len(HEADER))), bom=st.booleans(), blank=st.sets(st.integers(1, 3), max_size=2),
       crlf=st.booleans())
def test_valid_variations_load_the_same_figures(tmp_path_factory, order, bom, blank, crlf):
    header = [HEADER[i] for i in order]
    text = render(header, [[r[i] for i in order] for r in ROWS], ",", blank)
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path_factory.mktemp("p") / "variant.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    staged = aktiur.parse_commune_large(path, departement="69")
    assert staged.turnout.set_index("source_code")["expressed"].to_dict() == EXPECTED
    assert staged.results.groupby("source_code")["votes"].sum().to_dict() == EXPECTED


BAD_CELLS = st.sampled_from(["-1", "abc", "1.5", "", "1e3x", "NaN"])


@PROFILE
@given(row=st.integers(0, 2), col=st.sampled_from(["inscrits", "votants", "exprimes", "MACRON"]), value=BAD_CELLS,
       sep=st.sampled_from([",", ";", "\t"]), encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_bad_variations_fail_naming_file_line_and_column(tmp_path_factory, row, col, value, sep, encoding):
    rows = [list(r) for r in ROWS]
    rows[row][HEADER.index(col)] = value
    path = tmp_path_factory.mktemp("p") / "bad.csv"
    text = render(HEADER, rows, sep, set())
    path.write_bytes(text.replace("Bénite", "Bénite").encode(encoding))
    try:
        staged = aktiur.parse_commune_large(path, departement="69")
    except InputFormatError as exc:
        assert ERROR.search(str(exc)), str(exc)
        assert "bad.csv" in str(exc)
        if sep == "," and encoding == "utf-8":
            assert f"line {row + 2}, column '{col}'" in str(exc)
    else:  # only a value that is a valid count may load
        raise AssertionError(f"{value!r} in {col} loaded: {staged.turnout}")


@PROFILE
@given(dup=st.integers(0, 2))
def test_duplicate_rows_fail(tmp_path_factory, dup):
    rows = ROWS[:3] + [ROWS[dup]]
    path = tmp_path_factory.mktemp("p") / "dup.csv"
    path.write_text(render(HEADER, rows, ",", set()), encoding="utf-8")
    try:
        aktiur.parse_commune_large(path, departement="69")
    except InputFormatError as exc:
        assert "dup.csv, line 5, column 'commune': duplicate row" in str(exc)
    else:
        raise AssertionError("a duplicated commune was accepted")


@PROFILE
@given(code=st.from_regex(r"69[0-9]{3}", fullmatch=True), votes=st.integers(0, 10_000))
def test_pres2012_any_code_and_count_loads_or_fails_clearly(tmp_path_factory, code, votes):
    path = tmp_path_factory.mktemp("p") / "p2012.csv"
    path.write_text('"CodeInsee";"Inscrits";"Votants";"Blancs.et.nuls";"Exprimés";"Hollande"\n'
                    f'"{code}";{votes + 10};{votes + 5};5;{votes};{votes}\n', encoding="utf-8")
    staged = pres2012.parse_communes(path, departement="69")
    assert staged.turnout["expressed"].tolist() == [votes]


@PROFILE
@given(n_dup=st.integers(1, 3))
def test_agregees_identical_duplicates_are_counted_not_summed(tmp_path_factory, n_dup):
    head = "id_election;annee;type_election;tour;code_commune;libelle_commune;nom;nuance;parti_politique;famille_politique;voix;ratio_voix_inscrits;ratio_voix_exprimes\n"
    row = "2024_euro_t1;2024;euro;1;69019;Belleville;LISTE;LENS;p;f;{v};1;1\n"
    path = tmp_path_factory.mktemp("p") / "cands.csv"
    path.write_text(head + row.format(v=7) * (n_dup + 1), encoding="utf-8")
    results, read, rejected = agregees.parse_candidates(path, label_field="nom")
    assert results["votes"].tolist() == [7] and read == n_dup + 1 and len(rejected) == n_dup
