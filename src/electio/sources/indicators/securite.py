"""Recorded crime (SSMSI, police and gendarmerie): commune totals and département bases.

Three mirror files, three parsers:

* ``ssmsi_delinquance_communes_69/rhone_securite.csv`` (';', BOM), PROCESSED by a
  third party (voundipaulyvan-art/electio_analytics)::

      code_commune;libelle_commune;annee;total_delits
      69003;Albigny-sur-Saône;2017;68.0

  ``total_delits`` is that project's sum, for 2017, 2022 and 2024, of 14
  indicators of the communal base (its ``pipeline.py`` reads 14 per-indicator
  files, every indicator but "usage de stupéfiants (AFD)", although its README
  speaks of 4), counted in different units (victims, vehicles, offences,
  persons charged). The communal base does not publish small counts
  (``est_diffuse = ndiff``) and the third party replaced an unpublished count
  by 0 before summing: a total of 0 (312 of 825 rows) may mean "nothing
  published", so it is staged as withheld (value NaN, ``is_suppressed``),
  never as 0. Positive totals are kept as they are; they may leave out
  unpublished indicators (see securite.toml). Lyon is listed as 69123 and as
  69381-69389; 69123 exceeds the sum of the arrondissements by a few dozen.

* ``ssmsi_delinquance_departements/donnee-dep-data.gouv-2023-geographie2023-
  produit-le2024-03-07.csv``: 2023 edition, official layout (';', every field
  quoted, decimal commas, 2-digit years '16'..'23')::

      "classe";"annee";"Code.département";"Code.région";"unité.de.compte";"millPOP";
      "millLOG";"faits";"POP";"LOG";"tauxpourmille"

  It also has 8 x 16 rows with département ``NA`` (facts not attributed to a
  département, populations ``NA``): they are not a département and are skipped.

* ``ssmsi_delinquance_departements/statistiques_police.csv``: 2024 edition, a
  renamed re-save (';', BOM, decimal commas, unquoted, département codes
  without leading zero: '1' for '01')::

      code_departement;code_region;annee;indicateur;unite_de_compte;nombre;
      taux_pour_mille;insee_pop;insee_pop_millesime;insee_log;insee_log_millesime

Département codes and years are checked on every row; categories, counting
units and values on the rows of the requested département only (the other
départements are not loaded; ``departement="*"`` loads them all). The
2024-edition copy holds 60 foreign rows for département 13: in 2016-2018 and
2022-2024, after the 18 standard categories, a second, differently counted
series (10 rows a year, unaccented labels such as 'Vols de vehicules', units
'Victime' / 'Logement', values that differ from the standard rows). Those
rows are rejected one by one with their reason (``StagedIndicators.rejected``),
never summed nor silently dropped; any other malformed row fails.

Each crime category gives a count indicator (``faits`` / ``nombre``) and the
published rate per 1,000 (``tauxpourmille`` / ``taux_pour_mille``: per 1,000
inhabitants, per 1,000 dwellings for burglaries), plus the population and the
dwellings the SSMSI divided by (``securite_dep_population``,
``securite_dep_logements``: the weights of the rates). Nothing is derived here.

The 2023 edition has 16 categories, the 2024 edition 18 (it adds "Tentatives
d'homicides" and "Usage de stupéfiants (AFD)"). A category whose 2016-2023
figures are the same in both editions up to routine revisions keeps one code;
a category whose whole series moved between editions (a definition change:
e.g. sexual violence +30 %, fraud -20 % nationally) gets one code per edition
(suffix ``_e23`` / ``_e24``). A category's counting unit is checked too: a
changed unit fails rather than being mixed into the same code.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from electio.errors import InputFormatError
from electio.sources.elections import Rejection
from electio.sources.indicators import StagedIndicators
from electio.sources.readers import fail_first, read_table, to_counts

PREFIX = "securite_dep_"
POPULATION = PREFIX + "population"
DWELLINGS = PREFIX + "logements"
COMMUNE_TOTAL = "securite_total_delits"

#: Category label (as published) -> (code stem, counting unit, rate denominator).
CATEGORIES: dict[str, tuple[str, str, str]] = {
    "Homicides": ("homicides", "victime", "population"),
    "Tentatives d'homicides": ("tentatives_homicides", "victime", "population"),
    "Coups et blessures volontaires": ("cbv", "victime", "population"),
    "Coups et blessures volontaires intrafamiliaux": ("cbv_intrafamiliaux", "victime", "population"),
    "Autres coups et blessures volontaires": ("cbv_autres", "victime", "population"),
    "Violences sexuelles": ("violences_sex", "victime", "population"),
    "Vols avec armes": ("vols_avec_armes", "infraction", "population"),
    "Vols violents sans arme": ("vols_violents_ss_arme", "infraction", "population"),
    "Vols sans violence contre des personnes": ("vols_sans_violence", "victime entendue", "population"),
    "Cambriolages de logement": ("cambriolages", "infraction", "logements"),
    "Vols de véhicules": ("vols_de_vehicules", "véhicule", "population"),
    "Vols dans les véhicules": ("vols_dans_vehicules", "véhicule", "population"),
    "Vols d'accessoires sur véhicules": ("vols_accessoires", "véhicule", "population"),
    "Destructions et dégradations volontaires": ("destructions", "infraction", "population"),
    "Usage de stupéfiants": ("usage_stupefiants", "mis en cause", "population"),
    "Usage de stupéfiants (AFD)": ("usage_stupefiants_afd", "mis en cause", "population"),
    "Trafic de stupéfiants": ("trafic_stupefiants", "mis en cause", "population"),
    "Escroqueries": ("escroqueries", "victime", "population"),
}
#: Stems whose 2016-2023 series moved between the 2023 and 2024 editions in every
#: département and year, one way (France without dép. 13, 2016-2023 summed: cbv -9 %,
#: intrafamiliaux -8 %, autres -10 %, escroqueries -17 %, violences sexuelles +27 %):
#: a definition change, so one code per edition. The other categories differ by
#: less than 1 % nationally (routine revisions, some re-attribution between
#: départements) and keep one code across editions.
CHANGED_DEFINITION = {"cbv", "cbv_intrafamiliaux", "cbv_autres", "violences_sex", "escroqueries"}
EDITION_2023 = [c for c in CATEGORIES if c not in ("Tentatives d'homicides", "Usage de stupéfiants (AFD)")]
EDITION_2024 = list(CATEGORIES)

_COMMUNE_CODE = re.compile(r"(?:\d{5}|2[AB]\d{3})")


def count_code(label: str, edition: int) -> str:
    """Indicator code of a category's count in an edition (2023 or 2024)."""
    stem = CATEGORIES[label][0]
    return PREFIX + stem + (f"_e{edition % 100}" if stem in CHANGED_DEFINITION else "")


