"""The client report: ``reports/rapport.html``, self-contained, in French, printable.

``build_report(settings)`` reads the warehouse (and the figures and JSON files the
pipeline wrote under ``reports/``), computes every figure it prints with
:mod:`electio.report.datasets`, registers each one with its provenance
(:mod:`electio.report.registry`) and renders the Jinja2 template. Nothing is typed by
hand: a section whose tables are still empty says so in plain French.

Outputs, written atomically next to each other:

- ``rapport.html``: figures embedded as base64 ``data:`` URIs, a print stylesheet;
- ``rapport_sources.json``: every printed value with the query or recipe it comes from;
- ``rapport.pdf`` (optional, ``--pdf``): printed by headless Chromium when installed.

Command line: ``python -m electio.report.build`` (wired as ``electio report``).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import logging
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup
from PIL import Image

from electio.cache import memo_value, table_keys
from electio.command import add_common_arguments, run_command, settings_from_args
from electio.eda import answer as eda_answer_module
from electio.eda.answer import TURNOUT_LABEL_FR
from electio.eda.correlation import transformed_unit
from electio.eda.figures import departement_label
from electio.errors import ElectioError
from electio.outputs import atomic_write
from electio.report import datasets as ds
from electio.report import figures as figs
from electio.report.datasets import Traced, Value
from electio.report.diagram import conceptual_model, data_flow, render, schema_tables, star_schema
from electio.report.labels import (
    CHECK_NOTE_FR,
    DERIVE,
    ELECTION_TYPE_FR,
    MODE_FR,
    MODE_HELP_FR,
    MODEL_HELP_FR,
    MODEL_KIND_FR,
    STATUS_FR,
    STATUS_PLURAL_FR,
    SWING_FR,
    SWING_HELP_FR,
    TABLE_ROLE_FR,
    french_spacing_html,
    is_percent_metric,
    metric_rank,
    points_fr,
)
from electio.forecast.scenarios import EXAMPLE_LABEL_FR
from electio.report.maps import change_map, shapes_for
from electio.report.national import france_bloc_table, national_files
from electio.report.registry import Registry
from electio.report.slides import write_slides
from electio.settings import Settings
from electio.sources.catalog import load_catalog
from electio.warehouse.load import sqlite_path
from electio.warehouse.read import count_rows, present_names, read_tables
from electio.warehouse.schema import CONTEXT

log = logging.getLogger("electio.report")

REPORT_FILE = "rapport.html"
SOURCES_FILE = "rapport_sources.json"
PDF_FILE = "rapport.pdf"
SLIDES_FILE = "soutenance.pptx"
EDA_ANSWER = "eda_answer.json"
TEMPLATES = Path(__file__).with_name("templates")

TERRITORY_FR = {"metropole_lyon": "Métropole de Lyon", "rhone": "Rhône (hors Métropole)",
                "departement": "Département"}
RELATION_FR = {"same": "code inchangé", "merged": "ancienne commune fusionnée ou commune déléguée",
               "arrondissement": "arrondissement municipal de Lyon"}
ORIGIN_FR = {"cache": "lus depuis le cache local", "mirror": "lus depuis la copie hors ligne des sources",
             "download": "téléchargés"}
#: Themes of the client brief -> (families of dim_indicator, words of census labels); names as in
#: electio.eda.answer.THEMES_FR, so the report and the answer name each theme the same way.
#: Census ('recensement') indicators are spread over themes by their label.
BRIEF_THEMES = [
    ("Sécurité (délinquance)", ("securite",), ()),
    ("Emploi et chômage", ("emploi",), ("actifs", "chômeurs", "chômage")),
    ("Population et densité", ("population",), ("superficie",)),
    ("Entreprises", ("entreprises",), ()),
    ("Revenus et pauvreté", ("revenus",), ()),
    ("Vie associative", ("associations",), ()),
    ("Logement", ("logement",), ("logement", "résidences")),
    ("Éducation (diplômes)", ("education",), ("diplôm", "scolar")),
    ("Structure par âge", ("age",), ("ans ou plus", "tranche d'âge")),
    ("Immigration", ("immigration",), ("immigr",)),
]
#: What one row of each table is (the grain), for the conceptual data model.
GRAIN_FR = {
    "dim_commune": "une commune de la liste de référence (Lyon regroupe ses arrondissements)",
    "map_commune_code": "un code commune rencontré dans une source, rattaché à sa commune de référence",
    "dim_election": "une élection (type, année, tour, date, source principale)",
    "dim_bloc": "un bloc politique (libellé, ordre d'affichage, couleur)",
    "dim_nuance": "une nuance, liste ou candidat d'une élection, rattaché à un bloc avec sa justification",
    "fact_turnout": "une commune à une élection : inscrits, votants, blancs, nuls, exprimés",
    "fact_election_result": "une commune, une élection, un bloc : voix et part des exprimés",
    "fact_label_result": "une commune, une élection, une nuance, liste ou candidat : voix",
    "fact_turnout_bureau": "un bureau de vote à une élection : inscrits, votants, exprimés",
    "dim_indicator": "un indicateur socio-économique (famille, unité, source, définition)",
    "fact_indicator": "une commune, un indicateur, une année : valeur, secret statistique, date de publication",
    "fact_indicator_departement": "un département, un indicateur, une année (indicateurs publiés au seul niveau "
                                  "départemental)",
    "fact_correlation": "une élection, un indicateur, une cible (bloc ou participation) : corrélations",
    "dim_model": "un modèle ou une référence des tests rétrospectifs",
    "fact_backtest": "une prédiction d'un modèle pour une commune, une élection test, un mode et une cible",
    "fact_model_metric": "une métrique d'un modèle pour une élection test et un mode",
    "dim_scenario": "un scénario : horizon, type d'élection, hypothèse d'évolution",
    "fact_forecast": "une prévision d'un scénario pour une commune et une cible",
    "fact_forecast_departement": "une prévision d'un scénario au niveau du département",
    "meta_source": "un fichier source lu par le rafraîchissement : empreinte, origine, lignes lues et chargées",
    "meta_rejected_row": "une ligne d'un fichier source non chargée, avec la raison",
    "meta_quality_check": "un contrôle qualité du rafraîchissement et son résultat",
    "meta_refresh": "un rafraîchissement de l'entrepôt (historique)",
    "meta_stage_run": "une étape du dernier rafraîchissement : faite ou sautée, avec la raison",
    "dim_commune_geometry": "une partie du contour d'une commune (ou d'un arrondissement de Lyon)",
    "fact_national_result": "une élection et un bloc en France entière : voix et part des exprimés",
    "fact_national_turnout": "une élection en France entière : inscrits, votants, exprimés",
    "fact_departement_result": "une élection, un département, un bloc : voix et exprimés",
    "fact_horizon_error": "une règle de prévision et une avance (en années) : erreur mesurée sur le passé",
    "fact_context_result": "une commune de France (de tous les départements), une élection, un bloc : voix",
    "fact_context_turnout": "une commune de France (de tous les départements) à une élection : inscrits, votants, "
                            "exprimés",
    "meta_indicator_calendar": "une source d'indicateurs : son calendrier de publication (délai après la période "
                               "de référence)",
    "fact_indicator_revision": "un indicateur, une année, un niveau : écart entre la première publication et un "
                               "fichier plus récent",
    "fact_feature_importance": "un modèle, une élection test, un mode, une datation des indicateurs, un groupe de "
                               "variables, une métrique : importance mesurée par permutation",
}


# --------------------------------------------------------------------------- rendering helpers

def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_text(value) -> str:
    """Text of a data value as the report prints it (integers without '.0')."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return str(value)


class Printer:
    """Turns traced values into registered HTML spans."""
    def __init__(self, registry: Registry) -> None:
        self.reg = registry

    def cell(self, t: Traced, row, col: str, *, signed: bool = False, fact: str | None = None) -> Markup:
        return self._emit(row[col], t.cols[col], t.params(row), signed=signed, fact=fact)

    def value(self, v: Value | None, *, signed: bool = False, fact: str | None = None) -> Markup:
        if v is None:
            return Markup("—")
        return self._emit(v.value, v.col, {k: ds._py(x) for k, x in v.params.items()}, signed=signed, fact=fact)

    def _emit(self, value, col: ds.Col, params: dict, *, signed: bool = False, fact: str | None = None) -> Markup:
        if _missing(value):
            return Markup("—")
        recipe = {**col.recipe, **params} if col.recipe else None
        if col.kind == "text":
            shown = DERIVE[col.derive](value) if col.derive else as_text(value)
            return self.reg.text(shown, source=col.source, sql=col.sql, params=params, recipe=recipe,
                                 derive=col.derive)
        return self.reg.number(float(value), source=col.source, sql=col.sql, params=params, recipe=recipe,
                               digits=col.digits, scale=col.scale, signed=signed, fact=fact)

    def sql_text(self, value, sql: str, params: dict | None = None, *, source: str, derive: str | None = None
                 ) -> Markup:
        if _missing(value):
            return Markup("—")
        shown = DERIVE[derive](value) if derive else as_text(value)
        return self.reg.text(shown, source=source, sql=sql, params=params or {}, derive=derive)

    def sql_number(self, value, sql: str, params: dict | None = None, *, source: str, digits: int = 0,
                   scale: float = 1.0, fact: str | None = None) -> Markup:
        if _missing(value):
            return Markup("—")
        return self.reg.number(float(value), source=source, sql=sql, params=params or {}, digits=digits,
                               scale=scale, fact=fact)

    def recipe_text(self, value: str, recipe: dict, *, source: str, derive: str | None = None) -> Markup:
        shown = DERIVE[derive](value) if derive else value
        return self.reg.text(shown, source=source, recipe=recipe, derive=derive)


