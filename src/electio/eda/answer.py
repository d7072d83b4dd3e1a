"""A machine-readable answer to "which indicator is most correlated with election results?".

Input: ``fact_correlation`` (see :mod:`electio.eda.correlation`). For each target (each
bloc, and turnout) the indicators are ranked by their **mean absolute weighted Pearson
r across elections**; the overall top lists indicator x target pairs the same way.

Rules (quoted in the report and in the JSON itself):

- **Elections averaged**: with ``dim_election`` given, first rounds only. In a second
  round only two candidates (often two blocs) remain, so a bloc's share there measures
  a duel rather than the bloc's electorate; second-round correlations stay in
  ``fact_correlation`` for whoever wants them. Without ``dim_election``, every election
  of the frame is used.
- **Coverage**: to be ranked for a target, an indicator must have a correlation in at
  least :data:`MIN_ELECTIONS` elections and in at least :data:`MIN_COVERAGE` (half) of
  the elections where that target has any correlation. A vintage published late (say
  2024) only meets the last elections: its mean over two elections is not comparable
  with a mean over seven, and a single election can be a fluke. If no indicator
  qualifies, all are ranked (and none is stable). Every relation stays in the heatmap.
- **Stability**: a relation is *stable* when it is observed in at least
  :data:`MIN_ELECTIONS` elections, has the same sign in every one of them, and
  ``|r| >= STABLE_MIN_ABS_R`` (0.3) in at least ``STABLE_MIN_SHARE`` (80 %) of them.
- **Size controlled** (issue 12): relations are ranked by the mean absolute *partial*
  correlation given log10 population (``partial_pearson``), so that an indicator is not
  ranked high only because it follows commune size; the population indicator itself (the
  size) keeps its raw r and is flagged ``size_controlled: false``. An indicator declared
  ``redundant_with`` another (a complement such as non-immigrants vs immigrants, or a
  breakdown) is not ranked.
- **Every family**: ``by_family`` lists, for each indicator family with data, its five
  strongest size-controlled relations; ``themes`` names every theme of the client's brief
  with its evidence or its gap; ``sign_instabilities`` flags close indicators (|r| between
  them >= :data:`CLOSE_MIN_ABS_R` across communes) whose relations with the same target
  have inconsistent signs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from electio.eda.correlation import TRANSFORM_LABELS_FR, TURNOUT, indicator_transforms, transformed_unit
from electio.transform.politics import load_blocs

STABLE_MIN_ABS_R = 0.3
STABLE_MIN_SHARE = 0.8
MIN_ELECTIONS = 2
MIN_COVERAGE = 0.5
QUESTION_FR = "Quel indicateur socio-économique est le plus corrélé aux résultats électoraux des communes ?"
TURNOUT_LABEL_FR = "Participation"
STABILITY_RULE_FR = (f"Relation stable : observée sur au moins {MIN_ELECTIONS} élections, de même signe à chaque "
                     f"élection, et |r| ≥ {str(STABLE_MIN_ABS_R).replace('.', ',')} dans au moins "
                     f"{STABLE_MIN_SHARE * 100:.0f} % des élections.")
COVERAGE_RULE_FR = (f"Classement : seuls les indicateurs observés pour au moins "
                    f"{MIN_ELECTIONS} élections et au moins la moitié des élections analysées sont classés ; "
                    "les autres restent visibles dans la matrice de corrélations.")
METHOD_FR = (
    "Corrélation entre communes, pondérée par le nombre d'inscrits de chaque commune à l'élection "
    "(r de Pearson pondéré ; Spearman = Pearson pondéré sur les rangs). Les comptages sont rapportés à la "
    "population (pour 1 000 habitants) ou à leur dénominateur naturel (chômeurs pour 100 actifs, logements vacants "
    "pour 100 logements...) ; la population et la densité sont prises en logarithme ; les taux, médianes et parts "
    "sont utilisés tels quels (une seule règle, partagée avec les modèles). Intervalle de confiance à 95 % par "
    "bootstrap sur les communes ; p-value du test de Student avec la taille d'échantillon effective de Kish "
    "(Lyon pèse environ un quart des inscrits du Rhône). Pour chaque élection, le millésime décrit est celui dont "
    "la période de référence est la plus proche avant le scrutin, même s'il a été publié après : c'est une "
    "description, pas une prévision. Classement : moyenne sur les premiers tours de |r partiel| (taille "
    "contrôlée)."
)
SIGN_FR = {1: "positive", -1: "négative", 0: "nulle"}
SIZE_RULE_FR = ("Taille contrôlée : le classement utilise la corrélation partielle à la taille de la commune "
                "(logarithme de la population), pour ne pas retenir un indicateur seulement parce qu'il suit la "
                "taille. Les indicateurs redondants (compléments, ventilations) ne sont pas classés.")


def _r(value: float, digits: int = 3) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def _sig(value: float, digits: int = 3) -> float | None:
    """Rounded to significant digits (p-values can be tiny)."""
    return None if value is None or not np.isfinite(value) else float(f"{float(value):.{digits}g}")


def is_stable(values) -> bool:
    """The stability rule of this module on one relation's per-election Pearson values."""
    r = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if r.size < MIN_ELECTIONS:
        return False
    same_sign = bool((r > 0).all() or (r < 0).all())
    return same_sign and float((np.abs(r) >= STABLE_MIN_ABS_R).mean()) >= STABLE_MIN_SHARE


