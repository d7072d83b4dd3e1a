"""French wording of codes that the warehouse stores in English.

Functions here are also the ``derive`` step of the traceability registry: a printed
label such as "Couverture de l'intervalle à 80 %" is ``metric_label("coverage_80")``
of a value read from ``fact_model_metric``, so the test can recompute it.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pandas as pd
from markupsafe import Markup

STATUS_FR = {"pass": "conforme", "warn": "écart documenté", "fail": "échec", "missing": "absent",
             "n/a": "non vérifiable"}
STATUS_PLURAL_FR = {"pass": "conformes", "warn": "écarts documentés", "fail": "échecs", "missing": "absents",
                    "n/a": "non vérifiables"}

CHECK_FR = {
    "expressed_equals_sum_of_votes": "Exprimés = somme des voix des candidats ou listes",
    "voters_equals_blank_null_expressed": "Votants = blancs + nuls + exprimés",
    "registered_ge_voters_ge_expressed": "Inscrits ≥ votants ≥ exprimés",
    "shares_in_0_100_and_sum_to_100": "Parts des blocs entre zéro et cent, de somme cent",
    "commune_coverage": "Toutes les communes de référence sont couvertes",
    "bureaux_sum_to_communes": "Les bureaux de vote s'additionnent aux totaux communaux",
    "departement_totals_vs_source": "Totaux départementaux identiques au fichier départemental",
    "departement_totals_vs_aggregated_file": "Totaux identiques au fichier agrégé indépendant",
    "departement_totals_vs_published": "Totaux identiques aux chiffres publiés",
    "departement_totals_vs_cantons": "Totaux identiques à la somme des cantons",
    "departement_totals_vs_ministry_site": "Totaux identiques au site de résultats du Ministère",
    "ministry_site_truncated_counts": "Voix tronquées sur le site du Ministère (non chargées)",
    "final_results": "Résultats définitifs (et non provisoires)",
    "election_available": "Élection disponible pour le périmètre",
    "indicator_coverage": "Couverture communale des indicateurs",
    "indicator_rows_excluded": "Lignes d'indicateurs écartées (doublons Lyon, communes absentes)",
    "indicator_source_missing": "Source d'indicateurs facultative absente",
    "national_result_source": "Source du résultat national de l'élection",
    "national_votes_sum_to_expressed": "Résultat national : voix des blocs = exprimés",
    "national_file_vs_official": "Résultat national : somme des communes face aux totaux officiels",
    "national_votes_vs_published_pct": "Résultat national : voix face aux pourcentages publiés",
    "context_vs_departement_result": "Fichier France entière face aux résultats du département",
}

TABLE_ROLE_FR = {"dim": "dimension", "fact": "fait", "map": "harmonisation", "meta": "lignage et qualité"}

MODE_FR = {"conditional": "conditionnel", "national_conditional": "conditionnel national",
           "unconditional": "inconditionnel",
           "france_conditional": "conditionnel, toutes les communes de France",
           "france_national": "conditionnel national, toutes les communes de France",
           "france_unconditional": "inconditionnel, toutes les communes de France"}
MODE_HELP_FR = {
    "conditional": "les totaux départementaux réels de l'élection test sont donnés : mesure la capacité du "
                   "modèle à répartir un résultat connu entre les communes",
    "national_conditional": "seuls les résultats de la France entière de l'élection test sont donnés, comme le "
                            "ferait une intention de vote nationale issue des sondages",
    "unconditional": "seule l'information disponible avant l'élection test est utilisée : c'est une vraie "
                     "prévision",
}
MODEL_KIND_FR = {"baseline": "référence", "model": "modèle"}
SWING_FR = {"status_quo": "statu quo", "trend": "tendance récente", "custom": "hypothèse fournie",
            "national": "intention de vote nationale"}
#: What each hypothesis assumes, in plain words (the warehouse's own descriptions are technical notes).
SWING_HELP_FR = {
    "status_quo": "les totaux du département reprennent la moyenne des deux derniers premiers tours (dernier scrutin "
                  "du même type et dernier scrutin), la participation celle du dernier scrutin du même type ; "
                  "l'incertitude vient des erreurs passées de cette règle",
    "trend": "les totaux du département prolongent, en l'amortissant, la tendance des premiers tours passés ; "
             "l'incertitude croît avec l'horizon",
    "custom": "les totaux du département sont fournis par l'analyste (par exemple issus de sondages)",
    "national": "les totaux du département sont déduits d'une intention de vote nationale",
}
#: Plain description of the models and references compared (keyed by model id; others keep the warehouse's).
MODEL_HELP_FR = {
    "persistence_same_type": "Chaque commune refait le résultat de la dernière élection du même type.",
    "persistence_any_type": "Chaque commune refait le résultat de la dernière élection, quel qu'en soit le type.",
    "uniform_swing": "Chaque commune suit, en points, l'évolution du département entre les deux élections.",
    "proportional_swing": "Chaque commune suit, en proportion, l'évolution du département entre les deux élections.",
    "ridge": "Régression linéaire régularisée de l'écart de la commune au département, à partir de ses résultats "
             "passés et de ses indicateurs.",
    "lightgbm": "Arbres de décision successifs (méthode LightGBM) qui corrigent l'écart de la commune au département, "
                "à partir de ses résultats passés, de ses indicateurs et de sa taille ; déterministe.",
    "lightgbm_results_only": "Le même LightGBM sans les indicateurs socio-économiques : seulement les résultats passés "
                             "de la commune, sa taille et son territoire.",
    "lightgbm_published": "Le même LightGBM, chaque indicateur n'étant utilisable qu'à partir de la date de "
                          "publication du fichier détenu (et non du calendrier habituel de l'éditeur).",
    "ridge_results_only": "La même régression ridge sans les indicateurs socio-économiques : seulement les résultats "
                          "passés de la commune, sa taille et son territoire.",
    "ridge_published": "La même régression ridge, chaque indicateur n'étant utilisable qu'à partir de la date de "
                       "publication du fichier détenu (et non du calendrier habituel de l'éditeur).",
    "lightgbm_fr": "Le même LightGBM sans indicateurs, appris sur les communes de tous les départements de France aux "
                   "élections antérieures (et non sur le seul département) ; intervalles calibrés sur le département.",
}
#: Why a check shows a documented gap, in French (the warehouse keeps the technical detail).
CHECK_NOTE_FR = {
    "departement_totals_vs_cantons": "les totaux issus des cantons diffèrent légèrement du fichier départemental "
                                     "(résultats provisoires ou transcriptions) ; l'écart reste dans la tolérance "
                                     "écrite",
    "departement_totals_vs_source": "les totaux recalculés diffèrent légèrement du fichier départemental ; l'écart "
                                    "reste dans la tolérance écrite",
    "ministry_site_truncated_counts": "le site de résultats du Ministère tronque certains nombres de voix : ils ne "
                                      "sont pas chargés, les voix viennent du fichier agrégé",
    "voters_equals_blank_null_expressed": "la source ne publie pas les blancs et les nuls séparément : l'identité ne "
                                          "peut pas être contrôlée",
    "commune_coverage": "certaines communes de référence ne sont pas couvertes",
    "final_results": "résultats provisoires, et non définitifs",
    "election_available": "élection absente des sources pour ce périmètre",
    "indicator_coverage": "certaines communes n'ont pas de valeur pour un indicateur",
}

ELECTION_TYPE_FR = {"presidentielle": "présidentielle", "legislatives": "législatives", "europeennes": "européennes"}

#: Metrics of fact_model_metric in display order (patterns); others come after them.
METRIC_ORDER = ["wmae", "mae", "rmse", "first_bloc_accuracy", r"coverage_\d+", r"width_\d+", r"interval_score_\d+",
                "departement_mae",
                "turnout_wmae", "turnout_mae", r"turnout_coverage_\d+", r"turnout_width_\d+", r"mae_size_.+"]
_METRIC_FR = {
    "wmae": "MAE pondérée par les voix (points)",
    "mae": "MAE non pondérée (points)",
    "rmse": "RMSE (points)",
    "first_bloc_accuracy": "Bloc arrivé en tête correctement prédit (%)",
    "departement_mae": "Erreur sur les totaux du département (points)",
    "turnout_wmae": "Participation : MAE pondérée par les inscrits (points)",
    "turnout_mae": "Participation : MAE (points)",
    "n_communes": "Communes évaluées",
    "n_departements": "Départements évalués",
}


def metric_rank(metric: str) -> int:
    """Position of a metric in :data:`METRIC_ORDER` (unknown metrics last)."""
    return next((i for i, pattern in enumerate(METRIC_ORDER) if re.fullmatch(pattern, metric)), len(METRIC_ORDER))


#: Bloc codes in words, for metric codes that carry a bloc (coverage_80__gauche); the report's tables take the
#: warehouse's dim_bloc labels instead.
BLOC_WORDS_FR = {"extreme_gauche": "extrême gauche", "gauche": "gauche", "centre": "centre", "droite": "droite",
                 "extreme_droite": "extrême droite", "divers": "divers"}


def metric_label(metric: str) -> str:
    """French label of a metric code, including the level, band or bloc it carries."""
    if "__" in metric:  # per-bloc metric: '<metric>__<bloc>'
        base, bloc = metric.split("__", 1)
        return f"{metric_label(base)}, bloc {BLOC_WORDS_FR.get(bloc, bloc.replace('_', ' '))}"
    if metric in _METRIC_FR:
        return _METRIC_FR[metric]
    if m := re.fullmatch(r"interval_score_(\d+)", metric):
        return f"Score d'intervalle (Winkler) à {m.group(1)} % (points)"
    if m := re.fullmatch(r"(turnout_)?coverage_(\d+)", metric):
        return f"{'Participation : c' if m.group(1) else 'C'}ouverture de l'intervalle à {m.group(2)} % (%)"
    if m := re.fullmatch(r"(turnout_)?width_(\d+)", metric):
        return (f"{'Participation : l' if m.group(1) else 'L'}argeur moyenne de l'intervalle à {m.group(2)} % "
                "(points)")
    if m := re.fullmatch(r"mae_size_(.+)", metric):
        return f"MAE, communes de {size_band_label(m.group(1))} (points)"
    return metric


def _count(token: str) -> str:
    """'1k' -> '1 000', '20k' -> '20 000', '500' -> '500' (inscrits)."""
    m = re.fullmatch(r"(\d+)(k?)", token)
    if not m:
        return token
    value = int(m.group(1)) * (1000 if m.group(2) else 1)
    return f"{value:,d}".replace(",", "\u202f")


def size_band_label(band: str) -> str:
    """Size band of a metric code in words: 'lt1k' -> 'moins de 1 000 inscrits', '1k_5k' -> '1 000 à 5 000
    inscrits', 'gt20k' -> '20 000 inscrits et plus'; an unknown code is shown as it is."""
    if m := re.fullmatch(r"lt_?(\d+k?)", band):
        return f"moins de {_count(m.group(1))} inscrits"
    if m := re.fullmatch(r"(?:ge|gte|gt|over)_?(\d+k?)", band):
        return f"{_count(m.group(1))} inscrits et plus"
    if m := re.fullmatch(r"(\d+k?)_(\d+k?)", band):
        return f"{_count(m.group(1))} à {_count(m.group(2))} inscrits"
    return band.replace("_", " ")