class Labels:
    """Registered labels of the warehouse's codes (elections, blocs, indicators, models)."""
    def __init__(self, p: Printer, tables: dict[str, pd.DataFrame]) -> None:
        self.p = p
        self._el = _lookup(tables, "dim_election", "election_id", "label_fr")
        self._bloc = _lookup(tables, "dim_bloc", "bloc_code", "label_fr")
        self._ind = _lookup(tables, "dim_indicator", "indicator_code", "label_fr")
        self._model = _lookup(tables, "dim_model", "model_id", "label_fr")
        self._scenario = _lookup(tables, "dim_scenario", "scenario_id", "label_fr")
        self._commune = _lookup(tables, "dim_commune", "commune_code", "commune_name")
        self.bloc_colors = _lookup(tables, "dim_bloc", "bloc_code", "color_hex")

    def election(self, election_id: str) -> Markup:
        return self.p.sql_text(self._el.get(election_id, election_id),
                               "SELECT label_fr FROM dim_election WHERE election_id = :election_id",
                               {"election_id": election_id}, source="dim_election")

    def bloc(self, bloc_code: str) -> Markup:
        return self.p.sql_text(self._bloc.get(bloc_code, bloc_code),
                               "SELECT label_fr FROM dim_bloc WHERE bloc_code = :bloc_code",
                               {"bloc_code": bloc_code}, source="dim_bloc")

    def target(self, target: str) -> Markup:
        if target == "turnout":
            return self.p.recipe_text(TURNOUT_LABEL_FR, {"kind": "code", "ref": "electio.eda.answer:TURNOUT_LABEL_FR"},
                                      source="electio.eda.answer")
        return self.bloc(target)

    def indicator(self, code: str) -> Markup:
        return self.p.sql_text(self._ind.get(code, code),
                               "SELECT label_fr FROM dim_indicator WHERE indicator_code = :indicator_code",
                               {"indicator_code": code}, source="dim_indicator")

    def model(self, model_id: str) -> Markup:
        return self.p.sql_text(self._model.get(model_id, model_id),
                               "SELECT label_fr FROM dim_model WHERE model_id = :model_id",
                               {"model_id": model_id}, source="dim_model", derive="plain_fr")

    def commune(self, code: str) -> Markup:
        return self.p.sql_text(self._commune.get(code, code),
                               "SELECT commune_name FROM dim_commune WHERE commune_code = :code", {"code": code},
                               source="dim_commune")

    def scenario(self, scenario_id: str) -> Markup:
        return self.p.sql_text(self._scenario.get(scenario_id, scenario_id),
                               "SELECT label_fr FROM dim_scenario WHERE scenario_id = :scenario_id",
                               {"scenario_id": scenario_id}, source="dim_scenario")

    def swatch(self, bloc_code: str) -> Markup:
        colour = self.bloc_colors.get(bloc_code, "#999999")
        return Markup('<span class="swatch" style="background:{}"></span>').format(colour)


def _lookup(tables, table: str, key: str, value: str) -> dict:
    frame = tables.get(table)
    if frame is None or frame.empty:
        return {}
    return dict(zip(frame[key], frame[value]))


def table(headers: list, rows: list[list], *, numeric: set[int] = frozenset(), row_classes: list[str] | None = None,
          col_classes: list[str] | None = None, css: str = "") -> dict:
    """A table for the template: header cells, rows of cells, numeric columns, row and column classes."""
    return {"headers": headers, "rows": rows, "numeric": set(numeric), "row_classes": row_classes or [""] * len(rows),
            "col_classes": col_classes or [""] * len(headers), "css": css}


# --------------------------------------------------------------------------- sections

class Values(dict):
    """Printed values by name; a value the warehouse cannot give is empty (falsy) in the template."""
    def __missing__(self, key):
        return Markup("")


def _perimeter_section(p: Printer, lab: Labels, tables, france: dict) -> dict:
    per = ds.perimeter(tables)
    v = Values({k: p.value(x, fact=k if x.col.kind == "number" else None) for k, x in per.items()})
    terr = ds.territories(tables)
    terr_rows = [[Markup(TERRITORY_FR.get(r["territory"], r["territory"])), p.cell(terr, r, "communes"),
                  p.cell(terr, r, "population"), p.cell(terr, r, "area_km2")] for _, r in terr.frame.iterrows()]
    cov = ds.election_coverage(tables)
    n_communes = per["n_communes"].value if "n_communes" in per else None
    complete = not cov.empty and bool((cov.frame["communes"] == n_communes).all())
    catalog = _catalog()

    def publisher(sid: str) -> Markup:
        """The publisher of a source (the client reads who publishes, not our source identifiers)."""
        name = catalog.get(sid, {}).get("publisher")
        if not name:
            return Markup("—")
        return p.recipe_text(name, {"kind": "catalog", "source_id": sid, "field": "publisher"},
                             source="catalogue des sources", derive="publisher_short")

    cov_rows = [[p.cell(cov, r, "label_fr"), p.cell(cov, r, "election_date"), publisher(r["source_id"]),
                 p.cell(cov, r, "communes"), p.cell(cov, r, "bureaux") if r["bureaux"] else Markup("—"),
                 p.cell(cov, r, "registered"),
                 p.cell(cov, r, "expressed"), p.cell(cov, r, "turnout_pct")] for _, r in cov.frame.iterrows()]
    ind = ds.indicator_coverage(tables)
    ind_rows = [[publisher(r["source_id"]),
                 p.sql_text(r["indicator_year"], "SELECT DISTINCT indicator_year FROM fact_indicator "
                            "WHERE indicator_year = :indicator_year", {"indicator_year": ds._py(r["indicator_year"])},
                            source="fact_indicator"),
                 p.cell(ind, r, "indicators"), p.cell(ind, r, "communes"), p.cell(ind, r, "suppressed"),
                 p.cell(ind, r, "published_on")] for _, r in ind.frame.iterrows()]
    src = ds.source_coverage(tables)
    src_rows = []
    for _, r in src.frame.iterrows():
        sid = r["source_id"]
        publisher = catalog.get(sid, {}).get("publisher")
        src_rows.append([
            p.sql_text(sid, "SELECT DISTINCT source_id FROM meta_source WHERE source_id = :source_id",
                       {"source_id": sid}, source="meta_source"),
            p.recipe_text(publisher, {"kind": "catalog", "source_id": sid, "field": "publisher"},
                          source="catalogue des sources", derive="publisher_short") if publisher else Markup("—"),
            p.cell(src, r, "files"), p.cell(src, r, "mbytes"), p.cell(src, r, "rows_read"),
            p.cell(src, r, "rows_loaded"), p.cell(src, r, "rows_rejected")])
    origins = ds.source_origins(tables)
    origin_parts = [Markup("{} {}").format(p.cell(origins, r, "files"),
                                                     ORIGIN_FR.get(r["resolved_from"], r["resolved_from"]))
                    for _, r in origins.frame.iterrows()]
    by_bloc, by_el = ds.representativeness(tables, france)
    blocs = tables["dim_bloc"].sort_values("sort_order")["bloc_code"].tolist() if ds.has(tables, "dim_bloc") else []
    rep_elections = by_el.frame["election_id"].tolist()
    rep_summary = [[lab.election(r["election_id"]), p.cell(by_el, r, "r"), p.cell(by_el, r, "mean_abs_gap"),
                    p.cell(by_el, r, "turnout_dep"), p.cell(by_el, r, "turnout_fr"), p.cell(by_el, r, "weight")]
                   for _, r in by_el.frame.iterrows()]
    rep_range = None
    if not by_el.empty and by_el.frame["r"].notna().any():
        ordered = by_el.frame.dropna(subset=["r"]).sort_values("r")
        rep_range = {"low": p.cell(by_el, ordered.iloc[0], "r"), "high": p.cell(by_el, ordered.iloc[-1], "r"),
                     "same": len(ordered) == 1}
    rep_detail = []
    for b in blocs:
        row = [Markup("{} {}").format(lab.swatch(b), lab.bloc(b))]
        for e in rep_elections:
            rec = by_bloc.frame[(by_bloc.frame["election_id"] == e) & (by_bloc.frame["bloc_code"] == b)].iloc[0]
            row += [p.cell(by_bloc, rec, "share_dep"), p.cell(by_bloc, rec, "share_fr"),
                    p.cell(by_bloc, rec, "gap", signed=True)]
        rep_detail.append(row)
    rep_sources = [p.recipe_text(f"{s}/{f}", {"kind": "national", "measure": "file", "election_id": e},
                                 source="source files (national)")
                   for e in rep_elections for s, f in [(france[e]["source_id"], france[e]["file_name"])]]
    return {
        "v": v, "territories": table(["Territoire", "Communes", "Population", "Superficie (km²)"], terr_rows,
                                     numeric={1, 2, 3}),
        "complete": complete,
        "coverage": table(["Élection", "Date", "Éditeur des résultats communaux", "Communes", "Bureaux de vote",
                           "Inscrits", "Exprimés", "Participation (%)"], cov_rows, numeric={3, 4, 5, 6, 7}),
        "indicators": table(["Éditeur", "Année", "Indicateurs", "Communes avec une valeur", "Valeurs secrètes ou "
                             "absentes", "Publication"], ind_rows, numeric={2, 3, 4}),
        "sources": table(["Identifiant de la source", "Éditeur", "Fichiers", "Taille (Mo)", "Lignes lues",
                          "Lignes chargées", "Lignes rejetées"], src_rows, numeric={2, 3, 4, 5, 6}, css="technical"),
        "origins": origin_parts,
        "has_national": bool(rep_elections), "rep_range": rep_range,
        "rep_summary": table(["Élection (premier tour)", "Corrélation r (parts des blocs)",
                              "Écart moyen (points)", "Participation dép. (%)", "Participation France (%)",
                              "Part des inscrits de France (%)"], rep_summary, numeric={1, 2, 3, 4, 5}),
        "rep_headers": [lab.election(e) for e in rep_elections],
        "rep_detail": rep_detail,
        "rep_sources": rep_sources,
        "national_declared": bool(_national_elections()),
        "has_metropole": "metropole_lyon" in set(terr.frame["territory"]),
    }


