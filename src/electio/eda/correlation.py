"""Correlation across communes between indicator vintages and election outcomes.

Grain of the output (``fact_correlation``): election x indicator x target, where the
target is a bloc code (share of expressed votes, 0-100) or ``'turnout'`` (voters as a
percentage of registered voters).

Method, in the order it is applied (the report quotes these rules):

1. **Vintage** (a description, issue 12): for an election held on day D, an indicator is
   read in the vintage whose *reference period* is the latest strictly before D
   (``fact_indicator.reference_date``: 31 December of the year, 1 January for census
   figures), whatever its publication date: the association is described, not forecast.
   ``available_before`` records whether the publisher's calendar (``available_on``) had
   released it before D; the models, not this module, are limited to such values. A
   vintage whose values are all missing (secret) does not count.
2. **Scale-free values**: the one rule declared with the indicator metadata and shared with
   the models (:mod:`electio.sources.indicators.roles`): counts as ratios (per 1,000
   inhabitants, per 100 active people, per 100 dwellings...), with the denominator of the
   same reference year when it exists; population in log10; an area as log10 density;
   rates, medians and percentages as published; weights not analysed. A count whose
   denominator is not in the warehouse is not analysed.
3. **Communes**: those with a non-missing (transformed) indicator value, an outcome and
   registered voters > 0. For legislative elections a bloc with no candidate in the
   commune's constituency (``n_labels == 0``) has no outcome there: a 0 % share would say
   nothing about the voters. In presidential and European elections every bloc is on
   every ballot, so 0 % is a real result and is kept. Targets: every bloc with votes in
   the election, plus turnout. At least :data:`MIN_COMMUNES` communes, else skipped.
4. **Statistics**, weighted by registered voters at the election (a commune counts as
   many times as it has voters): Pearson r; Spearman = weighted Pearson on the
   (unweighted, average-tie) ranks; a 95 % percentile bootstrap interval of the weighted
   Pearson (communes resampled with replacement, ``n_boot`` draws, seeded per
   election x indicator x target so the result does not depend on what else is
   computed); a two-sided p-value of the weighted r from Student's t with Kish's
   effective sample size ``n_eff = (sum w)^2 / sum w^2`` instead of n. With equal
   weights it is exactly :func:`scipy.stats.pearsonr`'s p-value; with voter weights it
   honestly reflects that Lyon alone holds about a quarter of the Rhône's voters
   (n_eff is about 13 for 266 communes). Neighbouring communes are not independent
   (spatial autocorrelation), so p-values remain optimistic; read the interval first.
5. **Size controlled**: ``partial_pearson`` is the weighted correlation of the residuals of
   the indicator and of the outcome after a weighted regression on log10 population (the
   population vintage described for the election, else registered voters), with its own
   bootstrap interval; the ranking of :mod:`electio.eda.answer` uses it.
"""

from __future__ import annotations

import logging
import unicodedata
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from electio.sources.indicators import roles

log = logging.getLogger("electio.eda")

#: Columns of fact_correlation, in sql/schema.sql order.
CORRELATION_COLUMNS = ["election_id", "indicator_code", "target", "indicator_year", "n_communes", "pearson",
                       "spearman", "pearson_ci_low", "pearson_ci_high", "p_value", "partial_pearson",
                       "partial_ci_low", "partial_ci_high", "available_before"]
TURNOUT = "turnout"
MIN_COMMUNES = 20
N_BOOT = 500
SEED = 20240609
CI_LEVEL = 0.95
#: Election types whose candidates differ between communes (constituencies).
BALLOT_VARIES_BY_COMMUNE = frozenset({"legislatives"})

#: Transformations (one rule, declared with the indicator metadata; see
#: :mod:`electio.sources.indicators.roles`, shared with the model panel).
IDENTITY, LOG10, LOG10_DENSITY = roles.IDENTITY, roles.LOG10, roles.LOG10_DENSITY
PER_1000_POPULATION = roles.PER_1000_POPULATION
indicator_transforms = roles.indicator_transforms
population_indicator = roles.population_indicator


class _Labels(dict):
    """French label of any role key (``TRANSFORM_LABELS_FR[key]``)."""

    def __missing__(self, key: str) -> str:
        return roles.transform_label_fr(key)