def is_percent_metric(metric: str) -> bool:
    return metric == "first_bloc_accuracy" or re.fullmatch(r"(turnout_)?coverage_\d+(__\w+)?", metric) is not None


def check_label(name: str) -> str:
    return CHECK_FR.get(name, name.replace("_", " "))


def date_fr(value) -> str:
    """'2022-04-10' (or a date/Timestamp) -> '10/04/2022'."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, (datetime, pd.Timestamp, date)):
        return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    return str(value)


def datetime_fr(value) -> str:
    """'2026-11-23 19:28:51' -> '23/11/2026 à 19 h 28 (UTC)' (the refresh stores UTC; French
    writes hours "19 h 28", not "19:28")."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    ts = pd.Timestamp(value)
    return f"{date_fr(ts)} à {ts.hour}\u00a0h\u00a0{ts.minute:02d} (UTC)"


def publisher_short(publisher: str) -> str:
    """Publisher of a catalogued source without the redistribution details in brackets."""
    return re.split(r" \(|, ", str(publisher))[0].strip()


_ELECTION_CODE = re.compile(r"\b(pres|leg|euro)_(\d{4})_t([12])\b")
_ELECTION_WORD = {"pres": "présidentielle", "leg": "législatives", "euro": "européennes"}
_PLAIN = [(re.compile(r"\bswings? uniformes?\b", re.I), "glissement uniforme"),
          (re.compile(r"\bswings? proportionnels?\b", re.I), "glissement proportionnel"),
          (re.compile(r"\bswings?\b", re.I), "glissement"),
          (re.compile(r"\bforecasts?\b", re.I), "prévision"), (re.compile(r"\bbacktests?\b", re.I), "test rétrospectif")]