def _national_elections() -> list[str]:
    return [f.election_id for f in national_files()]


def _catalog() -> dict[str, dict]:
    try:
        return {sid: {"publisher": s.publisher} for sid, s in load_catalog().items()}
    except Exception as exc:  # the report stands without publisher names
        log.warning("source catalog unavailable: %s", exc)
        return {}


def _eda_json(reports_dir: Path) -> dict | None:
    path = Path(reports_dir) / EDA_ANSWER
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable, method texts taken from the code: %s", path, exc)
        return None


def _fold(text) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", str(text).lower()) if not unicodedata.combining(c))


def _theme_sql(families: tuple, words: tuple) -> str:
    quote = lambda word: word.replace("'", "''")  # noqa: E731 (SQL string literal)
    fams = ", ".join(f"'{quote(f)}'" for f in families)
    likes = " OR ".join(f"LOWER(label_fr) LIKE '%{quote(w)}%'" for w in words)
    census = f" OR (family = 'recensement' AND ({likes}))" if words else ""
    return f"SELECT COUNT(*) FROM dim_indicator WHERE level = :level AND (family IN ({fams}){census})"


def _themes(p: Printer, lab: Labels, tables) -> list[dict]:
    """Each theme of the brief with the number of indicators covering it, by level, and examples."""
    rows = []
    dim = tables.get("dim_indicator")
    if dim is None or dim.empty:
        return rows
    # Declared indicators without any value (an optional source absent from this run) are named as such.
    loaded = {c for name in ("fact_indicator", "fact_indicator_departement") if ds.has(tables, name)
              for c in tables[name]["indicator_code"].unique()}
    for theme, families, words in BRIEF_THEMES:
        census = dim["family"].eq("recensement") & dim["label_fr"].str.lower().apply(
            lambda text: any(w in text for w in words))
        sub = dim[dim["family"].isin(families) | census]
        sql = _theme_sql(families, words)
        counts = {level: p.sql_number(int((sub["level"] == level).sum()), sql, {"level": level},
                                      source="dim_indicator") for level in ("commune", "departement")}
        examples = sub.sort_values(["level", "indicator_code"]).head(3)["indicator_code"].tolist()
        rows.append({"theme": theme, "commune": counts["commune"], "departement": counts["departement"],
                     "empty": sub.empty,
                     "examples": [lab.indicator(c) if c in loaded
                                  else Markup("{} (aucune valeur chargée : source absente)").format(lab.indicator(c))
                                  for c in examples],
                     "more": len(sub) > len(examples)})
    return rows


def _years(p: Printer, t: Traced, row) -> Markup:
    """'2015–2019', or '2023' when a single year."""
    if row["first_year"] == row["last_year"]:
        return Markup('<span class="nowrap">{}</span>').format(p.cell(t, row, "first_year"))
    return Markup('<span class="nowrap">{}–{}</span>').format(p.cell(t, row, "first_year"), p.cell(t, row, "last_year"))


def _measure(p: Printer, row) -> Markup:
    """What the correlation used: the published value, or its transformation (per 1,000 inhabitants, log)."""
    transform = row.get("transformation")
    if transform is None or _missing(transform):
        return p.sql_text(row["unit"], "SELECT unit FROM dim_indicator WHERE indicator_code = :indicator_code",
                          {"indicator_code": row["indicator_code"]}, source="dim_indicator")

    return p.recipe_text(transformed_unit(row["unit"], transform),
                         {"kind": "code", "ref": "electio.eda.correlation:transformed_unit",
                          "args": [row["unit"], transform]}, source="electio.eda.correlation")


def _indicators_section(p: Printer, lab: Labels, tables, reports_dir: Path) -> dict:
    cat = ds.indicator_catalogue(tables)
    cat_rows = [[p.cell(cat, r, "label_fr"), p.cell(cat, r, "family"), p.cell(cat, r, "unit"),
                 _years(p, cat, r),
                 p.cell(cat, r, "n_years"), p.cell(cat, r, "communes_last")] for _, r in cat.frame.iterrows()]
    dep = ds.departement_indicators(tables)
    dep_rows = [Markup("{} ({})").format(p.cell(dep, r, "label_fr"), _years(p, dep, r))
                for _, r in dep.frame.iterrows()]
    themes = _themes(p, lab, tables)
    answer = ds.eda_answer(tables)
    eda_json = _eda_json(reports_dir)

    texts = {}
    for key, attr in (("method_fr", "METHOD_FR"), ("stability_rule_fr", "STABILITY_RULE_FR")):
        if eda_json and eda_json.get(key):
            texts[key] = p.recipe_text(eda_json[key], {"kind": "json", "file": EDA_ANSWER, "key": key},
                                       source=f"reports/{EDA_ANSWER}")
        else:
            texts[key] = p.recipe_text(getattr(eda_answer_module, attr),
                                       {"kind": "code", "ref": f"electio.eda.answer:{attr}"},
                                       source="electio.eda.answer")
    top = ds.top_relations(tables, answer)
    top_rows = [[p.cell(top, r, "indicator_label"), _measure(p, r), lab.target(r["target"]),
                 p.cell(top, r, "mean_pearson"), p.cell(top, r, "mean_partial"),
                 p.cell(top, r, "mean_abs_pearson"),
                 Markup("{} à {}").format(p.cell(top, r, "min_pearson"), p.cell(top, r, "max_pearson")),
                 p.cell(top, r, "n_elections"), Markup("oui" if r["stable"] else "non")]
                for _, r in top.frame.iterrows()]
    best = ds.best_by_target(tables, answer)
    best_rows = [[lab.target(r["target"]), p.cell(best, r, "indicator_label"), _measure(p, r),
                  p.cell(best, r, "mean_pearson"), p.cell(best, r, "mean_partial"),
                  p.cell(best, r, "n_elections"), Markup("oui" if r["stable"] else "non")]
                 for _, r in best.frame.iterrows()]
    detail = None
    if not top.empty:
        first = top.frame.iloc[0]
        rel = ds.relation_by_election(tables, first["indicator_code"], first["target"])
        detail = {
            "indicator": lab.indicator(first["indicator_code"]), "target": lab.target(first["target"]),
            "table": table(["Élection", "Millésime de l'indicateur", "Communes", "r pondéré", "Intervalle de confiance",
                            "Spearman"],
                           [[p.cell(rel, r, "label_fr"), p.cell(rel, r, "indicator_year"), p.cell(rel, r, "n_communes"),
                             p.cell(rel, r, "pearson"), Markup("{} ; {}").format(p.cell(rel, r, "pearson_ci_low"),
                                                                               p.cell(rel, r, "pearson_ci_high")),
                             p.cell(rel, r, "spearman")] for _, r in rel.frame.iterrows()], numeric={2, 3, 4, 5}),
        }
    n_corr = n_corr_all = None
    if ds.has(tables, "fact_correlation", "dim_election"):
        el = tables["dim_election"]
        first = tables["fact_correlation"]["election_id"].isin(set(el.loc[el["round_number"] == 1, "election_id"]))
        n_corr = p.sql_number(int(first.sum()), "SELECT COUNT(*) FROM fact_correlation c JOIN dim_election e ON "
                              "e.election_id = c.election_id WHERE e.round_number = 1", source="fact_correlation",
                              fact="correlations_first_round")
        n_corr_all = p.sql_number(len(tables["fact_correlation"]), "SELECT COUNT(*) FROM fact_correlation",
                                  source="fact_correlation", fact="correlations_all")
    return {
        "catalogue": table(["Indicateur", "Famille", "Unité", "Années", "Millésimes", "Communes (dernier millésime)"],
                           cat_rows, numeric={4, 5}, css="small"),
        "themes": themes,
        "n_indicators": p.sql_number(len(tables["dim_indicator"]), "SELECT COUNT(*) FROM dim_indicator",
                                     source="dim_indicator") if ds.has(tables, "dim_indicator") else None,
        "departement": dep_rows,
        "has_correlations": not top.empty, "n_correlations": n_corr, "n_correlations_all": n_corr_all,
        "method": texts["method_fr"], "stability": texts["stability_rule_fr"],
        "top": table(["Indicateur", "Mesure", "Résultat", "r moyen", "r partiel moyen (taille égale)", "|r| moyen",
                      "Étendue", "Élections", "Stable"], top_rows, numeric={3, 4, 5, 7}),
        "best": table(["Résultat", "Indicateur le plus corrélé", "Mesure", "r moyen", "r partiel moyen (taille égale)",
                       "Élections", "Stable"], best_rows, numeric={3, 4, 5}),
        "detail": detail,
        "answer_top": top.frame.iloc[0].to_dict() if not top.empty else None,
        "answer_top_cells": ({"indicator": p.cell(top, top.frame.iloc[0], "indicator_label"),
                              "target": lab.target(top.frame.iloc[0]["target"]),
                              "r": p.cell(top, top.frame.iloc[0], "mean_pearson"),
                              "r_partial": p.cell(top, top.frame.iloc[0], "mean_partial"),
                              "n": p.cell(top, top.frame.iloc[0], "n_elections"),
                              "stable": bool(top.frame.iloc[0]["stable"]),
                              "sign": "négative" if top.frame.iloc[0]["mean_pearson"] < 0 else "positive"}
                             if not top.empty else None),
    }