def first_round_ids(dim_election: pd.DataFrame | None) -> set[str] | None:
    if dim_election is None or dim_election.empty:
        return None
    return set(dim_election.loc[dim_election["round_number"] == 1, "election_id"])


def relation_summary(corr: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator x target: n_elections, mean_pearson, mean_abs_pearson, stable,
    mean_partial, mean_abs_partial (size controlled), rank_value (mean |partial r|, or mean |r|
    where no partial exists) and size_controlled.

    Sorted by decreasing rank_value, then indicator and target (deterministic).
    """
    cols = ["indicator_code", "target", "n_elections", "mean_pearson", "mean_abs_pearson", "min_pearson",
            "max_pearson", "same_sign", "share_strong", "stable", "mean_partial", "mean_abs_partial",
            "partial_same_sign", "rank_value", "size_controlled"]
    corr = corr[corr["pearson"].notna()] if not corr.empty else corr
    if corr.empty:
        return pd.DataFrame(columns=cols)
    if "partial_pearson" not in corr:
        corr = corr.assign(partial_pearson=np.nan)
    gp = corr.groupby(["indicator_code", "target"])["partial_pearson"]
    g = corr.groupby(["indicator_code", "target"])["pearson"]
    out = pd.DataFrame({
        "n_elections": g.size(), "mean_pearson": g.mean(), "mean_abs_pearson": g.apply(lambda s: s.abs().mean()),
        "min_pearson": g.min(), "max_pearson": g.max(),
        "same_sign": g.apply(lambda s: bool((s > 0).all() or (s < 0).all())),
        "share_strong": g.apply(lambda s: float((s.abs() >= STABLE_MIN_ABS_R).mean())),
        "stable": g.apply(lambda s: is_stable(s.tolist())),
        "mean_partial": gp.mean(), "mean_abs_partial": gp.apply(lambda s: s.abs().mean()),
        "partial_same_sign": gp.apply(lambda s: bool((s.dropna() > 0).all() or (s.dropna() < 0).all())),
    }).reset_index()
    out["size_controlled"] = out["mean_abs_partial"].notna()
    out["rank_value"] = out["mean_abs_partial"].fillna(out["mean_abs_pearson"])
    out = out.sort_values(["rank_value", "indicator_code", "target"], ascending=[False, True, True])
    return out[cols].reset_index(drop=True)


def restrict_to_first_rounds(corr: pd.DataFrame, dim_election: pd.DataFrame | None) -> pd.DataFrame:
    """First-round rows of corr when dim_election is given (module docstring), else all rows."""
    ids = first_round_ids(dim_election)
    return corr if ids is None else corr[corr["election_id"].isin(ids)]


def coverage_threshold(corr: pd.DataFrame) -> dict[str, int]:
    """Minimum number of elections for a relation with each target (coverage rule)."""
    per_target = corr.groupby("target")["election_id"].nunique() if not corr.empty else pd.Series(dtype=int)
    return {t: max(MIN_ELECTIONS, math.ceil(MIN_COVERAGE * n)) for t, n in per_target.items()}


def _eligible(summary: pd.DataFrame, corr: pd.DataFrame) -> pd.DataFrame:
    """Relations that pass the coverage rule; all of them if none does (per target)."""
    if summary.empty:
        return summary
    need = coverage_threshold(corr)
    covered = summary["n_elections"] >= summary["target"].map(need).fillna(MIN_ELECTIONS)
    parts = [group[covered[group.index]] if covered[group.index].any() else group
             for _, group in summary.groupby("target", sort=False)]
    out = pd.concat(parts)
    return out.sort_values(["rank_value", "indicator_code", "target"], ascending=[False, True, True])


def _labels(dim_indicator: pd.DataFrame | None) -> dict[str, dict]:
    if dim_indicator is None or dim_indicator.empty:
        return {}
    return {r.indicator_code: {"label_fr": r.label_fr, "family": r.family, "unit": r.unit}
            for r in dim_indicator.itertuples()}


def target_labels(dim_bloc: pd.DataFrame | None = None) -> dict[str, str]:
    """French label of every target: blocs (dim_bloc or data/reference/blocs.csv) and turnout."""
    if dim_bloc is None or dim_bloc.empty:
        dim_bloc = load_blocs()
    labels = dict(zip(dim_bloc.sort_values("sort_order")["bloc_code"], dim_bloc.sort_values("sort_order")["label_fr"]))
    labels[TURNOUT] = TURNOUT_LABEL_FR
    return labels


def _describe(row, corr: pd.DataFrame, labels: dict, targets: dict, transforms: dict,
              election_labels: dict) -> dict:
    sub = corr[(corr["indicator_code"] == row.indicator_code) & (corr["target"] == row.target)]
    sub = sub.sort_values("election_id")
    lead = row.mean_partial if row.size_controlled else row.mean_pearson
    sign = int(np.sign(lead)) if np.isfinite(lead) else 0
    info = labels.get(row.indicator_code, {})
    transform = transforms.get(row.indicator_code)
    out = {
        "indicator_code": row.indicator_code,
        "indicator_label_fr": info.get("label_fr", row.indicator_code),
        "indicator_family": info.get("family"),
        "target": row.target,
        "target_label_fr": targets.get(row.target, row.target),
        "mean_abs_pearson": _r(row.mean_abs_pearson),
        "mean_pearson": _r(row.mean_pearson),
        "mean_partial_pearson": _r(row.mean_partial),
        "mean_abs_partial_pearson": _r(row.mean_abs_partial),
        "size_controlled": bool(row.size_controlled),
        "sign": sign,
        "sign_fr": SIGN_FR[sign],
        "n_elections": int(row.n_elections),
        "share_elections_abs_r_ge_0_3": _r(row.share_strong, 2),
        "stable": bool(row.stable),
        "per_election": [
            {"election_id": r.election_id, "election_label_fr": election_labels.get(r.election_id, r.election_id),
             "indicator_year": int(r.indicator_year), "n_communes": int(r.n_communes), "pearson": _r(r.pearson),
             "spearman": _r(r.spearman), "pearson_ci_low": _r(r.pearson_ci_low),
             "pearson_ci_high": _r(r.pearson_ci_high), "p_value": _sig(r.p_value),
             "partial_pearson": _r(getattr(r, "partial_pearson", None)),
             "partial_ci_low": _r(getattr(r, "partial_ci_low", None)),
             "partial_ci_high": _r(getattr(r, "partial_ci_high", None)),
             "available_before_election": (None if pd.isna(getattr(r, "available_before", None))
                                           else bool(getattr(r, "available_before")))}
            for r in sub.itertuples()],
    }
    if transform is not None:
        out["transformation"] = transform
        out["transformation_fr"] = TRANSFORM_LABELS_FR[transform]
        if info.get("unit"):
            out["unit_fr"] = transformed_unit(info["unit"], transform)
    return out


def strongest_relations(corr: pd.DataFrame, top: int = 5, *, dim_indicator: pd.DataFrame | None = None,
                        dim_election: pd.DataFrame | None = None, dim_bloc: pd.DataFrame | None = None,
                        transforms: dict[str, str] | None = None) -> list[dict]:
    """The ``top`` indicator x target pairs by mean |weighted Pearson| across elections.

    Optional tables add French labels and restrict to first rounds (module docstring).
    """
    corr = restrict_to_first_rounds(corr, dim_election)
    summary = _eligible(_ranked(relation_summary(corr), dim_indicator), corr)
    labels, targets = _labels(dim_indicator), target_labels(dim_bloc)
    elections = ({} if dim_election is None else dict(zip(dim_election["election_id"], dim_election["label_fr"])))
    return [dict(rank=i + 1, **_describe(row, corr, labels, targets, transforms or {}, elections))
            for i, row in enumerate(summary.head(top).itertuples())]


def redundant_codes(dim_indicator: pd.DataFrame | None) -> set[str]:
    """Indicators declared ``redundant_with`` another one: never ranked as separate findings."""
    if dim_indicator is None or dim_indicator.empty or "redundant_with" not in dim_indicator:
        return set()
    return set(dim_indicator.loc[dim_indicator["redundant_with"].notna(), "indicator_code"])


def _ranked(summary: pd.DataFrame, dim_indicator: pd.DataFrame | None) -> pd.DataFrame:
    return summary[~summary["indicator_code"].isin(redundant_codes(dim_indicator))]


#: Close indicators: |weighted r| between them across communes at least this.
CLOSE_MIN_ABS_R = 0.7
#: A relation counts in the sign check when its mean |partial r| is at least this.
SIGN_MIN_ABS_R = 0.1
FAMILY_LABELS_FR = {"revenus": "Revenus et pauvreté", "population": "Population et densité",
                    "emploi": "Emploi et chômage", "entreprises": "Entreprises", "securite": "Sécurité",
                    "immigration": "Immigration", "logement": "Logement"}
#: The brief's themes: the families that document them, or why there is no data.
THEMES_FR = [
    ("Sécurité (délinquance)", ["securite"], None),
    ("Emploi et chômage", ["emploi"], None),
    ("Population et densité", ["population"], None),
    ("Entreprises", ["entreprises"], None),
    ("Revenus et pauvreté", ["revenus"], None),
    ("Vie associative", [], "Aucune donnée : le Répertoire national des associations (RNA) n'est pas dans la "
                            "copie des sources utilisée. La source est déclarée dans les métadonnées des "
                            "indicateurs avec son adresse officielle et un lecteur du format RNA est prêt : "
                            "le fichier, une fois téléchargé et ajouté au catalogue des sources, la remplira."),
    ("Logement", ["logement"], None),
    ("Immigration", ["immigration"], None),
    ("Structure par âge", [], "Aucune donnée : les fichiers du recensement disponibles ne donnent pas la "
                              "population par tranche d'âge (seuls les 15-64 ans actifs et inactifs)."),
    ("Éducation (diplômes)", [], "Aucune donnée : aucun fichier de diplômes ou de scolarisation du recensement "
                                 "n'est dans la copie des sources utilisée."),
]


def sign_instabilities(summary: pd.DataFrame, closeness: pd.DataFrame | None, labels: dict,
                       targets: dict) -> list[dict]:
    """Close indicator pairs (same family, |r| between them >= :data:`CLOSE_MIN_ABS_R`) whose
    size-controlled relations with one target disagree in sign with what their closeness
    implies (same sign expected when they move together, opposite when they move apart)."""
    if closeness is None or closeness.empty or summary.empty:
        return []
    close = closeness[closeness["r"].abs() >= CLOSE_MIN_ABS_R]
    family = {code: info.get("family") for code, info in labels.items()}
    if family:
        close = close[[family.get(a) is not None and family.get(a) == family.get(b)
                       for a, b in zip(close["indicator_a"], close["indicator_b"])]]
    rel = summary.set_index(["indicator_code", "target"])["mean_partial"]
    out = []
    for c in close.itertuples():
        for target in sorted(targets):
            a, b = rel.get((c.indicator_a, target)), rel.get((c.indicator_b, target))
            if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
                continue
            if min(abs(a), abs(b)) < SIGN_MIN_ABS_R:
                continue
            if np.sign(a) * np.sign(b) != np.sign(c.r):
                out.append({"indicator_a": c.indicator_a, "indicator_b": c.indicator_b,
                            "label_a_fr": labels.get(c.indicator_a, {}).get("label_fr", c.indicator_a),
                            "label_b_fr": labels.get(c.indicator_b, {}).get("label_fr", c.indicator_b),
                            "r_between": _r(c.r), "target": target, "target_label_fr": targets.get(target, target),
                            "mean_partial_a": _r(a), "mean_partial_b": _r(b)})
    return out


def _by_family(summary: pd.DataFrame, corr: pd.DataFrame, dim_indicator: pd.DataFrame | None, labels: dict,
               targets: dict, transforms: dict, elections: dict, top: int) -> dict:
    if dim_indicator is None or dim_indicator.empty:
        return {}
    commune = dim_indicator[dim_indicator["level"] == "commune"] if "level" in dim_indicator else dim_indicator
    out = {}
    for family, group in commune.groupby("family", sort=True):
        codes = set(group["indicator_code"])
        rows = summary[summary["indicator_code"].isin(codes)]
        controlled, size = rows[rows["size_controlled"]], rows[~rows["size_controlled"]]
        analysed = sorted(set(corr.loc[corr["indicator_code"].isin(codes), "indicator_code"]))
        item = {"family_label_fr": FAMILY_LABELS_FR.get(family, family), "indicators": sorted(codes),
                "indicators_analysed": analysed,
                "status": "ok" if len(rows) else "no_correlation",
                "top": [dict(rank=i + 1, **_describe(r, corr, labels, targets, transforms, elections))
                        for i, r in enumerate(controlled.head(top).itertuples())],
                # The size itself (log population) cannot be size-controlled: its raw relations.
                "size_relations": [_describe(r, corr, labels, targets, transforms, elections)
                                   for r in size.head(3).itertuples()]}
        out[family] = item
    return out


def _themes(by_family: dict) -> list[dict]:
    out = []
    for theme, families, gap in THEMES_FR:
        have = [f for f in families if f in by_family and (by_family[f]["top"] or by_family[f]["size_relations"])]
        if have:
            texts = []
            size = [r for f in have for r in by_family[f]["size_relations"]]
            if size:
                s = size[0]
                texts.append(f"la taille elle-même (« {s['indicator_label_fr']} ») et « {s['target_label_fr']} » : "
                             f"r moyen {_fmt(s['mean_pearson'])} sur {s['n_elections']} élection(s)")
            tops = [r for f in have for r in by_family[f]["top"]]
            if tops:
                b = max(tops, key=lambda r: r["mean_abs_partial_pearson"] or 0)
                texts.append(f"« {b['indicator_label_fr']} » et « {b['target_label_fr']} » : r partiel moyen "
                             f"{_fmt(b['mean_partial_pearson'])} (taille contrôlée) sur {b['n_elections']} "
                             "élection(s)")
            out.append({"theme_fr": theme, "families": have, "status": "data",
                        "evidence_fr": "; ".join(texts) + "."})
        else:
            out.append({"theme_fr": theme, "families": families, "status": "gap",
                        "evidence_fr": gap or "Aucune corrélation calculable avec les données chargées."})
    return out


def answer_question(corr: pd.DataFrame, dim_indicator: pd.DataFrame, *, dim_election: pd.DataFrame | None = None,
                    dim_bloc: pd.DataFrame | None = None, transforms: dict[str, str] | None = None,
                    top: int = 5, closeness: pd.DataFrame | None = None) -> dict:
    """For each bloc and turnout: the indicator with the highest mean |r|, its sign,
    per-election values and stability; plus the overall top ``top`` pairs.

    JSON-serialisable (plain types, no NaN: missing numbers are None).
    """
    if transforms is None and dim_indicator is not None and not dim_indicator.empty:
        transforms = indicator_transforms(dim_indicator)
    transforms = transforms or {}
    used = restrict_to_first_rounds(corr, dim_election)
    labels, targets = _labels(dim_indicator), target_labels(dim_bloc)
    elections = ({} if dim_election is None else dict(zip(dim_election["election_id"], dim_election["label_fr"])))
    summary = _ranked(relation_summary(used), dim_indicator)
    by_target = {}
    for target in targets:
        rows = _eligible(summary[summary["target"] == target], used)
        if rows.empty:
            continue
        best = next(rows.itertuples())
        item = _describe(best, used, labels, targets, transforms, elections)
        item["runner_up"] = [
            {"indicator_code": r.indicator_code, "indicator_label_fr": labels.get(r.indicator_code, {}).get(
                "label_fr", r.indicator_code), "mean_abs_pearson": _r(r.mean_abs_pearson),
             "mean_pearson": _r(r.mean_pearson), "stable": bool(r.stable)}
            for r in rows.iloc[1:3].itertuples()]
        by_target[target] = item
    top_pairs = strongest_relations(corr, top, dim_indicator=dim_indicator, dim_election=dim_election,
                                    dim_bloc=dim_bloc, transforms=transforms)
    # Per family, every relation seen in at least MIN_ELECTIONS elections: the coverage rule compares
    # indicators across families and would hide a family whose vintages are all recent.
    by_family = _by_family(summary[summary["n_elections"] >= MIN_ELECTIONS], used, dim_indicator, labels, targets,
                           transforms, elections, top)
    answer = {
        "question_fr": QUESTION_FR,
        "status": "ok" if top_pairs else "no_data",
        "method_fr": METHOD_FR,
        "stability_rule_fr": STABILITY_RULE_FR,
        "stability_rule": {"min_elections": MIN_ELECTIONS, "same_sign_everywhere": True,
                           "min_abs_r": STABLE_MIN_ABS_R, "min_share_of_elections": STABLE_MIN_SHARE},
        "coverage_rule_fr": COVERAGE_RULE_FR,
        "coverage_rule": {"min_elections": MIN_ELECTIONS, "min_share_of_target_elections": MIN_COVERAGE},
        "elections_used": sorted(used["election_id"].unique().tolist()) if not used.empty else [],
        "n_correlations": int(len(used)),
        "by_target": by_target,
        "top": top_pairs,
        "transformations": {code: {"transformation": t, "transformation_fr": TRANSFORM_LABELS_FR[t]}
                            for code, t in sorted(transforms.items())},
        "size_control_fr": SIZE_RULE_FR,
        "redundant_not_ranked": sorted(redundant_codes(dim_indicator)),
        "by_family": by_family,
        "themes": _themes(by_family),
        "sign_instabilities": sign_instabilities(summary, closeness, labels, targets),
        "summary_fr": _summary_fr(top_pairs, by_target),
    }
    return answer


def _fmt(value: float | None) -> str:
    return "n.d." if value is None or (isinstance(value, float) and math.isnan(value)) else \
        f"{value:+.2f}".replace(".", ",").replace("-", "\u2212")


def _summary_fr(top_pairs: list[dict], by_target: dict) -> str:
    if not top_pairs:
        return ("Aucune corrélation n'a pu être calculée : l'entrepôt ne contient pas encore d'indicateur "
                "communal publié avant une élection chargée.")
    best = top_pairs[0]
    partial = (f", r partiel moyen {_fmt(best['mean_partial_pearson'])} à taille de commune contrôlée"
               if best.get("size_controlled") else "")
    text = (f"La relation la plus forte, en moyenne sur {best['n_elections']} élection(s), relie "
            f"« {best['indicator_label_fr']} » et « {best['target_label_fr']} » : r pondéré moyen "
            f"{_fmt(best['mean_pearson'])}{partial} (corrélation {best['sign_fr']}), "
            f"{'stable' if best['stable'] else 'non stable'} d'une élection à l'autre.")
    stable = [f"{v['target_label_fr']} : {v['indicator_label_fr']} ("
              + (f"r partiel {_fmt(v['mean_partial_pearson'])}" if v.get("size_controlled")
                 else f"taille, r {_fmt(v['mean_pearson'])}") + ")"
              for v in by_target.values() if v["stable"]]
    if stable:
        text += " Relations stables par cible : " + " ; ".join(stable) + "."
    text += " Une corrélation décrit une association entre communes, pas une causalité."
    return text
