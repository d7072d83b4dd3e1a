"""Recorded crime (SSMSI, police and gendarmerie): commune totals and département bases.

Three mirror files, three parsers:

* ``ssmsi_delinquance_communes_69/rhone_securite.csv`` (';', BOM), PROCESSED by a
  third party (voundipaulyvan-art/electio_analytics)::

      code_commune;libelle_commune;annee;total_delits
      69003;Albigny-sur-Saône;2017;68.0

  ``total_delits`` is that project's sum of the communal base's indicators for
  2017, 2022 and 2024. The communal base does not publish small counts
  (``est_diffuse = ndiff``) and the third party counted an unpublished indicator
  as 0: a total of 0 (312 of 825 rows) may therefore mean "nothing published",
  so it is staged as withheld (value NaN, ``is_suppressed``), never as 0.
  Positive totals are kept as they are (they may miss unpublished indicators:
  see securite.toml). Lyon is listed as 69123 and as 69381-69389.

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
départements are not loaded). The 2024-edition copy holds 60 foreign rows for
département 13 (2016-2018 and 2022-2024: a second, differently counted series
with unaccented labels such as 'Vols de vehicules' and units 'Victime' /
'Logement'): parsing département 13 fails on them, by design.

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
from electio.sources.indicators import StagedIndicators
from electio.sources.readers import read_table, to_counts

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
    "Violences sexuelles": ("violences_sexuelles", "victime", "population"),
    "Vols avec armes": ("vols_avec_armes", "infraction", "population"),
    "Vols violents sans arme": ("vols_violents_sans_arme", "infraction", "population"),
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
#: Stems whose 2016-2023 series differ systematically between the 2023 and 2024
#: editions (all départements, every year; see securite.toml): one code per edition.
CHANGED_DEFINITION = {"cbv", "cbv_intrafamiliaux", "cbv_autres", "violences_sexuelles",
                      "vols_sans_violence", "destructions", "escroqueries"}
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
    """Third-party crime totals per commune; a 0 is staged as withheld (NaN, suppressed)."""
    frame = read_table(path, sep=";", required=["code_commune", "libelle_commune", "annee", "total_delits"])
    rows_read = len(frame)
    frame["code_commune"] = frame["code_commune"].astype(str).str.strip()
    frame["annee"] = frame["annee"].astype(str).str.strip()
    _fail_first(frame, ~_matches(frame["code_commune"], _COMMUNE_CODE), path, "code_commune",
                lambda r: f"expected a 5-character INSEE commune code, got {r['code_commune']!r}")
    _fail_first(frame, ~_matches(frame["annee"], re.compile(r"\d{4}")), path, "annee",
                lambda r: f"expected a 4-digit year, got {r['annee']!r}")
    dep = _departement(departement)
    keep = frame["code_commune"].map(_commune_departement) == dep
    if not keep.any():
        raise InputFormatError(path, f"no row for département {dep!r}", column="code_commune")
    frame = to_counts(frame[keep], ["total_delits"], path)
    frame["annee"] = frame["annee"].astype(int)
    _fail_duplicates(frame, ["code_commune", "annee"], path, "code_commune")
    if year is not None:
        frame = frame[frame["annee"] == int(year)]
        if frame.empty:
            raise InputFormatError(path, f"no row for year {year}", column="annee")
    zero = frame["total_delits"] == 0
    values = pd.DataFrame({
        "source_code": frame["code_commune"], "indicator_code": COMMUNE_TOTAL, "year": frame["annee"],
        "value": frame["total_delits"].astype(float).where(~zero, np.nan),
        "is_suppressed": zero, "is_imputed": False})
    return StagedIndicators(values=values.sort_values(["source_code", "year"]), rows_read=rows_read)


# --- départements -------------------------------------------------------------------

def parse_ssmsi_departements_2023(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """2023 edition of the SSMSI département base (2016-2023, 16 categories)."""
    columns = {"classe": "label", "annee": "year", "Code.département": "dep", "unité.de.compte": "unit",
               "faits": "count", "tauxpourmille": "rate", "POP": "population", "LOG": "dwellings"}
    frame = read_table(path, sep=";", required=list(columns))
    rows_read = len(frame)
    frame = frame.rename(columns=columns)
    frame["dep"] = frame["dep"].astype(str).str.strip()
    _fail_first(frame, ~_matches(frame["dep"], re.compile(r"\d{2}|2[AB]|97\d|NA")), path, "Code.département",
                lambda r: f"expected a département code, got {r['dep']!r}")
    _fail_first(frame, ~_matches(frame["year"].astype(str).str.strip(), re.compile(r"\d{2}")), path, "annee",
                lambda r: f"expected a 2-digit year such as '16', got {r['year']!r}")
    frame["year"] = 2000 + frame["year"].astype(str).str.strip().astype(int)
    # 'NA' rows: facts the SSMSI could not attribute to a département (no population).
    frame = frame[frame["dep"] != "NA"]
    names = {"label": "classe", "unit": "unité.de.compte", "count": "faits", "rate": "tauxpourmille",
             "population": "POP", "dwellings": "LOG", "dep": "Code.département"}
    return _departement_values(frame, path, departement, year, edition=2023, labels=EDITION_2023,
                               names=names, rows_read=rows_read)


def parse_ssmsi_departements_2024(path: Path, *, departement: str, year: int | None = None) -> StagedIndicators:
    """2024 edition of the SSMSI département base (2016-2024, 18 categories)."""
    columns = {"indicateur": "label", "annee": "year", "code_departement": "dep", "unite_de_compte": "unit",
               "nombre": "count", "taux_pour_mille": "rate", "insee_pop": "population", "insee_log": "dwellings"}
    frame = read_table(path, sep=";", required=list(columns))
    rows_read = len(frame)
    frame = frame.rename(columns=columns)
    frame["dep"] = frame["dep"].astype(str).str.strip()
    _fail_first(frame, ~_matches(frame["dep"], re.compile(r"\d{1,2}|2[AB]|97\d")), path, "code_departement",
                lambda r: f"expected a département code, got {r['dep']!r}")
    frame["dep"] = frame["dep"].map(_departement)
    _fail_first(frame, ~_matches(frame["year"].astype(str).str.strip(), re.compile(r"\d{4}")), path, "annee",
                lambda r: f"expected a 4-digit year, got {r['year']!r}")
    frame["year"] = frame["year"].astype(str).str.strip().astype(int)
    names = {"label": "indicateur", "unit": "unite_de_compte", "count": "nombre", "rate": "taux_pour_mille",
             "population": "insee_pop", "dwellings": "insee_log", "dep": "code_departement"}
    return _departement_values(frame, path, departement, year, edition=2024, labels=EDITION_2024,
                               names=names, rows_read=rows_read)


def _departement_values(frame: pd.DataFrame, path: Path, departement: str, year: int | None, *,
                        edition: int, labels: list[str], names: dict[str, str],
                        rows_read: int) -> StagedIndicators:
    """Counts, rates and denominators of one département, from renamed columns."""
    dep = _departement(departement)
    frame = frame[frame["dep"] == dep].copy()
    if frame.empty:
        raise InputFormatError(path, f"no row for département {dep!r}", column=names["dep"])
    frame["label"] = frame["label"].astype(str).str.strip()
    _fail_first(frame, ~frame["label"].isin(labels), path, names["label"],
                lambda r: f"unknown crime category {r['label']!r} for the {edition} edition "
                          f"(known: {labels})")
    expected_unit = frame["label"].map(lambda c: CATEGORIES[c][1])
    unit = frame["unit"].astype(str).str.strip().str.lower()
    _fail_first(frame, unit != expected_unit, path, names["unit"],
                lambda r: f"counting unit {r['unit']!r} for {r['label']!r}, expected "
                          f"{CATEGORIES[r['label']][1]!r}: the category's definition changed")
    frame = frame.rename(columns={"count": names["count"]})  # errors name the file's column
    frame = to_counts(frame, [names["count"]], path).rename(columns={names["count"]: "count"})
    for column in ("rate", "population", "dwellings"):
        frame[column] = _decimal(frame[column], path, names[column])
    _fail_first(frame, frame["population"] % 1 != 0, path, names["population"],
                lambda r: f"expected a whole population, got {r['population']!r}")
    _fail_duplicates(frame, ["dep", "year", "label"], path, names["label"], names)
    for column in ("population", "dwellings"):
        differs = frame.groupby("year")[column].transform("nunique") > 1
        _fail_first(frame, differs, path, names[column],
                    lambda r, c=column: f"{names[c]} differs between categories of year {r['year']}")
    if year is not None:
        frame = frame[frame["year"] == int(year)]
        if frame.empty:
            raise InputFormatError(path, f"no row for year {year}", column="annee")

    base = {"source_code": dep, "is_suppressed": False, "is_imputed": False}
    counts = pd.DataFrame({**base, "indicator_code": [count_code(c, edition) for c in frame["label"]],
                           "year": frame["year"], "value": frame["count"].astype(float)})
    rates = pd.DataFrame({**base, "indicator_code": [rate_code(c, edition) for c in frame["label"]],
                          "year": frame["year"], "value": frame["rate"]})
    per_year = frame.drop_duplicates("year")
    denominators = [pd.DataFrame({**base, "indicator_code": code, "year": per_year["year"],
                                  "value": per_year[column].astype(float)})
                    for code, column in ((POPULATION, "population"), (DWELLINGS, "dwellings"))]
    values = pd.concat([counts, rates, *denominators], ignore_index=True)
    return StagedIndicators(values=values.sort_values(["indicator_code", "year"]), rows_read=rows_read)


# --- helpers ------------------------------------------------------------------------

def _decimal(raw: pd.Series, path: Path, column: str) -> pd.Series:
    """Non-negative decimals written with a comma ('1,25e-02', '0,0125279')."""
    text = raw.astype(str).str.strip()
    values = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = values.isna() | (values < 0)
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


def _fail_first(frame: pd.DataFrame, bad: pd.Series, path: Path, column: str, message) -> None:
    bad = bad.fillna(True).astype(bool)
    if bad.any():
        line = bad.idxmax()
        raise InputFormatError(path, message(frame.loc[line]), line=int(line), column=column)


def _fail_duplicates(frame: pd.DataFrame, key: list[str], path: Path, column: str,
                     names: dict[str, str] | None = None) -> None:
    dup = frame.duplicated(key, keep="first")
    if dup.any():
        line = dup.idxmax()
        row = frame.loc[line]
        names = names or {}
        raise InputFormatError(path, "duplicate row for " + ", ".join(
            f"{names.get(k, k)}={row[k]!r}" for k in key), line=int(line), column=column)