def _method_section(p: Printer, lab: Labels, tables) -> dict:
    per = ds.perimeter(tables)
    cmap = ds.code_map(tables)
    cmap_rows = [[Markup(RELATION_FR.get(r["relation"], r["relation"])), p.cell(cmap, r, "codes")]
                 for _, r in cmap.frame.iterrows()]
    nuances = ds.nuances_by_bloc(tables)
    nuance_rows = [[Markup("{} {}").format(lab.swatch(r["bloc_code"]), p.cell(nuances, r, "label_fr")),
                    p.cell(nuances, r, "labels")] for _, r in nuances.frame.iterrows()]
    totals = ds.quality_totals(tables)
    total_parts = [Markup("{} {}").format(p.cell(totals, r, "n"), (STATUS_FR if r["n"] == 1 else STATUS_PLURAL_FR)
                                          .get(r["status"], r["status"])) for _, r in totals.frame.iterrows()]
    by_check = ds.quality_by_check(tables)
    check_rows = []
    for _, r in by_check.frame.iterrows():
        name = p.sql_text(r["check_name"], "SELECT DISTINCT check_name FROM meta_quality_check "
                          "WHERE check_name = :check_name", {"check_name": r["check_name"]},
                          source="meta_quality_check", derive="check_label")
        check_rows.append([name] + [p.cell(by_check, r, s) if r[s] else Markup("·") for s in ds.STATUSES])
    issues = ds.quality_issues(tables)
    issue_rows = [[Markup('<span class="status {}">{}</span>').format(r["status"], STATUS_FR.get(r["status"],
                                                                                                 r["status"])),
                   p.cell(issues, r, "check_name"), p.cell(issues, r, "election_label"),
                   Markup(CHECK_NOTE_FR.get(r["check_name"], "voir le journal des contrôles de l'entrepôt"))]
                  for _, r in issues.frame.iterrows()]
    rej = ds.rejected_rows(tables)
    rej_rows = [[p.sql_text(r["source_id"], "SELECT DISTINCT source_id FROM meta_rejected_row WHERE source_id = "
                            ":source_id", {"source_id": r["source_id"]}, source="meta_rejected_row"),
                 p.sql_text(r["file_name"], "SELECT DISTINCT file_name FROM meta_rejected_row WHERE file_name = "
                            ":file_name", {"file_name": r["file_name"]}, source="meta_rejected_row"),
                 p.cell(rej, r, "rows")] for _, r in rej.frame.iterrows()]
    refresh = Values({k: p.value(x) for k, x in ds.latest_refresh(tables).items()})
    all_checks = ds.quality_issues(tables, statuses=tuple(ds.STATUSES))
    annex_rows = []  # one line per check and status: how many results, for which elections
    frame = all_checks.frame
    for (name, status), group in frame.groupby(["check_name", "status"], sort=False):
        first = group.iloc[0]
        labels = [x for x in dict.fromkeys(group["election_label"]) if isinstance(x, str)]
        elections = [p.sql_text(x, "SELECT DISTINCT e.label_fr FROM meta_quality_check q JOIN dim_election e ON "
                                "e.election_id = q.election_id WHERE q.check_name = :check_name AND e.label_fr = "
                                ":label", {"check_name": name, "label": x}, source="meta_quality_check, dim_election")
                     for x in labels]
        annex_rows.append([
            p.cell(all_checks, first, "check_name"),
            Markup('<span class="status {}">{}</span>').format(status.replace("/", ""), STATUS_FR.get(status, status)),
            p.sql_number(len(group), "SELECT COUNT(*) FROM meta_quality_check WHERE check_name = :check_name AND "
                         "status = :status", {"check_name": name, "status": status}, source="meta_quality_check"),
            Markup(" ; ").join(elections) if elections else Markup("ensemble des indicateurs")])
    return {
        "cog_vintage": p.value(per.get("cog_vintage")),
        "code_map": table(["Relation", "Codes"], cmap_rows, numeric={1}),
        "nuances": table(["Bloc", "Étiquettes rattachées"], nuance_rows, numeric={1}),
        "n_labels": p.sql_number(len(tables["dim_nuance"]), "SELECT COUNT(*) FROM dim_nuance", source="dim_nuance")
        if ds.has(tables, "dim_nuance") else None,
        "quality_totals": total_parts,
        "n_failed": int((tables["meta_quality_check"]["status"] == "fail").sum())
        if ds.has(tables, "meta_quality_check") else 0,
        "by_check": table(["Contrôle", "Conforme", "Écart documenté", "Échec", "Absent", "Non vérifiable"],
                          check_rows, numeric={1, 2, 3, 4, 5}),
        "issues": table(["Statut", "Contrôle", "Élection", "Explication"], issue_rows, css="detail"),
        "rejected": table(["Source", "Fichier", "Lignes rejetées"], rej_rows, numeric={2}, css="technical"),
        "n_rejected": p.sql_number(len(tables["meta_rejected_row"]), "SELECT COUNT(*) FROM meta_rejected_row",
                                   source="meta_rejected_row") if ds.has(tables, "meta_rejected_row") else None,
        "refresh": refresh,
        "annex": table(["Contrôle", "Statut", "Résultats", "Élections concernées"], annex_rows, numeric={2},
                       css="detail small"),
    }


def _data_model_section(p: Printer, tables, diagram_svg: str | None, full_svg: str | None,
                        mcd_svg: str | None = None, row_counts: dict[str, int] | None = None) -> dict:
    rows = []
    for t in schema_tables():
        frame = tables.get(t.name)
        n = (row_counts or {}).get(t.name, None if frame is None else len(frame))
        count = (p.sql_number(n, f"SELECT COUNT(*) FROM {t.name}", source=t.name)
                 if n is not None else Markup("table absente de l'entrepôt"))
        rows.append([Markup("<code>{}</code>").format(t.name), Markup(TABLE_ROLE_FR.get(t.group, t.group)),
                     Markup(GRAIN_FR.get(t.name, "—")), count])
    return {"diagram": diagram_svg, "diagram_full": full_svg, "mcd": mcd_svg,
            "tables": table(["Table", "Rôle", "Une ligne représente…", "Lignes"], rows, numeric={3}, css="technical")}


def _models_section(p: Printer, lab: Labels, tables) -> dict:
    models = ds.models(tables)
    chosen = ds.chosen_model(tables)
    model_rows = [[lab.model(r["model_id"]), Markup(MODEL_KIND_FR.get(r["model_kind"], r["model_kind"])),
                   _model_help(p, models, r), Markup("retenu" if r["is_chosen"] == 1 else "")]
                  for _, r in models.frame.iterrows()]
    row_cls = ["chosen" if r["is_chosen"] == 1 else "" for _, r in models.frame.iterrows()]
    summary = ds.metrics_summary(tables)
    modes = []
    order = list(models.frame["model_id"])
    present_modes = set(summary.frame["mode"]) if not summary.empty else set()
    for mode in [m for m in ds.PERIMETER_MODES if m in present_modes]:  # France-wide modes: their own table
        sub = summary.frame[summary.frame["mode"] == mode]
        present = [m for m in dict.fromkeys(sub["metric"]) if "__" not in m]  # per-bloc: the coverage table
        metrics = sorted(present, key=lambda m: (metric_rank(m), _band_key(m) if m.startswith("mae_size_") else ()))
        ids = [m for m in order if m in set(sub["model_id"])] + sorted(set(sub["model_id"]) - set(order))
        # One row per metric, one column per model: the chosen model's column is highlighted.
        rows = []
        for m in metrics:
            cells = [_metric_header(p, m)]
            for mid in ids:
                rec = sub[(sub["model_id"] == mid) & (sub["metric"] == m)]
                cells.append(_metric_cell(p, summary, rec, m, tables) if not rec.empty else Markup("—"))
            rows.append(cells)
        col_classes = [""] + ["chosen" if mid == chosen else "" for mid in ids]
        by_el = ds.metric_by_election(tables, "wmae")
        el_frame = by_el.frame[by_el.frame["mode"] == mode]
        elections = _ordered_elections(tables, el_frame["election_id"].unique())
        el_rows = []
        for e in elections:
            cells = [lab.election(e)]
            for mid in ids:
                rec = el_frame[(el_frame["election_id"] == e) & (el_frame["model_id"] == mid)]
                cells.append(p.cell(by_el, rec.iloc[0], "value") if not rec.empty else Markup("—"))
            el_rows.append(cells)
        model_headers = [Markup("{}{}").format(lab.model(mid), Markup(" <em>(retenu)</em>") if mid == chosen else "")
                         for mid in ids]
        n_el = sub[sub["metric"] == "wmae"]
        help_text = MODE_HELP_FR.get(mode, "")
        modes.append({
            "mode": mode, "label": MODE_FR.get(mode, mode), "help": help_text[:1].upper() + help_text[1:],
            "summary": table(["Métrique (moyenne sur les élections test)"] + model_headers, rows,
                             numeric=set(range(1, len(ids) + 1)), col_classes=col_classes, css="metrics"),
            "by_election": table(["Élection test"] + model_headers, el_rows, numeric=set(range(1, len(ids) + 1)),
                                 col_classes=col_classes, css="small metrics") if el_rows else None,
            "n_elections": p.cell(summary, n_el.iloc[0], "n_elections") if not n_el.empty else None,
        })
    gains = ds.gain_vs_best_baseline(tables)
    gain_rows = [{"mode": MODE_FR.get(r["mode"], r["mode"]), "gain": p.cell(gains, r, "gain_pct"),
                  "better": r["gain_pct"] > 0, "baseline": p.cell(gains, r, "baseline_label")}
                 for _, r in gains.frame.iterrows()]
    chosen_wmae = []
    if chosen is not None and not summary.empty:
        for mode in modes:
            rec = summary.frame[(summary.frame["model_id"] == chosen) & (summary.frame["mode"] == mode["mode"])
                                & (summary.frame["metric"] == "wmae")]
            if not rec.empty:
                chosen_wmae.append({"mode": mode["label"], "value": p.cell(summary, rec.iloc[0], "value",
                                                                           fact=f"wmae_{mode['mode']}")})
    return {**_accuracy_parts(p, lab, tables), **{
        "has_models": not models.empty, "has_metrics": not summary.empty,
        "models": table(["Modèle", "Nature", "Description", ""], model_rows, row_classes=row_cls, css="detail"),
        "chosen": lab.model(chosen) if chosen else None,
        "modes": modes, "gains": gain_rows, "chosen_wmae": chosen_wmae,
        "has_backtest": ds.has(tables, "fact_backtest"),
        "n_backtest": p.sql_number(len(tables["fact_backtest"]), "SELECT COUNT(*) FROM fact_backtest",
                                   source="fact_backtest") if ds.has(tables, "fact_backtest") else None,
    }}