def rate_code(label: str, edition: int) -> str:
    return count_code(label, edition) + "_taux"


# --- communes -----------------------------------------------------------------------

def parse_ssmsi_communes(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """Third-party crime totals per commune; a 0 is staged as withheld (NaN, suppressed).

    ``departement="*"`` keeps every commune; a département absent from the file
    gives no values. ``year`` keeps one year (the file must have it).
    """
    required = ["code_commune", "libelle_commune", "annee", "total_delits"]
    frame = read_table(path, sep=";", required=required)
    rows_read = len(frame)
    _fail_short_rows(frame, required, path)
    frame["code_commune"] = frame["code_commune"].astype(str).str.strip()
    frame["annee"] = frame["annee"].astype(str).str.strip()
    fail_first(frame, ~_matches(frame["code_commune"], _COMMUNE_CODE), path, "code_commune",
                lambda r: f"expected a 5-character INSEE commune code, got {r['code_commune']!r}")
    fail_first(frame, ~_matches(frame["annee"], re.compile(r"\d{4}")), path, "annee",
                lambda r: f"expected a 4-digit year, got {r['annee']!r}")
    frame["annee"] = frame["annee"].astype(int)
    frame = _one_year(frame, "annee", year, path)
    frame = frame[_in_departement(frame["code_commune"].map(_commune_departement), departement)]
    frame = to_counts(frame, ["total_delits"], path)
    _fail_duplicates(frame, ["code_commune", "annee"], path, "code_commune")
    zero = frame["total_delits"] == 0
    values = pd.DataFrame({
        "source_code": frame["code_commune"], "indicator_code": COMMUNE_TOTAL, "year": frame["annee"],
        "value": frame["total_delits"].astype(float).where(~zero, np.nan),
        "is_suppressed": zero, "is_imputed": False})
    return StagedIndicators(values=_sorted(values), rows_read=rows_read)


# --- départements -------------------------------------------------------------------

def parse_ssmsi_departements_2023(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """2023 edition of the SSMSI département base (2016-2023, 16 categories)."""
    names = {"label": "classe", "year": "annee", "dep": "Code.département", "unit": "unité.de.compte",
             "count": "faits", "rate": "tauxpourmille", "population": "POP", "dwellings": "LOG"}
    frame = read_table(path, sep=";", required=list(names.values()))
    rows_read = len(frame)
    _fail_short_rows(frame, list(names.values()), path)
    frame = frame.rename(columns={v: k for k, v in names.items()})
    frame["dep"] = frame["dep"].astype(str).str.strip()
    fail_first(frame, ~_matches(frame["dep"], re.compile(r"\d{2}|2[AB]|97\d|NA")), path, names["dep"],
                lambda r: f"expected a département code, got {r['dep']!r}")
    frame["year"] = frame["year"].astype(str).str.strip()
    fail_first(frame, ~_matches(frame["year"], re.compile(r"\d{2}")), path, names["year"],
                lambda r: f"expected a 2-digit year such as '16', got {r['year']!r}")
    frame["year"] = 2000 + frame["year"].astype(int)
    frame = _one_year(frame, "year", year, path, column=names["year"])
    # 'NA': facts the SSMSI could not attribute to any département (no population).
    unattributed = frame["dep"] == "NA"
    rejected = ([Rejection(Path(path).name, int(line), "facts not attributed to a département "
                           "(Code.département 'NA'): not a département, not loaded")
                 for line in frame.index[unattributed]] if departement == "*" else [])
    frame = frame[~unattributed]
    return _departement_values(frame, path, departement, edition=2023, labels=EDITION_2023, names=names,
                               rows_read=rows_read, rejected=rejected)


def parse_ssmsi_departements_2024(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """2024 edition of the SSMSI département base (2016-2024, 18 categories)."""
    names = {"label": "indicateur", "year": "annee", "dep": "code_departement", "unit": "unite_de_compte",
             "count": "nombre", "rate": "taux_pour_mille", "population": "insee_pop", "dwellings": "insee_log"}
    frame = read_table(path, sep=";", required=list(names.values()))
    rows_read = len(frame)
    _fail_short_rows(frame, list(names.values()), path)
    frame = frame.rename(columns={v: k for k, v in names.items()})
    frame["dep"] = frame["dep"].astype(str).str.strip()
    fail_first(frame, ~_matches(frame["dep"], re.compile(r"\d{1,2}|2[AB]|97\d")), path, names["dep"],
                lambda r: f"expected a département code, got {r['dep']!r}")
    frame["dep"] = frame["dep"].map(_departement)
    frame["year"] = frame["year"].astype(str).str.strip()
    fail_first(frame, ~_matches(frame["year"], re.compile(r"\d{4}")), path, names["year"],
                lambda r: f"expected a 4-digit year, got {r['year']!r}")
    frame["year"] = frame["year"].astype(int)
    frame = _one_year(frame, "year", year, path, column=names["year"])
    return _departement_values(frame, path, departement, edition=2024, labels=EDITION_2024, names=names,
                               rows_read=rows_read, rejected=[])


def _departement_values(frame: pd.DataFrame, path: Path, departement: str, *, edition: int,
                        labels: list[str], names: dict[str, str], rows_read: int,
                        rejected: list[Rejection]) -> StagedIndicators:
    """Counts, rates and denominators of the requested département(s), from renamed columns."""
    frame = frame[_in_departement(frame["dep"], departement)].copy()
    frame["label"] = frame["label"].astype(str).str.strip()
    frame["unit"] = frame["unit"].astype(str).str.strip()
    frame, appended = _second_series(frame, labels, path)
    rejected = rejected + appended
    fail_first(frame, ~frame["label"].isin(labels), path, names["label"],
                lambda r: f"unknown crime category {r['label']!r} for the {edition} edition "
                          f"(known: {labels})")
    expected_unit = frame["label"].map(lambda c: CATEGORIES[c][1])
    fail_first(frame, frame["unit"].str.lower() != expected_unit, path, names["unit"],
                lambda r: f"counting unit {r['unit']!r} for {r['label']!r}, expected "
                          f"{CATEGORIES[r['label']][1]!r}: the category's definition changed")
    frame = frame.rename(columns={"count": names["count"]})  # errors name the file's column
    frame = to_counts(frame, [names["count"]], path).rename(columns={names["count"]: "count"})
    for column in ("rate", "population", "dwellings"):
        frame[column] = _decimal(frame[column], path, names[column])
    fail_first(frame, frame["population"] % 1 != 0, path, names["population"],
                lambda r: f"expected a whole population, got {r['population']!r}")
    _fail_duplicates(frame, ["dep", "year", "label"], path, names["label"], names)
    for column in ("population", "dwellings"):
        # One value per département and year; the 2023 edition writes LOG with
        # float noise in the last digit (dép. 62 in 2016, 80 in 2018): tolerated.
        first = frame.groupby(["dep", "year"])[column].transform("first")
        differs = (frame[column] - first).abs() > 1e-9 * first.abs().clip(lower=1.0)
        fail_first(frame, differs, path, names[column],
                    lambda r, c=column: f"{names[c]} differs between categories of year {r['year']} "
                                        f"(one per département and year is expected)")

    base = {"is_suppressed": False, "is_imputed": False}
    counts = pd.DataFrame({**base, "source_code": frame["dep"], "year": frame["year"],
                           "indicator_code": [count_code(c, edition) for c in frame["label"]],
                           "value": frame["count"].astype(float)})
    rates = pd.DataFrame({**base, "source_code": frame["dep"], "year": frame["year"],
                          "indicator_code": [rate_code(c, edition) for c in frame["label"]],
                          "value": frame["rate"]})
    per_year = frame.drop_duplicates(["dep", "year"])
    denominators = [pd.DataFrame({**base, "source_code": per_year["dep"], "year": per_year["year"],
                                  "indicator_code": code, "value": per_year[column].astype(float)})
                    for code, column in ((POPULATION, "population"), (DWELLINGS, "dwellings"))]
    values = pd.concat([counts, rates, *denominators], ignore_index=True)
    return StagedIndicators(values=_sorted(values), rows_read=rows_read, rejected=rejected)


def _second_series(frame: pd.DataFrame, labels: list[str], path: Path) -> tuple[pd.DataFrame, list[Rejection]]:
    """Rows appended after a complete set of categories of one département and year.

    The 2024-edition copy has such a block for département 13 (see the module
    docstring). It is recognised only when the group's first rows, in file
    order, are exactly the edition's categories with their units; each extra
    row is then rejected with its reason. Anything else is left to the checks.
    """
    order = frame.groupby(["dep", "year"], sort=False).cumcount()
    extra = order >= len(labels)
    if not extra.any():
        return frame, []
    head = frame[~extra]
    expected = {c: CATEGORIES[c][1] for c in labels}
    complete = head.groupby(["dep", "year"]).apply(
        lambda g: len(g) == len(labels) and set(g["label"]) == set(labels)
        and all(expected[c] == u.lower() for c, u in zip(g["label"], g["unit"])))
    key = pd.MultiIndex.from_frame(frame[["dep", "year"]])
    drop = extra & key.isin(complete[complete].index)
    rejected = [Rejection(Path(path).name, int(line),
                          f"second series appended after the {len(labels)} categories of département {r.dep} "
                          f"in {r.year} (category {r.label!r}, unit {r.unit!r}): not loaded")
                for line, r in frame[drop].iterrows()]
    return frame[~drop], rejected


# --- helpers ------------------------------------------------------------------------

def _sorted(values: pd.DataFrame) -> pd.DataFrame:
    if values.empty:
        return pd.DataFrame({"source_code": pd.Series(dtype=str), "indicator_code": pd.Series(dtype=str),
                             "year": pd.Series(dtype=int), "value": pd.Series(dtype=float),
                             "is_suppressed": pd.Series(dtype=bool), "is_imputed": pd.Series(dtype=bool)})
    return values.sort_values(["indicator_code", "source_code", "year"])


def _one_year(frame: pd.DataFrame, year_column: str, year: int | None, path: Path,
              column: str | None = None) -> pd.DataFrame:
    """Rows of ``year`` (all rows when None); the file must have that year."""
    if year is None:
        return frame
    kept = frame[frame[year_column] == int(year)]
    if kept.empty:
        raise InputFormatError(path, f"no row for year {year}", column=column or year_column)
    return kept


def _in_departement(deps: pd.Series, departement: str) -> pd.Series:
    """Rows of the département (``"*"``: every département, for national-scale loads)."""
    if departement == "*":
        return pd.Series(True, index=deps.index)
    return deps == _departement(departement)


def _fail_short_rows(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    short = frame[columns].isna()
    if short.any().any():
        line = short.any(axis=1).idxmax()
        column = short.loc[line].idxmax()
        raise InputFormatError(path, "the row has fewer fields than the header", line=int(line), column=column)


def _decimal(raw: pd.Series, path: Path, column: str) -> pd.Series:
    """Non-negative decimals written with a comma ('1,25e-02', '0,0125279')."""
    text = raw.astype(str).str.strip()
    values = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = values.isna() | ~np.isfinite(values) | (values < 0)
    if bad.any():
        line = bad.idxmax()
        raise InputFormatError(path, f"expected a non-negative number, got {text[line]!r}",
                               line=int(line), column=column)
    return values.astype(float)


def _commune_departement(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def _departement(code: str) -> str:
    code = str(code).strip()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


def _matches(values: pd.Series, pattern: re.Pattern) -> pd.Series:
    return values.astype(str).str.fullmatch(pattern).fillna(False).astype(bool)


def _fail_duplicates(frame: pd.DataFrame, key: list[str], path: Path, column: str,
                     names: dict[str, str] | None = None) -> None:
    dup = frame.duplicated(key, keep="first")
    if dup.any():
        line = dup.idxmax()
        row = frame.loc[line]
        names = names or {}
        raise InputFormatError(path, "duplicate row for " + ", ".join(
            f"{names.get(k, k)}={_plain(row[k])!r}" for k in key), line=int(line), column=column)


def _plain(value):
    """A numpy scalar as the Python value (for messages)."""
    return value.item() if hasattr(value, "item") else value
