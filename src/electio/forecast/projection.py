"""Indicators projected to the scenario date: what would have been published by then.

The model reads, for each commune and indicator, the latest vintage published before the
election (``published_on``). For an election 1 to 3 years ahead, newer vintages will exist
by then; this module projects them, **in memory only** (never into ``fact_indicator``):

1. **Which indicators**: those the trained model uses (its ``ind__*`` features), plus the
   population indicator when a count is turned into a rate per 1,000 inhabitants.
2. **Which vintage**: the publication lag of the latest vintage (``published_on`` minus the
   end of its reference year) and the cadence of the vintages in the warehouse (smallest gap
   between the last three) give the vintages published before the election date; the last of
   them is the *projected vintage*, dated ``end of its year + lag``. When it is the latest
   vintage already held (census files every 5 years, say), nothing is projected.
3. **Central value, per commune**: a linear trend on the commune's last (up to 5) published
   values, on a log scale (``log(1 + value)``) for counts, euros and ratios and in points for
   percentages; the commune's slope is shrunk half-way towards the département's median
   slope (trends of small communes are noisy); a commune with a single value follows the
   median slope.
4. **Uncertainty**: a standard deviation proportional to the projection lead,
   ``sd = s x lead (years)``. ``s`` is measured by a hold-out on the warehouse itself when
   the indicator has at least 3 vintages (project the latest vintage from the earlier ones
   with the same method, root mean square error per year of lead, over communes); with 2
   vintages, ``s`` is the spread of the communes' slopes; with 1 vintage nothing can be
   projected and the value is carried forward as published (sd 0).

The projected rows have ``is_imputed = 1`` and ``source_file = PROJECTED_SOURCE``; they are
handed to :func:`electio.model.panel.build_panel` through a copy of the tables
(:func:`with_projection`). :func:`perturb_features` draws the indicator uncertainty into the
model's features for the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from electio.model.panel import indicator_transforms, population_indicator

PROJECTED_SOURCE = "projection electio (valeur projetée, non publiée)"
MAX_VINTAGES = 5
SHRINK = 0.5
PERCENT_UNITS = ("%", "‰", "pour cent", "pour mille")
LOG_TRANSFORMS = ("log10",)


def _year_end(year: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(year), month=12, day=31)


def indicators_used(model: object, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Indicator codes whose values the model reads (its ``ind__`` features), plus the
    population indicator when a feature is a count per 1,000 inhabitants."""
    names = getattr(model, "feature_names_", None) or []
    codes = [n[len("ind__"):] for n in names if n.startswith("ind__")]
    if not codes:
        return []
    transforms = indicator_transforms(tables.get("dim_indicator"), tables.get("fact_indicator"))
    pop = population_indicator(tables.get("dim_indicator"), tables.get("fact_indicator"))
    if pop and any(transforms.get(c) == "per_1000_population" for c in codes) and pop not in codes:
        codes.append(pop)
    return sorted(codes)


def projection_scale(unit: str | None) -> str:
    """'points' for percentages (additive trend), 'log1p' for everything else (relative trend)."""
    u = str(unit or "").lower()
    return "points" if any(p in u for p in PERCENT_UNITS) else "log1p"


def _forward(values: np.ndarray, scale: str) -> np.ndarray:
    return values if scale == "points" else np.log1p(np.clip(values, 0.0, None))


def _backward(values: np.ndarray, scale: str) -> np.ndarray:
    if scale == "points":
        return np.clip(values, 0.0, 100.0)
    return np.clip(np.expm1(values), 0.0, None)


def _slopes(hist: pd.DataFrame) -> pd.DataFrame:
    """Per commune: last year, last transformed value and OLS slope (NaN with one year) over the
    last MAX_VINTAGES values. ``hist``: commune_code, indicator_year, g (transformed value)."""
    hist = hist.sort_values(["commune_code", "indicator_year"])
    hist = hist.groupby("commune_code", sort=False).tail(MAX_VINTAGES)
    g = hist.groupby("commune_code", sort=True)
    n = g["indicator_year"].count()
    t_mean = g["indicator_year"].transform("mean")
    g_mean = g["g"].transform("mean")
    dt = hist["indicator_year"] - t_mean
    sxy = (dt * (hist["g"] - g_mean)).groupby(hist["commune_code"]).sum()
    sxx = (dt * dt).groupby(hist["commune_code"]).sum()
    slope = (sxy / sxx.where(sxx > 0)).where(n >= 2)
    last = g.tail(1).set_index("commune_code")
    return pd.DataFrame({"last_year": last["indicator_year"], "last_g": last["g"], "slope": slope})