def _code_number(p: Printer, ref: str, key: str | None = None, *, digits: int = 0, scale: float = 1.0) -> Markup:
    """A constant of the package printed as a traced number (thresholds, interval level)."""
    module, attr = ref.split(":")
    import importlib

    obj = getattr(importlib.import_module(module), attr)
    value = obj[key] if key is not None else obj
    recipe = {"kind": "code", "ref": ref, **({"key": key} if key is not None else {})}
    return p.reg.number(float(value), source=module, recipe=recipe, digits=digits, scale=scale)


def interval_level(p: Printer) -> Markup:
    """'80' of 'intervalle à 80 %': the level the backtest and the scenarios use."""
    return _code_number(p, "electio.model.intervals:LEVEL", scale=100)


def _accuracy_parts(p: Printer, lab: Labels, tables) -> dict:
    """Accuracy in plain words, where a baseline wins, per-bloc coverage, targets, all-France results."""
    plain = ds.accuracy_plain(tables)
    plain_rows = [{"mode": Markup(MODE_FR.get(r["mode"], r["mode"])), "mode_code": r["mode"],
                   "wmae": p.cell(plain, r, "wmae", fact=f"wmae_{r['mode']}"),
                   "first_in_ten": p.cell(plain, r, "first_in_ten", fact=f"first_in_ten_{r['mode']}"),
                   "n_elections": p.cell(plain, r, "n_elections")} for _, r in plain.frame.iterrows()]
    wins = ds.baseline_wins(tables)
    win_rows = [{"mode": Markup(MODE_FR.get(r["mode"], r["mode"])), "election": lab.election(r["election_id"]),
                 "baseline": lab.model(r["baseline_id"]), "baseline_value": p.cell(wins, r, "baseline_value"),
                 "chosen_value": p.cell(wins, r, "chosen_value")} for _, r in wins.frame.iterrows()]
    tested = set(plain.frame["mode"])
    won = set(wins.frame["mode"])
    return {"level": interval_level(p), "plain": plain_rows, "wins": win_rows,
            "no_win_modes": [Markup(MODE_FR.get(m, m)) for m in ds.PERIMETER_MODES if m in tested and m not in won],
            "coverage": _coverage_table(p, lab, tables), "targets": _targets_table(p, lab, tables),
            "france": _france_table(p, lab, tables)}


def _coverage_table(p: Printer, lab: Labels, tables) -> dict | None:
    cov = ds.bloc_coverage(tables)
    if cov.empty:
        return None
    modes = [m for m in ds.PERIMETER_MODES if m in set(cov.frame["mode"])]
    blocs = list(dict.fromkeys(cov.frame["bloc_code"]))
    rows, classes = [], []
    for bloc in blocs:
        cells = [Markup("{} {}").format(lab.swatch(bloc), lab.bloc(bloc)) if bloc else Markup("Tous les blocs")]
        for mode in modes:
            rec = cov.frame[(cov.frame["mode"] == mode) & (cov.frame["bloc_code"] == bloc)]
            if rec.empty:
                cells += [Markup("—"), Markup("—")]
                continue
            r = rec.iloc[0]
            cells.append(Markup('<strong>{}</strong> <span class="interval">({} – {})</span>').format(
                p.cell(cov, r, "coverage"), p.cell(cov, r, "coverage_min"), p.cell(cov, r, "coverage_max")))
            cells.append(p.cell(cov, r, "score"))
        rows.append(cells)
        classes.append("" if bloc else "total")
    headers = ["Bloc"]
    for mode in modes:
        headers += [Markup("Couverture, mode {} (%)").format(MODE_FR.get(mode, mode)),
                    Markup("Score d'intervalle, mode {} (points)").format(MODE_FR.get(mode, mode))]
    # Per mode, the bloc and test election with the lowest and the highest coverage.
    extremes = []
    blocs_only = cov.frame[cov.frame["bloc_code"] != ""]
    for mode in modes:
        sub = blocs_only[blocs_only["mode"] == mode]
        if sub.empty:
            continue
        low = sub.sort_values(["coverage_min", "bloc_code"]).iloc[0]
        high = sub.sort_values(["coverage_max", "bloc_code"], ascending=[False, True]).iloc[0]
        extremes.append({"mode": Markup(MODE_FR.get(mode, mode)),
                         "low_bloc": lab.bloc(low["bloc_code"]), "low_election": lab.election(low["election_min"]),
                         "low": p.cell(cov, low, "coverage_min"),
                         "high_bloc": lab.bloc(high["bloc_code"]), "high_election": lab.election(high["election_max"]),
                         "high": p.cell(cov, high, "coverage_max")})
    return {"table": table(headers, rows, numeric=set(range(1, len(headers))), row_classes=classes,
                           css="small metrics"), "extremes": extremes}


TARGET_TEXT_FR = {
    "conditional_wmae": "Mode conditionnel : erreur moyenne pondérée d'au plus {t_points}",
    "conditional_gain": "Mode conditionnel : erreur inférieure d'au moins {t} % à celle du glissement uniforme",
    "national_wmae": "Mode conditionnel national : erreur moyenne pondérée d'au plus {t_points} à chaque élection test",
    "unconditional_gain": "Mode inconditionnel : erreur inférieure d'au moins {t} % à celle de la meilleure "
                          "persistance",
    "coverage_election": "Mode {mode} : couverture des intervalles entre {t} et {t2} % à chaque élection test",
    "coverage_bloc": "Mode {mode} : couverture des intervalles entre {t} et {t2} % pour chaque bloc",
}
_TARGET_KEYS = {"conditional_wmae": ("conditional_wmae", None, 1), "conditional_gain": ("conditional_gain", None, 0),
                "national_wmae": ("national_wmae", None, 1), "unconditional_gain": ("unconditional_gain", None, 0),
                "coverage_election": ("coverage_election_low", "coverage_election_high", 0),
                "coverage_bloc": ("coverage_bloc_low", "coverage_bloc_high", 0)}


def _targets_table(p: Printer, lab: Labels, tables) -> dict | None:
    rows, classes = [], []
    for t in ds.targets(tables):
        k1, k2, digits = _TARGET_KEYS[t["id"]]
        ref = "electio.report.datasets:TARGETS"
        threshold = _code_number(p, ref, k1, digits=digits)
        goal = Markup(TARGET_TEXT_FR[t["id"]]).format(
            t=threshold, t_points=points_fr(threshold), t2=_code_number(p, ref, k2, digits=digits) if k2 else "",
            mode=Markup(MODE_FR.get(t.get("mode"), t.get("mode") or "")))
        if t["id"] in ("conditional_wmae",):
            measured = points_fr(p.value(t["value"], fact="wmae_conditional"))
        elif t["id"] in ("conditional_gain", "unconditional_gain"):
            v = t["value"]
            sign = 1.0 if v.value >= 0 else -1.0  # a negative reduction is printed as an increase
            measured = Markup("{} {} % (référence : {})").format(
                "réduite de" if sign > 0 else "augmentée de",
                p.value(Value(v.value, dataclasses.replace(v.col, scale=sign), v.params)), lab.model(t["baseline"]))
        elif t["id"] == "national_wmae":
            measured = Markup(" ; ").join(Markup("{} : {}").format(lab.election(e), p.value(v))
                                          for e, v in t["per_election"]) or Markup("aucune donnée nationale")
        else:
            measured = (Markup("de {} à {} %").format(p.value(t["low"]), p.value(t["high"])) if t["low"] is not None
                        else Markup("—"))
        rows.append([goal, measured, Markup("atteint") if t["reached"] else Markup("non atteint")])
        classes.append("" if t["reached"] else "missed")
    if not rows:
        return None
    return {"table": table(["Objectif (moyenne sur les élections test, modèle retenu)", "Mesuré", "Résultat"], rows,
                           row_classes=classes, css="small")}


def _france_table(p: Printer, lab: Labels, tables) -> dict | None:
    fr = ds.france_results(tables)
    if fr.empty:
        return None
    chosen = ds.chosen_model(tables)
    models = [m for m in ds.models(tables).frame["model_id"] if m in set(fr.frame["model_id"])]
    rows = []
    for (election, mode), sub in fr.frame.groupby(["election_id", "mode"], sort=False):
        first = sub.iloc[0]
        cells = [lab.election(election), Markup(MODE_FR.get(mode, mode).split(",")[0]),
                 p.cell(fr, first, "n_communes"), p.cell(fr, first, "n_departements")]
        best = sub.sort_values(["wmae", "model_id"]).iloc[0]["model_id"]
        for m in models:
            rec = sub[sub["model_id"] == m]
            if rec.empty:
                cells.append(Markup("—"))
                continue
            v = p.cell(fr, rec.iloc[0], "wmae")
            cells.append(Markup("<strong>{}</strong>").format(v) if m == best else v)
        rows.append(cells)
    headers = ["Élection", "Mode", "Communes", "Départements"] + [
        Markup("{}{}").format(lab.model(m), Markup(" <em>(retenu)</em>") if m == chosen else "") for m in models]
    return {"table": table(headers, rows, numeric=set(range(2, len(headers))), css="small metrics")}