TRANSFORM_LABELS_FR = _Labels()


def fold_text(text: object) -> str:
    """Lower case without accents, for tolerant matching of units and labels."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return text.lower().strip()


def transformed_unit(unit: str, transform: str) -> str:
    """Unit of a transformed indicator, in French, for axis and colour-bar labels."""
    return roles.transformed_unit_key(unit, transform)


# --------------------------------------------------------------------------- statistics

def _pearson_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Pearson r of each row of 2-D arrays (NaN where a row is constant)."""
    w = w / w.sum(axis=1, keepdims=True)
    dx = x - (w * x).sum(axis=1, keepdims=True)
    dy = y - (w * y).sum(axis=1, keepdims=True)
    vx, vy = (w * dx * dx).sum(axis=1), (w * dy * dy).sum(axis=1)
    cov = (w * dx * dy).sum(axis=1)
    # Relative tolerance: a constant column gives a variance of rounding noise, not 0.
    tiny_x = vx <= 1e-12 * np.maximum((w * x * x).sum(axis=1), 1e-300)
    tiny_y = vy <= 1e-12 * np.maximum((w * y * y).sum(axis=1), 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(vx * vy)
    r[tiny_x | tiny_y] = np.nan
    return np.clip(r, -1.0, 1.0)


def _as_arrays(x, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    if not (x.shape == y.shape == w.shape) or x.ndim != 1:
        raise ValueError("x, y and w must be 1-D arrays of the same length")
    if (w < 0).any() or not w.sum() > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return x, y, w


def weighted_pearson(x, y, w=None) -> float:
    """Pearson r where observation i counts w[i] times (NaN if x or y is constant).

    r = sum w (x - mx)(y - my) / sqrt(sum w (x - mx)^2 * sum w (y - my)^2),
    with mx, my the weighted means.
    """
    x, y, w = _as_arrays(x, y, w)
    return float(_pearson_rows(x[None], y[None], w[None])[0])


def weighted_spearman(x, y, w=None) -> float:
    """Weighted Pearson r of the ranks (average ranks for ties, ranks not weighted)."""
    x, y, w = _as_arrays(x, y, w)
    return weighted_pearson(stats.rankdata(x), stats.rankdata(y), w)


def effective_n(w) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2: n for equal weights."""
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum())


def weighted_p_value(r: float, w) -> float:
    """Two-sided p-value of r against 0, Student's t with n_eff - 2 degrees of freedom."""
    df = effective_n(w) - 2
    if not np.isfinite(r) or df <= 0:
        return float("nan")
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt(df / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), df))


