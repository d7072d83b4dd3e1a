"""Diagrams of the warehouse, generated from ``sql/schema.sql`` (never drawn by hand).

- :func:`conceptual_model`: the French conceptual data model (MCD, Merise notation):
  entities are the dimensions, associations are the fact tables that link several of
  them, cardinalities come from the foreign keys (a NOT NULL key gives (1,1) on the
  child side; a dimension may have no fact, so (0,n) on the parent side);
- :func:`star_schema`: the physical star schema (every table, column, type, PK/FK);
- :func:`data_flow`: the data flow of the main job, from sources to deliverables.

All three are drawn with matplotlib (pure Python: no Graphviz or other system binary),
so they render on every machine; :func:`render` gives SVG (vector, for the report) or
PNG bytes. ``python -m electio.report.diagram`` rewrites the files under ``docs/``.
French names of tables and columns live in :data:`ENTITY_FR`, :data:`ASSOCIATION_FR`
and :data:`COLUMN_FR`; a table missing from them still appears, under its SQL name.
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch, Rectangle

from electio.settings import PROJECT_ROOT
from electio.warehouse import schema as warehouse_schema
from electio.warehouse.schema import Column, Table, parse_schema  # noqa: F401 (parse_schema: the one DDL reader)

GROUPS = {  # prefix -> (title, header colour, background)
    "fact": ("Faits", "#b8641b", "#fdf3e7"),
    "dim": ("Dimensions", "#2f6f9f", "#eaf2f8"),
    "map": ("Harmonisation", "#4c8c4a", "#edf6ec"),
    "meta": ("Lignage et qualité", "#6b6b6b", "#f2f2f2"),
}
FONT = "DejaVu Sans"
#: Width (inches) at which the report prints a diagram on A4 (17 cm of text width).
PRINT_WIDTH_IN = 6.7
#: Printable box of an A4 landscape page holding a diagram (inches: 26.7 cm x 17.5 cm).
LANDSCAPE_BOX = (10.5, 6.9)
#: Smallest font size (points) acceptable once printed at that width.
MIN_PRINTED_PT = 5.5

def _column(table: Table, name: str) -> Column:
    return next(c for c in table.columns if c.name == name)


def schema_tables() -> list[Table]:
    return list(warehouse_schema.schema_tables())


# --------------------------------------------------------------------------- French vocabulary

#: Entity name of each dimension (and harmonisation) table in the conceptual model.
ENTITY_FR = {
    "dim_commune": "COMMUNE", "map_commune_code": "CODE SOURCE", "dim_election": "ÉLECTION",
    "dim_bloc": "BLOC POLITIQUE", "dim_nuance": "NUANCE OU CANDIDAT", "dim_indicator": "INDICATEUR",
    "dim_model": "MODÈLE", "dim_scenario": "SCÉNARIO", "dim_commune_geometry": "CONTOUR",
    "fact_indicator_departement": "VALEUR DÉPARTEMENTALE", "fact_forecast_departement": "PRÉVISION DÉPARTEMENTALE",
    "fact_national_turnout": "PARTICIPATION NATIONALE", "fact_horizon_error": "ERREUR SELON L'HORIZON",
    "fact_indicator_revision": "RÉVISION D'INDICATEUR", "fact_feature_importance": "IMPORTANCE DES VARIABLES",
    "fact_context_turnout": "PARTICIPATION (TOUTE LA FRANCE)",
}
#: Verb (association name) of each fact table linking several entities, and of single links.
ASSOCIATION_FR = {
    "fact_turnout": "PARTICIPER", "fact_election_result": "OBTENIR", "fact_label_result": "RECUEILLIR",
    "fact_turnout_bureau": "VOTER EN BUREAU", "fact_indicator": "MESURER", "fact_correlation": "CORRÉLER",
    "fact_backtest": "PRÉDIRE (TEST)", "fact_model_metric": "ÉVALUER", "fact_forecast": "PRÉVOIR",
    "fact_national_result": "OBTENIR EN FRANCE", "fact_departement_result": "OBTENIR PAR DÉPARTEMENT",
    "fact_context_result": "OBTENIR (TOUTES COMMUNES)",
    # links of one entity to another (foreign key of a dimension): the verb read child -> parent
    ("map_commune_code", "dim_commune"): "DÉSIGNE", ("dim_nuance", "dim_election"): "SE PRÉSENTE À",
    ("dim_nuance", "dim_bloc"): "RATTACHÉE À", ("fact_indicator_departement", "dim_indicator"): "VALEUR DE",
    ("fact_forecast_departement", "dim_scenario"): "RÉSULTE DE", ("dim_commune_geometry", "dim_commune"): "DÉLIMITE",
    ("fact_national_turnout", "dim_election"): "CONCERNE",
    ("fact_indicator_revision", "dim_indicator"): "RÉVISE", ("fact_feature_importance", "dim_election"): "TESTÉE SUR",
}
COLUMN_FR = {
    "commune_code": "code commune", "commune_name": "nom", "departement_code": "département", "territory": "territoire",
    "epci_code": "code intercommunalité", "epci_name": "intercommunalité", "canton_code": "canton",
    "population": "population", "area_km2": "superficie (km²)", "latitude": "latitude", "longitude": "longitude",
    "cog_vintage": "millésime du COG", "source_code": "code dans la source", "relation": "nature du rattachement",
    "source_name": "nom dans la source", "election_id": "code élection", "election_type": "type",
    "election_year": "année", "round_number": "tour", "election_date": "date", "label_fr": "libellé",
    "source_id": "source", "source_file": "fichier source", "bloc_code": "code bloc", "sort_order": "ordre",
    "color_hex": "couleur", "label": "étiquette", "label_kind": "nature (nuance, liste, candidat)",
    "display_name": "nom affiché", "rationale": "justification", "registered": "inscrits", "voters": "votants",
    "blank": "blancs", "null_ballots": "nuls", "blank_and_null": "blancs et nuls", "expressed": "exprimés",
    "turnout_pct": "participation (%)", "votes": "voix", "share_expressed": "part des exprimés (%)",
    "n_labels": "étiquettes ayant des voix", "bureau_code": "bureau de vote", "indicator_code": "code indicateur",
    "family": "famille", "unit": "unité", "aggregation": "règle d'agrégation", "weight_indicator": "pondération",
    "level": "niveau", "definition": "définition", "indicator_year": "année de référence", "value": "valeur",
    "is_suppressed": "secret statistique", "is_imputed": "valeur estimée", "is_reaggregated": "valeur ré-agrégée",
    "published_on": "date de publication", "target": "cible (bloc ou participation)", "n_communes": "communes",
    "pearson": "corrélation de Pearson", "spearman": "corrélation de Spearman", "pearson_ci_low": "borne basse",
    "pearson_ci_high": "borne haute", "p_value": "p-valeur", "model_id": "code modèle", "model_kind": "nature",
    "description": "description", "is_chosen": "retenu", "mode": "mode", "predicted": "prévu",
    "actual": "observé", "interval_low": "borne basse", "interval_high": "borne haute", "metric": "métrique",
    "scenario_id": "code scénario", "reference_year": "année de référence", "horizon_years": "horizon (ans)",
    "target_year": "année cible", "swing": "hypothèse d'évolution", "probability_first": "probabilité d'être en tête",
    "file_name": "fichier", "sha256": "empreinte", "file_bytes": "taille", "resolved_from": "origine",
    "purpose": "usage", "rows_read": "lignes lues", "rows_loaded": "lignes chargées",
    "rows_rejected": "lignes rejetées", "row_number": "ligne", "reason": "raison", "check_seq": "numéro",
    "check_name": "contrôle", "status": "statut", "observed": "observé", "expected": "attendu", "detail": "détail",
    "refresh_id": "rafraîchissement", "started_at": "début", "finished_at": "fin", "departement": "département",
    "electio_version": "version", "elections_loaded": "élections chargées", "communes_loaded": "communes chargées",
    "checks_failed": "contrôles en échec", "summary": "résumé", "note": "note", "geometry_geojson": "contour",
    "geometry_code": "code du contour", "part_number": "numéro de partie", "geojson_part": "tracé (GeoJSON)",
    "rule": "règle", "lead_bucket": "tranche d'avance", "n_election_pairs": "paires d'élections",
    "n_departements": "départements", "mean_lead_years": "avance moyenne (ans)",
    "bloc_rms_log": "erreur quadratique des blocs (log)", "bloc_mean_signed_log": "biais moyen des blocs (log)",
    "bloc_mae_points": "erreur absolue des blocs (points)", "turnout_mae_points": "erreur sur la participation",
    "growth_vs_0_1": "croissance de l'erreur", "stage": "étape",
    "transform": "transformation", "denominator": "dénominateur", "scale": "échelle", "redundant_with": "redondant avec",
    "first_file": "premier fichier", "later_file": "fichier suivant", "n_values": "valeurs comparées",
    "n_changed": "valeurs modifiées", "mean_abs_diff": "écart absolu moyen", "mean_abs_rel_diff_pct": "écart relatif moyen (%)",
    "max_abs_rel_diff_pct": "écart relatif maximal (%)", "dating": "datation", "feature_group": "groupe de variables",
    "n_features": "variables", "base_value": "erreur de référence", "permuted_value": "erreur après permutation",
    "importance": "importance", "reference_date": "date de référence", "available_on": "disponible le",
}


def column_fr(name: str) -> str:
    return COLUMN_FR.get(name, name.replace("_", " "))


# --------------------------------------------------------------------------- conceptual model

@dataclass
class Entity:
    table: str
    name: str
    identifier: list[str]
    attributes: list[str]


@dataclass
class Link:
    """One leg of an association: the entity and its cardinality seen from it."""

    entity: str  # table name of the entity
    cardinality: str  # "0,n", "1,1", "0,1"


@dataclass
class Association:
    table: str
    name: str
    legs: list[Link]
    attributes: list[str]


def conceptual(tables: list[Table] | None = None) -> tuple[list[Entity], list[Association], list[str]]:
    """Entities, associations and technical tables (left out of the MCD) of the schema.

    A dimension (``dim_*``, ``map_*``) is an entity. A fact table whose foreign keys
    point to two entities or more is an association carrying its measures; a fact
    table with a single foreign key is an entity of its own linked to its parent
    (département-level values). A foreign key of an entity to another entity is a
    binary association (1,1)/(0,n). Lineage tables (``meta_*``) have no foreign key
    and stay outside the conceptual model.
    """
    tables = schema_tables() if tables is None else tables
    entities, associations, technical = [], [], []
    for t in tables:
        parents = list(dict.fromkeys(fk.table for fk in t.foreign_keys))
        if t.group == "meta":
            technical.append(t.name)
            continue
        is_association = t.group == "fact" and len(parents) >= 2
        if not is_association:
            fks = t.fk_columns()
            ident = [c for c in t.primary_key if c not in fks] or list(t.primary_key)
            attrs = [c.name for c in t.columns if c.name not in t.primary_key and c.name not in fks]
            entities.append(Entity(t.name, ENTITY_FR.get(t.name, t.name.upper()), ident, attrs))
            for fk in t.foreign_keys:
                nullable = any(_column(t, c).nullable for c in fk.columns)
                associations.append(Association(f"{t.name}->{fk.table}",
                                                ASSOCIATION_FR.get((t.name, fk.table), "APPARTIENT À"),
                                                [Link(t.name, "0,1" if nullable else "1,1"), Link(fk.table, "0,n")],
                                                []))
            continue
        fk_cols = t.fk_columns()
        extra_keys = [c for c in t.primary_key if c not in fk_cols]
        attrs = extra_keys + [c.name for c in t.columns if c.name not in t.primary_key and c.name not in fk_cols]
        associations.append(Association(t.name, ASSOCIATION_FR.get(t.name, t.name.upper()),
                                        [Link(p, "0,n") for p in parents], attrs))
    return entities, associations, technical


#: Grid position (column, row) of each known box of the MCD; unknown ones go to a last row.
_MCD_POS = {
    "dim_bloc": (0, 0), "fact_election_result": (1.5, 0), "dim_nuance": (0, 2), "dim_nuance->dim_bloc": (0, 1),
    "fact_label_result": (1.5, 2.1), "dim_election": (3, 1.1), "fact_turnout": (3, 2.45),
    "fact_turnout_bureau": (4.4, 2.4), "dim_commune": (3, 3.6), "dim_nuance->dim_election": (1.5, 1.1),
    "map_commune_code": (1.5, 4.8), "map_commune_code->dim_commune": (1.5, 3.7),
    "fact_indicator": (4.4, 4.6), "dim_indicator": (6, 3.6), "fact_correlation": (5.6, 1.6),
    "fact_indicator_departement": (7.5, 4.7), "fact_indicator_departement->dim_indicator": (7.5, 3.6),
    "dim_model": (6, 0), "fact_backtest": (4.75, 0.5), "fact_model_metric": (7.5, 1.0),
    "dim_scenario": (1.5, 6.1), "fact_forecast": (3, 5.2), "fact_forecast_departement": (0, 6.1),
    "fact_forecast_departement->dim_scenario": (0.3, 5.1),
    "fact_national_result": (1.5, -1.0), "fact_departement_result": (3, -1.0),
    "fact_national_turnout": (4.7, -1.25), "fact_national_turnout->dim_election": (3.9, -0.45),
    "dim_commune_geometry": (4.4, 6.1), "dim_commune_geometry->dim_commune": (4.4, 5.4),
    "fact_horizon_error": (7.5, 6.2),
    "fact_indicator_revision": (7.5, 2.75), "fact_indicator_revision->dim_indicator": (6.9, 2.6),
    "fact_feature_importance": (7.5, -1.0), "fact_feature_importance->dim_election": (6.3, -0.55),
    "fact_context_result": (0, -1.0), "fact_context_turnout": (0, 4.6),
}
_SX, _SY = 1.75, 1.4  # inches per grid unit
_FS = 9.5  # base font size (points) of the MCD


def _text_width(text: str, size: float) -> float:
    """Approximate width in inches of text in DejaVu Sans (0.6 em per character)."""
    return 0.58 * size / 72 * len(text)


def conceptual_model(tables: list[Table] | None = None, *, compact: bool = False) -> Figure:
    """The MCD in Merise notation: entities (rectangles, identifier underlined), associations
    (ellipses with their properties) and cardinalities on each leg. ``compact`` (for a slide):
    identifiers and names only, larger text, no title, on a tighter grid."""
    entities, associations, technical = conceptual(tables)
    fs, sx, sy = (13.0, _SX, 0.95) if compact else (_FS, _SX, _SY)
    positions = dict(_MCD_POS)
    spare = 0
    for item in [e.table for e in entities] + [a.table for a in associations]:
        if item not in positions:  # a table this layout does not know yet: bottom row
            positions[item] = (spare * 1.5, 7.3)
            spare += 1
    line_h = fs * 1.35 / 72
    # Sizes first (inches), then the frame that holds every box.
    content: dict[str, tuple[str, list[str], int]] = {}
    boxes: dict[str, tuple[float, float, float, float]] = {}  # key -> centre x, centre y, half w, half h
    for e in entities:
        shown = [] if compact else e.attributes[:5]
        more = 0 if compact else len(e.attributes) - len(shown)
        lines = [column_fr(c) for c in e.identifier] + [column_fr(c) for c in shown] + (
            [f"+ {more} autre{'s' if more > 1 else ''}"] if more > 0 else [])
        content[e.table] = (e.name, lines, more)
        w = max([_text_width(t, fs) for t in lines] + [_text_width(e.name, fs) * 1.2]) + 0.3
        h = line_h * (len(lines) + 1) + 0.18
        gx, gy = positions[e.table]
        boxes[e.table] = (gx * sx, gy * sy, w / 2, h / 2)
    for a in associations:
        lines = [] if compact else [column_fr(c) for c in a.attributes[:4]]
        if len(a.attributes) > 4 and not compact:
            lines.append(f"+ {len(a.attributes) - 4} autres")
        content[a.table] = (a.name, lines, 0)
        w = max([_text_width(a.name, fs)] + [_text_width(t, fs) for t in lines]) + 0.5
        h = line_h * (len(lines) + 1) + 0.25
        gx, gy = positions[a.table]
        boxes[a.table] = (gx * sx, gy * sy, w / 2, h / 2)
    left = min(b[0] - b[2] for b in boxes.values()) - 0.3
    right = max(b[0] + b[2] for b in boxes.values()) + 0.3
    top = min(b[1] - b[3] for b in boxes.values()) - (0.3 if compact else 1.0)
    bottom = max(b[1] + b[3] for b in boxes.values()) + 0.5
    width, height = right - left, bottom - top
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.axis("off")
    # Legs first (under the boxes), with the cardinality near the entity.
    for a in associations:
        ax_, ay_, _, _ = boxes[a.table]
        for leg in a.legs:
            if leg.entity not in boxes:
                continue
            ex, ey, ew, eh = boxes[leg.entity]
            ax.plot([ax_, ex], [ay_, ey], color="#555555", lw=0.9, zorder=1)
            dx, dy = ax_ - ex, ay_ - ey  # border point of the entity along the leg, then a step outwards
            t = min(ew / abs(dx) if dx else 1e9, eh / abs(dy) if dy else 1e9)
            bx, by = ex + dx * t, ey + dy * t
            norm = max((dx ** 2 + dy ** 2) ** 0.5, 1e-6)
            ax.text(bx + dx / norm * 0.24, by + dy / norm * 0.24, leg.cardinality, ha="center", va="center",
                    fontsize=fs, family=FONT, color="#8a2d00", fontweight="bold", zorder=5,
                    bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none"})
    for e in entities:
        cx, cy, hw, hh = boxes[e.table]
        name, lines, more = content[e.table]
        x0, y0 = cx - hw, cy - hh
        ax.add_patch(Rectangle((x0, y0), 2 * hw, 2 * hh, facecolor="white", edgecolor="#2f6f9f", lw=1.1, zorder=3))
        ax.add_patch(Rectangle((x0, y0), 2 * hw, line_h + 0.08, facecolor="#2f6f9f", edgecolor="#2f6f9f", zorder=3))
        ax.text(cx, y0 + (line_h + 0.08) / 2, name, ha="center", va="center", color="white", fontsize=fs,
                fontweight="bold", family=FONT, zorder=4)
        y = y0 + line_h + 0.08 + line_h * 0.6
        n_id = len(next(x for x in entities if x.table == e.table).identifier)
        for i, t in enumerate(lines):
            is_id, is_more = i < n_id, more > 0 and i == len(lines) - 1
            ax.text(x0 + 0.12, y, t, ha="left", va="center", fontsize=fs, family=FONT, zorder=4,
                    fontweight="bold" if is_id else "normal", color="#666666" if is_more else "#222222",
                    style="italic" if is_more else "normal")
            if is_id:  # Merise: the identifier is underlined
                ax.plot([x0 + 0.12, x0 + 0.12 + _text_width(t, fs)], [y + line_h * 0.42] * 2, color="#222222",
                        lw=0.6, zorder=4)
            y += line_h
    for a in associations:
        cx, cy, hw, hh = boxes[a.table]
        name, lines, _ = content[a.table]
        ax.add_patch(Ellipse((cx, cy), 2 * hw, 2 * hh, facecolor="#fdf3e7", edgecolor="#b8641b", lw=1.0, zorder=3))
        y = cy - hh + 0.12 + line_h / 2
        ax.text(cx, y, name, ha="center", va="center", fontsize=fs, fontweight="bold", family=FONT,
                color="#7a3f0e", zorder=4)
        for i, t in enumerate(lines):
            ax.text(cx, y + line_h * (i + 1), t, ha="center", va="center", fontsize=fs, family=FONT,
                    color="#333333", zorder=4)
    if compact:
        return fig
    ax.text(left + 0.25, top + 0.3, "Modèle conceptuel des données (notation Merise), généré depuis le script de "
            "l'entrepôt", fontsize=fs * 1.5, fontweight="bold", family=FONT, va="center")
    legend = ("Rectangle : entité (identifiant souligné) · Ellipse : association et ses propriétés · « 0,n » : "
              "zéro, une ou plusieurs fois · « 1,1 » : exactement une fois")
    ax.text(left + 0.25, top + 0.68, legend, fontsize=fs, family=FONT, va="center", color="#444444")
    if technical:
        ax.text(right - 0.25, bottom - 0.2, "Hors modèle conceptuel : " + str(len(technical)) + " tables techniques "
                "de lignage et de qualité, sans lien", fontsize=fs, family=FONT, color="#555555", va="center",
                ha="right")
    return fig


# --------------------------------------------------------------------------- physical star schema

_STAR_COLUMNS = [  # columns of the physical diagram, left to right; unknown tables join their group's column
    ["fact_turnout", "fact_election_result", "fact_label_result", "fact_turnout_bureau", "fact_national_result",
     "fact_national_turnout", "fact_departement_result"],
    ["dim_election", "dim_bloc", "dim_nuance", "dim_commune", "map_commune_code", "dim_commune_geometry"],
    ["dim_indicator", "dim_model", "dim_scenario"],
    ["fact_indicator", "fact_indicator_departement", "fact_correlation", "fact_backtest", "fact_model_metric",
     "fact_forecast", "fact_forecast_departement"],
    ["meta_source", "meta_rejected_row", "meta_quality_check", "meta_refresh"],
]
_PFS = 7.5  # font size of the physical diagram


def star_schema(tables: list[Table] | None = None, *, keys_only: bool = False) -> Figure:
    """The physical star schema: one box per table (columns, types, PK/FK), one line per foreign key,
    the "many" side marked by a crow's foot. ``keys_only`` keeps the key columns only."""
    tables = schema_tables() if tables is None else tables
    by_name = {t.name: t for t in tables}
    columns = [[n for n in col if n in by_name] for col in _STAR_COLUMNS]
    placed = {n for col in columns for n in col}
    for t in tables:
        if t.name not in placed:
            index = {"fact": 0 if "result" in t.name or "national" in t.name else 3, "dim": 1, "map": 1}.get(t.group, 4)
            columns[index].append(t.name)
    line_h = _PFS * 1.4 / 72
    col_gap = 0.55

    def rows(t: Table) -> list[tuple[str, str, str]]:
        fks = t.fk_columns()
        out = []
        for c in t.columns:
            if keys_only and c.name not in t.primary_key and c.name not in fks:
                continue
            key = ("PK " if c.name in t.primary_key else "") + ("FK" if c.name in fks else "")
            out.append((key.strip(), c.name, c.type.lower() + ("" if not c.nullable else " ?")))
        return out

    sizes = {}
    for t in tables:
        r = rows(t)
        w = max([_text_width(t.name, _PFS * 1.1)] + [_text_width(f"{k:5s}{n}  {ty}", _PFS) for k, n, ty in r]) + 0.2
        sizes[t.name] = (w, line_h * (len(r) + 1) + 0.12)
    col_w = [max((sizes[n][0] for n in col), default=0) for col in columns]
    col_h = [sum(sizes[n][1] + 0.22 for n in col) for col in columns]
    width = sum(col_w) + col_gap * (len(columns) - 1) + 0.6
    height = max(col_h) + 0.9
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    boxes = {}
    x = 0.3
    for col, cw in zip(columns, col_w):
        y = 0.75
        for n in col:
            w, h = sizes[n]
            t = by_name[n]
            _, colour, background = GROUPS[t.group]
            ax.add_patch(Rectangle((x, y), cw, h, facecolor="white", edgecolor=colour, lw=0.9, zorder=3))
            ax.add_patch(Rectangle((x, y), cw, line_h + 0.06, facecolor=colour, edgecolor=colour, zorder=3))
            ax.text(x + cw / 2, y + (line_h + 0.06) / 2, n, ha="center", va="center", color="white",
                    fontsize=_PFS * 1.1, fontweight="bold", family=FONT, zorder=4)
            yy = y + line_h + 0.06 + line_h * 0.55
            for key, name, typ in rows(t):
                ax.text(x + 0.06, yy, key, fontsize=_PFS, color=colour, fontweight="bold", family=FONT,
                        va="center", zorder=4)
                ax.text(x + 0.42, yy, name, fontsize=_PFS, family=FONT, va="center", zorder=4,
                        fontweight="bold" if "PK" in key else "normal")
                ax.text(x + cw - 0.06, yy, typ, fontsize=_PFS, family=FONT, va="center", ha="right",
                        color="#666666", zorder=4)
                yy += line_h
            boxes[n] = (x, y, cw, h)
            y += h + 0.22
        x += cw + col_gap
    for t in tables:
        for fk in t.foreign_keys:
            if fk.table not in boxes:
                continue
            cx, cy, cw, ch = boxes[t.name]
            px, py, pw, ph = boxes[fk.table]
            if abs(cx - px) < 1e-6:  # same column: link on the left side
                start, end, rad = (cx, cy + ch / 2), (px, py + ph / 2), 0.4
            elif cx < px:
                start, end, rad = (cx + cw, cy + ch / 2), (px, py + ph / 2), 0.0
            else:
                start, end, rad = (cx, cy + ch / 2), (px + pw, py + ph / 2), 0.0
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-", connectionstyle=f"arc3,rad={rad}",
                                         color="#8a8a8a", lw=0.7, zorder=1))
            # crow's foot on the child (many) side, bar on the parent (one) side
            sign = 1 if end[0] >= start[0] else -1
            if rad:
                sign = -1
            fx, fy = start
            for dy in (-0.06, 0, 0.06):
                ax.plot([fx, fx + sign * 0.12], [fy + dy, fy], color="#555555", lw=0.7, zorder=2)
            ex, ey = end
            ax.plot([ex - sign * 0.08] * 2, [ey - 0.06, ey + 0.06], color="#555555", lw=0.8, zorder=2)
    title = ("Schéma physique de l'entrepôt (clés)" if keys_only else
             "Schéma physique en étoile de l'entrepôt — tables, colonnes, types (« ? » : facultatif)")
    ax.text(0.3, 0.3, title, fontsize=_PFS * 1.6, fontweight="bold", family=FONT, va="center")
    lx = width - 0.3
    for g in ("meta", "map", "dim", "fact"):  # legend, right-aligned, one colour per group
        label = ax.text(lx, 0.3, f"■ {GROUPS[g][0]}", fontsize=_PFS * 1.1, family=FONT, va="center", ha="right",
                        color=GROUPS[g][1])
        lx -= _text_width(label.get_text(), _PFS * 1.1) + 0.2
    return fig