def _model_help(p: Printer, models: Traced, row) -> Markup:
    """Plain French description of a model (the warehouse's description is a technical note)."""
    if row["model_id"] in MODEL_HELP_FR:
        return p.recipe_text(MODEL_HELP_FR[row["model_id"]], {"kind": "code", "ref": "electio.report.labels:MODEL_HELP_FR",
                                                              "key": row["model_id"]}, source="electio.report.labels")
    col = models.cols["description"]
    return p._emit(row["description"], ds.Col(col.source, col.sql, kind="text", derive="plain_fr"), models.params(row))


def _band_key(metric: str) -> tuple:
    """Size bands from the smallest communes up: 'lt_1000' < '1000_10000' < 'ge_10000'."""
    band = metric.removeprefix("mae_size_")
    numbers = [int(n) * (1000 if k else 1) for n, k in re.findall(r"(\d+)(k?)", band)]
    return (0 if band.startswith("lt") else 1, numbers[0] if numbers else 0, band)


def _metric_header(p: Printer, metric: str) -> Markup:
    return p.sql_text(metric, "SELECT DISTINCT metric FROM fact_model_metric WHERE metric = :metric",
                      {"metric": metric}, source="fact_model_metric", derive="metric_label")


def _metric_cell(p: Printer, summary: Traced, rec: pd.DataFrame, metric: str, tables) -> Markup:
    row = rec.iloc[0]
    scale = ds.metric_scale(tables, metric)
    col = summary.cols["value"]
    digits = 1 if is_percent_metric(metric) else col.digits
    return p._emit(row["value"], ds.Col(col.source, col.sql, digits=digits, scale=scale), summary.params(row))


def _ordered_elections(tables, ids) -> list[str]:
    el = tables.get("dim_election")
    if el is None or el.empty:
        return sorted(ids)
    order = el.sort_values("election_date")["election_id"].tolist()
    return [e for e in order if e in set(ids)]


def _scenarios_section(p: Printer, lab: Labels, tables) -> dict:
    sc = ds.scenarios(tables)
    sc_rows = [[p.cell(sc, r, "label_fr"), Markup(SWING_FR.get(r["swing"], r["swing"])),
                p.cell(sc, r, "horizon_years"), p.cell(sc, r, "target_year")]
               for _, r in sc.frame.iterrows()]
    fd = ds.forecast_departement(tables)
    per_scenario = []  # one table per hypothesis: blocs in rows, one column per horizon
    for swing, group in sc.frame.groupby("swing", sort=False):
        group = group.sort_values(["target_year", "horizon_years", "scenario_id"])
        sub = fd.frame[fd.frame["scenario_id"].isin(set(group["scenario_id"]))]
        if sub.empty:
            continue
        targets = list(dict.fromkeys(sub["target"]))
        rows = []
        for target in targets:
            cells = [Markup("{} {}").format(lab.swatch(target), lab.target(target)) if target != "turnout"
                     else lab.target(target)]
            for sid in group["scenario_id"]:
                rec = sub[(sub["scenario_id"] == sid) & (sub["target"] == target)]
                if rec.empty:
                    cells.append(Markup("—"))
                    continue
                r = rec.iloc[0]
                proba = (Markup(' <span class="proba">· {} %</span>').format(p.cell(fd, r, "probability_first"))
                         if target != "turnout" and not _missing(r["probability_first"]) else Markup(""))
                cells.append(Markup('<strong>{}</strong> <span class="interval">({} – {})</span>{}').format(
                    p.cell(fd, r, "predicted"), p.cell(fd, r, "interval_low"), p.cell(fd, r, "interval_high"), proba))
            rows.append(cells)
        headers = ["Cible"] + [p._emit(h["label_fr"], ds.Col(sc.cols["label_fr"].source, sc.cols["label_fr"].sql,
                                                             kind="text", derive="scenario_election"), sc.params(h))
                               for _, h in group.iterrows()]
        example = EXAMPLE_LABEL_FR if group["label_fr"].astype(str).str.contains(EXAMPLE_LABEL_FR, regex=False).any() \
            else ""
        per_scenario.append({"swing": swing, "example": bool(example),
                             "label": Markup(SWING_FR.get(swing, swing) + example),
                             "help": Markup(SWING_HELP_FR.get(swing, "")),
                             "table": table(headers, rows, numeric=set(range(1, len(headers))), css="scenario")})
    # the default hypothesis first (the slides show the first one), an example with invented numbers last
    order = {k: i for i, k in enumerate(SWING_FR)}
    per_scenario.sort(key=lambda h: (h["example"], order.get(h["swing"], len(order))))
    counts = ds.first_bloc_counts(tables)
    count_table = None
    if not counts.empty:
        blocs = [b for b in (tables["dim_bloc"].sort_values("sort_order")["bloc_code"] if ds.has(tables, "dim_bloc")
                             else []) if b in set(counts.frame["target"])]
        rows = []
        for sid in sc.frame["scenario_id"]:
            sub = counts.frame[counts.frame["scenario_id"] == sid]
            if sub.empty:
                continue
            cells = [lab.scenario(sid)]
            for b in blocs:
                rec = sub[sub["target"] == b]
                cells.append(p.cell(counts, rec.iloc[0], "communes") if not rec.empty else Markup("·"))
            rows.append(cells)
        count_table = table(["Scénario"] + [lab.bloc(b) for b in blocs], rows, numeric=set(range(1, len(blocs) + 1)),
                            css="small")
    swings = set(sc.frame["swing"])
    national = sc.frame[sc.frame["swing"] == "national"]
    return {"has_scenarios": not sc.empty, "has_forecasts": ds.has(tables, "fact_forecast"),
            "scenarios": table(["Scénario", "Hypothèse", "Horizon (ans)", "Année cible"], sc_rows, numeric={2}),
            "per_scenario": per_scenario, "first_counts": count_table,
            "has_national": not national.empty, "has_custom": "custom" in swings,
            "national_with_forecast": bool(set(national["scenario_id"]) & set(fd.frame["scenario_id"])),
            "examples": bool(sc.frame["label_fr"].astype(str).str.contains(EXAMPLE_LABEL_FR, regex=False).any()),
            "horizon": _horizon_section(p, tables), "level": interval_level(p),
            "national_communes": _national_communes(p, lab, tables, national)}


def _national_communes(p: Printer, lab: Labels, tables, national: pd.DataFrame) -> dict | None:
    """Commune forecasts of the first national-intentions scenario (earliest election, presidential first):
    the largest communes, the bloc most likely first, its share and probability."""
    if national.empty:
        return None
    types = {t: i for i, t in enumerate(ELECTION_TYPE_FR)}
    sid = national.assign(_t=national["election_type"].map(types).fillna(len(types))).sort_values(
        ["target_year", "_t", "scenario_id"]).iloc[0]["scenario_id"]
    lead = ds.commune_leaders(tables, sid)
    if lead.empty:
        return None
    rows = [[lab.commune(r["commune_code"]), p.cell(lead, r, "registered"),
             Markup("{} {}").format(lab.swatch(r["target"]), lab.bloc(r["target"])),
             Markup('<strong>{}</strong> <span class="interval">({} – {})</span>').format(
                 p.cell(lead, r, "predicted"), p.cell(lead, r, "interval_low"), p.cell(lead, r, "interval_high")),
             p.cell(lead, r, "probability_first")] for _, r in lead.frame.iterrows()]
    return {"scenario": lab.scenario(sid), "n": len(rows),
            "table": table(["Commune", "Inscrits", "Bloc le plus probablement en tête", "Part attendue (%)",
                            "Probabilité d'arriver en tête (%)"], rows, numeric={1, 3, 4}, css="small")}


def _horizon_section(p: Printer, tables) -> dict | None:
    """Error growth with the lead time, measured on the archive (status quo rule first)."""
    he = ds.horizon_error(tables)
    if he.empty:
        return None

    def bucket(r) -> Markup:
        return p.sql_text(r["lead_bucket"], "SELECT lead_bucket FROM fact_horizon_error WHERE rule = :rule AND "
                          "lead_bucket = :lead_bucket", he.params(r), source="fact_horizon_error",
                          derive="lead_bucket_fr")

    rows = [[Markup(SWING_FR.get(r["rule"], r["rule"])), bucket(r), p.cell(he, r, "n_election_pairs"),
             p.cell(he, r, "n_departements"), p.cell(he, r, "mean_lead_years"), p.cell(he, r, "bloc_mae_points"),
             p.cell(he, r, "growth_vs_0_1")] for _, r in he.frame.iterrows()]
    sq = he.frame[he.frame["rule"] == "status_quo"].sort_values("mean_lead_years")
    plain = None
    if len(sq) >= 2:
        first, last = sq.iloc[0], sq.iloc[-1]
        plain = {"short": bucket(first), "short_mae": p.cell(he, first, "bloc_mae_points"),
                 "long": bucket(last), "long_mae": p.cell(he, last, "bloc_mae_points"),
                 "long_growth": p.cell(he, last, "growth_vs_0_1"),
                 "wider": bool(last["bloc_mae_points"] > first["bloc_mae_points"])}
    return {"table": table(["Règle", "Avance", "Paires d'élections", "Départements", "Avance moyenne (ans)",
                            "Erreur moyenne par bloc (points)", "Dispersion des erreurs (base : moins d'un an)"], rows,
                           numeric={2, 3, 4, 5, 6}, css="small"), "plain": plain}


