"""Scenario definitions and the validation of the analyst's custom file."""

from __future__ import annotations

from datetime import date

import pytest

from electio.errors import ElectioError
from electio.forecast.scenarios import (Scenario, ScenarioFileError, build_scenarios, calendar_elections,
                                        default_scenarios, nominal_election_date, parse_custom_text,
                                        parse_election_key, read_custom_file)

BLOCS = ["extreme_gauche", "gauche", "centre", "droite", "extreme_droite", "divers"]
GOOD = "bloc_code,share\nextreme_gauche,1\ngauche,30\ncentre,25\ndroite,10\nextreme_droite,30\ndivers,4\n"


def problems(text: str, **kwargs) -> list[tuple]:
    with pytest.raises(ScenarioFileError) as err:
        parse_custom_text(text, BLOCS, file="polls.csv", **kwargs)
    assert str(err.value).startswith("invalid custom scenario file")
    return [(p.line, p.lines, p.column, p.message) for p in err.value.problems]


def test_nominal_dates_and_ids():
    assert nominal_election_date("presidentielle", 2027) == date(2027, 4, 11)  # second Sunday of April
    assert nominal_election_date("legislatives", 2028) == date(2028, 6, 11)
    s = Scenario("presidentielle", 2027, "trend", 2024)
    assert (s.scenario_id, s.horizon) == ("pres_2027_trend", 3)
    assert "2027" in s.label_fr and "tendance" in s.label_fr and "hypoth" not in s.label_fr
    leg = Scenario("legislatives", 2027, "status_quo", 2024, hypothetical=True)
    assert leg.scenario_id == "leg_2027_status_quo" and "date hypothétique" in leg.label_fr


def test_calendar_names_real_elections_only():
    """From a warehouse ending in 2024, seen in December 2026: the 2027 presidential first round,
    the 2029 European election and a hypothetical 2027 legislative election; no 'presidential 2028'."""
    got = calendar_elections(2024, today=date(2026, 12, 4))
    assert got == [("presidentielle", 2027, False), ("europeennes", 2029, False), ("legislatives", 2027, True)]
    ids = [s.scenario_id for s in default_scenarios(2024, today=date(2026, 12, 4))]
    assert ids == ["pres_2027_status_quo", "euro_2029_status_quo", "leg_2027_status_quo"]
    # seen in 2025, the hypothetical legislative years 2025 (after June), 2026 and 2027
    assert [y for t, y, h in calendar_elections(2024, today=date(2025, 1, 5)) if h] == [2025, 2026, 2027]
    assert parse_election_key("pres_2027", 2024) == ("presidentielle", 2027, False)
    with pytest.raises(ElectioError, match="no such election is scheduled"):
        parse_election_key("pres_2028", 2024)
    with pytest.raises(ElectioError, match="not after"):
        parse_election_key("leg_2024", 2024)


def test_invalid_scenarios_are_refused():
    with pytest.raises(ElectioError, match="target year"):
        Scenario("presidentielle", 2024, "trend", 2024)
    with pytest.raises(ElectioError, match="election type"):
        Scenario("municipales", 2026, "trend", 2024)
    with pytest.raises(ElectioError, match="swing"):
        Scenario("presidentielle", 2027, "polls", 2024)
    with pytest.raises(ElectioError, match="custom"):
        build_scenarios(elections=[("presidentielle", 2027, False)], swings=["custom"], reference_year=2024)


def test_valid_file_comma_and_semicolon(tmp_path):
    shares = parse_custom_text(GOOD, BLOCS).for_horizon(2)
    assert shares["gauche"] == pytest.approx(30.0) and sum(shares.values()) == pytest.approx(100.0)
    # French Excel export: ';' separator, decimal comma, a comment, a turnout row, sum 99.5 rescaled to 100.
    text = ("# illustrative\nbloc_code;share\nextreme_gauche;1\ngauche;29,5\ncentre;25\ndroite;10\n"
            "extreme_droite;30\ndivers;4\nturnout;74,5\n")
    path = tmp_path / "polls.csv"
    path.write_text(text, encoding="utf-8")
    custom = read_custom_file(path, BLOCS)
    got = custom.for_horizon(1)
    assert sum(v for k, v in got.items() if k != "turnout") == pytest.approx(100.0)
    assert got["gauche"] == pytest.approx(100 * 29.5 / 99.5)
    assert got["turnout"] == 74.5
    scen = build_scenarios(elections=[("presidentielle", 2027, False), ("legislatives", 2027, True)],
                           swings=["status_quo"], reference_year=2024, custom=custom)
    assert [s.scenario_id for s in scen][-2:] == ["pres_2027_custom", "leg_2027_custom"]


