"""Scenario definitions (``dim_scenario``) and the analyst's custom file of département shares.

A scenario is "a real upcoming election (or, for legislative elections, which have no fixed
date, a clearly hypothetical year) under swing hypothesis S":

* the election: :data:`CALENDAR` (2027 presidential first round, 2029 European election) and
  "législatives tenues en année N" for the years up to 3 years after the last election in the
  warehouse (:func:`calendar_elections`); placed on a nominal day (:func:`nominal_election_date`:
  second Sunday of April / June) that dates the indicators; ``reference_year`` = year of the
  last election in the warehouse, ``horizon`` = years since then;
* ``swing``: ``status_quo`` (the département as last observed, spread measured at that lead),
  ``trend`` (recent elections extrapolated; an option: it lost to status quo in the backtest),
  ``custom`` (département shares supplied by the analyst) or ``national`` (national vote
  intentions -> département through the national-conditional rule), files validated by
  :func:`read_custom_file`.

Identifiers are stable and readable: ``pres_2027_status_quo``, ``leg_2027_status_quo``,
``euro_2029_national``. The method behind each hypothesis is in docs/scenarios.md.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from electio.errors import ElectioError

SWINGS = ("status_quo", "trend", "custom", "national")
ELECTION_TYPES = ("presidentielle", "legislatives", "europeennes")
TYPE_PREFIX = {"presidentielle": "pres", "legislatives": "leg", "europeennes": "euro"}
TYPE_LABEL_FR = {"presidentielle": "Présidentielle", "legislatives": "Législatives", "europeennes": "Européennes"}
SWING_LABEL_FR = {"status_quo": "statu quo", "trend": "tendance", "custom": "hypothèse de l'analyste",
                  "national": "intentions de vote nationales"}
#: Month of the nominal election day (second Sunday of that month).
ELECTION_MONTH = {"presidentielle": 4, "legislatives": 6, "europeennes": 6}
TURNOUT = "turnout"
#: Tolerance on the sum of the bloc shares of a custom file (percentage points): polls are
#: usually published rounded to the unit, so a sum of 99 or 101 is normal; the shares are
#: then rescaled to exactly 100.
SUM_TOLERANCE = 1.0
CUSTOM_COLUMNS = ("bloc_code", "share", "horizon")
REQUIRED_COLUMNS = ("bloc_code", "share")
#: Horizons a custom file's ``horizon`` column may name (years after the last election's year).
HORIZONS = (1, 2, 3, 4, 5)
#: Scheduled national elections (first round). The day of the 2027 presidential first round and
#: of the 2029 European election are not fixed by decree yet: nominal day in the usual month.
CALENDAR = (
    ("presidentielle", 2027, "1er tour de l'élection présidentielle d'avril 2027"),
    ("europeennes", 2029, "élections européennes de juin 2029"),
)
#: Legislative elections have no fixed date (dissolution): scenarios for a hypothetical year.
HYPOTHETICAL_TYPES = ("legislatives",)
#: Real elections (and hypothetical years) up to this many years after the last election.
WINDOW_YEARS = 3


def current_year() -> int:
    """Default reference year: the calendar year of today's date."""
    return date.today().year


def nominal_election_date(election_type: str, year: int) -> date:
    """Second Sunday of April (presidential) or of June (legislative, European) of ``year``."""
    if election_type not in ELECTION_MONTH:
        raise ElectioError(f"unknown election type {election_type!r} (known: {', '.join(ELECTION_TYPES)})")
    first = date(year, ELECTION_MONTH[election_type], 1)
    first_sunday = first + timedelta(days=(6 - first.weekday()) % 7)
    return first_sunday + timedelta(days=7)


def make_scenario_id(election_type: str, year: int, swing: str) -> str:
    return f"{TYPE_PREFIX[election_type]}_{int(year)}_{swing}"