def headline_scenarios(tables) -> list[str]:
    """Scenarios of the next real election: the earliest target year, every hypothesis (status quo first)."""
    sc = ds.scenarios(tables).frame
    fd = tables.get("fact_forecast_departement")
    if sc.empty or fd is None or fd.empty:
        return []
    sc = sc[sc["scenario_id"].isin(set(fd["scenario_id"]))]
    # Invented numbers (the shipped example files) never make the headline.
    sc = sc[~sc["label_fr"].astype(str).str.contains(EXAMPLE_LABEL_FR, regex=False)]
    if sc.empty:
        return []
    # The earliest year; on a tie, the presidential election (the scheduled one, the brief's default) first.
    types = {t: i for i, t in enumerate(ELECTION_TYPE_FR)}
    sc = sc.assign(_t=sc["election_type"].map(types).fillna(len(types)))
    year, kind = sc.sort_values(["target_year", "_t"]).iloc[0][["target_year", "election_type"]]
    first = sc[(sc["target_year"] == year) & (sc["election_type"] == kind)]
    order = {k: i for i, k in enumerate(SWING_FR)}
    return first.assign(_o=first["swing"].map(order).fillna(len(order))).sort_values(["_o", "scenario_id"])[
        "scenario_id"].tolist()


#: A bloc "can come first" in a scenario when its probability of doing so reaches this share.
CONTENDER_PROBABILITY = 0.05  # the slides say « une chance sur vingt »


def _synthesis_section(p: Printer, lab: Labels, tables) -> dict:
    """The one-page synthesis: the next election's forecast with its uncertainty, per hypothesis."""
    fd = ds.forecast_departement(tables)
    scale = ds.probability_scale(tables)
    out = []
    for sid in headline_scenarios(tables):
        sub = fd.frame[(fd.frame["scenario_id"] == sid) & (fd.frame["target"] != "turnout")]
        if sub.empty:
            continue
        lead = sub.sort_values(["probability_first", "predicted"], ascending=False).iloc[0]
        contenders = sub[sub["probability_first"] * scale >= CONTENDER_PROBABILITY * 100]
        n_cont = p.sql_number(len(contenders), "SELECT COUNT(*) FROM fact_forecast_departement WHERE scenario_id = "
                              ":scenario_id AND target <> 'turnout' AND probability_first * :scale >= :threshold",
                              {"scenario_id": sid, "scale": scale, "threshold": CONTENDER_PROBABILITY * 100},
                              source="fact_forecast_departement")
        turnout = fd.frame[(fd.frame["scenario_id"] == sid) & (fd.frame["target"] == "turnout")]
        rows = [[Markup("{} {}").format(lab.swatch(r["target"]), lab.bloc(r["target"])), p.cell(fd, r, "predicted"),
                 Markup("{} – {}").format(p.cell(fd, r, "interval_low"), p.cell(fd, r, "interval_high")),
                 p.cell(fd, r, "probability_first")] for _, r in sub.sort_values("predicted", ascending=False)
                .iterrows()]
        sc_row = tables["dim_scenario"].set_index("scenario_id").loc[sid]
        out.append({
            "label": lab.scenario(sid), "swing": Markup(SWING_FR.get(sc_row["swing"], sc_row["swing"])),
            "lead": lab.bloc(lead["target"]), "lead_predicted": p.cell(fd, lead, "predicted"),
            "lead_low": p.cell(fd, lead, "interval_low"), "lead_high": p.cell(fd, lead, "interval_high"),
            "lead_probability": p.cell(fd, lead, "probability_first"), "n_contenders": n_cont,
            "several": len(contenders) > 1,
            "turnout": (Markup("{} % (de {} à {} %)").format(p.cell(fd, turnout.iloc[0], "predicted"),
                                                             p.cell(fd, turnout.iloc[0], "interval_low"),
                                                             p.cell(fd, turnout.iloc[0], "interval_high"))
                        if not turnout.empty else None),
            "table": table(["Bloc", "Part attendue (%)", Markup("Intervalle à {} % (%)").format(interval_level(p)),
                            "Probabilité d'arriver en tête (%)"], rows,
                           numeric={1, 2, 3}, css="small"),
        })
    election = None
    if out:
        sid = headline_scenarios(tables)[0]
        election = p.sql_text(lab._scenario.get(sid, sid), "SELECT label_fr FROM dim_scenario WHERE scenario_id = "
                              ":scenario_id", {"scenario_id": sid}, source="dim_scenario", derive="scenario_election")
    return {"headline": out, "election": election}


def _small_communes(p: Printer, tables) -> dict:
    """Small communes and small vote counts at the latest election: the re-identification risk."""
    if not ds.has(tables, "fact_turnout", "dim_election", "fact_election_result"):
        return {}
    latest = tables["dim_election"].sort_values("election_date").iloc[-1]["election_id"]
    t = tables["fact_turnout"]
    r = tables["fact_election_result"]
    n_small = int(((t["election_id"] == latest) & (t["registered"] < SMALL_COMMUNE)).sum())
    n_cells = int(((r["election_id"] == latest) & r["votes"].between(1, SMALL_COUNT)).sum())
    return {
        "threshold": p.recipe_text(str(SMALL_COMMUNE), {"kind": "code", "ref": "electio.report.build:SMALL_COMMUNE"},
                                   source="electio.report.build"),
        "count_threshold": p.recipe_text(str(SMALL_COUNT), {"kind": "code", "ref": "electio.report.build:SMALL_COUNT"},
                                         source="electio.report.build"),
        "n_small": p.sql_number(n_small, "SELECT COUNT(*) FROM fact_turnout WHERE election_id = :election_id AND "
                                "registered < :threshold", {"election_id": latest, "threshold": SMALL_COMMUNE},
                                source="fact_turnout"),
        "n_cells": p.sql_number(n_cells, "SELECT COUNT(*) FROM fact_election_result WHERE election_id = :election_id "
                                "AND votes BETWEEN 1 AND :n", {"election_id": latest, "n": SMALL_COUNT},
                                source="fact_election_result"),
        "election": lab_election_text(p, tables, latest),
        "small_plural": n_small > 1, "cells_plural": n_cells > 1,
    }


def lab_election_text(p: Printer, tables, election_id: str) -> Markup:
    labels = dict(zip(tables["dim_election"]["election_id"], tables["dim_election"]["label_fr"]))
    return p.sql_text(labels.get(election_id, election_id), "SELECT label_fr FROM dim_election WHERE election_id = "
                      ":election_id", {"election_id": election_id}, source="dim_election")


#: Fixed references printed in the text (traced like data so that no digit is typed in the template).
FIXED_TEXT = {"rgpd_article": "article 9", "card_many": "0,n", "card_one": "1,1"}


def _fixed(p: Printer) -> dict:
    return {k: p.recipe_text(v, {"kind": "code", "ref": "electio.report.build:FIXED_TEXT", "key": k},
                             source="electio.report.build") for k, v in FIXED_TEXT.items()}


#: Communes under this number of registered voters are "small" (a bloc's vote count may point to a few people).
SMALL_COMMUNE = 100
#: Vote counts from 1 to this number are "small cells".
SMALL_COUNT = 4


def _limits_section(p: Printer, tables) -> dict:
    issues = ds.quality_issues(tables, statuses=("warn",))
    missing = ds.quality_issues(tables, statuses=("missing",))
    fi = tables.get("fact_indicator")
    suppressed = None
    if fi is not None and not fi.empty:
        suppressed = p.sql_number(100 * fi["value"].isna().mean(),
                                  "SELECT 100.0 * (COUNT(*) - COUNT(value)) / COUNT(*) FROM fact_indicator",
                                  source="fact_indicator", digits=1)
    fer = tables.get("fact_election_result")
    absent = None
    if fer is not None and not fer.empty and ds.has(tables, "dim_election"):
        leg = set(tables["dim_election"].loc[tables["dim_election"]["election_type"] == "legislatives", "election_id"])
        n = int(((fer["n_labels"] == 0) & fer["election_id"].isin(leg)).sum())
        absent = p.sql_number(n, "SELECT COUNT(*) FROM fact_election_result r JOIN dim_election e ON e.election_id = "
                                 "r.election_id WHERE e.election_type = 'legislatives' AND r.n_labels = 0",
                              source="fact_election_result, dim_election")
    return {"n_warn": p.sql_number(len(issues.frame), "SELECT COUNT(*) FROM meta_quality_check WHERE status = 'warn'",
                                   source="meta_quality_check") if not issues.empty else None,
            "missing": [p.cell(missing, r, "detail") for _, r in missing.frame.iterrows()],
            "suppressed": suppressed, "absent_blocs": absent}


def _rgpd_section(p: Printer, tables) -> dict:
    nu = tables.get("dim_nuance")
    candidates = None
    if nu is not None and not nu.empty:
        candidates = p.sql_number(int((nu["label_kind"] == "candidate").sum()),
                                  "SELECT COUNT(*) FROM dim_nuance WHERE label_kind = 'candidate'", source="dim_nuance")
    return {"candidates": candidates}


