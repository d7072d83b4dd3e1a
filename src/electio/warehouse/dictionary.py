"""Data dictionary of the cleaned dataset, generated from sql/schema.sql and the catalogs.

Meanings come from the schema's own comments (the comment block above each
table, and inline comments on columns) completed by the shared vocabulary
below; indicators are listed from their TOML definitions. Nothing here is
maintained by hand twice: change the schema or the catalog, re-export.
"""

from __future__ import annotations


import pandas as pd

from electio.sources.catalog import load_catalog
from electio.sources.indicators import load_indicator_specs
from electio.warehouse.schema import parse_schema, schema_tables

#: Meaning and unit of columns that recur across tables (French: client-facing).
VOCABULARY: dict[str, tuple[str, str]] = {
    "commune_code": ("Code INSEE de la commune (liste de référence COG 2026 ; Lyon = 69123)", ""),
    "commune_name": ("Nom de la commune", ""),
    "departement_code": ("Code du département", ""),
    "election_id": ("Identifiant de l'élection (type_année_tour)", ""),
    "election_type": ("Type d'élection : presidentielle, legislatives, europeennes", ""),
    "election_year": ("Année de l'élection", "année"),
    "round_number": ("Tour de scrutin", ""),
    "election_date": ("Date du scrutin", "date"),
    "bloc_code": ("Bloc politique (extreme_gauche, gauche, centre, droite, extreme_droite, divers)", ""),
    "label": ("Nuance, liste ou candidat tel qu'écrit dans la source", ""),
    "label_fr": ("Libellé en français", ""),
    "registered": ("Inscrits", "électeurs"),
    "voters": ("Votants", "électeurs"),
    "blank": ("Bulletins blancs (vide si la source les fusionne avec les nuls)", "bulletins"),
    "null_ballots": ("Bulletins nuls (vide si la source les fusionne avec les blancs)", "bulletins"),
    "blank_and_null": ("Blancs et nuls", "bulletins"),
    "expressed": ("Suffrages exprimés", "voix"),
    "turnout_pct": ("Participation : votants / inscrits", "%"),
    "votes": ("Voix", "voix"),
    "share_expressed": ("Part des suffrages exprimés", "% des exprimés"),
    "indicator_code": ("Code de l'indicateur (voir dim_indicator)", ""),
    "indicator_year": ("Année de référence des données de l'indicateur", "année"),
    "value": ("Valeur", "voir l'unité de l'indicateur / de la métrique"),
    "published_on": ("Date de première publication du millésime (les modèles n'utilisent que ce qui était "
                     "publié avant une élection)", "date"),
    "source_id": ("Identifiant de la source dans le catalogue (docs/sources.md)", ""),
    "source_file": ("Fichier source", ""),
    "file_name": ("Fichier source", ""),
    "model_id": ("Identifiant du modèle ou de la référence (dim_model)", ""),
    "mode": ("conditional : totaux départementaux réels donnés ; unconditional : seulement ce qui était connu "
             "avant l'élection", ""),
    "target": ("Cible : un bloc, ou turnout (participation)", ""),
    "predicted": ("Valeur prévue", "%"),
    "actual": ("Valeur observée", "%"),
    "interval_low": ("Borne basse de l'intervalle à 80 %", "%"),
    "interval_high": ("Borne haute de l'intervalle à 80 %", "%"),
    "probability_first": ("Probabilité d'arriver en tête", "probabilité"),
    "scenario_id": ("Identifiant du scénario (dim_scenario)", ""),
    "area_km2": ("Superficie", "km²"),
    "latitude": ("Latitude d'un point intérieur à la commune (WGS84)", "degrés"),
    "longitude": ("Longitude d'un point intérieur à la commune (WGS84)", "degrés"),
    "population": ("Population (Etalab, COG 2026)", "habitants"),
    "territory": ("Côté de la scission de 2015 : metropole_lyon ou rhone (departement hors du 69)", ""),
    "epci_code": ("Code SIREN de l'intercommunalité (EPCI)", ""),
    "epci_name": ("Nom de l'intercommunalité", ""),
    "canton_code": ("Canton (vide pour la Métropole de Lyon, qui n'en a pas)", ""),
    "cog_vintage": ("Millésime du code officiel géographique de référence", "année"),
    "source_code": ("Code commune tel qu'il apparaît dans une source", ""),
    "relation": ("Lien avec la commune de référence : same, merged, arrondissement", ""),
    "source_name": ("Nom de la commune dans la source", ""),
    "sort_order": ("Ordre d'affichage (de gauche à droite)", ""),
    "color_hex": ("Couleur d'affichage", "#RRGGBB"),
    "display_name": ("Nom lisible de la nuance, liste ou candidat", ""),
    "rationale": ("Justification du classement dans le bloc", ""),
    "n_labels": ("Nombre de nuances/listes/candidats du bloc ayant obtenu des voix dans la commune", "nombre"),
    "bureau_code": ("Code du bureau de vote (code commune source _ numéro de bureau)", ""),
    "unit": ("Unité de l'indicateur", ""),
    "aggregation": ("Règle de regroupement des communes fusionnées : sum ou weighted_mean", ""),
    "weight_indicator": ("Indicateur servant de poids pour weighted_mean", ""),
    "level": ("Niveau géographique : commune ou departement", ""),
    "definition": ("Définition", ""),
    "is_suppressed": ("1 si la valeur est couverte par le secret statistique ou non publiée", "0/1"),
    "is_imputed": ("1 si la valeur a été estimée par le producteur ou un tiers", "0/1"),
    "is_reaggregated": ("1 si la valeur combine plusieurs communes sources (fusions)", "0/1"),
    "n_communes": ("Nombre de communes dans le calcul", "communes"),
    "pearson": ("Corrélation de Pearson pondérée par les inscrits", "-1 à 1"),
    "spearman": ("Corrélation de Spearman (rangs) pondérée", "-1 à 1"),
    "pearson_ci_low": ("Borne basse de l'intervalle bootstrap à 95 % du Pearson", "-1 à 1"),
    "pearson_ci_high": ("Borne haute de l'intervalle bootstrap à 95 % du Pearson", "-1 à 1"),
    "p_value": ("p-valeur (taille effective de Kish)", "probabilité"),
    "description": ("Description", ""),
    "metric": ("Métrique : wmae (erreur absolue moyenne pondérée, principale), mae, rmse, mae_size_*, "
               "first_bloc_accuracy, coverage_80, width_80, coverage_80__<bloc>, interval_score_80 (Winkler), "
               "coverage_50/90/95, turnout_mae...", ""),
    "reference_year": ("Année du dernier scrutin de l'entrepôt (point de départ de l'horizon)", "année"),
    "horizon_years": ("Horizon", "années"),
    "target_year": ("Année visée (référence + horizon)", "année"),
    "swing": ("Hypothèse d'évolution départementale : status_quo, trend, custom, national", ""),
    "rule": ("Règle de prévision départementale : status_quo ou trend", ""),
    "lead_bucket": ("Classe d'avance entre le dernier scrutin connu et le scrutin prévu : 0-1, 1-2, 2-3, 3+", "années"),
    "n_election_pairs": ("Nombre de couples (dernier scrutin connu, scrutin prévu) distincts", "couples"),
    "n_departements": ("Nombre de départements dont les erreurs sont comptées", "départements"),
    "mean_lead_years": ("Avance moyenne", "années"),
    "bloc_rms_log": ("Erreur quadratique moyenne des blocs sur log(part + 1)", "log"),
    "bloc_mean_signed_log": ("Erreur moyenne signée des blocs sur log(part + 1) (biais)", "log"),
    "bloc_mae_points": ("Erreur absolue moyenne des parts des blocs", "points"),
    "turnout_mae_points": ("Erreur absolue moyenne de la participation (départements où elle est connue)", "points"),
    "growth_vs_0_1": ("Erreur quadratique des blocs rapportée à celle de la classe 0-1 an de la même règle", "ratio"),
    "sha256": ("Empreinte SHA-256 du fichier lu", ""),
    "file_bytes": ("Taille du fichier", "octets"),
    "rows_read": ("Lignes lues", "lignes"),
    "rows_rejected": ("Lignes rejetées (voir meta_rejected_row)", "lignes"),
    "reason": ("Motif du rejet", ""),
    "check_seq": ("Numéro du contrôle", ""),
    "check_name": ("Nom du contrôle qualité", ""),
    "status": ("Statut : pass, warn, fail, n/a, missing (contrôles) ; ok, checks_failed (actualisations)", ""),
    "observed": ("Valeur observée par le contrôle", ""),
    "expected": ("Valeur attendue ou tolérance", ""),
    "detail": ("Détail technique du contrôle", ""),
    "refresh_id": ("Identifiant de l'actualisation", ""),
    "started_at": ("Début (UTC)", "date-heure"),
    "finished_at": ("Fin (UTC)", "date-heure"),
    "departement": ("Périmètre (département)", ""),
    "electio_version": ("Version d'electio", ""),
    "elections_loaded": ("Élections chargées", "élections"),
    "communes_loaded": ("Communes chargées", "communes"),
    "checks_failed": ("Contrôles en échec", "contrôles"),
    "summary": ("Résumé", ""),
    # Indicator dating, size rule, revisions and importance (issue 12)
    "reference_date": ("Date de la période de référence de la valeur (31/12/N, ou 1/1/N pour le recensement)",
                       "date"),
    "available_on": ("Date de disponibilité selon le calendrier habituel de l'éditeur (règle dans "
                     "meta_indicator_calendar)", "date"),
    "transform": ("Règle de comparaison entre communes : identity, log10, ratio, log10_density, none", ""),
    "denominator": ("Indicateur dénominateur d'un ratio", ""),
    "scale": ("Échelle du ratio (pour 100, pour 1 000)", ""),
    "redundant_with": ("Indicateur dont celui-ci est un doublon ou un complément (non classé séparément)", ""),
    "partial_pearson": ("r partiel à la taille (log de la population), pondéré par les inscrits", "r"),
    "partial_ci_low": ("Borne basse de l'intervalle à 95 % du r partiel (bootstrap)", "r"),
    "partial_ci_high": ("Borne haute de l'intervalle à 95 % du r partiel (bootstrap)", "r"),
    "available_before": ("1 si le millésime décrit était disponible (calendrier de l'éditeur) avant le scrutin", ""),
    "reference": ("Période de référence : year_end (31/12/N) ou jan1 (1/1/N)", ""),
    "lag_months": ("Délai de publication", "mois"),
    "lag_days": ("Délai de publication (complément)", "jours"),
    "not_before": ("Première mise en ligne de la série : aucune valeur disponible avant", "date"),
    "rule_fr": ("Règle de calendrier, en clair", ""),
    "rule_source_url": ("Source de la règle de calendrier", "URL"),
    "first_file": ("Fichier de première publication (valeur chargée)", ""),
    "later_file": ("Fichier ultérieur comparé", ""),
    "n_values": ("Valeurs comparées", "valeurs"),
    "n_changed": ("Valeurs révisées (écart relatif > 0,01 %)", "valeurs"),
    "mean_abs_diff": ("Écart absolu moyen", "unité de l'indicateur"),
    "mean_abs_rel_diff_pct": ("Écart relatif moyen", "%"),
    "max_abs_rel_diff_pct": ("Écart relatif maximal", "%"),
    "dating": ("Règle de datation des indicateurs : calendar (calendrier de l'éditeur) ou published "
               "(publication du fichier détenu)", ""),
    "feature_group": ("Groupe de variables permuté (famille d'indicateurs, ou ind:all)", ""),
    "n_features": ("Nombre de variables du groupe", "variables"),
    "base_value": ("Métrique sans permutation", "points"),
    "permuted_value": ("Métrique après permutation du groupe (moyenne des tirages)", "points"),
    "importance": ("Hausse de l'erreur quand le groupe est permuté (> 0 : le groupe aide)", "points"),
}