def _project(stats: pd.DataFrame, target_year: int) -> tuple[pd.Series, float]:
    """Projected transformed value per commune, and the département (median) slope."""
    dep = float(np.nanmedian(stats["slope"])) if stats["slope"].notna().any() else 0.0
    slope = (SHRINK * stats["slope"] + (1 - SHRINK) * dep).fillna(dep)
    return stats["last_g"] + slope * (target_year - stats["last_year"]), dep


@dataclass
class IndicatorProjection:
    """Projected vintages (fact_indicator layout), their sd per commune, and a summary."""

    election_date: pd.Timestamp
    rows: pd.DataFrame
    sd: pd.DataFrame                 # index commune_code, columns indicator codes (projection scale)
    scale: dict = field(default_factory=dict)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def projected_codes(self) -> list[str]:
        return sorted(set(self.rows["indicator_code"])) if not self.rows.empty else []


FACT_COLUMNS = ["commune_code", "indicator_code", "indicator_year", "value", "is_suppressed", "is_imputed",
                "is_reaggregated", "published_on", "source_file"]


def project_indicators(tables: dict[str, pd.DataFrame], election_date, codes: list[str]) -> IndicatorProjection:
    """Project ``codes`` to the vintage expected to be published before ``election_date``."""
    date = pd.Timestamp(election_date).normalize()
    fact = tables.get("fact_indicator")
    dim = tables.get("dim_indicator")
    communes = pd.Index(sorted(tables["dim_commune"]["commune_code"]), name="commune_code")
    sd = pd.DataFrame(0.0, index=communes, columns=list(codes))
    empty = IndicatorProjection(date, pd.DataFrame(columns=FACT_COLUMNS), sd, {}, pd.DataFrame())
    if fact is None or fact.empty or not codes:
        return empty
    units = dict(zip(dim["indicator_code"], dim["unit"])) if dim is not None and not dim.empty else {}
    fact = fact[fact["indicator_code"].isin(codes) & fact["value"].notna()].copy()
    fact["published_on"] = pd.to_datetime(fact["published_on"]).dt.normalize()
    fact = fact[fact["published_on"] < date]
    rows, summary, scales = [], [], {}
    for code in codes:
        f = fact[fact["indicator_code"] == code]
        scale = projection_scale(units.get(code))
        scales[code] = scale
        info = {"indicator_code": code, "scale": scale, "latest_year": None, "projected_year": None,
                "lag_days": None, "step_years": None, "departement_slope": None, "s_per_year": 0.0,
                "sd_method": "none", "n_communes": 0, "method": "absent"}
        if f.empty:
            summary.append(info)
            continue
        years = sorted(set(f["indicator_year"].astype(int)))
        latest = years[-1]
        lag = f.loc[f["indicator_year"] == latest, "published_on"].max() - _year_end(latest)
        info.update(latest_year=latest, lag_days=int(lag.days), method="as published")
        if len(years) < 2:
            info["method"] = "as published (single vintage: no trend)"
            summary.append(info)
            continue
        step = int(min(np.diff(years[-3:])))
        k = 0
        while _year_end(latest + (k + 1) * step) + lag < date:
            k += 1
        info["step_years"] = step
        if k == 0:
            info["method"] = f"as published (next vintage, every {step} years, not out by then)"
            summary.append(info)
            continue
        target_year = latest + k * step
        hist = f[["commune_code", "indicator_year", "value"]].assign(
            g=lambda x: _forward(x["value"].to_numpy(float), scale))
        stats = _slopes(hist).reindex(communes).dropna(subset=["last_g"])
        proj_g, dep_slope = _project(stats, target_year)
        lead = (target_year - stats["last_year"]).astype(float)
        s, method = _error_per_year(hist, scale, years)
        sd.loc[stats.index, code] = s * lead
        published = (_year_end(target_year) + lag).normalize()
        rows.append(pd.DataFrame({
            "commune_code": stats.index, "indicator_code": code, "indicator_year": target_year,
            "value": _backward(proj_g.to_numpy(float), scale), "is_suppressed": 0, "is_imputed": 1,
            "is_reaggregated": 0, "published_on": published, "source_file": PROJECTED_SOURCE}))
        info.update(projected_year=target_year, departement_slope=round(dep_slope, 5), s_per_year=round(s, 5),
                    sd_method=method, n_communes=len(stats),
                    method=f"trend {latest} -> {target_year} (published {published.date()})")
        summary.append(info)
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=FACT_COLUMNS)
    return IndicatorProjection(date, frame[FACT_COLUMNS], sd, scales, pd.DataFrame(summary))