@dataclass(frozen=True)
class Scenario:
    """One row of dim_scenario: an election (type, year) under a swing hypothesis.

    ``reference_year`` is the year of the last election in the warehouse (the horizon counts
    from it); ``hypothetical`` marks a year chosen by us for a type without a fixed date."""

    election_type: str
    target_year: int
    swing: str
    reference_year: int
    #: custom only: target -> percent (the blocs, summing to 100; optionally 'turnout').
    custom_shares: Mapping[str, float] | None = None
    custom_source: str | None = None
    #: custom only: take the analyst's totals as exact (no département uncertainty).
    custom_fixed: bool = False
    hypothetical: bool = False

    def __post_init__(self) -> None:
        if self.election_type not in ELECTION_TYPES:
            raise ElectioError(f"unknown election type {self.election_type!r} (known: {', '.join(ELECTION_TYPES)})")
        if self.swing not in SWINGS:
            raise ElectioError(f"unknown swing hypothesis {self.swing!r} (known: {', '.join(SWINGS)})")
        if int(self.target_year) <= int(self.reference_year):
            raise ElectioError(f"target year {self.target_year} must come after the reference year "
                               f"{self.reference_year} (the last election in the warehouse)")
        if self.swing in ("custom", "national") and not self.custom_shares:
            raise ElectioError(f"a {self.swing} scenario needs shares (electio forecast --{self.swing} FILE)")

    @property
    def horizon(self) -> int:
        return int(self.target_year) - int(self.reference_year)

    @property
    def scenario_id(self) -> str:
        return make_scenario_id(self.election_type, self.target_year, self.swing)

    @property
    def election_date(self) -> date:
        return nominal_election_date(self.election_type, self.target_year)

    @property
    def label_fr(self) -> str:
        if self.hypothetical:
            what = f"{TYPE_LABEL_FR[self.election_type]} tenues en {self.target_year} (date hypothétique)"
        else:
            rnd = ", 1er tour" if self.election_type == "presidentielle" else ""
            what = f"{TYPE_LABEL_FR[self.election_type]} {self.target_year}{rnd}"
        example = EXAMPLE_LABEL_FR if is_example_file(self.custom_source) else ""
        return f"{what} : {SWING_LABEL_FR[self.swing]}{example}"


#: The example files shipped in data/reference/ hold made-up numbers: a scenario built from one says so
#: in its label, so the report, Power BI and the slides never show it as a real poll.
EXAMPLE_FILES = ("scenario_custom_example.csv", "scenario_national_example.csv")
EXAMPLE_LABEL_FR = " (exemple, chiffres inventés)"


def is_example_file(path) -> bool:
    """True for one of the shipped example files (also once stored as ``<name>.fixed.csv``)."""
    if not path:
        return False
    name = Path(str(path)).name.replace(".fixed.csv", ".csv").replace(".national.csv", ".csv")
    return name in EXAMPLE_FILES


def calendar_elections(last_year: int, *, today: date | None = None,
                       window: int = WINDOW_YEARS) -> list[tuple[str, int, bool]]:
    """(type, year, hypothetical) of the elections to forecast: the scheduled ones of
    :data:`CALENDAR` after today (the European election of 2029 is kept even beyond the
    window: it is the next one of its type), and a hypothetical legislative election in each
    remaining year up to ``last_year + window``."""
    today = today or date.today()
    out = []
    for etype, year, _ in CALENDAR:
        if nominal_election_date(etype, year) > today and year > last_year:
            out.append((etype, year, False))
    for etype in HYPOTHETICAL_TYPES:
        for year in range(last_year + 1, last_year + window + 1):
            if nominal_election_date(etype, year) > today:
                out.append((etype, year, True))
    return out


def default_scenarios(last_year: int | None = None, *, today: date | None = None) -> list[Scenario]:
    """What the refresh runs: every election of :func:`calendar_elections` under the status quo
    (the trend hypothesis lost to it in the backtest: docs/scenarios.md). ``last_year``: year of
    the last election in the warehouse (default: the year before today)."""
    last = (today or date.today()).year - 1 if last_year is None else int(last_year)
    return build_scenarios(elections=calendar_elections(last, today=today), swings=("status_quo",),
                           reference_year=last)


def build_scenarios(*, elections: Iterable[tuple[str, int, bool]], swings: Iterable[str] = ("status_quo",),
                    reference_year: int, custom: "CustomShares | None" = None, custom_fixed: bool = False,
                    national: "CustomShares | None" = None) -> list[Scenario]:
    """Scenarios for every (swing, election). With ``custom`` / ``national`` (validated files),
    'custom' / 'national' are added to the swings; a file with a ``horizon`` column applies each
    of its sets to the election ``horizon`` years after ``reference_year``."""
    swings = list(dict.fromkeys(swings))
    files = {"custom": custom, "national": national}
    for name, f in files.items():
        if f is not None and name not in swings:
            swings.append(name)
        if name in swings and f is None:
            raise ElectioError(f"the {name} hypothesis needs a file of shares (--{name} FILE)")
    out = []
    for swing in swings:
        f = files.get(swing)
        for etype, year, hypothetical in elections:
            h = int(year) - int(reference_year)
            if f is not None and f.by_horizon and h not in f.shares:
                continue
            out.append(Scenario(election_type=etype, target_year=int(year), swing=swing,
                                reference_year=int(reference_year),
                                custom_shares=f.for_horizon(h) if f is not None else None,
                                custom_source=f.file if f is not None else None,
                                custom_fixed=custom_fixed if swing == "custom" else False,
                                hypothetical=hypothetical))
    ids = [s.scenario_id for s in out]
    if len(set(ids)) != len(ids):
        raise ElectioError(f"duplicate scenarios: {sorted({i for i in ids if ids.count(i) > 1})}")
    return out