def test_horizon_column_defines_the_custom_horizons():
    text = "bloc_code,share,horizon\n" + "".join(
        f"{b},{v},{h}\n" for h in (1, 3) for b, v in zip(BLOCS, [1, 30, 25, 10, 30, 4]))
    custom = parse_custom_text(text, BLOCS)
    scen = build_scenarios(elections=[("legislatives", y, True) for y in (2025, 2026, 2027)], swings=[],
                           reference_year=2024, custom=custom)
    assert [s.scenario_id for s in scen] == ["leg_2025_custom", "leg_2027_custom"]
    with pytest.raises(ElectioError, match="no shares for horizon 2"):
        custom.for_horizon(2)


def test_unknown_bloc_gives_file_line_column():
    text = GOOD.replace("divers,4", "ecologistes,4")
    found = problems(text)
    assert (7, None, "bloc_code") == found[0][:3] and "unknown bloc 'ecologistes'" in found[0][3]
    # the bloc that was replaced is also reported missing (lines of the data rows)
    assert any(p[2] == "bloc_code" and "missing bloc(s): divers" in p[3] and p[1] == (2, 6) for p in found)


def test_missing_bloc():
    text = "\n".join(GOOD.splitlines()[:-1]) + "\n"  # no 'divers' row
    (line, lines, column, message), = problems(text)
    assert line is None and lines == (2, 6) and column == "bloc_code" and "divers" in message


def test_shares_not_summing_to_100():
    text = GOOD.replace("gauche,30", "gauche,35")
    (line, lines, column, message), = problems(text)
    assert column == "share" and lines == (2, 7) and "sum to 105.00" in message
    assert problems(GOOD.replace("gauche,30", "gauche,30.9"), tolerance=0.5)  # 100.9 > 100 ± 0.5


def test_negative_and_non_numeric_values():
    text = GOOD.replace("droite,10", "droite,-10").replace("centre,25", "centre,vingt-cinq")
    found = problems(text)
    assert (4, None, "share") == found[0][:3] and "not a number: 'vingt-cinq'" in found[0][3]
    assert (5, None, "share") == found[1][:3] and "negative value -10" in found[1][3]
    assert len(found) == 2  # no misleading "missing bloc" or "sum" error on top


def test_duplicate_rows():
    text = GOOD + "gauche,30\n"
    (line, _, column, message), = problems(text)
    assert (line, column) == (8, "bloc_code") and "duplicate row for 'gauche'" in message and "line 3" in message


def test_header_problems():
    found = problems("bloc,share,weight\n" + GOOD.split("\n", 1)[1])
    assert (1, None, "bloc") == found[0][:3] and "unknown column" in found[0][3]
    assert (1, None, "weight") == found[1][:3]
    assert (1, None, "bloc_code") == found[2][:3] and "required column missing" in found[2][3]
    assert problems("# only a comment\n")[0][3].startswith("no header")
    assert "no data row" in problems("bloc_code,share\n")[0][3]


def test_bad_horizon_and_field_count():
    text = "bloc_code,share,horizon\nextreme_gauche,1,6\ngauche,30,x\ncentre,25\n"
    found = problems(text)
    assert (2, None, "horizon") == found[0][:3] and "horizon 6 not allowed" in found[0][3]
    assert (3, None, "horizon") == found[1][:3] and "whole number" in found[1][3]
    assert (4, None, None) == found[2][:3] and "2 fields, the header has 3" in found[2][3]


def test_error_message_names_file_line_and_column(tmp_path):
    path = tmp_path / "sondage.csv"
    path.write_text(GOOD.replace("droite,10", "droite,abc"), encoding="utf-8")
    with pytest.raises(ScenarioFileError) as err:
        read_custom_file(path, BLOCS)
    assert f"{path}, line 5, column 'share': not a number: 'abc'" in str(err.value)
    with pytest.raises(ScenarioFileError, match="file not found"):
        read_custom_file(tmp_path / "absent.csv", BLOCS)


def test_turnout_out_of_range():
    found = problems(GOOD + "turnout,0\n")
    assert (8, None, "share") == found[0][:3] and "turnout" in found[0][3]


def test_example_file_is_valid():
    from electio.settings import project_file

    custom = read_custom_file(project_file("data/reference/scenario_custom_example.csv"), BLOCS)
    assert custom.shares


def test_national_file_by_list_label_is_summed_per_bloc():
    """Lists / candidates of the politics reference instead of bloc codes: summed per bloc, blocs
    without a list count 0; an ambiguous label names its line."""
    labels = {"liste a": "gauche", "liste b": "gauche", "candidat c": "extreme_droite", "candidate d": "centre",
              "liste e": "droite", "double": None}
    text = "bloc_code,share\nListe A,20\nListe B,10\nCandidat C,40\nCandidate D,25\nListe E,5\n"
    shares = parse_custom_text(text, BLOCS, labels=labels).for_horizon(1)
    assert shares["gauche"] == pytest.approx(30.0) and shares["divers"] == 0.0
    found = problems(text + "Double,0\n", labels=labels)
    assert found == [(7, None, "bloc_code", "'Double' belongs to several blocs in the politics reference; "
                                             "give its bloc code instead")]