def bootstrap_pearson_ci(x, y, w=None, *, n_boot: int = N_BOOT, rng: np.random.Generator | int | None = None,
                         level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval of the weighted Pearson r (communes resampled).

    All draws at once: a draw is the count of times it picked each commune, so its weighted
    sums are one matrix product (counts x weights) @ (x, y, their squares and product) instead of
    gathering n_boot x n copies. x and y are centred first (r does not change), which keeps
    the one-pass variances exact to rounding. Draws where x or y is constant are ignored; if all
    are, the interval is (NaN, NaN).
    """
    x, y, w = _as_arrays(x, y, w)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = len(x)
    idx = rng.integers(0, n, size=(n_boot, n))
    counts = np.bincount((idx + (np.arange(n_boot) * n)[:, None]).ravel(), minlength=n_boot * n)
    weights = counts.reshape(n_boot, n) * w
    cx, cy = x - np.average(x, weights=w), y - np.average(y, weights=w)
    sums = weights @ np.column_stack([np.ones(n), cx, cy, cx * cx, cy * cy, cx * cy, x * x, y * y])
    sums /= sums[:, :1]
    mx, my = sums[:, 1], sums[:, 2]
    vx, vy, cov = sums[:, 3] - mx * mx, sums[:, 4] - my * my, sums[:, 5] - mx * my
    # as _pearson_rows, a constant draw has a variance of rounding noise: relative to its raw scale,
    # or to its centred one when that is larger (a draw of zeros is then constant at -mean)
    tiny = ((vx <= 1e-12 * np.maximum(np.maximum(sums[:, 6], sums[:, 3]), 1e-300))
            | (vy <= 1e-12 * np.maximum(np.maximum(sums[:, 7], sums[:, 4]), 1e-300)))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.clip(cov / np.sqrt(vx * vy), -1.0, 1.0)
    r = r[~tiny & np.isfinite(r)]
    if r.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    low, high = np.quantile(r, [alpha, 1 - alpha])
    return float(low), float(high)


def pair_rng(seed: int, *keys: str) -> np.random.Generator:
    """Generator seeded by the global seed and the pair's keys (stable across runs and orders)."""
    return np.random.default_rng([int(seed), zlib.crc32("|".join(keys).encode("utf-8"))])


# --------------------------------------------------------------------------- inputs

def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.normalize()


def reference_dates(fact: pd.DataFrame) -> pd.Series:
    """Reference date of each row (31 December of indicator_year when the warehouse predates
    the column)."""
    fallback = pd.to_datetime(fact["indicator_year"].astype(int).astype(str) + "-12-31")
    if "reference_date" not in fact:
        return fallback
    return pd.to_datetime(fact["reference_date"]).fillna(fallback).dt.normalize()


def available_dates(fact: pd.DataFrame) -> pd.Series:
    """Date each row was available under the publisher's calendar (publication date when the
    warehouse predates the column or the row has none)."""
    published = _dates(fact["published_on"])
    if "available_on" not in fact:
        return published
    return pd.to_datetime(fact["available_on"]).dt.normalize().fillna(published)


def select_vintages(fact_indicator: pd.DataFrame, dim_election: pd.DataFrame) -> pd.DataFrame:
    """Indicator year described for each election: the vintage whose reference period is the
    latest strictly before the election day, whatever its publication date (a description of
    the association, not a forecast). ``available_before`` says whether the publisher's regular
    calendar had released it before the election (1) or not (0).

    Returns election_id, indicator_code, indicator_year, reference_date, available_before.
    """
    cols = ["election_id", "indicator_code", "indicator_year", "reference_date", "available_before"]
    if fact_indicator is None or fact_indicator.empty or dim_election is None or dim_election.empty:
        return pd.DataFrame(columns=cols)
    observed = fact_indicator[fact_indicator["value"].notna()]
    observed = observed.assign(reference_date=reference_dates(observed), available_on=available_dates(observed))
    vintages = observed.groupby(["indicator_code", "indicator_year"], as_index=False).agg(
        reference_date=("reference_date", "max"), available_on=("available_on", "max"))
    elections = dim_election[["election_id", "election_date"]].assign(
        election_date=_dates(dim_election["election_date"]))
    pairs = elections.merge(vintages, how="cross")
    pairs = pairs[pairs["reference_date"] < pairs["election_date"]]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    pairs = pairs.sort_values(["election_id", "indicator_code", "reference_date", "indicator_year"])
    latest = pairs.groupby(["election_id", "indicator_code"], as_index=False).tail(1)
    latest = latest.assign(available_before=(latest["available_on"] < latest["election_date"]).astype(int))
    return latest[cols].reset_index(drop=True)


@dataclass
class CorrelationInputs:
    """Everything the correlations are computed from, also used by the scatter plots.

    indicators: election_id, indicator_code, indicator_year, commune_code, value
    (transformed). targets: election_id, commune_code, target, value, weight.
    size: election_id, commune_code, log_population (the size control of the partial
    correlations). vintages: :func:`select_vintages`.
    """

    indicators: pd.DataFrame
    targets: pd.DataFrame
    transforms: dict[str, str] = field(default_factory=dict)
    population_code: str | None = None
    size: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["election_id", "commune_code", "log_population"]))
    vintages: pd.DataFrame = field(default_factory=pd.DataFrame)

    def pair(self, election_id: str, indicator_code: str, target: str) -> pd.DataFrame:
        """commune_code, x (indicator), y (outcome), weight for one pair; may be empty."""
        ind = self.indicators[(self.indicators["election_id"] == election_id)
                              & (self.indicators["indicator_code"] == indicator_code)]
        tgt = self.targets[(self.targets["election_id"] == election_id) & (self.targets["target"] == target)]
        merged = tgt.merge(ind[["commune_code", "value"]].rename(columns={"value": "x"}), on="commune_code")
        return (merged.rename(columns={"value": "y"})[["commune_code", "x", "y", "weight"]]
                .sort_values("commune_code").reset_index(drop=True))