#: Where the rows of each table come from.
TABLE_SOURCES: dict[str, str] = {
    "dim_commune": "INSEE COG 2025/2026 (Etalab), IGN Admin Express COG 2018",
    "dim_commune_geometry": "IGN Admin Express COG 2018, Etalab API Géo (fichier de périmètre data/perimeters/)",
    "map_commune_code": "INSEE COG 2026 (Etalab : anciens codes, communes déléguées, arrondissements)",
    "dim_election": "electio (src/electio/sources/elections.toml)",
    "dim_bloc": "electio (data/reference/blocs.csv)",
    "dim_nuance": "electio (data/reference/nuances.csv, revu et justifié)",
    "fact_turnout": "Ministère de l'Intérieur (fichier source : dim_election.source_id)",
    "fact_election_result": "Ministère de l'Intérieur, agrégé par bloc",
    "fact_label_result": "Ministère de l'Intérieur",
    "fact_turnout_bureau": "Ministère de l'Intérieur (bureaux de vote)",
    "fact_national_result": "Conseil constitutionnel / Ministère de l'Intérieur (totaux nationaux, fichiers "
                            "nationaux par département ; source_id)",
    "fact_national_turnout": "Conseil constitutionnel / Ministère de l'Intérieur (source_id)",
    "fact_departement_result": "Ministère de l'Intérieur (fichiers nationaux par département ou canton, "
                               "communes de France 2024)",
    "fact_context_result": "Ministère de l'Intérieur (fichiers nationaux par commune 2014-2019, communes de France 2024)",
    "fact_context_turnout": "Ministère de l'Intérieur (fichiers nationaux par commune 2014-2019, communes de France 2024)",
    "dim_indicator": "electio (src/electio/sources/indicators/*.toml)",
    "fact_indicator": "INSEE, DARES/France Travail, URSSAF, SSMSI (dim_indicator.source_id)",
    "fact_indicator_departement": "SSMSI (dim_indicator.source_id)",
    "fact_correlation": "electio eda (calcul)",
    "meta_indicator_calendar": "electio (src/electio/sources/indicators/*.toml, règles citées)",
    "fact_indicator_revision": "electio (comparaison des fichiers source)",
    "fact_feature_importance": "electio backtest (permutation)",
    "dim_model": "electio backtest (calcul)",
    "fact_backtest": "electio backtest (calcul)",
    "fact_model_metric": "electio backtest (calcul)",
    "dim_scenario": "electio forecast",
    "fact_forecast": "electio forecast (simulation)",
    "fact_forecast_departement": "electio forecast (simulation)",
    "fact_horizon_error": "electio forecast (erreurs passées par avance)",
}