# --------------------------------------------------------------------------- data flow

_FLOW = [  # key, title, detail, row, column, colour
    ("catalog", "Catalogue des sources", "adresse officielle, licence,\nempreinte de chaque fichier", 0, 0, "meta"),
    ("resolve", "Extraction", "cache local → copie hors ligne\n→ téléchargement, empreinte vérifiée", 0, 1, "dim"),
    ("staging", "Lecture", "un lecteur par format officiel ;\nerreur : fichier, ligne, colonne", 0, 2, "dim"),
    ("transform", "Harmonisation", "communes de référence (COG),\nnuances → blocs, indicateurs", 1, 2, "dim"),
    ("checks", "Contrôles qualité", "identités comptables, couverture,\nrecoupements indépendants", 1, 1, "dim"),
    ("load", "Chargement", "entrepôt en étoile,\ntout ou rien", 1, 0, "fact"),
    ("eda", "Analyse exploratoire", "corrélations, cartes,\nhistogrammes", 2, 0, "dim"),
    ("model", "Modèles", "tests rétrospectifs à origine\nglissante, références et modèles", 2, 1, "dim"),
    ("forecast", "Scénarios", "prévisions à un, deux, trois ans,\nintervalles, probabilités", 2, 2, "dim"),
    ("outputs", "Livrables", "CSV / XLSX, Power BI, notebooks,\nrapport et présentation", 3, 1, "map"),
]
_FLOW_EDGES = [("catalog", "resolve"), ("resolve", "staging"), ("staging", "transform"), ("transform", "checks"),
               ("checks", "load"), ("load", "eda"), ("load", "model"), ("model", "forecast"), ("eda", "outputs"),
               ("model", "outputs"), ("forecast", "outputs")]