def plain_fr(text: str) -> str:
    """Client wording of a label stored in the warehouse: election codes spelt out, anglicisms in French
    ('Swing uniforme' -> 'Glissement uniforme')."""
    text = _ELECTION_CODE.sub(lambda m: f"{_ELECTION_WORD[m.group(1)]} {m.group(2)} ({m.group(3)}er tour)"
                              .replace("2er", "2d"), str(text))
    for pattern, word in _PLAIN:
        text = pattern.sub(lambda m, w=word: w[0].upper() + w[1:] if m.group(0)[0].isupper() else w, text)
    return text


def scenario_election(label: str) -> str:
    """The election a scenario label names: 'Présidentielle 2027, 1er tour : statu quo (horizon 1 an)' ->
    'Présidentielle 2027, 1er tour'."""
    return str(label).split(" : ", 1)[0].strip()


def lead_bucket_fr(bucket: str) -> str:
    """Lead-time class of fact_horizon_error in words: '0-1' -> 'moins d'un an', '1-2' -> '1 à 2 ans',
    '3+' -> '3 ans et plus'."""
    text = str(bucket)
    if m := re.fullmatch(r"(\d+)-(\d+)", text):
        low, high = int(m.group(1)), int(m.group(2))
        return "moins d'un an" if (low, high) == (0, 1) else f"{low} à {high} ans"
    if m := re.fullmatch(r"(\d+)\+", text):
        return f"{m.group(1)} ans et plus"
    return text