def schema_dictionary(sql: str | None = None) -> pd.DataFrame:
    """One row per column: table, table meaning, column, type, nullable, meaning, unit, source."""
    tables = schema_tables() if sql is None else parse_schema(sql)
    rows = []
    for t in tables:
        for c in t.columns:
            meaning, unit = VOCABULARY.get(c.name, ("", ""))
            rows.append({"table": t.name, "table_meaning": t.comment, "column": c.name, "type": c.type,
                         "nullable": c.nullable, "meaning": c.comment or meaning,
                         "unit": unit, "source": TABLE_SOURCES.get(t.name, "electio (traçabilité)")})
    return pd.DataFrame(rows)


def indicator_dictionary() -> pd.DataFrame:
    """The indicators: code, label, family, unit, level, source and definition."""
    catalog = load_catalog()
    specs, _ = load_indicator_specs()
    return pd.DataFrame([{"indicator_code": s.code, "label_fr": s.label_fr, "family": s.family, "unit": s.unit,
                          "level": s.level, "aggregation": s.aggregation, "source_id": s.source_id,
                          "publisher": catalog[s.source_id].publisher if s.source_id in catalog else "",
                          "definition": s.definition} for s in specs]).sort_values("indicator_code")


def dictionary_markdown(columns: pd.DataFrame, indicators: pd.DataFrame) -> str:
    """The dictionary as Markdown (generated: do not edit by hand)."""
    def cell(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    out = ["# Dictionnaire des données electio", "",
           "Généré à partir de `sql/schema.sql` et des catalogues (`electio export`). Ne pas modifier à la main.", ""]
    for table, frame in columns.groupby("table", sort=False):
        out += [f"## {table}", "", cell(frame["table_meaning"].iloc[0]) or "", "",
                f"Source : {cell(frame['source'].iloc[0])}", "",
                "| colonne | type | vide possible | signification | unité |", "|---|---|---|---|---|"]
        out += [f"| {r.column} | {r.type} | {'oui' if r.nullable else 'non'} | {cell(r.meaning)} | {cell(r.unit)} |"
                for r in frame.itertuples()]
        out.append("")
    out += ["## Indicateurs", "", "| code | libellé | famille | unité | niveau | source | définition |",
            "|---|---|---|---|---|---|---|"]
    out += [f"| {r.indicator_code} | {cell(r.label_fr)} | {r.family} | {cell(r.unit)} | {r.level} | "
            f"{cell(r.publisher or r.source_id)} | {cell(r.definition)} |" for r in indicators.itertuples()]
    return "\n".join(out) + "\n"