def data_flow() -> Figure:
    """The main job, one direction: sources → reading → harmonisation → checks → warehouse → uses."""
    fs = 9.0
    bw, bh, gx, gy = 2.45, 0.85, 0.4, 0.45
    width, height = 3 * bw + 2 * gx + 0.6, 4 * bh + 3 * gy + 1.0
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    centre = {}
    for key, title, detail, row, col, group in _FLOW:
        _, colour, background = GROUPS[group]
        x, y = 0.3 + col * (bw + gx), 0.7 + row * (bh + gy)
        ax.add_patch(FancyBboxPatch((x, y), bw, bh, boxstyle="round,pad=0,rounding_size=0.1", facecolor=background,
                                    edgecolor=colour, lw=1.2, zorder=2))
        ax.text(x + bw / 2, y + 0.2, title, ha="center", va="center", fontsize=fs, fontweight="bold", family=FONT,
                color=colour, zorder=3)
        ax.text(x + bw / 2, y + 0.55, detail, ha="center", va="center", fontsize=fs * 0.85, family=FONT,
                color="#333333", zorder=3, linespacing=1.2)
        centre[key] = (x, y)
    for a, b in _FLOW_EDGES:
        (ax0, ay0), (bx0, by0) = centre[a], centre[b]
        if ay0 == by0:  # same row: side to side
            start = (ax0 + bw, ay0 + bh / 2) if bx0 > ax0 else (ax0, ay0 + bh / 2)
            end = (bx0, by0 + bh / 2) if bx0 > ax0 else (bx0 + bw, by0 + bh / 2)
        else:  # next row: bottom to top
            start, end = (ax0 + bw / 2, ay0 + bh), (bx0 + bw / 2, by0)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="#555555", lw=1.0,
                                     zorder=1))
    ax.text(0.3, 0.3, "Flux de données : des sources publiques aux livrables, dans un seul sens",
            fontsize=fs * 1.25, fontweight="bold", family=FONT, va="center")
    return fig