def election_targets(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Outcome of each commune at each election: bloc shares and turnout, with weights."""
    cols = ["election_id", "commune_code", "target", "value", "weight"]
    res, turnout, elections = (tables.get(k) for k in ("fact_election_result", "fact_turnout", "dim_election"))
    if turnout is None or turnout.empty or elections is None or elections.empty:
        return pd.DataFrame(columns=cols)
    frames = []
    if res is not None and not res.empty:
        res = res.merge(elections[["election_id", "election_type"]], on="election_id")
        totals = res.groupby(["election_id", "bloc_code"])["votes"].transform("sum")
        absent = res["election_type"].isin(BALLOT_VARIES_BY_COMMUNE) & (res["n_labels"] == 0)
        res = res[(totals > 0) & ~absent]
        frames.append(res[["election_id", "commune_code", "bloc_code", "share_expressed"]]
                      .rename(columns={"bloc_code": "target", "share_expressed": "value"}))
    frames.append(turnout[["election_id", "commune_code", "turnout_pct"]]
                  .rename(columns={"turnout_pct": "value"}).assign(target=TURNOUT))
    out = pd.concat(frames, ignore_index=True)
    weights = turnout[["election_id", "commune_code", "registered"]].rename(columns={"registered": "weight"})
    out = out.merge(weights, on=["election_id", "commune_code"])
    out["value"] = out["value"].astype(float)
    out["weight"] = out["weight"].astype(float)
    out = out[out["value"].notna() & (out["weight"] > 0)]
    return out[cols].sort_values(["election_id", "target", "commune_code"]).reset_index(drop=True)


def election_indicators(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, str], str | None]:
    """Transformed indicator values of the vintage described for each election.

    Returns (frame, transforms, population indicator code). Frame columns:
    election_id, indicator_code, indicator_year, commune_code, value. Ratios divide by the
    denominator of the same reference year when the warehouse has it, else by the
    denominator's own vintage for that election (:func:`roles.transform_values`).
    """
    cols = ["election_id", "indicator_code", "indicator_year", "commune_code", "value"]
    dim, fact = tables.get("dim_indicator"), tables.get("fact_indicator")
    transforms = indicator_transforms(dim)
    pop_code = population_indicator(dim)
    if dim is None or dim.empty or fact is None or fact.empty:
        return pd.DataFrame(columns=cols), transforms, pop_code
    role_map = roles.indicator_roles(dim)
    fact = fact[fact["indicator_code"].isin(role_map) & fact["value"].notna()]
    vintages = select_vintages(fact, tables.get("dim_election"))
    vals = vintages.merge(fact[["indicator_code", "indicator_year", "commune_code", "value"]],
                          on=["indicator_code", "indicator_year"])[cols]
    pool = fact[["commune_code", "indicator_code", "indicator_year", "value"]]
    out = roles.transform_values(vals, role_map, ["election_id"], pool=pool)
    out = out[out["indicator_code"].isin(transforms)]
    return out[cols].sort_values(["election_id", "indicator_code", "commune_code"]).reset_index(drop=True), \
        transforms, pop_code


def election_size(tables: dict[str, pd.DataFrame], pop_code: str | None) -> pd.DataFrame:
    """log10 population of each commune at each election (the population vintage described for
    it), else log10 registered voters: the size the partial correlations control for."""
    cols = ["election_id", "commune_code", "log_population"]
    fact, turnout = tables.get("fact_indicator"), tables.get("fact_turnout")
    out = pd.DataFrame(columns=cols)
    if pop_code is not None and fact is not None and not fact.empty:
        pop = fact[(fact["indicator_code"] == pop_code) & fact["value"].notna()]
        v = select_vintages(pop, tables.get("dim_election"))
        vals = v.merge(pop[["indicator_year", "commune_code", "value"]], on="indicator_year")
        vals = vals[vals["value"] > 0]
        out = vals.assign(log_population=np.log10(vals["value"].astype(float)))[cols]
    if turnout is not None and not turnout.empty:
        reg = turnout[turnout["registered"] > 0]
        reg = reg.assign(log_population=np.log10(reg["registered"].astype(float)))[cols]
        have = pd.MultiIndex.from_frame(out[["election_id", "commune_code"]])
        reg = reg[~pd.MultiIndex.from_frame(reg[["election_id", "commune_code"]]).isin(have)]
        out = pd.concat([out, reg], ignore_index=True)
    return out.reset_index(drop=True)


def prepare_inputs(tables: dict[str, pd.DataFrame]) -> CorrelationInputs:
    indicators, transforms, pop_code = election_indicators(tables)
    fact = tables.get("fact_indicator")
    vintages = (select_vintages(fact, tables.get("dim_election")) if fact is not None and not fact.empty
                else pd.DataFrame())
    return CorrelationInputs(indicators=indicators, targets=election_targets(tables), transforms=transforms,
                             population_code=pop_code, size=election_size(tables, pop_code), vintages=vintages)


NO_PARTIAL = {"partial_pearson": np.nan, "partial_ci_low": np.nan, "partial_ci_high": np.nan}


def residualise(v: np.ndarray, z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Residual of v after a weighted least-squares fit on [1, z]."""
    A = np.column_stack([np.ones_like(z), z])
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(A * sw[:, None], v * sw, rcond=None)
    return v - A @ coef


def partial_stats(x, y, z, w, *, n_boot: int = N_BOOT, rng=None) -> dict:
    """Weighted partial correlation of x and y given z (log population): Pearson r of the
    residuals of both on z, with a percentile bootstrap interval over communes (the
    residuals are computed once on the full sample)."""
    x, y, w = _as_arrays(x, y, w)
    z = np.asarray(z, dtype=float)
    nan = dict(NO_PARTIAL)
    if not np.isfinite(z).all() or np.ptp(z) == 0:
        return nan
    rx, ry = residualise(x, z, w), residualise(y, z, w)
    r = weighted_pearson(rx, ry, w)
    if not np.isfinite(r) or abs(weighted_pearson(x, z, w)) > 0.999:
        return nan  # x is size itself (log population): nothing left to relate
    low, high = bootstrap_pearson_ci(rx, ry, w, n_boot=n_boot, rng=rng) if n_boot > 0 else (np.nan, np.nan)
    return {"partial_pearson": r, "partial_ci_low": low, "partial_ci_high": high}


# --------------------------------------------------------------------------- main entry point

def correlation_stats(x, y, w, *, n_boot: int = N_BOOT, rng: np.random.Generator | int | None = None) -> dict:
    """pearson, spearman, CI bounds and p-value of one pair (weighted by w)."""
    x, y, w = _as_arrays(x, y, w)
    r = weighted_pearson(x, y, w)
    if not np.isfinite(r):
        return {"pearson": np.nan, "spearman": np.nan, "pearson_ci_low": np.nan, "pearson_ci_high": np.nan,
                "p_value": np.nan}
    low, high = bootstrap_pearson_ci(x, y, w, n_boot=n_boot, rng=rng) if n_boot > 0 else (np.nan, np.nan)
    return {"pearson": r, "spearman": weighted_spearman(x, y, w), "pearson_ci_low": low,
            "pearson_ci_high": high, "p_value": weighted_p_value(r, w)}


def compute_correlations(tables: dict[str, pd.DataFrame], *, n_boot: int = N_BOOT, seed: int = SEED,
                         inputs: CorrelationInputs | None = None) -> pd.DataFrame:
    """fact_correlation rows for every election x commune-level indicator x target.

    ``tables`` holds warehouse tables by name (as :func:`electio.export.read_tables`
    returns them): dim_election, dim_indicator, fact_indicator, fact_turnout,
    fact_election_result. Pairs with fewer than :data:`MIN_COMMUNES` communes, no vintage
    whose reference period precedes the election, or a constant indicator or outcome are
    skipped. Sorted by the primary key; floats rounded to 6 decimals, so that two runs on
    the same warehouse give identical rows.
    """
    inputs = inputs or prepare_inputs(tables)
    rows = []
    targets_by_election = {e: g for e, g in inputs.targets.groupby("election_id", sort=True)}
    size = {e: g.set_index("commune_code")["log_population"] for e, g in inputs.size.groupby("election_id")}
    avail = ({} if inputs.vintages is None or inputs.vintages.empty else
             inputs.vintages.set_index(["election_id", "indicator_code"])["available_before"].to_dict())
    for (election_id, code), ind in inputs.indicators.groupby(["election_id", "indicator_code"], sort=True):
        tgt = targets_by_election.get(election_id)
        if tgt is None:
            continue
        year = int(ind["indicator_year"].iloc[0])
        merged = tgt.merge(ind[["commune_code", "value"]].rename(columns={"value": "x"}), on="commune_code")
        z_all = size.get(election_id, pd.Series(dtype=float))
        for target, pair in merged.groupby("target", sort=True):
            n = len(pair)
            if n < MIN_COMMUNES:
                log.debug("%s x %s x %s: %d communes < %d, skipped", election_id, code, target, n, MIN_COMMUNES)
                continue
            x, y, w = pair["x"].to_numpy(), pair["value"].to_numpy(), pair["weight"].to_numpy()
            result = correlation_stats(x, y, w, n_boot=n_boot, rng=pair_rng(seed, election_id, code, target))
            if not np.isfinite(result["pearson"]):
                log.debug("%s x %s x %s: constant values, skipped", election_id, code, target)
                continue
            z = z_all.reindex(pair["commune_code"]).to_numpy(dtype=float)
            ok = np.isfinite(z)
            partial = (partial_stats(x[ok], y[ok], z[ok], w[ok], n_boot=n_boot,
                                     rng=pair_rng(seed, "partial", election_id, code, target))
                       if ok.sum() >= MIN_COMMUNES else dict(NO_PARTIAL))
            rows.append({"election_id": election_id, "indicator_code": code, "target": target,
                         "indicator_year": year, "n_communes": n, **result, **partial,
                         "available_before": avail.get((election_id, code))})
    out = pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
    if out.empty:
        return out.astype({"indicator_year": "int64", "n_communes": "int64"})
    floats = ["pearson", "spearman", "pearson_ci_low", "pearson_ci_high", "p_value", "partial_pearson",
              "partial_ci_low", "partial_ci_high"]
    out[floats] = out[floats].astype(float).round(6)
    out["available_before"] = out["available_before"].astype("Int64")
    return out.sort_values(["election_id", "indicator_code", "target"]).reset_index(drop=True)


def indicator_closeness(inputs: CorrelationInputs, dim_election: pd.DataFrame | None = None) -> pd.DataFrame:
    """Weighted correlation across communes between every two indicators (transformed values),
    at the latest first round where both are described: indicator_a, indicator_b, election_id, r.
    Used to flag sign instabilities between close indicators."""
    cols = ["indicator_a", "indicator_b", "election_id", "r"]
    ind = inputs.indicators
    if ind.empty:
        return pd.DataFrame(columns=cols)
    if dim_election is not None and not dim_election.empty:
        firsts = dim_election[dim_election["round_number"] == 1].sort_values("election_date")["election_id"]
        order = {e: i for i, e in enumerate(firsts)}
        ind = ind[ind["election_id"].isin(order)]
    else:
        order = {e: i for i, e in enumerate(sorted(ind["election_id"].unique()))}
    weights = inputs.targets[inputs.targets["target"] == TURNOUT].set_index(["election_id", "commune_code"])["weight"]
    rows, seen = [], set()
    for election_id in sorted(ind["election_id"].unique(), key=lambda e: -order[e]):
        wide = ind[ind["election_id"] == election_id].pivot(index="commune_code", columns="indicator_code",
                                                           values="value")
        w = weights.reindex(pd.MultiIndex.from_product([[election_id], wide.index])).to_numpy(float)
        codes = sorted(wide.columns)
        for i, a in enumerate(codes):
            for b in codes[i + 1:]:
                if (a, b) in seen:
                    continue
                ok = wide[a].notna().to_numpy() & wide[b].notna().to_numpy() & np.isfinite(w)
                if ok.sum() < MIN_COMMUNES:
                    continue
                r = weighted_pearson(wide[a].to_numpy()[ok], wide[b].to_numpy()[ok], w[ok])
                if np.isfinite(r):
                    seen.add((a, b))
                    rows.append((a, b, election_id, round(r, 6)))
    return pd.DataFrame(rows, columns=cols)