# --------------------------------------------------------------------------- custom file

@dataclass(frozen=True)
class Problem:
    line: int | None
    column: str | None
    message: str
    lines: tuple[int, int] | None = None  # a range, for problems about a group of rows

    def where(self, file: str) -> str:
        parts = [file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        elif self.lines is not None:
            parts.append(f"lines {self.lines[0]}-{self.lines[1]}" if self.lines[0] != self.lines[1]
                         else f"line {self.lines[0]}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)


class ScenarioFileError(ElectioError):
    """The custom file is invalid: every problem found, each with file, line and column."""

    def __init__(self, file: str, problems: Sequence[Problem]):
        self.file = str(file)
        self.problems = list(problems)
        lines = [f"{p.where(self.file)}: {p.message}" for p in self.problems]
        super().__init__(f"invalid custom scenario file ({len(lines)} problem{'s' if len(lines) > 1 else ''}):\n  "
                         + "\n  ".join(lines))


@dataclass(frozen=True)
class CustomShares:
    """Validated content of a custom file: shares for every horizon (key None) or per horizon."""

    file: str
    shares: Mapping[int | None, Mapping[str, float]] = field(default_factory=dict)

    @property
    def by_horizon(self) -> bool:
        return None not in self.shares

    def for_horizon(self, horizon: int) -> dict[str, float]:
        if None in self.shares:
            return dict(self.shares[None])
        if horizon not in self.shares:
            raise ElectioError(f"{self.file}: no shares for horizon {horizon} (file has {sorted(self.shares)})")
        return dict(self.shares[horizon])


def _parse_number(text: str, decimal_comma: bool) -> float | None:
    t = text.strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if t.endswith("%"):
        t = t[:-1]
    if decimal_comma:
        t = t.replace(",", ".")
    try:
        value = float(t)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def fold(text: str) -> str:
    """Case- and accent-insensitive key of a list / candidate label."""
    import unicodedata

    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return " ".join(t.lower().replace("-", " ").split())


def parse_election_key(key: str, last_year: int) -> tuple[str, int, bool]:
    """'pres_2027' -> ('presidentielle', 2027, False); legislative years are hypothetical."""
    prefix_to_type = {v: k for k, v in TYPE_PREFIX.items()}
    parts = str(key).strip().lower().split("_")
    if len(parts) != 2 or parts[0] not in prefix_to_type or not parts[1].isdigit():
        raise ElectioError(f"election {key!r}: expected TYPE_YEAR with TYPE in {', '.join(prefix_to_type)}, "
                           "e.g. pres_2027")
    etype, year = prefix_to_type[parts[0]], int(parts[1])
    if year <= last_year:
        raise ElectioError(f"election {key!r}: {year} is not after the last election in the warehouse ({last_year})")
    scheduled = {(t, y) for t, y, _ in CALENDAR}
    if etype not in HYPOTHETICAL_TYPES and (etype, year) not in scheduled:
        raise ElectioError(f"election {key!r}: no such election is scheduled (known: "
                           + ", ".join(f"{TYPE_PREFIX[t]}_{y}" for t, y, _ in CALENDAR) + "; legislative years are free)")
    return etype, year, etype in HYPOTHETICAL_TYPES


def read_custom_file(path: str | Path, blocs: Sequence[str], *, horizons: Iterable[int] = HORIZONS,
                     tolerance: float = SUM_TOLERANCE, labels: dict | None = None) -> CustomShares:
    """Read and validate a custom file of département bloc shares (percent of expressed votes).

    Format (UTF-8 CSV, ``,`` or ``;`` separated; with ``;`` a decimal comma is accepted; lines
    starting with ``#`` are comments): columns ``bloc_code``, ``share`` and optionally
    ``horizon``; one row per bloc (every bloc of dim_bloc, once), optionally one row
    ``turnout`` (percent of registered voters). Without ``horizon``, the shares apply to
    every horizon; with it, each horizon in the file is a complete set.
    Every problem is reported (file, line, column), not only the first one.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ScenarioFileError(name, [Problem(None, None, "file not found")])
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioFileError(name, [Problem(None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                                           "save the file as CSV UTF-8")]) from None
    return parse_custom_text(raw, blocs, file=name, horizons=horizons, tolerance=tolerance, labels=labels)


def parse_custom_text(raw: str, blocs: Sequence[str], *, file: str = "<custom>", horizons: Iterable[int] = HORIZONS,
                      tolerance: float = SUM_TOLERANCE, labels: dict | None = None) -> CustomShares:
    """:func:`read_custom_file` on text already read (line numbers are the file's).

    ``labels`` (folded list / candidate label or nuance code -> bloc, from the politics
    reference; None value = ambiguous): a ``bloc_code`` cell that is not a bloc may name a list
    or candidate instead; rows of one bloc are then added up, and blocs without any row count 0."""
    labels = labels or {}
    blocs = list(blocs)
    allowed_h = sorted({int(h) for h in horizons})
    problems: list[Problem] = []
    numbered = [(i + 1, line) for i, line in enumerate(raw.splitlines())]
    content = [(n, line) for n, line in numbered if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise ScenarioFileError(file, [Problem(None, None, "no header and no data (empty file or comments only)")])
    header_line, header_text = content[0]
    delimiter = ";" if header_text.count(";") > header_text.count(",") else ","
    decimal_comma = delimiter == ";"
    header = [h.strip().lower() for h in next(csv.reader([header_text], delimiter=delimiter))]
    for col in header:
        if col not in CUSTOM_COLUMNS:
            problems.append(Problem(header_line, col or "(empty)",
                                    f"unknown column (expected {', '.join(CUSTOM_COLUMNS)}; horizon is optional)"))
    for col in REQUIRED_COLUMNS:
        if col not in header:
            problems.append(Problem(header_line, col, "required column missing from the header"))
    dup_cols = {c for c in header if header.count(c) > 1}
    for col in sorted(dup_cols):
        problems.append(Problem(header_line, col, "column appears more than once in the header"))
    if problems:
        raise ScenarioFileError(file, problems)
    has_h = "horizon" in header
    known = blocs + [TURNOUT]
    rows: list[tuple[int, int | None, str, float]] = []
    seen: dict[tuple[int | None, str], int] = {}
    rejected: set[tuple[int | None, str]] = set()  # (horizon, bloc) of valid blocs on rejected rows
    unattributed = False                           # a rejected row whose bloc or horizon is unknown
    any_mapped = False                             # a row named a list / candidate (summed per bloc)
    mapped_keys: set = set()
    for line_no, text in content[1:]:
        cells = next(csv.reader([text], delimiter=delimiter))
        if len(cells) != len(header):
            problems.append(Problem(line_no, None, f"{len(cells)} fields, the header has {len(header)} "
                                                   f"(separator {delimiter!r})"))
            unattributed = True
            continue
        rec = dict(zip(header, (c.strip() for c in cells)))
        bloc = rec["bloc_code"].lower()
        bloc_ok = bloc in known
        mapped = False
        if bloc and not bloc_ok and fold(rec["bloc_code"]) in labels:
            target_bloc = labels[fold(rec["bloc_code"])]
            if target_bloc is None:
                problems.append(Problem(line_no, "bloc_code", f"{rec['bloc_code']!r} belongs to several blocs in the "
                                                              "politics reference; give its bloc code instead"))
                unattributed = True
                continue
            bloc, bloc_ok, mapped = target_bloc, True, True
            any_mapped = True
        if not bloc:
            problems.append(Problem(line_no, "bloc_code", "empty bloc code"))
        elif not bloc_ok:
            problems.append(Problem(line_no, "bloc_code", f"unknown bloc {rec['bloc_code']!r} "
                                                          f"(known: {', '.join(known)})"))
        value_ok = False
        value = _parse_number(rec["share"], decimal_comma) if rec["share"] else None
        if not rec["share"]:
            problems.append(Problem(line_no, "share", "empty value"))
        elif value is None:
            problems.append(Problem(line_no, "share", f"not a number: {rec['share']!r}"
                                    + (" (with ',' as column separator the decimal separator is '.')"
                                       if "," in rec["share"] and not decimal_comma else "")))
        elif value < 0:
            problems.append(Problem(line_no, "share", f"negative value {value:g}"))
        elif value > 100:
            problems.append(Problem(line_no, "share", f"{value:g} is above 100 (percent expected)"))
        else:
            value_ok = True
        horizon, horizon_ok = None, True
        if has_h:
            h_text = rec["horizon"]
            h_val = _parse_number(h_text, decimal_comma) if h_text else None
            horizon_ok = False
            if h_val is None or h_val != int(h_val):
                problems.append(Problem(line_no, "horizon", f"not a whole number of years: {h_text!r}"))
            elif int(h_val) not in allowed_h:
                problems.append(Problem(line_no, "horizon", f"horizon {int(h_val)} not allowed "
                                                            f"(allowed: {', '.join(map(str, allowed_h))})"))
            else:
                horizon, horizon_ok = int(h_val), True
        if not (bloc_ok and value_ok and horizon_ok):
            if bloc_ok and horizon_ok:
                rejected.add((horizon, bloc))
            else:
                unattributed = True
            continue
        key = (horizon, bloc)
        if mapped and (key in mapped_keys or key not in seen):
            if key in mapped_keys:  # another list / candidate of the same bloc: add up
                rows = [(ln, h, b, v + float(value)) if (h, b) == key else (ln, h, b, v) for ln, h, b, v in rows]
                continue
            mapped_keys.add(key)
        if key in seen:
            where = f" for horizon {horizon}" if has_h else ""
            problems.append(Problem(line_no, "bloc_code", f"duplicate row for {bloc!r}{where} "
                                                          f"(first given on line {seen[key]})"))
            continue
        seen[key] = line_no
        rows.append((line_no, horizon, bloc, float(value)))
    if not rows and not problems:
        problems.append(Problem(header_line, None, "no data row after the header"))
    groups: dict[int | None, list[tuple[int, str, float]]] = {}
    for line_no, horizon, bloc, value in rows:
        groups.setdefault(horizon, []).append((line_no, bloc, value))
    for horizon, _ in rejected:
        groups.setdefault(horizon, [])
    result: dict[int | None, dict[str, float]] = {}
    for horizon in sorted(groups, key=lambda h: (h is None, h or 0)):
        items = groups[horizon]
        lines = [i[0] for i in items] or [header_line]
        span = (min(lines), max(lines))
        label = f" for horizon {horizon}" if horizon is not None else ""
        given = {b: v for _, b, v in items}
        if any_mapped:  # per-list files: a bloc without a list has 0 %
            given = {**{b: 0.0 for b in blocs}, **given}
        # A bloc whose row was rejected above is not "missing": its own error says why.
        missing = [b for b in blocs if b not in given and (horizon, b) not in rejected]
        if missing:
            problems.append(Problem(None, "bloc_code", f"missing bloc(s){label}: {', '.join(missing)} "
                                                       "(every bloc needs a row, 0 if none)", lines=span))
        if missing or unattributed or any(h == horizon for h, _ in rejected):
            continue  # the sum is only checked on a complete, valid set
        total = sum(given[b] for b in blocs)
        if abs(total - 100.0) > tolerance:
            problems.append(Problem(None, "share", f"bloc shares{label} sum to {total:.2f}, expected 100 "
                                                   f"(± {tolerance:g}); turnout is not part of the sum", lines=span))
            continue
        shares = {b: 100.0 * given[b] / total for b in blocs}
        if TURNOUT in given:
            if not 0 < given[TURNOUT] <= 100:
                problems.append(Problem(seen[(horizon, TURNOUT)], "share", "turnout must be above 0 and at "
                                                                           "most 100 (percent of registered)"))
                continue
            shares[TURNOUT] = given[TURNOUT]
        result[horizon] = shares
    if problems:
        raise ScenarioFileError(file, problems)
    return CustomShares(file=file, shares=result)


def custom_text(shares: Mapping[str, float], horizon: int | None = None) -> str:
    """A custom file for ``shares`` (used by tests and to document the format)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["bloc_code", "share"] + (["horizon"] if horizon is not None else []))
    for bloc, value in shares.items():
        writer.writerow([bloc, f"{value:g}"] + ([horizon] if horizon is not None else []))
    return buf.getvalue()