# --------------------------------------------------------------------------- rendering

def smallest_printed_font(fig: Figure, print_width_in: float = PRINT_WIDTH_IN,
                          print_height_in: float | None = None) -> float:
    """Smallest font size (points) of the figure once scaled to fit ``print_width_in`` x ``print_height_in``
    inches (the printable box of the page it is printed on)."""
    scale = min(1.0, print_width_in / fig.get_figwidth(),
                print_height_in / fig.get_figheight() if print_height_in else 1.0)
    sizes = [t.get_fontsize() for t in fig.findobj(lambda o: hasattr(o, "get_fontsize") and hasattr(o, "get_text"))
             if t.get_text().strip()]
    return min(sizes) * scale


def render(fig: Figure, fmt: str, dpi: int = 150) -> bytes:
    """Rendered bytes of a diagram: ``svg`` (vector, text kept as text) or ``png``."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "electio", "font.family": FONT}):
        fig.savefig(buf, format=fmt, dpi=dpi, facecolor="white", metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


DIAGRAMS = {"mcd": conceptual_model, "schema": star_schema, "data_flow": data_flow}


def write_diagrams(docs_dir: Path | None = None) -> list[Path]:
    """docs/mcd, docs/schema and docs/data_flow, each as .svg and .png."""
    docs_dir = Path(docs_dir) if docs_dir is not None else PROJECT_ROOT / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, draw in DIAGRAMS.items():
        fig = draw()
        for fmt in ("svg", "png"):
            path = docs_dir / f"{stem}.{fmt}"
            tmp = path.with_suffix(f".{fmt}.tmp")
            tmp.write_bytes(render(fig, fmt, dpi=110))
            tmp.replace(path)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m electio.report.diagram",
                                     description="write the conceptual model, star-schema and data-flow diagrams "
                                                 "under docs/")
    parser.add_argument("--docs", type=Path, default=None, help="output folder (default: the project's docs/)")
    args = parser.parse_args(argv)
    for path in write_diagrams(args.docs):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