def figure_file_label(name: str) -> str:
    """Readable name of a figure file with no known caption."""
    stem = re.sub(r"\.png$", "", name)
    return stem.replace("_", " ")


DERIVE = {"plain_fr": plain_fr, "scenario_election": scenario_election, "metric_label": metric_label, "date_fr": date_fr, "datetime_fr": datetime_fr,
          "size_band_label": size_band_label, "figure_file_label": figure_file_label, "check_label": check_label,
          "publisher_short": publisher_short, "lead_bucket_fr": lead_bucket_fr}


def fr_float(text: str) -> float:
    """A number as the report prints it ('60', '36,0', '1 234,5', '−4,3') -> float (ValueError if none)."""
    return float(re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", ".").replace("\u2212", "-"))


#: French typography: a narrow no-break space before ; ! ? % and a no-break space before : and inside
#: « », so that a line never starts with them (an ordinary space there lets the browser break).
_SPACE_BEFORE = re.compile(r" (?=[;!?%])")
_SPACE_COLON = re.compile(r" (?=:)")


def french_spacing(text: str) -> str:
    """``text`` with the French no-break spaces (only ordinary spaces are replaced)."""
    text = _SPACE_COLON.sub("\u00a0", _SPACE_BEFORE.sub("\u202f", text))
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


_TAG = re.compile(r"(<[^>]*>)")


def french_spacing_html(html: str) -> str:
    """:func:`french_spacing` on the visible text of an HTML page: not in tags, style or script, nor
    in the traced values (``<span class="v ...">``, whose text must stay the registered one)."""
    out, raw, traced = [], 0, 0
    for part in _TAG.split(html):
        if part.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            name = name.group(1).lower() if name else ""
            closing = part.startswith("</")
            if name in ("style", "script"):
                raw += -1 if closing else 1
            elif name == "span" and traced:
                traced += -1 if closing else (0 if part.endswith("/>") else 1)
            elif name == "span" and not closing and re.search(r"""class=["'](?:[^"']* )?v[ "']""", part):
                traced = 1
            out.append(part)
        else:
            out.append(part if raw or traced else french_spacing(part))
    return "".join(out)


def points_fr(value) -> Markup:
    """A printed number of points and its unit: "1,81 point", "4,56 points" (French: plural from 2);
    ``value`` as printed, possibly a traced HTML value."""
    try:
        single = abs(fr_float(re.sub(r"<[^>]+>", "", str(value)))) < 2
    except ValueError:  # "n.d."
        single = False
    return Markup("{} {}").format(value, "point" if single else "points")