def _error_per_year(hist: pd.DataFrame, scale: str, years: list[int]) -> tuple[float, str]:
    """Projection error per year of lead: hold-out of the latest vintage (>= 3 vintages), else
    the spread of the communes' slopes."""
    if len(years) >= 3:
        latest = years[-1]
        before = hist[hist["indicator_year"] < latest]
        actual = hist[hist["indicator_year"] == latest].set_index("commune_code")["g"]
        stats = _slopes(before)
        stats = stats[stats.index.isin(actual.index)]
        if len(stats) >= 10:
            proj, _ = _project(stats, latest)
            lead = (latest - stats["last_year"]).astype(float)
            err = (actual.reindex(stats.index) - proj) / lead
            err = err[np.isfinite(err)]
            if len(err):
                return float(np.sqrt(np.mean(err ** 2))), f"hold-out of vintage {latest} ({len(err)} communes)"
    stats = _slopes(hist)
    spread = stats["slope"].dropna()
    if len(spread) >= 2:
        return float(spread.std(ddof=1)), "spread of commune slopes"
    return 0.0, "none"


def with_projection(tables: dict[str, pd.DataFrame], projection: IndicatorProjection) -> dict[str, pd.DataFrame]:
    """A shallow copy of ``tables`` whose fact_indicator also holds the projected vintages
    (the caller's tables, and the warehouse, are left untouched)."""
    out = dict(tables)
    if projection.rows.empty:
        return out
    fact = tables.get("fact_indicator")
    out["fact_indicator"] = (projection.rows.copy() if fact is None or fact.empty
                             else pd.concat([fact, projection.rows.astype(
                                 {c: t for c, t in fact.dtypes.items() if c in projection.rows.columns},
                                 errors="ignore")], ignore_index=True))
    return out


def perturb_features(X: np.ndarray, columns: list[str], communes: np.ndarray, projection: IndicatorProjection,
                     transforms: dict[str, str], pop_code: str | None, rng: np.random.Generator,
                     n_draws: int) -> np.ndarray:
    """Add the projection uncertainty to the ``ind__`` features of ``n_draws`` stacked copies of
    a panel's feature matrix (``X``: n_draws x n_communes rows, in that order).

    One normal draw per (copy, commune, projected indicator), scaled by its sd on the
    projection scale, then carried to the feature's transform: log10 (+ d / ln 10), rate per
    1,000 inhabitants (x exp(d - d_population)) or registered voters (x exp(d)), as published (log scale: x exp(d), points: + d).
    Indicators are drawn independently of each other (a simplification, docs/scenarios.md).
    """
    codes = [c for c in projection.projected_codes if f"ind__{c}" in columns or c == pop_code]
    if not codes:
        return X
    n_c = len(communes)
    sd = projection.sd.reindex(index=communes, columns=codes).fillna(0.0).to_numpy(float)  # n_c x k
    delta = rng.standard_normal((n_draws, n_c, len(codes))) * sd[None, :, :]
    delta = delta.reshape(n_draws * n_c, len(codes))
    col = {c: i for i, c in enumerate(columns)}
    d_pop = delta[:, codes.index(pop_code)] if pop_code in codes else np.zeros(len(delta))
    out = X.copy()
    for j, code in enumerate(codes):
        name = f"ind__{code}"
        if name not in col:
            continue
        x = out[:, col[name]]
        d = delta[:, j]
        kind = transforms.get(code, "identity")
        if kind in LOG_TRANSFORMS:
            x = x + d / np.log(10.0)
        elif kind == "per_1000_population":
            x = x * np.exp(d - d_pop)
        elif kind.startswith("per_1000"):
            x = x * np.exp(d)
        elif projection.scale.get(code) == "points":
            x = np.clip(x + d, 0.0, 100.0)
        else:
            x = (1.0 + x) * np.exp(d) - 1.0
        out[:, col[name]] = x
    return out