def _figures(p: Printer, lab: Labels, tables, figures_dir: Path) -> dict[str, list[dict]]:
    elections = ({e: i for i, e in enumerate(tables["dim_election"].sort_values("election_date")["election_id"])}
                 if ds.has(tables, "dim_election") else {})
    indicators = set(tables["dim_indicator"]["indicator_code"]) if ds.has(tables, "dim_indicator") else set()
    targets = (set(tables["dim_bloc"]["bloc_code"]) if ds.has(tables, "dim_bloc") else set()) | {"turnout"}
    out: dict[str, list[dict]] = {s: [] for s in figs.SECTIONS}
    scenarios = set(tables["dim_scenario"]["scenario_id"]) if ds.has(tables, "dim_scenario") else set()
    collected = figs.collect(figures_dir, elections, indicators, targets, scenarios)
    pngs = figs.embedded_pngs([(f.path, figs.EMBED_PX[f.size]) for f in collected])
    for f, png in zip(collected, pngs):
        parts, alt = [], []
        for part in f.caption.parts:
            if isinstance(part, str):
                parts.append(Markup.escape(part))
                alt.append(part)
                continue
            kind, key = part
            if kind == "election":
                m = lab.election(key)
            elif kind == "indicator":
                m = lab.indicator(key)
            elif kind == "target":
                m = lab.target(key)
            elif kind == "commune":
                m = lab.commune(key)
            elif kind == "scenario":
                m = lab.scenario(key)
            else:  # family, file: words taken from the file name
                m = p.recipe_text(key, {"kind": "file", "file": f.name}, source=f"reports/figures/{f.name}",
                                  derive="figure_file_label" if kind == "file" else None)
            parts.append(m)
            alt.append(m.striptags())
        out[f.section].append({"id": "fig-" + f.path.stem.replace("_", "-"), "uri": figs.data_uri(png),
                               "caption": Markup("").join(parts), "alt": "".join(alt), "file": f.name,
                                 "size": f.size})
    return out


# --------------------------------------------------------------------------- build

def render_report(tables: dict[str, pd.DataFrame], settings: Settings, *, france: dict | None = None,
                  diagrams: dict[str, str] | None = None,
                  row_counts: dict[str, int] | None = None) -> tuple[str, Registry]:
    """HTML text of the report and the registry of its printed values."""
    html, reg, _ = render_report_context(tables, settings, france=france, diagrams=diagrams, row_counts=row_counts)
    return html, reg


def report_tables(db_url: str) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """What the report reads from a warehouse: every table but the context rows (every commune of
    France: most of the reading time), which it only counts; and those counts (``row_counts``)."""
    tables = read_tables(db_url, without=CONTEXT)
    present, _ = present_names(db_url)
    return tables, {t: count_rows(db_url, t) for t in CONTEXT if t in present}


def render_report_context(tables: dict[str, pd.DataFrame], settings: Settings, *, france: dict | None = None,
                          diagrams: dict[str, str] | None = None,
                          row_counts: dict[str, int] | None = None) -> tuple[str, Registry, dict]:
    """HTML text, registry and the template context (the slides print the same registered values).
    ``row_counts``: rows of tables not in ``tables`` (the data model section lists every table's)."""
    reg = Registry()
    p = Printer(reg)
    lab = Labels(p, tables)

    if france is None:
        france = france_bloc_table(tables, set(tables["dim_election"]["election_id"])
                                   if ds.has(tables, "dim_election") else set())
    diagrams = diagrams if diagrams is not None else memo_value("diagrams", "schema and code", _diagrams)
    figures_dir = Path(settings.reports_dir) / "figures"
    name = departement_label(tables)
    ctx = {
        # "Rhône" for a known département; nothing when only the code is known (it is printed beside).
        "departement_name": "" if name.startswith(("département", "périmètre")) else name,
        "perimetre": _perimeter_section(p, lab, tables, france),
    }
    ctx["indicateurs"] = _indicators_section(p, lab, tables, settings.reports_dir)
    ctx["methode"] = _method_section(p, lab, tables)
    ctx["modele_donnees"] = _data_model_section(p, tables, diagrams.get("schema"), diagrams.get("schema_full"),
                                                diagrams.get("mcd"), row_counts)
    ctx["modeles"] = _models_section(p, lab, tables)
    ctx["scenarios"] = _scenarios_section(p, lab, tables)
    ctx["limites"] = _limits_section(p, tables)
    ctx["rgpd"] = {**_rgpd_section(p, tables), **_small_communes(p, tables)}
    ctx["synthese"] = _synthesis_section(p, lab, tables)
    ctx["fixed"] = _fixed(p)
    ctx["figures"] = _figures(p, lab, tables, figures_dir)
    ctx["evolution"] = _evolution_map(lab, tables)
    ctx["group_fr"] = figs.GROUP_FR
    ctx["flow_diagram"] = diagrams.get("data_flow")
    ctx["mode_fr"] = MODE_FR
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["points"] = points_fr
    css = (TEMPLATES / "rapport.css").read_text(encoding="utf-8")
    html = french_spacing_html(env.get_template("rapport.html.j2").render(css=Markup(css), **ctx))
    ctx["printer"], ctx["labels"] = p, lab
    return html, reg, ctx


def _evolution_map(lab: Labels, tables) -> dict | None:
    """The report's own diverging map of changes since the previous election of the same type."""
    if not ds.has(tables, "fact_election_result"):
        return None
    drawn = memo_value("evolution_map", table_keys(tables, EVOLUTION_TABLES), lambda: _draw_evolution_map(tables))
    if drawn is None:
        return None
    previous_id, election_id, png = drawn
    # the caption's labels are printed (traced) on every build, the picture only when its tables change
    caption = Markup("Évolution des principaux blocs par commune entre {} et {}, avec un zoom sur la Métropole de "
                     "Lyon (échelle divergente : rouge, progression ; bleu, recul)").format(
        lab.election(previous_id), lab.election(election_id))
    return {"id": "fig-evolution", "uri": figs.data_uri(png), "caption": caption,
            "alt": Markup(caption).striptags(), "size": "full"}


#: What the change map is drawn from (its cache key in a cached refresh).
EVOLUTION_TABLES = ("fact_election_result", "dim_election", "dim_bloc", "dim_commune", "dim_commune_geometry")


def _draw_evolution_map(tables) -> tuple[str, str, bytes] | None:
    """(previous election, election, PNG bytes) of the change map, or None."""
    m = change_map(tables, shapes_for(tables))
    if m is None:
        return None
    png = render(m.figure, "png", dpi=150)
    with Image.open(io.BytesIO(png)) as img:  # few colours: a palette keeps the picture and divides the size
        out = io.BytesIO()
        img.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(out, format="PNG", optimize=True)
    return m.previous_id, m.election_id, out.getvalue()


def _diagrams() -> dict[str, str]:
    """SVG data URIs of the diagrams (pure Python: they render on every machine)."""
    return {name: figs.data_uri(render(draw(), "svg"), "image/svg+xml")
            for name, draw in (("mcd", conceptual_model), ("schema", lambda: star_schema(keys_only=True)),
                               ("schema_full", star_schema), ("data_flow", data_flow))}


def build_report(settings: Settings, *, pdf: bool = False, tables: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write ``<reports>/rapport.html`` (and its sources JSON, and the PDF if asked); return the HTML path."""
    db = sqlite_path(settings.db_url)
    if db is not None and not db.exists():
        raise ElectioError(f"no warehouse at {db}: run `python -m electio.refresh` first")
    row_counts = None
    if tables is None:
        tables, row_counts = report_tables(settings.db_url)
    if not ds.has(tables, "dim_commune", "dim_election"):
        raise ElectioError("the warehouse is empty (no commune or election): run `python -m electio.refresh` first")
    html, reg, ctx = render_report_context(tables, settings, row_counts=row_counts)
    out_dir = Path(settings.reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE

    write_slides(ctx, tables, settings, out_dir / SLIDES_FILE)  # same registry: one number per fact
    atomic_write(out_dir / SOURCES_FILE, json.dumps({"entries": reg.to_json()}, ensure_ascii=False, indent=1,
                                                     default=str).encode("utf-8"))
    atomic_write(path, html.encode("utf-8"))
    log.info("report written to %s (%d traced values)", path, len(reg.entries))
    if pdf:
        export_pdf(path, out_dir / PDF_FILE)
    return path


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if found := shutil.which(name):
            return found
    return None


def export_pdf(html_path: Path, pdf_path: Path, *, timeout: int = 180) -> Path | None:
    """Print the report to PDF with headless Chromium (Debian package ``chromium``), if installed.

    Optional: without Chromium, or if printing fails, a warning is logged and the
    HTML report stands alone. Returns the PDF path when written.
    """
    exe = chromium()
    if exe is None:
        # No pip-only renderer prints this report decently (CSS grid, SVG diagrams, named landscape pages):
        # the HTML carries an A4 print stylesheet, so any browser's "Print > PDF" gives the same document.
        log.warning("PDF not written: Chromium not found (Debian: apt-get install chromium). The report %s prints "
                    "to PDF from any web browser (File > Print > Save as PDF, A4 layout included).", html_path)
        return None
    with tempfile.TemporaryDirectory(prefix="electio-chromium-") as profile:
        tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={tmp}", html_path.resolve().as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
        except (subprocess.SubprocessError, OSError) as exc:
            log.warning("PDF not written: Chromium failed: %s", exc)
            tmp.unlink(missing_ok=True)
            return None
        if not tmp.exists() or tmp.stat().st_size == 0:
            log.warning("PDF not written: Chromium produced no file")
            return None
        tmp.replace(pdf_path)
    log.info("PDF written to %s", pdf_path)
    return pdf_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="electio report", description="write reports/rapport.html from the warehouse")
    add_common_arguments(parser)
    parser.add_argument("--pdf", action="store_true", help="also print reports/rapport.pdf with headless Chromium")
    args = parser.parse_args(argv)
    settings = settings_from_args(args)

    def body() -> None:
        print(f"report written to {build_report(settings, pdf=args.pdf)}")

    return run_command("report", body, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
